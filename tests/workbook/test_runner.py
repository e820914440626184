"""The papermill runner: order, failure reporting, manifest, and 00_data_prep in the smoke profile."""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from data_prep.synthetic import synthetic_root
from data_prep.testing import write_fake_pairs
from llie_core.core.profiles import Profile, load_profile
from llie_core.core.provenance import TEXT_SUFFIXES, checksum_files
from llie_core.evaluation.baselines import BASELINES
from llie_core.evaluation.suite import PAIRED_METRICS, UNPAIRED_METRICS
from llie_core.report.artifacts import missing_outputs, unregistered_outputs
from llie_core.workbook import runner as workbook
from tests.helpers import TINY_SYNTHETIC


def _write_notebook(path: Path, *sources: str) -> None:
    cells = [nbformat.v4.new_code_cell('profile: str = "smoke"\nroot: str = ""\ndata_root: str = ""\n'
                                       'weights_root: str = ""')]
    cells[0].metadata["tags"] = ["parameters"]
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


@pytest.fixture()
def fake_root(tmp_path, monkeypatch):
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    nbs = tmp_path / "notebooks"
    _write_notebook(nbs / "00_ok.ipynb", "from pathlib import Path\n"
                    "Path(root, 'results', profile, 'ok.txt').write_text(profile)")
    _write_notebook(nbs / "01_boom.ipynb", "x = 1", "raise ValueError('deliberate failure')")
    _write_notebook(nbs / "02_never.ipynb", "pass")
    return tmp_path


def test_select_notebooks_by_number_and_name(fake_root):
    nbs = workbook.list_notebooks(fake_root)
    assert [p.stem for p in nbs] == ["00_ok", "01_boom", "02_never"]
    assert [p.stem for p in workbook.select_notebooks(nbs, ["01"])] == ["01_boom"]
    assert [p.stem for p in workbook.select_notebooks(nbs, ["ok", "02_never"])] == ["00_ok", "02_never"]
    with pytest.raises(SystemExit, match="no notebook matches"):
        workbook.select_notebooks(nbs, ["99"])


@pytest.mark.notebook
def test_runner_stops_at_first_failure_and_names_the_cell(fake_root):
    with pytest.raises(workbook.NotebookFailed) as err:
        workbook.run_workbook("smoke", root=fake_root, kernel="python3")
    message = str(err.value)
    assert "01_boom.ipynb" in message and "cell 2" in message and "deliberate failure" in message
    manifest = json.loads((fake_root / "results/smoke/manifest.json").read_text())
    status = {nb["name"]: nb["status"] for nb in manifest["notebooks"]}
    assert status == {"00_ok": "ok", "01_boom": "failed", "02_never": "skipped"}
    assert manifest["profile"] == "smoke" and manifest["git_commit"] and manifest["versions"]["torch"]
    assert (fake_root / "results/smoke/ok.txt").read_text() == "smoke"
    assert (fake_root / "results/smoke/notebooks/01_boom.ipynb").is_file()  # kept, with the traceback


@pytest.mark.notebook
def test_running_one_notebook_keeps_the_others_in_the_manifest(fake_root):
    with pytest.raises(workbook.NotebookFailed):
        workbook.run_workbook("smoke", root=fake_root, kernel="python3")
    path = fake_root / "results/smoke/manifest.json"
    first = {nb["name"]: nb for nb in json.loads(path.read_text())["notebooks"]}
    workbook.run_workbook("smoke", only=["02"], root=fake_root, kernel="python3")
    manifest = json.loads(path.read_text())
    records = {nb["name"]: nb for nb in manifest["notebooks"]}
    assert list(records) == ["00_ok", "01_boom", "02_never"]
    assert records["00_ok"] == first["00_ok"] and records["01_boom"]["status"] == "failed"
    assert records["02_never"]["status"] == "ok" and records["02_never"]["git_commit"]
    assert manifest["seconds"] == pytest.approx(sum(nb["seconds"] for nb in records.values()), abs=0.02)


@pytest.mark.notebook
def test_manifest_is_written_after_each_notebook(fake_root):
    """A run killed mid-way (no ``finally``) still records the notebooks that finished."""
    _write_notebook(fake_root / "notebooks/01_boom.ipynb",
                    "import json\nfrom pathlib import Path\n"
                    "m = json.loads(Path(root, 'results', profile, 'manifest.json').read_text())\n"
                    "status = {nb['name']: nb['status'] for nb in m['notebooks']}\n"
                    "assert status == {'00_ok': 'ok', '01_boom': 'pending', '02_never': 'pending'}, status")
    run = workbook.run_workbook("smoke", root=fake_root, kernel="python3")
    assert [nb.status for nb in run.notebooks] == ["ok", "ok", "ok"]


