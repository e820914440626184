"""llie_core.training.trained: a trained method loaded from its run folder or a checkpoint file, with the config it
was trained with; unusable checkpoints and unfinished runs fail with errors that say which and why."""
from __future__ import annotations

import json

import pytest
import torch

from llie_core.core.methods import display_name
from llie_core.models import build_model
from llie_core.training import trained as T
from llie_core.training.recipes import load_method_config


def _fake_run(root, finished=True, method="frlie", blocks=None):
    """A run folder as recipes.train_method leaves it (``recipe.json`` + ``stage2/checkpoints/best.pt``); with
    ``blocks`` the recipe's config differs from every YAML profile, so only the recipe can build the model."""
    cfg = load_method_config("frlie", "smoke")
    if blocks is not None:
        cfg["model"]["num_blocks"] = blocks
    torch.manual_seed(1)
    model = build_model(dict(cfg["model"])).eval()
    run = root / "frlie"
    (run / "stage2" / "checkpoints").mkdir(parents=True)
    torch.save({"model": model.state_dict()}, run / "stage2" / "checkpoints" / "best.pt")
    if finished:
        (run / T.RECIPE).write_text(json.dumps({"method": method, "variant": None, "tag": None, "profile": "smoke",
                                                **({"config": cfg} if blocks is not None else {})}))
    return run, model


def test_load_trained_builds_the_run_model_and_names_its_enhancer(tmp_path):
    run, model = _fake_run(tmp_path)
    trained = T.load_trained("frlie", "smoke", tmp_path)
    assert trained.checkpoint == run / "stage2" / "checkpoints" / "best.pt" and trained.run_dir == run
    assert trained.pad_multiple == 4 and not trained.model.training
    x = torch.rand(1, 3, 20, 28)
    with torch.no_grad():
        assert torch.equal(trained.model(x), model(x))
        enhancer = trained.enhancer()
        assert enhancer.name == display_name("frlie") == "FRLIE"  # the core list's display name
        assert torch.equal(enhancer(x), model(x))
    assert trained.enhancer("mine").name == "mine"


def test_the_recipe_config_builds_the_model_not_the_profile_yaml(tmp_path):
    run, model = _fake_run(tmp_path, blocks=2)
    loaded, cfg, path = T.load_model("frlie", run)
    assert cfg["model"]["num_blocks"] == 2 and path.name == "best.pt"
    assert T.model_config("frlie", path)[1] == "its run's recipe.json (profile smoke)"
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    with pytest.raises(T.CheckpointError, match="does not fit frlie built from configs/frlie/smoke.yaml"):
        T.load_model("frlie", run, profile="smoke")  # an explicit profile wins over the recipe


def test_unfinished_runs_and_unusable_checkpoints_raise_no_trained_run(tmp_path):
    _fake_run(tmp_path, finished=False)
    with pytest.raises(T.NoTrainedRun, match="recipe.json missing"):
        T.load_trained("frlie", "smoke", tmp_path)
    with pytest.raises(T.NoTrainedRun, match="run its notebook first"):
        T.load_trained("frlie", "smoke", tmp_path / "nowhere")
    run, _ = _fake_run(tmp_path / "junk")
    (run / "stage2" / "checkpoints" / "best.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(T.CheckpointError, match="cannot be read as a torch checkpoint"):
        T.load_model("frlie", run)
    with pytest.raises(T.NoTrainedRun, match="frlie: .*cannot be read as a torch checkpoint") as caught:
        T.load_trained("frlie", "smoke", tmp_path / "junk")
    assert isinstance(caught.value.__cause__, T.CheckpointError)


def test_a_run_of_another_method_is_refused(tmp_path):
    run, _ = _fake_run(tmp_path, method="irle")
    with pytest.raises(T.CheckpointError, match="is a irle run"):
        T.load_model("frlie", run)


def test_resolve_checkpoint_prefers_the_last_stage_then_best(tmp_path):
    for rel in ("stage1/checkpoints/best.pt", "stage2/checkpoints/last.pt", "checkpoints/best.pt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    assert T.resolve_checkpoint(tmp_path, ["stage1", "stage2"]) == tmp_path / "stage2/checkpoints/last.pt"
    assert T.resolve_checkpoint(tmp_path, ["stage1"]) == tmp_path / "stage1/checkpoints/best.pt"
    assert T.resolve_checkpoint(tmp_path) == tmp_path / "checkpoints/best.pt"
    file = tmp_path / "stage1/checkpoints/best.pt"
    assert T.resolve_checkpoint(file, ["stage2"]) == file  # a file is used as it is
    with pytest.raises(T.CheckpointError, match="no such file or folder"):
        T.resolve_checkpoint(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(T.CheckpointError, match="holds no checkpoints/best.pt or last.pt"):
        T.resolve_checkpoint(tmp_path / "empty", ["stage1"])
