"""Ablation studies: every variant (and the full model it is compared with) trains at the same budget."""
from __future__ import annotations

import pytest

from llie_core.profiles import load_profile
from llie_core.recipes import training_data
from llie_core.studies import ABLATION_TAG, ablation_study, iterations_done, main_paired_set


@pytest.fixture()
def embedded_profile(tmp_path, monkeypatch):
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    monkeypatch.setenv("LLIE_CACHE_DIR", str(tmp_path / "cache"))
    return load_profile("smoke", overrides={"train": {"iterations": 4, "ablation_budget_scale": 0.5},
                                            "data": {"val_images": 2, "synthetic": {"variants_per_photo": 2}}})


def test_main_paired_set_falls_back_to_the_embedded_set(embedded_profile):
    assert main_paired_set(embedded_profile) == "synthetic"


def test_ablation_study_equal_budgets_and_one_row_per_variant(embedded_profile, tmp_path):
    study = ablation_study("frlie", embedded_profile, tmp_path / "runs", [None, "wo_fr"],
                           training_data(embedded_profile), metrics=["psnr"])
    full, wo_fr = study.runs[None], study.runs["wo_fr"]
    assert full.tag == ABLATION_TAG and full.run_dir.name == "frlie-ablation_budget"
    assert full.label == "frlie[ablation_budget]" and wo_fr.label == "frlie[wo_fr]"
    # smoke configs: stage 1 = 4, stage 2 = 6 iterations; x 0.5 -> 2 + 3 (full), 3 (w/o FR: one stage)
    assert iterations_done(wo_fr) == 3 and iterations_done(full) == 5
    table = study.table({None: "Ours", "wo_fr": "Ours w/o FR"}, ["psnr"])
    assert list(table["row"]) == ["Ours", "Ours w/o FR"] and table["psnr"].notna().all()
    assert set(study.scores["dataset"]) == {"synthetic"}


def test_at_full_budget_the_reference_is_the_main_run_under_its_own_label(embedded_profile, tmp_path):
    profile = {**embedded_profile, "train": {**embedded_profile["train"], "ablation_budget_scale": 1.0}}
    study = ablation_study("frlie", profile, tmp_path / "runs", [None], training_data(profile), metrics=["psnr"])
    ref = study.runs[None]
    assert ref.run_dir.name == "frlie" and ref.label == "frlie[ablation_budget]"
    assert list(study.scores["method"]) == ["frlie[ablation_budget]"]
