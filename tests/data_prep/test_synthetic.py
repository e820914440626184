"""The embedded synthetic set: determinism, the degradation model's statistics, split by scene, params.json."""
from __future__ import annotations

import json

import kornia
import numpy as np
import pytest
import torch

from data_prep.files import sha256_file
from data_prep.image_io import read_image
from data_prep.settings import DataSettings
from data_prep.synthetic import (PHOTO_SCENES, TEST_SCENES, LowLightModel, build_synthetic, degrade, linear_to_srgb,
                                 source_photos, srgb_to_linear, synthetic_root)
from data_prep.validate import check_dataset, list_pairs
from tests.helpers import TINY_SYNTHETIC


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_synthetic(tmp_path_factory.mktemp("cache_a"), **TINY_SYNTHETIC)


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_and_other_seed_differs(built, tmp_path):
    again = build_synthetic(tmp_path / "cache_b", **TINY_SYNTHETIC)
    assert again.name == built.name
    assert _files(again) == _files(built)
    other = build_synthetic(tmp_path / "cache_b", **{**TINY_SYNTHETIC, "seed": 1})
    assert other.name != built.name
    low = "train/low/astronaut_00.png"
    assert (other / low).read_bytes() != (built / low).read_bytes()
    assert (other / "train/high/astronaut_00.png").read_bytes() == (built / "train/high/astronaut_00.png").read_bytes()


def test_a_built_set_is_reused_and_no_temporary_folder_remains(built):
    stamp = (built / "params.json").stat().st_mtime_ns
    assert build_synthetic(built.parent.parent, **TINY_SYNTHETIC) == built
    assert (built / "params.json").stat().st_mtime_ns == stamp
    assert [p.name for p in built.parent.iterdir() if p.name.startswith(".")] == []


def test_split_is_disjoint_by_scene(built):
    params = json.loads((built / "params.json").read_text())
    scenes = {split: {img["scene"] for img in params["images"] if img["split"] == split} for split in ("train", "test")}
    assert scenes["test"] == set(TEST_SCENES)
    assert not scenes["train"] & scenes["test"]
    assert scenes["train"] | scenes["test"] == {scene for _, scene in PHOTO_SCENES}
    motorcycle = {img["split"] for img in params["images"] if img["scene"] == "stereo_motorcycle"}
    assert len(motorcycle) == 1  # both stereo views on the same side
    test_pairs = list_pairs("synthetic", built, "test")
    assert {lo.name.rsplit("_", 1)[0] for lo, _ in test_pairs} == set(TEST_SCENES)


def test_params_json_is_complete(built):
    params = json.loads((built / "params.json").read_text())
    for key in ("seed", "variants_per_photo", "max_side", "model", "sources", "test_scenes", "photo_sources",
                "images", "files", "format_version", "degradation"):
        assert key in params, key
    assert params["model"] == json.loads(json.dumps(LowLightModel().__dict__))
    assert len(params["images"]) == len(PHOTO_SCENES) * TINY_SYNTHETIC["variants_per_photo"]
    for image in params["images"]:
        assert {"exposure", "gamma", "color_gain", "full_well", "read_noise", "name", "split", "source"} <= set(image)
    on_disk = {p.relative_to(built).as_posix() for p in built.rglob("*.png")}
    assert set(params["files"]) == on_disk and len(on_disk) == 2 * len(params["images"])
    for rel, digest in params["files"].items():
        assert sha256_file(built / rel) == digest
    assert all(max(s["shape"][:2]) <= TINY_SYNTHETIC["max_side"] for s in params["photo_sources"].values())


def test_built_set_passes_the_layout_check(built):
    states = {s.split: (s.state, s.n_items) for s in check_dataset("synthetic", built)}
    assert states == {"train": ("found", 5), "test": ("found", 2)}


def test_synthetic_root_follows_the_data_settings(built, tmp_path, monkeypatch):
    monkeypatch.setenv("LLIE_CACHE_DIR", str(tmp_path / "elsewhere"))  # the library never reads it
    data = DataSettings(synthetic=TINY_SYNTHETIC, cache_dir=built.parent.parent)
    assert synthetic_root(data) == built
    newest = synthetic_root(data.replace(synthetic={**TINY_SYNTHETIC, "seed": 1}))
    assert newest != built and newest.parent == built.parent
    status = check_dataset("synthetic", None, "test", cache_dir=built.parent.parent)[0]  # the newest build there
    assert status.state == "found" and status.root == newest
    missing = check_dataset("synthetic", None, "test", cache_dir=tmp_path / "empty")[0]
    assert missing.state == "missing" and missing.reason == "not built yet"
    with pytest.raises(ValueError, match="needs a cache folder"):
        synthetic_root(DataSettings(synthetic=TINY_SYNTHETIC))
    assert not (tmp_path / "elsewhere").exists()


