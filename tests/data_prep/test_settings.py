"""Typed data settings (``data_prep.settings``) and the entry-point helpers: unknown keys, checked values, copies,
the plain round trip, the crop fallbacks, and root precedence (explicit argument > environment)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from data_prep.files import atomic_write_bytes, checksum_files, default_cache_dir, sha256_file
from data_prep.settings import DataSettings, SettingsError, SyntheticSettings, resolve_roots
from tests.helpers import REPO_ROOT


def test_unknown_keys_are_errors_naming_the_key_and_the_yaml():
    with pytest.raises(SettingsError, match=r"profiles/x\.yaml: unknown key 'data\.eval_pairs'"):
        DataSettings.from_dict({"eval_pairs": ["lol_v1"]}, "profiles/x.yaml")
    with pytest.raises(SettingsError, match=r"x\.yaml: unknown key 'data\.synthetic\.variants'"):
        DataSettings.from_dict({"synthetic": {"variants": 2}}, "x.yaml")


@pytest.mark.parametrize("values, message", [
    ({"eval_paired": "lol_v1"}, "data.eval_paired must be a list"),   # a bare name would become its letters
    ({"patch_size": 0}, "data.patch_size must be an integer >= 1"),
    ({"max_eval_images": 2.5}, "data.max_eval_images must be an integer"),
    ({"val_images": True}, "data.val_images must be an integer"),
    ({"synthetic": {"variants_per_photo": 0}}, "data.synthetic.variants_per_photo must be an integer >= 1"),
])
def test_values_are_checked(values, message):
    with pytest.raises(SettingsError, match=rf"^x\.yaml: {message}"):
        DataSettings.from_dict(values, "x.yaml")


def test_settings_are_frozen_and_replace_checks_again(tmp_path):
    data = DataSettings.from_dict({"root": str(tmp_path), "train": ["lol_v1"], "eval_max_side": 256})
    assert data.root == tmp_path and data.train == ("lol_v1",) and isinstance(data.synthetic, SyntheticSettings)
    with pytest.raises(AttributeError):
        data.root = None  # type: ignore[misc]
    smaller = data.replace(eval_max_side=64, eval_paired=["fivek"])
    assert (smaller.eval_max_side, smaller.eval_paired, data.eval_max_side) == (64, ("fivek",), 256)
    with pytest.raises(SettingsError):
        data.replace(batch_size=0)


def test_plain_round_trip(tmp_path):
    data = DataSettings.from_dict({"root": str(tmp_path), "cache_dir": str(tmp_path / "c"), "train": ["a", "b"],
                                   "synthetic": {"seed": 3, "model": {"exposure_range": [0.1, 0.2]}}})
    plain = data.to_dict()
    assert plain["root"] == str(tmp_path) and plain["train"] == ["a", "b"]
    assert plain["synthetic"]["model"] == {"exposure_range": [0.1, 0.2]}
    assert DataSettings.from_dict(plain) == data


def test_unpaired_and_validation_crops_fall_back_to_the_eval_crop():
    data = DataSettings(eval_max_side=256)
    assert (data.unpaired_side, data.val_side) == (256, 256)
    data = data.replace(eval_unpaired_max_side=768, val_max_side=128)
    assert (data.unpaired_side, data.val_side) == (768, 128)
    assert DataSettings().unpaired_side is None
    assert DataSettings(train=["a", "b"], eval_paired=["b", "c"], eval_unpaired=["d"]).datasets == ["a", "b", "c", "d"]


def test_roots_explicit_argument_wins_over_the_environment(tmp_path):
    env = {"LLIE_DATA_ROOT": str(tmp_path / "env_data"), "LLIE_WEIGHTS_ROOT": str(tmp_path / "env_weights")}
    assert resolve_roots(tmp_path / "a", tmp_path / "w", env) == (tmp_path / "a", tmp_path / "w")
    assert resolve_roots(None, None, env) == (tmp_path / "env_data", tmp_path / "env_weights")
    assert resolve_roots("", "", {}) == (None, None)
    assert resolve_roots("rel", None, {})[0] == Path("rel").resolve()


def test_default_cache_dir_for_entry_points(tmp_path):
    assert default_cache_dir({"LLIE_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert default_cache_dir({}) == REPO_ROOT / ".cache"


def test_file_helpers(tmp_path):
    a = atomic_write_bytes(tmp_path / "sub" / "a.bin", b"abc")
    assert a.read_bytes() == b"abc" and not list(a.parent.glob(".*.tmp"))
    assert sha256_file(a) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")
    b = atomic_write_bytes(tmp_path / "b.bin", b"abc")
    assert checksum_files([a, b]) == checksum_files([b, a]) != checksum_files([a])


def test_data_prep_cli_runs_without_llie_core(tmp_path):
    """``python -m data_prep status`` with ``llie_core`` made unimportable."""
    code = ("import sys; sys.modules['llie_core'] = None\n"
            "from data_prep.__main__ import main\n"
            f"sys.exit(main(['status', '--datasets', 'lol_v1,dicm', '--data-root', {str(tmp_path)!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"data root: {tmp_path}" in done.stdout and "lol_v1" in done.stdout and "dicm" in done.stdout