def _run_data_prep(tmp_path: Path, repo_root: Path, data_root: Path | None) -> Path:
    """Run the real 00_data_prep notebook in a scratch copy of the project (keeps results/ of the repo clean)."""
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(repo_root / "notebooks/00_data_prep.ipynb", root / "notebooks")
    run = workbook.run_workbook("smoke", only=["00"], root=root, data_root=data_root, kernel="python3")
    assert run.ok and [nb.status for nb in run.notebooks] == ["ok"]
    return root / "results" / "smoke"


@pytest.mark.notebook
@pytest.mark.slow
def test_data_prep_notebook_on_the_embedded_set(tmp_path, repo_root, monkeypatch):
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    out = _run_data_prep(tmp_path, repo_root, None)
    for rel in ("tables/data_inventory.csv", "tables/data_inventory.md", "figures/data_samples.png",
                "figures/data_histograms.png", "notebooks/00_data_prep.ipynb", "manifest.json"):
        assert (out / rel).is_file(), rel
    inv = pd.read_csv(out / "tables/data_inventory.csv")
    assert set(inv.loc[inv["name"] == "lol_v1", "state"]) == {"missing"}
    assert "found" in set(inv.loc[inv["name"] == "synthetic", "state"])
    checksums = json.loads((out / "manifest.json").read_text())["data_checksums"]
    assert {"synthetic/train", "synthetic/test"} <= set(checksums)  # the set the smoke run uses, no data root


@pytest.mark.notebook
@pytest.mark.slow
def test_data_prep_notebook_on_the_shared_data(tmp_path, repo_root, real_data_root, monkeypatch):
    out = _run_data_prep(tmp_path, repo_root, real_data_root)
    inv = pd.read_csv(out / "tables/data_inventory.csv")
    lol_test = inv[(inv["name"] == "lol_v1") & (inv["split"] == "test")]
    assert list(lol_test["state"]) == ["found"] and list(lol_test["n_items"]) == [15]
    manifest = json.loads((out / "manifest.json").read_text())
    assert "lol_v1/test" in manifest["data_checksums"]


@pytest.mark.notebook
@pytest.mark.slow
def test_whole_smoke_workbook_runs_end_to_end(tmp_path, repo_root, real_data_root):
    """Every numbered notebook, in order, in the smoke profile on the shared data (scratch copy of the project,
    so the repo's results/ stays clean and nothing is reused from an earlier run)."""
    root = tmp_path / "project"
    shutil.copytree(repo_root / "notebooks", root / "notebooks")
    run = workbook.run_workbook("smoke", root=root, data_root=real_data_root, kernel="python3")
    assert run.ok and all(nb.status == "ok" for nb in run.notebooks)
    names = [nb.name for nb in run.notebooks]
    assert names == sorted(names) and names[0] == "00_data_prep"
    out = root / "results" / "smoke"
    for nb in names:
        assert (out / "notebooks" / f"{nb}.ipynb").is_file()
    assert (out / "tables" / "baselines.csv").is_file() and (out / "tables" / "frlie_table1.csv").is_file()
    assert missing_outputs(out, "smoke") == []  # every registered table and figure of the smoke profile
    assert unregistered_outputs(out) == []
    check_smoke_baselines(pd.read_csv(out / "tables" / "baselines.csv"))
    machine_paths = [str(root.resolve()), str(real_data_root.resolve()), sys.prefix]
    leaks = [f"{f.relative_to(out)}: {p}" for f in out.rglob("*") if f.is_file() and f.suffix in TEXT_SUFFIXES
             for p in machine_paths if p in f.read_text(errors="replace")]
    assert not leaks, f"absolute machine paths left in the results: {leaks[:5]}"


