"""A new user's machine: no ``../shared`` beside the checkout, no ``LLIE_DATA_ROOT`` and no ``LLIE_WEIGHTS_ROOT``.

The README promises that every notebook then runs on the embedded synthetic set; rows that need released weights
(Zero-DCE) say "not run: weights absent (...)" and FRLIE trains its stage 1 instead of loading the official one.
The whole smoke workbook runs from a copy of the tracked files in a folder with nothing beside it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from llie_core.core.paths import assets_dir, weights_file
from llie_core.core.profiles import load_profile
from llie_core.evaluation.baselines import BASELINES, WeightsAbsent, build_enhancer
from llie_core.evaluation.suite import score_baselines

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def no_weights(monkeypatch):
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    monkeypatch.delenv("LLIE_WEIGHTS_ROOT", raising=False)


def test_absent_zero_dce_weights_say_how_to_get_them(no_weights):
    weights_root = load_profile("smoke").data.weights_root
    assert weights_root is None and weights_file("zero_dce/Epoch99.pth", weights_root) is None
    with pytest.raises(WeightsAbsent, match=r"weights absent \(Zero-DCE: get .*Epoch99.pth"):
        build_enhancer("zero_dce", weights_root=weights_root)


def test_baseline_rows_without_weights_are_not_run_rows(no_weights, tmp_path):
    profile = load_profile("smoke", overrides={"data": {"eval_paired": ["synthetic"], "eval_unpaired": ["dicm"],
                                                        "max_eval_images": 1}})
    table = score_baselines(profile, tmp_path, names=["he", "zero_dce"])
    zero = table[table["method"] == "zero_dce"]
    assert list(zero["dataset"]) == ["synthetic", "dicm"]
    assert zero["status"].str.startswith("not run: weights absent (Zero-DCE").all()
    he = table[(table["method"] == "he") & (table["dataset"] == "synthetic")]
    assert he["status"].tolist() == ["ok"] and he["psnr"].notna().all()
    assert not (tmp_path / "zero_dce").exists()   # nothing was scored for it


def _tracked_files(root: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return [f for f in out if not f.startswith(("results/smoke/", "results/quick/")) and (root / f).is_file()]


@pytest.mark.notebook
@pytest.mark.slow
def test_whole_smoke_workbook_runs_with_no_data_and_no_weights(tmp_path):
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy the tracked files")
    project = tmp_path / "fresh" / "llie-workbook"          # nothing beside it: no ../shared
    for name in _tracked_files(REPO_ROOT):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, project / name)
    assert not (project.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLIE_")}
    env.update(PYTHONPATH=str(project), LLIE_ASSETS_DIR=str(assets_dir()),   # installed by `make setup`
               LLIE_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "llie_core.workbook.runner", "run", "--profile", "smoke"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = project / "results" / "smoke"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data_root"] is None
    assert all(nb["status"] == "ok" for nb in manifest["notebooks"]), manifest["notebooks"]
    baselines = pd.read_csv(out / "tables" / "baselines.csv")
    assert set(baselines["method"]) == set(BASELINES)
    zero = baselines[baselines["method"] == "zero_dce"]
    assert len(zero) and zero["status"].str.startswith("not run: weights absent").all()
    ran = baselines[(baselines["method"] != "zero_dce") & (baselines["dataset"] == "synthetic")]
    assert (ran["status"] == "ok").all() and len(ran) == len(BASELINES) - 1
    runs = pd.read_csv(out / "tables" / "frlie_runs.csv")
    stage1 = runs[(runs["run"] == "frlie") & (runs["stage"] == "stage1")]
    assert len(stage1) == 1 and "official" not in str(stage1["stopped"].iloc[0])   # trained by its own recipe
    assert stage1["iterations"].iloc[0] > 0
