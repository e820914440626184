"""The typed profile (``llie_core.core.profiles``): unknown keys are errors, overrides give new profiles, the plain
form round-trips, and the roots are explicit: ``load_profile`` and ``paths`` never read ``$LLIE_DATA_ROOT`` or
``$LLIE_WEIGHTS_ROOT`` (the entry points do: tests/workbook/test_context.py, test_runner.py)."""
from __future__ import annotations

import json

import pytest

from data_prep.settings import DataSettings, SettingsError
from llie_core.core import paths, profiles
from llie_core.core.profiles import PROFILE_NAMES, EvalSettings, Profile, TrainDefaults, load_profile


@pytest.fixture()
def profile_dir(tmp_path, monkeypatch):
    """A profiles folder of our own, holding a copy of smoke.yaml to corrupt."""
    monkeypatch.setattr(profiles, "PROFILE_DIR", tmp_path)
    (tmp_path / "smoke.yaml").write_text((paths.project_root() / "llie_core/profiles/smoke.yaml").read_text())
    return tmp_path


@pytest.mark.parametrize("text, key", [
    ("data:\n  eval_pairs: [lol_v1]\n", "'data.eval_pairs'"),
    ("train:\n  iteration: 5\n", "'train.iteration'"),
    ("eval:\n  tile: 64\n", "'eval.tile'"),
    ("seeds: [0]\n", "'seeds'"),
])
def test_an_unknown_yaml_key_is_an_error_naming_the_key_and_the_file(profile_dir, text, key):
    path = profile_dir / "smoke.yaml"
    path.write_text(path.read_text() + text)
    with pytest.raises(SettingsError, match=f"{path}: unknown key {key}"):
        load_profile("smoke")


def test_an_unknown_override_key_is_an_error():
    with pytest.raises(SettingsError, match=r"smoke\.yaml \(with overrides\): unknown key 'data\.max_side'"):
        load_profile("smoke", overrides={"data": {"max_side": 64}})
    with pytest.raises(SettingsError, match="unknown key 'train.budget'"):
        load_profile("smoke").with_overrides({"train": {"budget": 1}})


def test_the_yaml_is_read_once_into_frozen_typed_sections():
    smoke = load_profile("smoke")
    assert isinstance(smoke.data, DataSettings) and isinstance(smoke.train, TrainDefaults)
    assert isinstance(smoke.eval, EvalSettings) and smoke.notebook("05_baselines") == {}
    assert smoke.notebook("11_jcrnet")["complexity"] == {"side": 32, "warmup": 0, "runs": 1}
    assert (smoke.name, smoke.seed, smoke.device, smoke.num_threads) == ("smoke", 0, "cpu", 2)
    assert smoke.data.eval_paired == ("lol_v1", "fivek", "synthetic") and smoke.data.patch_size == 64
    assert smoke.train.seeds == (0, 1) and smoke.eval.tile_size == 512
    with pytest.raises(AttributeError):
        smoke.seed = 1  # type: ignore[misc]


def test_with_overrides_returns_a_new_profile_and_leaves_the_original():
    smoke = load_profile("smoke")
    small = smoke.with_overrides({"data": {"eval_max_side": 64, "synthetic": {"variants_per_photo": 3}},
                                  "train": {"seeds": [0]}})
    assert (small.data.eval_max_side, small.data.synthetic.variants_per_photo, small.train.seeds) == (64, 3, (0,))
    assert small.data.patch_size == smoke.data.patch_size and small.data.synthetic.max_side == 256  # merged
    assert (smoke.data.eval_max_side, smoke.data.synthetic.variants_per_photo, smoke.train.seeds) == (256, 1, (0, 1))
    assert smoke.with_overrides({}) is smoke
    assert load_profile("smoke", overrides={"data": {"eval_max_side": 64}}).data.eval_max_side == 64


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_to_dict_round_trips_and_is_json(name, tmp_path):
    profile = load_profile(name, data_root=tmp_path / "data")
    plain = profile.to_dict()
    assert Profile.from_dict(plain) == profile
    assert json.loads(json.dumps(plain)) == plain
    assert plain["data"]["root"] == str(tmp_path / "data") and isinstance(plain["data"]["eval_paired"], list)