def test_srgb_transfer_matches_kornia_and_inverts():
    values = np.linspace(0, 1, 1001)
    image = torch.from_numpy(np.tile(values, (3, 1))[:, None, :])
    np.testing.assert_allclose(srgb_to_linear(values), kornia.color.rgb_to_linear_rgb(image)[0, 0].numpy(),
                               atol=1e-7)
    np.testing.assert_allclose(linear_to_srgb(values), kornia.color.linear_rgb_to_rgb(image)[0, 0].numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(values)), values, atol=1e-9)


def test_low_images_are_as_dark_as_the_exposure_range_says():
    model = LowLightModel()
    clean = source_photos()["coffee"]
    clean_linear = srgb_to_linear(clean / 255.0).mean()
    for seed in range(6):
        low, params = degrade(clean, np.random.default_rng(seed), model)
        ratio = srgb_to_linear(low / 255.0).mean() / clean_linear
        # documented bound: ratio <= exposure_max * gain_max (gamma >= 1 only darkens); small noise margin
        assert model.exposure_range[0] * model.color_gain_range[0] * 0.5 < ratio
        assert ratio < model.exposure_range[1] * model.color_gain_range[1] * 1.05
        assert model.exposure_range[0] <= params["exposure"] <= model.exposure_range[1]


def test_with_gamma_and_gain_fixed_the_darkening_equals_the_exposure():
    model = LowLightModel(gamma_range=(1, 1), color_gain_range=(1, 1))
    clean = source_photos()["astronaut"]
    low, params = degrade(clean, np.random.default_rng(3), model)
    ratio = srgb_to_linear(low / 255.0).mean() / srgb_to_linear(clean / 255.0).mean()
    assert ratio == pytest.approx(params["exposure"], rel=0.03)


def test_noise_follows_the_poisson_gaussian_model():
    """On flat grey patches, Var[y] = mu / N + sigma_r^2 in linear space (Foi et al. 2008)."""
    full_well, read_noise, exposure = 500.0, 0.004, 0.25
    model = LowLightModel(exposure_range=(exposure,) * 2, gamma_range=(1, 1), color_gain_range=(1, 1),
                          full_well_range=(full_well,) * 2, read_noise_range=(read_noise,) * 2)
    rng = np.random.default_rng(0)
    means, variances = [], []
    for level in (0.3, 0.5, 0.7, 0.9):
        patch = np.full((96, 96, 3), level)
        low, _ = degrade(patch, rng, model)
        linear = srgb_to_linear(low / 255.0)
        means.append(linear.mean())
        variances.append(linear.var())
    slope, intercept = np.polyfit(means, variances, 1)
    assert slope == pytest.approx(1 / full_well, rel=0.1)
    assert intercept == pytest.approx(read_noise ** 2, abs=1.5e-5)
    expected_means = exposure * srgb_to_linear(np.array([0.3, 0.5, 0.7, 0.9]))
    np.testing.assert_allclose(means, expected_means, rtol=0.01)


def test_degrade_output_is_8bit_and_deterministic_for_a_generator_seed():
    clean = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    a, pa = degrade(clean, np.random.default_rng(7))
    b, pb = degrade(clean, np.random.default_rng(7))
    assert a.dtype == np.uint8 and a.shape == clean.shape
    assert np.array_equal(a, b) and pa == pb
    with pytest.raises(ValueError, match="HWC"):
        degrade(clean[..., 0], np.random.default_rng(0))


def test_model_rejects_bad_ranges():
    with pytest.raises(ValueError, match="exposure_range"):
        LowLightModel(exposure_range=(0.3, 0.1))
    with pytest.raises(ValueError, match="full_well_range"):
        LowLightModel(full_well_range=(0, 10))
    assert LowLightModel(read_noise_range=(0, 0)).read_noise_range == (0.0, 0.0)


def test_source_photos_are_the_shipped_colour_photos():
    photos = source_photos()
    assert list(photos) == [name for name, _ in PHOTO_SCENES]
    for image in photos.values():
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.std() > 10


def test_high_images_are_the_resized_clean_photos(built):
    high = read_image(built / "test/high/chelsea_00.png")
    assert max(high.shape[1:]) == TINY_SYNTHETIC["max_side"]
    low = read_image(built / "test/low/chelsea_00.png")
    assert low.shape == high.shape and low.mean() < 0.5 * high.mean()