# ------------------------------------------------------------------- smoke baselines table (content, not existence)
# PSNR (dB, 8-bit outputs, mean over the smoke crops: max 3 images per set, centre crop <= 256 px) of the
# deterministic baselines on the CI data (LLIE_DATA_ROOT=../shared/data) and the embedded synthetic set (seed 0).
# Measured with llie_core.evaluation.suite.score_baselines(load_profile("smoke", data_root=...)) and by the workbook run.
SMOKE_BASELINE_PSNR = {
    ("input", "lol_v1"): 11.0884, ("input", "fivek"): 15.0902, ("input", "synthetic"): 12.4362,
    ("he", "lol_v1"): 16.4320, ("he", "fivek"): 17.6474, ("he", "synthetic"): 14.9361,
    ("clahe", "lol_v1"): 15.5924, ("clahe", "fivek"): 17.0932, ("clahe", "synthetic"): 18.4620,
    ("lime", "lol_v1"): 16.6244, ("lime", "fivek"): 13.6657, ("lime", "synthetic"): 14.3731,
    ("zero_dce", "lol_v1"): 20.1202, ("zero_dce", "fivek"): 16.7261, ("zero_dce", "synthetic"): 17.5244,
}
PSNR_TOL = 1e-3
# Test sets of the smoke profile that are not in ../shared/data: their rows say "not run" for every method.
ABSENT_IN_CI = {
    "mef": "none of the accepted layouts exists",   # MEF database, not redistributed with the CI data
    "npe": "none of the accepted layouts exists",   # NPE: no stable source, not in the CI data
    "vv": "none of the accepted layouts exists",    # VV (Vonikakis), not in the CI data
}
# Closed ranges every value of an "ok" row must fall in. NIQE/BRISQUE have no fixed bound: finite is required (a
# NaN would mean the NR metric failed on an image; no NaN is expected on the smoke crops).
METRIC_RANGES = {
    "psnr": (0.0, 100.0), "psnr_gtmean": (0.0, 100.0),
    "ssim": (-1.0, 1.0), "ssim_gray": (-1.0, 1.0), "ssim_gtmean": (-1.0, 1.0),
    "lpips_alex": (0.0, math.inf), "lpips_alex_gtmean": (0.0, math.inf),
    "niqe": (-math.inf, math.inf), "brisque": (-math.inf, math.inf),
}


def check_smoke_baselines(table: pd.DataFrame) -> None:
    """The smoke ``baselines.csv``: every method x test set of the profile has a row; only the sets of
    :data:`ABSENT_IN_CI` are "not run" (with their reason); pinned PSNRs; every score finite and in range
    (paired rows: all of PAIRED_METRICS; unpaired rows: NIQE and BRISQUE, paired columns empty)."""
    data = load_profile("smoke").data
    sets = {**{d: "paired" for d in data.eval_paired}, **{d: "unpaired" for d in data.eval_unpaired}}
    assert sorted(zip(table["method"], table["dataset"])) == sorted((m, d) for m in BASELINES for d in sets)
    assert dict(zip(table["dataset"], table["kind"])) == sets
    rows = table.set_index(["method", "dataset"])
    not_run = rows[rows["status"] != "ok"]
    unexpected = not_run[~not_run.index.get_level_values("dataset").isin(list(ABSENT_IN_CI))]
    assert unexpected.empty, f"unexpected 'not run' rows:\n{unexpected['status'].to_string()}"
    for (method, dataset), status in not_run["status"].items():
        assert status.startswith("not run: ") and ABSENT_IN_CI[dataset] in status, (method, dataset, status)
        assert rows.loc[(method, dataset), "images"] == 0
    ok = rows[rows["status"] == "ok"]
    assert (ok["images"] > 0).all()
    for key, psnr in SMOKE_BASELINE_PSNR.items():
        assert rows.loc[key, "status"] == "ok", key
        assert rows.loc[key, "psnr"] == pytest.approx(psnr, abs=PSNR_TOL), key
    for kind, metrics in (("paired", PAIRED_METRICS), ("unpaired", UNPAIRED_METRICS)):
        scored = ok[ok["kind"] == kind]
        assert not scored.empty, kind
        for metric in metrics:
            low, high = METRIC_RANGES[metric]
            values = scored[metric]
            assert np.isfinite(values).all(), f"{kind} {metric}: non-finite {values[~np.isfinite(values)].to_dict()}"
            assert values.between(low, high).all(), f"{kind} {metric} outside [{low}, {high}]: {values.to_dict()}"
        if kind == "unpaired":
            assert scored[[m for m in PAIRED_METRICS if m not in UNPAIRED_METRICS]].isna().all().all()


