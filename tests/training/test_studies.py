"""Ablation studies: every variant (and the full model it is compared with) trains at the same budget; seed
replicas of the main run."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from llie_core.core.profiles import load_profile
from llie_core.report.compare import cross_method_table, load_scores
from llie_core.training.recipes import model_fingerprint, train_method, training_data
from llie_core.training.studies import (ABLATION_TAG, ablation_study, evaluate_runs, iterations_done, main_paired_set,
                                        replica_seeds, scores_path, seed_replicas)


@pytest.fixture()
def embedded_profile(tmp_path):
    return load_profile("smoke", overrides={"train": {"iterations": 4, "ablation_budget_scale": 0.5},
                                            "data": {"val_images": 2, "synthetic": {"variants_per_photo": 2}}},
                        cache_dir=tmp_path / "cache")


def test_main_paired_set_falls_back_to_the_embedded_set(embedded_profile):
    assert main_paired_set(embedded_profile.data) == "synthetic"


@pytest.mark.slow
def test_ablation_study_equal_budgets_and_one_row_per_variant(embedded_profile, tmp_path):
    study = ablation_study("frlie", embedded_profile, tmp_path / "runs", [None, "wo_fr"],
                           training_data(embedded_profile.data), metrics=["psnr"])
    full, wo_fr = study.runs[None], study.runs["wo_fr"]
    assert full.tag == ABLATION_TAG and full.run_dir.name == "frlie-ablation_budget"
    assert full.label == "frlie[ablation_budget]" and wo_fr.label == "frlie[wo_fr]"
    # smoke configs: stage 1 = 4, stage 2 = 6 iterations; x 0.5 -> 2 + 3 (full), 3 (w/o FR: one stage)
    assert iterations_done(wo_fr) == 3 and iterations_done(full) == 5
    table = study.table({None: "Ours", "wo_fr": "Ours w/o FR"}, ["psnr"])
    assert list(table["row"]) == ["Ours", "Ours w/o FR"] and table["psnr"].notna().all()
    assert set(study.scores["dataset"]) == {"synthetic"}


@pytest.mark.slow
def test_at_full_budget_the_reference_is_the_main_run_under_its_own_label(embedded_profile, tmp_path):
    profile = embedded_profile.with_overrides({"train": {"ablation_budget_scale": 1.0}})
    study = ablation_study("frlie", profile, tmp_path / "runs", [None], training_data(profile.data),
                           metrics=["psnr"])
    ref = study.runs[None]
    assert ref.run_dir.name == "frlie" and ref.label == "frlie[ablation_budget]"
    assert list(study.scores["method"]) == ["frlie[ablation_budget]"]


def test_replica_seeds_are_the_profile_seeds_except_the_main_one():
    assert replica_seeds(load_profile("paper")) == [1, 2]
    assert replica_seeds(load_profile("quick")) == [] and replica_seeds(load_profile("smoke")) == [1]
    assert replica_seeds(load_profile("smoke", overrides={"seed": 1, "train": {"seeds": [0, 1, 0, 3]}})) == [0, 3]


@pytest.mark.slow
def test_seed_replicas_resume_and_give_a_mean_and_std_over_seeds(embedded_profile, tmp_path):
    profile = embedded_profile.with_overrides({"train": {"seeds": [0, 1]},
                                               "data": {"eval_paired": ["synthetic"], "eval_unpaired": []}})
    data, runs_dir, scale = training_data(profile.data), tmp_path / "runs", 0.2   # 1 iteration per stage
    main = train_method("frlie", profile, runs_dir, data=data, budget_scale=scale)
    replicas = seed_replicas("frlie", profile, runs_dir, data, budget_scale=scale, paired_metrics=["psnr"])
    assert list(replicas.runs) == [1]
    replica = replicas.runs[1]
    assert replica.run_dir.name == "frlie-seed1" and replica.label == "frlie[seed1]"
    assert model_fingerprint(replica.model) != model_fingerprint(main.model)
    assert list(replicas.scores["method"]) == ["frlie[seed1]"] and list(replicas.scores["dataset"]) == ["synthetic"]

    again = seed_replicas("frlie", profile, runs_dir, data, budget_scale=scale, paired_metrics=["psnr"])
    assert {r.stopped_reason for r in again.runs[1].stages.values()} == {"already_finished"}
    assert all(torch.equal(v, replica.model.state_dict()[k]) for k, v in again.runs[1].model.state_dict().items())
    pd.testing.assert_frame_equal(again.scores, replicas.scores)

    measured = pd.concat([evaluate_runs([main], profile, paired_metrics=["psnr"]), replicas.scores])
    path = scores_path(tmp_path, "frlie")
    path.parent.mkdir(parents=True)
    measured.to_csv(path, index=False)
    row = cross_method_table(load_scores(path.parent), profile.data, ["psnr"], ["frlie"]).iloc[0]
    assert (row["label"], row["dataset"], row["status"], row["seeds"]) == ("frlie", "synthetic", "ok", 2)
    assert row["psnr"] == pytest.approx(measured["psnr"].mean()) and row["psnr_std"] > 0


def test_no_replicas_in_a_one_seed_profile(embedded_profile, tmp_path):
    one_seed = embedded_profile.with_overrides({"train": {"seeds": [0]}})
    replicas = seed_replicas("frlie", one_seed, tmp_path / "runs", training_data(one_seed.data))
    assert replicas.runs == {} and replicas.scores.empty and not (tmp_path / "runs").exists()
