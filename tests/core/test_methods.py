"""The one list of methods (llie_core.core.methods) and of profiles (core.profiles.PROFILE_NAMES) agree with what
the package holds: the configured methods, the registered baselines, the notebooks, the ledger's papers, the
profile YAMLs and the per-profile statuses of the artifact catalogue."""
from __future__ import annotations

from dataclasses import fields

import yaml

from llie_core.core import methods as M
from llie_core.core.profiles import PROFILE_DIR, PROFILE_NAMES, load_profile
from llie_core.evaluation.baselines import list_enhancers
from llie_core.report.artifacts import Status
from llie_core.report.ledger import load_reported
from llie_core.training.recipes import available_methods


def test_methods_are_unique_with_unique_display_names_and_known_kinds():
    keys = [m.key for m in M.METHODS]
    assert len(keys) == len(set(keys)) and len({m.display for m in M.METHODS}) == len(keys)
    assert {m.kind for m in M.METHODS} <= set(M.KINDS)
    assert M.METHOD_ORDER == M.BASELINES + M.TRAINED_METHODS  # baselines first, then every trained method
    assert all((m.notebook is not None) == (m.kind == "paper") for m in M.METHODS)


def test_trained_methods_are_the_configured_ones_and_baselines_the_registered_ones():
    assert sorted(M.TRAINED_METHODS) == available_methods()  # a new configs/<method>/ needs a row in core.methods
    assert set(M.BASELINES) <= set(list_enhancers())


def test_paper_methods_have_their_notebook_and_the_ledger_transcribes_every_trained_method(repo_root):
    for method, notebook in M.METHOD_NOTEBOOKS.items():
        assert (repo_root / "notebooks" / f"{notebook}.ipynb").is_file(), method
    assert list(M.METHOD_NOTEBOOKS.values()) == sorted(M.METHOD_NOTEBOOKS.values())  # notebook order
    assert set(load_reported()["paper"]) == set(M.TRAINED_METHODS)


def test_display_names_cover_keys_and_variants_and_pass_unknown_labels_through():
    assert [M.display_name(k) for k in ("zero_dce", "llflow", "frlie[wo_fr]")] == ["Zero-DCE", "LLFlow",
                                                                                  "FRLIE w/o FR"]
    assert M.display_name("irle[seed1]") == "irle[seed1]"


def test_profile_names_are_the_yaml_files_cheapest_first():
    assert set(PROFILE_NAMES) == {p.stem for p in PROFILE_DIR.glob("*.yaml")}
    budgets = [load_profile(p).train.iterations for p in PROFILE_NAMES]
    assert budgets == sorted(budgets, key=lambda n: (n is None, n or 0)) and budgets[-1] is None
    assert [f.name for f in fields(Status)] == list(PROFILE_NAMES)  # the catalogue has a status per profile


def test_every_config_variant_has_a_display_name_and_the_ledger_name_where_it_has_one(repo_root):
    """Every ``variants:`` key of every method config, in every profile, is named for tables and figures; a
    variant whose config names its ledger row (``ledger_method``) is displayed under that very name."""
    for path in sorted((repo_root / "llie_core" / "configs").glob("*/*.yaml")):
        variants = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("variants") or {}
        for variant, cfg in variants.items():
            label = f"{path.parent.name}[{variant}]"
            assert label in M.VARIANT_DISPLAY_NAMES, f"{path}: variant {variant!r} has no display name"
            ledger = (cfg or {}).get("ledger_method")
            if ledger:
                assert M.display_name(label) == ledger, (path, variant)