def _smoke_table() -> pd.DataFrame:
    """A synthetic baselines table that satisfies :func:`check_smoke_baselines` (pinned PSNRs, in-range values)."""
    data = load_profile("smoke").data
    rows = []
    for method in BASELINES:
        for kind in ("paired", "unpaired"):
            for dataset in getattr(data, f"eval_{kind}"):
                row = {"method": method, "dataset": dataset, "kind": kind, "images": 3, "status": "ok"}
                if dataset in ABSENT_IN_CI:
                    row.update(images=0, status=f"not run: {dataset}/test: {ABSENT_IN_CI[dataset]} under /data")
                elif kind == "paired":
                    row.update({m: 0.5 for m in PAIRED_METRICS}, psnr=SMOKE_BASELINE_PSNR[(method, dataset)])
                else:
                    row.update({m: 0.5 for m in UNPAIRED_METRICS})
                rows.append(row)
    return pd.DataFrame(rows, columns=["method", "dataset", "kind", "images", "status", *PAIRED_METRICS])


@pytest.mark.parametrize("method, dataset, column, value, message", [
    ("he", "lol_v1", "psnr", SMOKE_BASELINE_PSNR[("he", "lol_v1")] + 0.01, "'he', 'lol_v1'"),  # 0.01 dB off
    ("lime", "fivek", "ssim", 1.2, "paired ssim outside"),
    ("input", "fivek", "lpips_alex", -0.1, "paired lpips_alex outside"),
    ("clahe", "dicm", "niqe", np.nan, "unpaired niqe: non-finite"),
    ("zero_dce", "dicm", "status", "not run: weights absent", "unexpected 'not run' rows"),
    ("he", "mef", "status", "not run: crashed", "crashed"),                           # absent set, wrong reason
])
def test_smoke_baselines_check_rejects_wrong_content(method, dataset, column, value, message):
    """The content checks of the end-to-end test can fail: each corruption of a table that passes is rejected."""
    check_smoke_baselines(_smoke_table())
    table = _smoke_table()
    table.loc[(table["method"] == method) & (table["dataset"] == dataset), column] = value
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_smoke_baselines(table)


def test_the_kernel_environment_has_no_progress_bars_and_no_root_variables(monkeypatch):
    monkeypatch.setenv("LLIE_DATA_ROOT", "/somewhere")
    before = dict(os.environ)
    env = workbook.kernel_environment()
    assert env["LLIE_NO_PROGRESS"] == "1" and "LLIE_DATA_ROOT" not in env and env["PATH"] == os.environ["PATH"]
    assert workbook.kernel_environment({"LLIE_WEIGHTS_ROOT": "/w", "A": "1"}) == {"A": "1", "LLIE_NO_PROGRESS": "1"}
    assert dict(os.environ) == before  # computed, never written


@pytest.mark.notebook
def test_reuse_shipped_reaches_the_notebooks_profile_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv(workbook.REUSE_VARIABLE, raising=False)
    assert workbook.kernel_environment({"A": "1"}, reuse_shipped=True) == {
        "A": "1", "LLIE_NO_PROGRESS": "1", workbook.REUSE_VARIABLE: "1"}
    assert workbook.REUSE_VARIABLE not in workbook.kernel_environment({workbook.REUSE_VARIABLE: "1"})
    _write_notebook(tmp_path / "notebooks" / "00_reuse.ipynb",
                    "from pathlib import Path\nfrom llie_core.workbook.context import start\n"
                    "ctx = start('00_reuse', profile, root, data_root, weights_root)\n"
                    "(ctx.results / 'reuse.txt').write_text(str(ctx.profile.train.reuse_shipped))")
    out = tmp_path / "results" / "smoke"
    assert workbook.run_workbook("smoke", root=tmp_path, kernel="python3").reuse_shipped is False
    assert (out / "reuse.txt").read_text() == "False"                               # default: always train
    workbook.run_workbook("smoke", root=tmp_path, kernel="python3", reuse_shipped=True)
    assert (out / "reuse.txt").read_text() == "True"
    assert json.loads((out / "manifest.json").read_text())["reuse_shipped"] is True