def test_roots_come_from_arguments_never_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LLIE_DATA_ROOT", str(tmp_path / "env_data"))
    monkeypatch.setenv("LLIE_WEIGHTS_ROOT", str(tmp_path / "env_weights"))
    plain = load_profile("smoke")
    assert plain.data.root is None and plain.data.weights_root is None
    explicit = load_profile("smoke", data_root=tmp_path / "data")
    assert explicit.data.root == tmp_path / "data" and explicit.data.weights_root == tmp_path / "weights"
    both = load_profile("smoke", data_root=tmp_path / "data", weights_root=tmp_path / "w")
    assert both.data.weights_root == tmp_path / "w"
    assert load_profile("smoke", cache_dir=tmp_path / "c").data.cache_dir == tmp_path / "c"
    assert paths.data_root() is None and paths.data_root(tmp_path) == tmp_path
    (tmp_path / "env_weights" / "zero_dce").mkdir(parents=True)
    (tmp_path / "env_weights" / "zero_dce" / "Epoch99.pth").write_bytes(b"x")
    assert paths.weights_file("zero_dce/Epoch99.pth", None) is None  # the environment's file is not seen
    found = paths.weights_file("zero_dce/Epoch99.pth", tmp_path / "env_weights")
    assert found == tmp_path / "env_weights" / "zero_dce" / "Epoch99.pth"
    assert paths.weights_file("zero_dce/missing.pth", tmp_path / "env_weights") is None


def test_per_profile_notebook_settings_live_in_the_yaml():
    """What differed per profile inside notebooks 11-13 is read from each profile's ``notebooks:`` section."""
    profiles = {name: load_profile(name) for name in ("smoke", "quick", "paper")}
    for profile in profiles.values():
        assert set(profile.notebooks) == {"11_jcrnet", "12_llflow", "13_iclr", "95_figures", "99_explore"}
        assert profile.notebook("13_iclr")["ablation_variants"][0] is None      # the full model first
    assert profiles["paper"].notebook("11_jcrnet")["stage_nr_images"] is None  # paper: every image
    assert profiles["paper"].notebook("12_llflow")["velol_max_images"] is None
    assert {"wo_first_mafm", "wo_second_mafm"} <= set(profiles["paper"].notebook("13_iclr")["ablation_variants"])
    assert "wo_first_mafm" not in profiles["quick"].notebook("13_iclr")["ablation_variants"]



@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_a_dry_run_keeps_the_profile_and_caps_iterations_images_and_seeds(name):
    full, dry = load_profile(name), load_profile(profiles.dry_run_name(name))
    assert (dry.name, dry.dry_run, dry.results_name) == (name, True, f"{name}-dry-run")
    assert (full.dry_run, full.results_name, full.train.max_iterations) == (False, name, None)
    assert dry.train.max_iterations == profiles.DRY_RUN_ITERATIONS == 2 and dry.train.seeds == (dry.seed,)
    assert dry.train.max_batch_size == profiles.DRY_RUN_BATCH == 2 and full.train.max_batch_size is None
    assert dry.data.max_eval_images == dry.data.max_unpaired_images == 1
    for key in ("patch_size", "batch_size", "train", "eval_paired", "eval_unpaired"):    # the recipe's data stays
        assert getattr(dry.data, key) == getattr(full.data, key), key
    assert (dry.train.precision, dry.train.ablation_budget_scale) == (full.train.precision,
                                                                      full.train.ablation_budget_scale)
    assert Profile.from_dict(dry.to_dict()) == dry


def test_the_paper_dry_run_applies_its_yaml_overrides_and_the_paper_profile_ignores_them():
    paper, dry = load_profile("paper"), load_profile("paper-dry-run")
    assert paper.data.eval_max_side is None and paper.notebook("12_llflow")["sweep"]["images"] == 15
    assert dry.data.eval_max_side == 192 and dry.data.val_images == 1 and dry.eval.memory_budget_mb is None
    assert dry.notebook("12_llflow")["sweep"]["images"] == 1
    assert dry.notebook("12_llflow")["sweep"]["shifts"] == paper.notebook("12_llflow")["sweep"]["shifts"]  # merged
    assert dry.notebook("13_iclr") == paper.notebook("13_iclr")    # every ablation variant still runs


def test_a_bad_dry_run_section_is_an_error_naming_the_file(profile_dir):
    path = profile_dir / "smoke.yaml"
    before = load_profile("smoke")
    path.write_text(path.read_text() + "dry_run_overrides:\n  data: {max_images: 1}\n")
    assert load_profile("smoke") == before   # the section only applies to the dry run
    with pytest.raises(SettingsError, match="unknown key 'data.max_images'"):
        load_profile("smoke-dry-run")
