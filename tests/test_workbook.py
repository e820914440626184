"""The papermill runner: order, failure reporting, manifest, and 00_data_prep in the smoke profile."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from llie_core import workbook


def _write_notebook(path: Path, *sources: str) -> None:
    cells = [nbformat.v4.new_code_cell('profile: str = "smoke"\nroot: str = ""\ndata_root: str = ""')]
    cells[0].metadata["tags"] = ["parameters"]
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


@pytest.fixture()
def fake_root(tmp_path, monkeypatch):
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    monkeypatch.setenv("LLIE_ROOT", str(tmp_path))
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
def test_data_prep_notebook_on_the_embedded_set(tmp_path, repo_root, monkeypatch):
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    out = _run_data_prep(tmp_path, repo_root, None)
    for rel in ("tables/data_inventory.csv", "tables/data_inventory.md", "figures/data_samples.png",
                "figures/data_histograms.png", "notebooks/00_data_prep.ipynb", "manifest.json"):
        assert (out / rel).is_file(), rel
    import pandas as pd

    inv = pd.read_csv(out / "tables/data_inventory.csv")
    assert set(inv.loc[inv["name"] == "lol_v1", "state"]) == {"missing"}
    assert "found" in set(inv.loc[inv["name"] == "synthetic", "state"])
    checksums = json.loads((out / "manifest.json").read_text())["data_checksums"]
    assert {"synthetic/train", "synthetic/test"} <= set(checksums)  # the set the smoke run uses, no data root


@pytest.mark.notebook
def test_data_prep_notebook_on_the_shared_data(tmp_path, repo_root, real_data_root, monkeypatch):
    out = _run_data_prep(tmp_path, repo_root, real_data_root)
    import pandas as pd

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
    from llie_core.artifacts import missing_outputs, unregistered_outputs

    assert missing_outputs(out, "smoke") == []  # every registered table and figure of the smoke profile
    assert unregistered_outputs(out) == []


def test_a_kernel_of_another_interpreter_is_not_used(tmp_path, monkeypatch, capsys):
    """A stale ``llie-workbook`` spec (left by another checkout) would run another copy of the code."""
    import sys

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
TINY_SYNTHETIC = {"data": {"synthetic": {"seed": 0, "variants_per_photo": 1, "max_side": 64}}}


def _synthetic_fingerprints(profile: dict) -> dict[str, str]:
    """Fingerprints of the embedded build's files, computed from the folder itself."""
    from data_prep.synthetic import synthetic_root
    from llie_core.provenance import checksum_files

    build = synthetic_root(profile)
    return {f"synthetic/{split}": checksum_files((build / split).rglob("*.png")) for split in ("train", "test")}


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_data_checksums_include_the_embedded_set_without_a_data_root(name, monkeypatch):
    from llie_core.profiles import load_profile

    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    cfg = load_profile(name, overrides=TINY_SYNTHETIC)
    assert cfg["data"]["root"] is None
    assert workbook.data_checksums(cfg) == _synthetic_fingerprints(cfg)  # paper: the training fallback


def test_data_checksums_with_a_data_root_add_the_embedded_set_only_when_used(tmp_path, monkeypatch):
    from data_prep.testing import write_fake_pairs
    from llie_core.profiles import load_profile

    write_fake_pairs(tmp_path, "LOLv1/our485/low", "LOLv1/our485/high", ["1.png", "2.png"])
    write_fake_pairs(tmp_path, "LOLv1/eval15/low", "LOLv1/eval15/high", ["3.png"])
    smoke = load_profile("smoke", overrides=TINY_SYNTHETIC, data_root=str(tmp_path))
    sums = workbook.data_checksums(smoke)
    assert set(sums) == {"lol_v1/train", "lol_v1/test", "synthetic/train", "synthetic/test"}
    assert {k: v for k, v in sums.items() if k.startswith("synthetic/")} == _synthetic_fingerprints(smoke)
    paper = load_profile("paper", overrides=TINY_SYNTHETIC, data_root=str(tmp_path))
    assert set(workbook.data_checksums(paper)) == {"lol_v1/train", "lol_v1/test"}  # LOL present: no fallback


def _git(repo: Path, *args: str) -> str:
    import subprocess

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

    def fake_run(nb, output, parameters, kernel, cwd, timeout):
        if nb.stem == "00_a":
            (tmp_path / "code.py").write_text("v = 2\n")
            _git(tmp_path, "commit", "-qam", "second")
        elif nb.stem == "01_b":
            (tmp_path / "code.py").write_text("v = 3\n")  # tracked file edited, not committed

    for var in ("LLIE_ROOT", "PAPERMILL_EXECUTION", "LLIE_DATA_ROOT"):
        monkeypatch.delenv(var, raising=False)  # run_workbook sets some; restored after the test
    monkeypatch.setattr(workbook, "run_notebook", fake_run)
    monkeypatch.setattr(workbook, "data_checksums", lambda cfg: {})
    (tmp_path / ".gitignore").write_text("results/\n")  # untracked: must not count as dirty
    run = workbook.run_workbook("smoke", root=tmp_path, kernel="python3")
    second = _git(tmp_path, "rev-parse", "HEAD")
    assert second != first and run.git_commit == first
    assert [nb.git_commit for nb in run.notebooks] == [first, second, second + "+dirty"]
    manifest = json.loads((tmp_path / "results/smoke/manifest.json").read_text())
    assert [nb["git_commit"] for nb in manifest["notebooks"]] == [first, second, second + "+dirty"]