@pytest.mark.notebook
def test_notebooks_get_the_roots_as_parameters_and_the_kernel_its_own_environment(tmp_path, monkeypatch):
    """The runner resolves the roots once and passes them as parameters; the kernel gets LLIE_NO_PROGRESS=1 and no
    root variables; the runner's own environment is left as it was."""
    monkeypatch.setenv("LLIE_DATA_ROOT", str(tmp_path / "env_data"))
    monkeypatch.delenv("LLIE_NO_PROGRESS", raising=False)
    before = dict(os.environ)
    _write_notebook(tmp_path / "notebooks" / "00_env.ipynb",
                    "import json, os\nfrom pathlib import Path\n"
                    "keys = ('LLIE_NO_PROGRESS', 'LLIE_DATA_ROOT', 'LLIE_WEIGHTS_ROOT')\n"
                    "seen = {k: os.environ.get(k) for k in keys}\n"
                    "seen.update(data_root=data_root, weights_root=weights_root)\n"
                    "Path(root, 'seen.json').write_text(json.dumps(seen))")
    run = workbook.run_workbook("smoke", root=tmp_path, data_root=tmp_path / "data", kernel="python3")
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen == {"LLIE_NO_PROGRESS": "1", "LLIE_DATA_ROOT": None, "LLIE_WEIGHTS_ROOT": None,
                    "data_root": str(tmp_path / "data"), "weights_root": str(tmp_path / "weights")}
    assert (run.data_root, run.weights_root) == (str(tmp_path / "data"), str(tmp_path / "weights"))
    assert dict(os.environ) == before


