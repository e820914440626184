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


# ---- issue 18 --------------------------------------------------------------------------------------------------
def test_a_checkpoint_of_another_method_gets_short_advice_to_check_the_method(tmp_path):
    """Defect 10: a CIDNet checkpoint given as FRLIE (outside a run folder, no recipe.json) is named as another
    method's weights, with a short message; not hundreds of keys and not the --profile/--variant advice."""
    cidnet = build_model(dict(load_method_config("cidnet", "smoke")["model"]))
    path = tmp_path / "downloaded.pth"
    torch.save({"model": cidnet.state_dict()}, path)
    with pytest.raises(T.CheckpointError) as caught:
        T.load_model("frlie", path, profile="smoke")
    message = str(caught.value)
    assert str(path) in message and "--method" in message and "--profile" not in message
    assert len(message) < 700, message
    torch.save(cidnet.state_dict(), path)  # a bare state dict: the same
    with pytest.raises(T.CheckpointError, match="--method"):
        T.load_model("frlie", path, profile="smoke")


def test_a_matching_model_with_other_sizes_still_gets_the_profile_advice(tmp_path):
    run, _ = _fake_run(tmp_path, blocks=2)
    with pytest.raises(T.CheckpointError, match="--profile"):
        T.load_model("frlie", run / "stage2" / "checkpoints" / "best.pt", profile="smoke")


class _Opaque:  # an arbitrary pickled object: a safe (weights_only) load refuses it
    pass


@pytest.mark.parametrize("content", [b"", b"\x00" * 100, b"random bytes", None],
                         ids=["empty", "zeros", "text", "pickle"])
def test_an_unreadable_file_never_gets_the_unsafe_weights_only_advice(tmp_path, content):
    path = tmp_path / "file.pt"
    if content is None:
        torch.save({"model": _Opaque()}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(T.CheckpointError, match="cannot be read as a torch checkpoint") as caught:
        T.load_model("frlie", path, profile="smoke")
    message = str(caught.value)
    assert str(path) in message and "weights_only" not in message and "unsafe" not in message.lower()


def test_a_broken_best_checkpoint_falls_back_to_last_and_names_it(tmp_path):
    """Defect 3 (loading side): a truncated ``best.pt`` in a run folder is named in a warning and the run's
    ``last.pt`` is used; when no file of the run can be read, the error names each one."""
    run, model = _fake_run(tmp_path)
    ckpts = run / "stage2" / "checkpoints"
    good = (ckpts / "best.pt").read_bytes()
    (ckpts / "last.pt").write_bytes(good)
    (ckpts / "best.pt").write_bytes(good[: len(good) // 2])  # truncated
    with pytest.warns(UserWarning, match=r"best\.pt.*cannot be read.*using .*last\.pt"):
        loaded, _, path = T.load_model("frlie", run)
    assert path == ckpts / "last.pt"
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    (ckpts / "last.pt").write_bytes(b"")
    with pytest.raises(T.CheckpointError, match=r"best\.pt.*last\.pt|last\.pt.*best\.pt"):
        T.load_model("frlie", run)
