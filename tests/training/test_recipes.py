"""Recipes (config -> staged training) and the evaluation suite, on the embedded dataset."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch

from llie_core.core.profiles import load_profile
from llie_core.engine import TrainResult, load_config
from llie_core.engine.optim import build_scheduler
from llie_core.evaluation.suite import evaluate_suite
from llie_core.training import recipes
from llie_core.training.recipes import load_method_config, train_method, training_data
from tests.helpers import REPO_ROOT


@pytest.fixture()
def embedded_profile(tmp_path):
    """The smoke profile on the embedded set only (no real data), cached under tmp_path."""
    return load_profile("smoke", overrides={"data": {"val_images": 2, "synthetic": {"variants_per_photo": 2}}},
                        cache_dir=tmp_path / "cache")


def test_variant_merge_and_unknown_variant():
    base = load_method_config("frlie", "smoke")
    wo_fr = load_method_config("frlie", "smoke", "wo_fr")
    assert base["variant"] is None and "variants" not in base
    assert wo_fr["variant"] == "wo_fr" and wo_fr["variant_description"]
    assert wo_fr["stages"]["stage1"] is None and base["stages"]["stage1"]["forward"] == "reconstruct"
    assert wo_fr["stages"]["stage2"]["forward_inputs"] == ["low"]
    with pytest.raises(KeyError, match="choose from"):
        load_method_config("frlie", "smoke", "nope")
    with pytest.raises(FileNotFoundError, match="methods"):
        load_method_config("nomethod", "smoke")


def test_training_data_holds_out_a_validation_split(embedded_profile):
    data = training_data(embedded_profile.data)
    assert data.name == "synthetic (fallback: lol_v1 not available)"
    assert len(data.val_pairs) == 2
    assert not {tuple(p) for p in data.val_pairs} & {tuple(p) for p in data.train_pairs}
    assert training_data(embedded_profile.data).val_pairs == data.val_pairs  # deterministic
    assert set(data.checksums) == {"train", "val"}
    too_many = embedded_profile.data.replace(val_images=1000)
    with pytest.raises(ValueError, match="val_images"):
        training_data(too_many)


def test_frlie_smoke_recipe_trains_both_stages_and_resumes(embedded_profile, tmp_path):
    run = train_method("frlie", embedded_profile, tmp_path / "runs")
    assert list(run.stages) == ["stage1", "stage2"]
    assert all(isinstance(r, TrainResult) and r.stopped_reason == "completed" for r in run.stages.values())
    assert (run.run_dir / "recipe.json").is_file() and (run.run_dir / "stage2" / "run.json").is_file()
    # stage 2 trained only FRNet: the autoencoder equals stage 1's best weights
    stage1 = torch.load(run.stages["stage1"].best_checkpoint, weights_only=True)["model"]
    now = run.model.state_dict()
    assert all(torch.equal(now[k], v) for k, v in stage1.items() if k.startswith(("encoder.", "decoder.")))
    assert not all(torch.equal(now[k], v) for k, v in stage1.items() if k.startswith("feature_processor."))
    again = train_method("frlie", embedded_profile, tmp_path / "runs")
    assert [r.stopped_reason for r in again.stages.values()] == ["already_finished"] * 2
    assert all(torch.equal(again.model.state_dict()[k], v) for k, v in now.items())


def test_official_stage1_is_used_when_present_and_trained_when_absent(tmp_path, real_data_root):
    cfg = load_method_config("frlie", "quick")
    from llie_core.models import build_model

    model = build_model(dict(cfg["model"]))
    weights_root = load_profile("quick", data_root=real_data_root).data.weights_root  # <data root>/../weights
    assert recipes._official_init(model, cfg, "stage1", weights_root).startswith("official weights")
    assert recipes._official_init(build_model(dict(cfg["model"])), cfg, "stage1", tmp_path) is None  # no weights
    assert recipes._official_init(build_model(dict(cfg["model"])), cfg, "stage1", None) is None
    assert recipes._official_init(model, cfg, "stage2", weights_root) is None


def test_evaluate_suite_rows_and_not_run_reasons(embedded_profile, tmp_path):
    from llie_core.evaluation.baselines import build_enhancer

    table = evaluate_suite(build_enhancer("input"), embedded_profile, tmp_path / "scores",
                           paired=["synthetic", "lol_v1"], unpaired=["dicm"])
    assert list(table["dataset"]) == ["synthetic", "lol_v1", "dicm"]
    rows = table.set_index("dataset")
    assert rows.loc["synthetic", "status"] == "ok" and rows.loc["synthetic", "images"] >= 1
    assert rows.loc["lol_v1", "status"].startswith("not run:") and rows.loc["dicm", "status"].startswith("not run")
    per_image = pd.read_csv(tmp_path / "scores" / "input" / "synthetic.csv")
    per_image = per_image[per_image["image"] != "mean"]
    assert math.isclose(rows.loc["synthetic", "psnr"], per_image["psnr"].mean(), rel_tol=1e-9)


def test_scaled_budget_keeps_the_schedule_shape():
    sched = {"type": "multistep", "milestones": [470, 600], "warmup_iters": 20, "step_per": "iter"}
    assert recipes.scaled_schedule(sched, 0.5) == {**sched, "milestones": [235, 300], "warmup_iters": 10}
    assert recipes.scaled_schedule(sched, 1.0) == sched
    per_epoch = {**sched, "step_per": "epoch"}
    assert recipes.scaled_schedule(per_epoch, 0.5) == per_epoch  # epochs are not scaled by an iteration budget


def test_a_dry_run_caps_every_stage_and_scales_its_schedule_to_the_cap():
    dry = load_profile("paper-dry-run")
    llflow = load_method_config("llflow", "paper")
    engine = recipes._engine_config(llflow, llflow["stages"]["main"], dry, 1.0, train_size=484)
    assert engine["train"]["iterations"] == 2 and engine["train"]["batch_size"] == 2   # the paper batch 16, capped
    assert engine["scheduler"]["milestones"] == [1, 2, 2, 2] and engine["scheduler"]["warmup_iters"] == 1
    assert engine["losses"] == llflow["stages"]["main"]["losses"]
    # CIDNet: a cosine per epoch with 3 warm-up epochs; 2 iterations are one epoch, so no warm-up is left
    cidnet = load_method_config("cidnet", "paper")
    engine = recipes._engine_config(cidnet, cidnet["stages"]["main"], dry, 1.0, train_size=484)
    assert engine["train"]["iterations"] == 2 and engine["scheduler"]["warmup_iters"] == 0
    cfg = load_config(engine)
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim.lr)
    build_scheduler(optimizer, cfg.scheduler, 1)            # the full run's warm-up would not fit: ValueError
    with pytest.raises(ValueError, match="warmup"):
        build_scheduler(optimizer, load_config(recipes._engine_config(
            cidnet, cidnet["stages"]["main"], load_profile("paper"), 1.0)).scheduler, 1)
    # no cap outside a dry run; a stage shorter than the cap keeps its length and schedule
    full = recipes._engine_config(llflow, llflow["stages"]["main"], load_profile("paper"), 1.0)
    assert full["train"]["iterations"] == 40000 and full["scheduler"] == llflow["stages"]["main"]["scheduler"]
    sched = {"type": "multistep", "milestones": [3], "step_per": "iter"}
    assert recipes.capped_schedule(sched, 4, 2) == {**sched, "milestones": [2]}


@pytest.mark.parametrize("method", ["jcrnet", "llflow"])
def test_a_dry_run_caps_the_paper_batch_and_keeps_patch_and_width(method):
    """The paper's batches (10-16 patches) are the dry run's only cut beyond iterations and images."""
    full, dry = load_profile("paper"), load_profile("paper-dry-run")
    cfg = load_method_config(method, "paper")
    for stage in cfg["stages"].values():
        real, capped = (recipes._engine_config(cfg, stage, p, 1.0, train_size=100) for p in (full, dry))
        assert real["train"]["batch_size"] > 2 and capped["train"]["batch_size"] == 2
        assert capped["model"] == real["model"] and capped["losses"] == real["losses"]
        assert capped["train"]["iterations"] == 2 < real["train"]["iterations"]


def test_a_dry_run_is_recorded_in_every_run_record(embedded_profile, tmp_path):
    dry = embedded_profile.with_overrides({"dry_run": True, "train": {"max_iterations": 2}})
    run = train_method("frlie", dry, tmp_path / "runs")
    assert all(r.iterations_done == 2 for r in run.stages.values())
    assert json.loads((run.run_dir / "recipe.json").read_text())["dry_run"] is True
    assert all(json.loads((r.run_dir / "run.json").read_text())["dry_run"] is True for r in run.stages.values())
    assert json.loads((run.stages["stage2"].run_dir / "run.json").read_text())["iterations"] == 2


def test_initial_weights_do_not_depend_on_earlier_random_draws(embedded_profile, tmp_path):
    first = train_method("frlie", embedded_profile, tmp_path / "a")
    torch.rand(1000)  # whatever ran in between must not change the next run
    second = train_method("frlie", embedded_profile, tmp_path / "b")
    assert recipes.model_fingerprint(first.model) == recipes.model_fingerprint(second.model)


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_every_llflow_stage_lets_ddp_find_unused_parameters(profile):
    """LLFlow steps leave parameters without gradients; without the key, DDP fails at the second step."""
    prof = load_profile(profile)
    for variant in [None, *recipes.method_variants("llflow", profile)]:
        cfg = load_method_config("llflow", profile, variant)
        for name, stage in cfg["stages"].items():
            engine_cfg = load_config(recipes._engine_config(cfg, stage, prof, 1.0))
            assert engine_cfg.train.find_unused_parameters is True, (profile, variant, name)


class _StopBeforeTraining(Exception):
    pass


def test_seed_sets_initial_weights_engine_seed_and_replica_tag(embedded_profile, tmp_path, monkeypatch):
    seen = []

    def capture(engine_cfg, train_dataset, val_dataset, run_dir, *, model, **kwargs):
        seen.append({"weights": recipes.model_fingerprint(model), "engine_seed": engine_cfg["train"]["seed"],
                     "run_dir": run_dir.parent.name})
        raise _StopBeforeTraining

    monkeypatch.setattr(recipes, "train", capture)
    data = training_data(embedded_profile.data)
    for seed in (None, 0, 1):
        with pytest.raises(_StopBeforeTraining):
            train_method("llflow", embedded_profile, tmp_path, data=data, seed=seed)
    default, main, replica = seen
    assert default == main                                   # the profile's seed is the default
    assert main["run_dir"] == "llflow" and replica["run_dir"] == "llflow-seed1"
    assert (main["engine_seed"], replica["engine_seed"]) == (10, 11)   # the recipe pins 10 (released manual_seed)
    assert replica["weights"] != main["weights"]


@pytest.mark.slow
def test_a_recipe_gives_bit_identical_weights_twice_and_across_an_interruption(embedded_profile, tmp_path,
                                                                               monkeypatch):
    """Iterations decide a run: the same profile, seed and software give the same weights bit for bit, also
    when the run is interrupted after 2 of its iterations and resumed from its checkpoint."""
    first = train_method("iclr", embedded_profile, tmp_path / "a")
    again = train_method("iclr", embedded_profile, tmp_path / "b")
    uninterrupted = recipes.train
    monkeypatch.setattr(recipes, "train", lambda *a, **kw: uninterrupted(*a, stop_at_iteration=2, **kw))
    stopped = train_method("iclr", embedded_profile, tmp_path / "c")
    assert stopped.stages["main"].stopped_reason == "stop_at_iteration"
    assert stopped.stages["main"].iterations_done == 2
    monkeypatch.setattr(recipes, "train", uninterrupted)
    resumed = train_method("iclr", embedded_profile, tmp_path / "c")
    assert resumed.stages["main"].iterations_done == first.stages["main"].iterations_done
    reference = first.model.state_dict()
    for run in (again, resumed):
        state = run.model.state_dict()
        assert state.keys() == reference.keys()
        assert all(torch.equal(state[k], v) for k, v in reference.items())


def test_no_profile_or_recipe_stops_on_a_clock():
    """Budgets are iterations: no profile or method config names a wall-clock budget (the engine refuses one)."""
    yamls = sorted((REPO_ROOT / "llie_core" / "profiles").glob("*.yaml")) + sorted(
        (REPO_ROOT / "llie_core" / "configs").glob("*/*.yaml"))
    assert len(yamls) >= 3 + 6 * 3
    offenders = [str(p.relative_to(REPO_ROOT)) for p in yamls if "time_budget" in p.read_text()]
    assert not offenders, f"wall-clock budgets in {offenders}"