def test_status_of_a_profile_reads_the_data_root_at_the_entry_point(tmp_path, monkeypatch, capsys):
    """``python -m llie_core.workbook status --profile P``: ``--data-root`` wins over ``$LLIE_DATA_ROOT``; only the
    profile's datasets are listed."""
    write_fake_pairs(tmp_path / "a", "LOLv1/eval15/low", "LOLv1/eval15/high", ["1.png"])
    monkeypatch.setenv("LLIE_DATA_ROOT", str(tmp_path / "b"))
    assert workbook.main(["status", "--profile", "smoke", "--data-root", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert f"data root: {tmp_path / 'a'}" in out and "profile: smoke" in out
    table = [line for line in out.split("how to fix:")[0].splitlines()[3:] if line.strip()]  # the rows
    assert {line.split()[0] for line in table} == {"lol_v1", "fivek", "synthetic", "dicm", "lime", "mef", "npe", "vv"}
    assert any(line.split()[:3] == ["lol_v1", "test", "partial"] for line in table)
    assert workbook.main(["status", "--profile", "smoke"]) == 0
    assert f"data root: {tmp_path / 'b'}" in capsys.readouterr().out


def test_a_kernel_of_another_interpreter_is_not_used(tmp_path, monkeypatch, capsys):
    """A stale ``llie-workbook`` spec (left by another checkout) would run another copy of the code."""
    kernels = tmp_path / "kernels"
    spec_dir = kernels / workbook.KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {"argv": ["/elsewhere/.venv/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "stale", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    assert workbook.pick_kernel(None) == "python3"
    assert "/elsewhere/.venv/bin/python" in capsys.readouterr().err
    spec["argv"][0] = sys.executable
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    assert workbook.pick_kernel(None) == workbook.KERNEL_NAME
    assert workbook.pick_kernel("python3") == "python3"


# ------------------------------------------------------------------------------------- provenance (no papermill)
TINY_SYNTHETIC_PROFILE = {"data": {"synthetic": TINY_SYNTHETIC}}


def _synthetic_fingerprints(profile: Profile) -> dict[str, str]:
    """Fingerprints of the embedded build's files, computed from the folder itself."""
    build = synthetic_root(profile.data)
    return {f"synthetic/{split}": checksum_files((build / split).rglob("*.png")) for split in ("train", "test")}


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_data_checksums_include_the_embedded_set_without_a_data_root(name):
    cfg = load_profile(name, overrides=TINY_SYNTHETIC_PROFILE)
    assert cfg.data.root is None
    assert workbook.data_checksums(cfg.data) == _synthetic_fingerprints(cfg)  # paper: the training fallback


def test_data_checksums_with_a_data_root_add_the_embedded_set_only_when_used(tmp_path, monkeypatch):
    write_fake_pairs(tmp_path, "LOLv1/our485/low", "LOLv1/our485/high", ["1.png", "2.png"])
    write_fake_pairs(tmp_path, "LOLv1/eval15/low", "LOLv1/eval15/high", ["3.png"])
    smoke = load_profile("smoke", overrides=TINY_SYNTHETIC_PROFILE, data_root=str(tmp_path))
    sums = workbook.data_checksums(smoke.data)
    assert set(sums) == {"lol_v1/train", "lol_v1/test", "synthetic/train", "synthetic/test"}
    assert {k: v for k, v in sums.items() if k.startswith("synthetic/")} == _synthetic_fingerprints(smoke)
    paper = load_profile("paper", overrides=TINY_SYNTHETIC_PROFILE, data_root=str(tmp_path))
    assert set(workbook.data_checksums(paper.data)) == {"lol_v1/train", "lol_v1/test"}  # LOL present: no fallback


def _git(repo: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def test_each_notebook_records_the_commit_at_its_own_start(tmp_path, monkeypatch):
    """The code changes mid-run: a commit after the first notebook, an uncommitted edit after the second."""
    for nb in ("00_a", "01_b", "02_c"):
        _write_notebook(tmp_path / "notebooks" / f"{nb}.ipynb", "pass")
    (tmp_path / "code.py").write_text("v = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "notebooks", "code.py")
    _git(tmp_path, "commit", "-qm", "first")
    first = _git(tmp_path, "rev-parse", "HEAD")

    def fake_run(nb, output, parameters, kernel, cwd, timeout, reuse_shipped=False):
        if nb.stem == "00_a":
            (tmp_path / "code.py").write_text("v = 2\n")
            _git(tmp_path, "commit", "-qam", "second")
        elif nb.stem == "01_b":
            (tmp_path / "code.py").write_text("v = 3\n")  # tracked file edited, not committed

    for var in ("LLIE_ROOT", "LLIE_DATA_ROOT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(workbook, "run_notebook", fake_run)
    monkeypatch.setattr(workbook, "data_checksums", lambda cfg: {})
    (tmp_path / ".gitignore").write_text("results/\n")  # untracked: must not count as dirty
    run = workbook.run_workbook("smoke", root=tmp_path, kernel="python3")
    second = _git(tmp_path, "rev-parse", "HEAD")
    assert second != first and run.git_commit == first
    assert [nb.git_commit for nb in run.notebooks] == [first, second, second + "+dirty"]
    manifest = json.loads((tmp_path / "results/smoke/manifest.json").read_text())
    assert [nb["git_commit"] for nb in manifest["notebooks"]] == [first, second, second + "+dirty"]


def test_a_failing_full_run_keeps_the_records_of_the_notebooks_it_did_not_reach(tmp_path, monkeypatch):
    """Issue 18, defect 7: a full run that fails at 01 (or is killed there) keeps the earlier run's record of 02,
    whose results are still on disk, instead of replacing it by 'skipped'/'pending'."""
    for nb in ("00_a", "01_b", "02_c"):
        _write_notebook(tmp_path / "notebooks" / f"{nb}.ipynb", "pass")
    path = tmp_path / "results/smoke/manifest.json"
    seen_mid_run = {}

    def fake_run(nb, output, parameters, kernel, cwd, timeout, reuse_shipped=False):
        if fail and nb.stem == "01_b":
            seen_mid_run.update({r["name"]: r for r in json.loads(path.read_text())["notebooks"]})
            raise RuntimeError("deliberate failure")

    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    monkeypatch.setattr(workbook, "run_notebook", fake_run)
    monkeypatch.setattr(workbook, "data_checksums", lambda cfg: {})
    fail = False
    workbook.run_workbook("smoke", root=tmp_path, kernel="python3")
    first = {r["name"]: r for r in json.loads(path.read_text())["notebooks"]}
    assert {n: r["status"] for n, r in first.items()} == {"00_a": "ok", "01_b": "ok", "02_c": "ok"}
    fail = True
    with pytest.raises(workbook.NotebookFailed):
        workbook.run_workbook("smoke", root=tmp_path, kernel="python3")
    assert seen_mid_run["02_c"] == first["02_c"]  # while the run is under way (a kill loses nothing either)
    records = {r["name"]: r for r in json.loads(path.read_text())["notebooks"]}
    assert records["02_c"] == first["02_c"]       # still the provenance of 02's results on disk
    assert records["01_b"]["status"] == "failed" and records["00_a"]["status"] == "ok"


def test_status_of_a_profile_exits_nonzero_when_a_dataset_it_needs_is_invalid(tmp_path, capsys):
    """Issue 18, defect 8: ``python -m llie_core.workbook status --profile P`` exits 1 when a dataset P uses is
    present but invalid."""
    write_fake_pairs(tmp_path, "LOLv1/eval15/low", "LOLv1/eval15/high", ["1.png", "2.png"], high_names=["1.png"])
    assert workbook.main(["status", "--profile", "smoke", "--data-root", str(tmp_path)]) == 1
    assert "invalid" in capsys.readouterr().out
