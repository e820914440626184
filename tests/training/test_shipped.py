"""llie_core.training.shipped: a main run copied into checkpoints/<profile>/<method> loads as a run of its own,
with fp16 storage only where it keeps the test PSNR within tolerance, a model card, and no silent overwrite; a main
run reuses it only on request and only when its recipe and data checksums match (llie_core.training.recipes)."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from llie_core.core.profiles import load_profile
from llie_core.models import build_model
from llie_core.training import recipes
from llie_core.training import shipped as S
from llie_core.training import trained as T
from llie_core.training.recipes import load_method_config, train_method


def _run(root):
    """A finished frlie run folder (recipe with config, a stage-2 run record and best checkpoint)."""
    cfg = load_method_config("frlie", "smoke")
    torch.manual_seed(1)
    model = build_model(dict(cfg["model"])).eval()
    run = root / "runs" / "frlie"
    (run / "stage2" / "checkpoints").mkdir(parents=True)
    torch.save({"model": model.state_dict()}, run / "stage2" / "checkpoints" / "best.pt")
    (run / "stage2" / "run.json").write_text(json.dumps({"precision": "fp32", "threads": 2, "result": {
        "iterations_done": 6, "stopped_reason": "completed", "best_iteration": 6}}))
    (run / T.RECIPE).write_text(json.dumps({"method": "frlie", "variant": None, "tag": None, "profile": "smoke",
                                            "seed": 0, "budget_scale": 1.0, "training_data": "synthetic",
                                            "data_checksums": {"train": "abc"}, "config": cfg}))
    return run, model


class Pairs:
    """Two small paired items (a map-style test set)."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.items = [{"low": torch.rand(3, 32, 48, generator=g) * 0.3, "name": f"p{i}"} for i in range(2)]
        for item in self.items:
            item["high"] = (item["low"] * 3).clamp(0, 1)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_a_shipped_run_loads_like_the_run_and_says_what_it_is(tmp_path):
    run, model = _run(tmp_path)
    out = S.ship_run("frlie", "smoke", tmp_path / "runs", tmp_path / "checkpoints" / "smoke", Pairs())
    assert out == tmp_path / "checkpoints" / "smoke" / "frlie"
    loaded = T.load_trained("frlie", "smoke", tmp_path / "checkpoints" / "smoke")
    stored = torch.load(out / "stage2" / "checkpoints" / "best.pt", weights_only=True)
    x = torch.rand(1, 3, 24, 32)
    with torch.no_grad():
        reference, shipped = model(x), loaded.model(x)
    if stored["stored_dtype"] == "float16":
        assert all(v.dtype == torch.float16 for v in stored["model"].values() if v.is_floating_point())
        assert (shipped - reference).abs().max() < 1e-2
    else:
        assert torch.equal(shipped, reference)
    card = (out / S.CARD).read_text()
    assert "| stage2 | 6 | completed | fp32 | 2 | 6 |" in card and "commit" in card and "2 images" in card
    assert not (out.parent / "frlie.partial").exists()
    with pytest.raises(FileExistsError, match="--overwrite"):
        S.ship_run("frlie", "smoke", tmp_path / "runs", tmp_path / "checkpoints" / "smoke")
    S.ship_run("frlie", "smoke", tmp_path / "runs", tmp_path / "checkpoints" / "smoke", overwrite=True)
    stored = torch.load(out / "stage2" / "checkpoints" / "best.pt", weights_only=True)
    assert stored["stored_dtype"] == "float32"   # no test set: fp16 is never assumed harmless


def test_fp16_storage_is_refused_when_it_moves_the_psnr(tmp_path, monkeypatch):
    _run(tmp_path)
    calls = iter([30.0, 29.9])      # fp32 then fp16 PSNR: a 0.1 dB change, over the 0.01 dB tolerance
    monkeypatch.setattr(S, "_mean_psnr", lambda enhancer, dataset: next(calls))
    out = S.ship_run("frlie", "smoke", tmp_path / "runs", tmp_path / "out", Pairs())
    assert torch.load(out / "stage2" / "checkpoints" / "best.pt", weights_only=True)["stored_dtype"] == "float32"
    assert "-0.1000 dB" in (out / S.CARD).read_text()


# ---- reuse of a shipped model by a main run (opt-in: train.reuse_shipped) ----------------------------------------
@pytest.fixture(scope="module")
def shipped_once(tmp_path_factory):
    """A frlie main run of the smoke profile on the embedded set, shipped (trained once for this module)."""
    root = tmp_path_factory.mktemp("shipped")
    profile = load_profile("smoke", overrides={"data": {"val_images": 2, "synthetic": {"variants_per_photo": 2}}},
                           cache_dir=root / "cache")
    train_method("frlie", profile, root / "trained")
    S.ship_run("frlie", "smoke", root / "trained", root / "checkpoints" / "smoke")
    return profile, root / "checkpoints" / "smoke"


