"""The recipes command line under torchrun: two gloo processes on CPU train a method; only rank 0 writes files."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORLD = 2

# Imported at start-up by every Python process started with this folder on PYTHONPATH: the torchrun workers
# (which have RANK set) record every file or folder they create or open for writing under $WRITES_UNDER.
WRITE_RECORDER = '''
import os, sys

_root, _out, _rank = os.environ.get("WRITES_UNDER"), os.environ.get("WRITES_LOG"), os.environ.get("RANK")
if _root and _out and _rank is not None:
    _log = open(os.path.join(_out, f"rank{_rank}.txt"), "a", buffering=1)

    def _record(event, args):
        if event == "open" and args[2] & (os.O_WRONLY | os.O_RDWR):
            path = args[0]
        elif event in ("os.rename", "os.mkdir"):
            path = args[1] if event == "os.rename" else args[0]
        else:
            return
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(_root):
            _log.write(os.fspath(path) + "\\n")

    sys.addaudithook(_record)
'''


def _written(folder: Path, rank: int) -> set[str]:
    path = folder / f"rank{rank}.txt"
    return set(path.read_text().split()) if path.is_file() else set()


@pytest.mark.slow
def test_recipes_cli_trains_llflow_with_two_gloo_processes(tmp_path):
    """LLFlow leaves parameters without gradients: its config's ``find_unused_parameters`` lets step 2 run."""
    runs, writes, hook = tmp_path / "runs", tmp_path / "writes", tmp_path / "hook"
    writes.mkdir(), hook.mkdir()
    (hook / "sitecustomize.py").write_text(WRITE_RECORDER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(REPO)]), "CUDA_VISIBLE_DEVICES": "",
           "LLIE_NO_PROGRESS": "1", "WRITES_UNDER": str(runs), "WRITES_LOG": str(writes)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(WORLD),
           "-m", "llie_core.training.recipes", "train", "--method", "llflow", "--profile", "smoke", "--run-root", str(runs),
           "--budget-scale", "0.34"]                        # smoke: 6 iterations -> 2 (DDP fails at step 2)
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        pytest.fail("torchrun did not finish within 180 s")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.count("completed") == 1              # the summary is printed by rank 0 only

    stage = runs / "llflow" / "main"
    record = json.loads((stage / "run.json").read_text())
    assert record["world_size"] == WORLD and record["device"] == "cpu"
    assert record["result"]["stopped_reason"] == "completed" and record["result"]["iterations_done"] == 2
    assert record["config"]["train"]["find_unused_parameters"] is True
    assert json.loads((runs / "llflow" / "recipe.json").read_text())["stages"] == {"main": "completed"}
    with open(stage / "log.csv", newline="") as fh:
        assert [row["iter"] for row in csv.DictReader(fh)] == ["2"]   # the final step (log_every 10), once

    rank0 = _written(writes, 0)
    expected = [stage / "checkpoints" / "last.pt", stage / "checkpoints" / "best.pt", stage / "log.csv",
                stage / "run.json", runs / "llflow" / "recipe.json"]
    assert {str(p) for p in expected} <= rank0
    assert _written(writes, 1) == set()                     # rank 1 trained but created nothing
