"""Issue 18, defect 3: a broken ``last.pt`` (truncated, empty) never blocks training: the error names the file, the
previous good checkpoint is kept by every save and resumed from, and without one the error says how to go on."""
from __future__ import annotations

import pytest

from llie_core.engine import train
from llie_core.engine.checkpoint import CheckpointUnreadable, load_checkpoint, previous_path
from tests.engine.test_engine import NoisyPairs, TinyNet, make_config


def _run(run_dir, **kwargs):
    return train(make_config(), NoisyPairs(), NoisyPairs(n=2, seed=9), run_dir, model=TinyNet, **kwargs)


@pytest.mark.parametrize("damage", ["truncate", "empty"])
def test_a_broken_last_checkpoint_is_named(tmp_path, damage):
    path = _run(tmp_path / "run", stop_at_iteration=3).last_checkpoint
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"")
    with pytest.raises(CheckpointUnreadable, match=str(path)):
        load_checkpoint(path)


def test_every_save_keeps_the_previous_last_checkpoint(tmp_path):
    result = _run(tmp_path / "run", stop_at_iteration=4)  # checkpoints at 3 (val) ... and 4
    prev = previous_path(result.last_checkpoint)
    assert prev.name == "last.prev.pt" and prev.is_file()
    assert load_checkpoint(prev)["iteration"] < load_checkpoint(result.last_checkpoint)["iteration"] == 4


@pytest.mark.parametrize("damage", ["truncate", "empty"])
def test_training_resumes_from_the_previous_checkpoint_when_last_is_broken(tmp_path, damage):
    straight = _run(tmp_path / "straight")
    run_dir = tmp_path / "run"
    path = _run(run_dir, stop_at_iteration=4).last_checkpoint
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"")
    with pytest.warns(UserWarning, match=r"last\.pt.*cannot be read.*last\.prev\.pt"):
        resumed = _run(run_dir)
    assert resumed.stopped_reason == "completed" and resumed.iterations_done == 6
    assert (run_dir / "checkpoints" / "last.pt.broken").is_file()  # kept for inspection, out of the way
    ref, got = load_checkpoint(straight.last_checkpoint), load_checkpoint(resumed.last_checkpoint)
    assert all(ref["model"][k].equal(got["model"][k]) for k in ref["model"])  # still bit-exact


def test_without_a_good_checkpoint_the_error_names_the_files_and_the_fix(tmp_path):
    run_dir = tmp_path / "run"
    path = _run(run_dir, stop_at_iteration=4).last_checkpoint
    path.write_bytes(b"")
    previous_path(path).write_bytes(b"junk")
    with pytest.raises(CheckpointUnreadable) as caught:
        _run(run_dir)
    message = str(caught.value)
    assert str(path) in message and str(previous_path(path)) in message and "retrain" in message