@pytest.fixture()
def shipped_frlie(shipped_once, tmp_path):
    """The profile (reuse off) that trained the shipped frlie model, and a copy of its checkpoints/smoke folder."""
    profile, shipped = shipped_once
    shutil.copytree(shipped, tmp_path / "checkpoints" / "smoke")
    return profile, tmp_path / "checkpoints" / "smoke"


def _state(path):
    return torch.load(path, weights_only=True)["model"]


def test_a_matching_main_run_installs_the_shipped_weights_instead_of_training(shipped_frlie, tmp_path, capsys):
    profile, shipped = shipped_frlie
    reuse = profile.with_overrides({"train": {"reuse_shipped": True}})
    run = train_method("frlie", reuse, tmp_path / "runs", shipped_dir=shipped)
    assert run.reused_from == str(shipped / "frlie") and "match the shipped model" in capsys.readouterr().out
    assert not list(run.run_dir.rglob("last.pt"))        # nothing trained
    assert run.stages["stage2"].stopped_reason == "reused" and isinstance(run.stages["stage1"], str)
    recipe = json.loads((run.run_dir / "recipe.json").read_text())
    record = json.loads((run.run_dir / "stage2" / "run.json").read_text())
    assert recipe["reused_from"] == record["reused_from"] == str(shipped / "frlie")
    assert (run.run_dir / "stage2" / "log.csv").read_text() == (shipped / "frlie" / "stage2" / "log.csv").read_text()
    weights = _state(shipped / "frlie" / "stage2" / "checkpoints" / "best.pt")
    assert all(torch.equal(run.model.state_dict()[k], v) for k, v in weights.items())
    loaded = T.load_trained("frlie", "smoke", tmp_path / "runs")      # evaluation reads it like a trained run
    assert all(torch.equal(loaded.model.state_dict()[k], v) for k, v in weights.items())
    # a later run without reuse removes the installed model and trains from scratch
    again = train_method("frlie", profile, tmp_path / "runs")
    assert again.reused_from is None and again.stages["stage2"].stopped_reason == "completed"
    assert (again.run_dir / "stage2" / "checkpoints" / "last.pt").is_file()
    assert "reused_from" not in json.loads((again.run_dir / "recipe.json").read_text())
    assert "reused_from" not in json.loads((again.run_dir / "stage2" / "run.json").read_text())


def test_a_recipe_that_differs_trains_and_names_the_fields(shipped_frlie, tmp_path, capsys):
    profile, shipped = shipped_frlie
    recipe_file = shipped / "frlie" / T.RECIPE
    recipe = json.loads(recipe_file.read_text())
    recipe["config"]["stages"]["stage2"]["train"]["iterations"] += 1
    recipe["data_checksums"]["train"] = "0" * 64
    recipe_file.write_text(json.dumps(recipe))
    reuse = profile.with_overrides({"train": {"reuse_shipped": True}})
    run = train_method("frlie", reuse, tmp_path / "runs", shipped_dir=shipped)
    out = capsys.readouterr().out
    assert run.reused_from is None and run.stages["stage2"].stopped_reason == "completed"
    assert "config.stages.stage2.train.iterations" in out and "data_checksums.train" in out
    assert "seed" not in out.split("differs in:")[1].split(")")[0]


def test_by_default_a_main_run_trains_even_when_a_matching_model_is_shipped(shipped_frlie, tmp_path):
    profile, shipped = shipped_frlie
    assert profile.train.reuse_shipped is False
    run = train_method("frlie", profile, tmp_path / "runs", shipped_dir=shipped)
    assert run.reused_from is None and run.stages["stage2"].stopped_reason == "completed"
    assert "reused_from" not in json.loads((run.run_dir / "recipe.json").read_text())


def test_only_the_main_run_reuses(shipped_frlie, tmp_path):
    profile, shipped = shipped_frlie
    reuse = profile.with_overrides({"train": {"reuse_shipped": True}})
    shorter = train_method("frlie", reuse, tmp_path / "runs", shipped_dir=shipped, budget_scale=0.5)  # not the main run
    assert shorter.reused_from is None and shorter.stages["stage2"].stopped_reason == "completed"


def test_recipe_differences_name_dotted_paths():
    assert recipes.recipe_differences({"a": {"b": 1, "c": [1, 2]}, "d": 0}, {"a": {"b": 2, "c": [1, 2]}, "e": 0}) \
        == ["a.b", "d", "e"]
    assert recipes.recipe_differences({"a": 1}, {"a": 1}) == []
