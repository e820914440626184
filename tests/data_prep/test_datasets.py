"""Paired/unpaired torch datasets: shared crop windows, determinism, augmentation, padding, profile resolution."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from data_prep.datasets import (PairedImageDataset, UnpairedImageDataset, crop_to_size, evenly_spaced, resolve_paired,
                                resolve_training_pairs, resolve_unpaired, unique_names)
from data_prep.image_io import read_image
from data_prep.settings import DataSettings
from data_prep.testing import write_fake_images
from data_prep.validate import DatasetError
from tests.helpers import TINY_SYNTHETIC


@pytest.fixture()
def inverse_pair(tmp_path):
    """A low image and a high image that is its exact complement (255 - low): any shared transform keeps
    low + high == 1 everywhere, any mismatch breaks it."""
    pixels = np.random.default_rng(0).integers(0, 256, (21, 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "low.png")
    Image.fromarray(255 - pixels).save(tmp_path / "high.png")
    return tmp_path / "low.png", tmp_path / "high.png"


def _dihedral(chw: np.ndarray) -> list[np.ndarray]:
    out = []
    for flipped in (chw, chw[..., ::-1]):
        out += [np.rot90(flipped, k, axes=(-2, -1)) for k in range(4)]
    return out


def _occurs_in(patch: np.ndarray, image: np.ndarray) -> bool:
    p = patch.shape[-1]
    h, w = image.shape[-2:]
    return any(np.array_equal(patch, image[:, t:t + p, s:s + p]) for t in range(h - p + 1) for s in range(w - p + 1))


def test_crop_window_and_augmentation_are_shared_by_low_and_high(inverse_pair):
    dataset = PairedImageDataset([inverse_pair] * 6, patch_size=8, augment=True, rot90=True, seed=3)
    original = read_image(inverse_pair[0])
    for index in range(len(dataset)):
        item = dataset[index]
        assert item["low"].shape == item["high"].shape == (3, 8, 8) and item["size"] == (8, 8)
        torch.testing.assert_close(item["low"] + item["high"], torch.ones(3, 8, 8), atol=1e-6, rtol=0)
        undone = [t for t in _dihedral(item["low"].numpy()) if _occurs_in(np.ascontiguousarray(t), original)]
        assert undone, "the patch is not a flipped/rotated window of the original"


def test_items_are_deterministic_for_seed_epoch_index(inverse_pair):
    def crops(seed, epoch):
        dataset = PairedImageDataset([inverse_pair] * 5, patch_size=8, augment=True, rot90=True, seed=seed)
        dataset.set_epoch(epoch)
        return torch.stack([dataset[i]["low"] for i in range(len(dataset))])

    assert torch.equal(crops(0, 0), crops(0, 0))
    assert not torch.equal(crops(0, 0), crops(0, 1))
    assert not torch.equal(crops(0, 0), crops(1, 0))
    reversed_order = PairedImageDataset([inverse_pair] * 5, patch_size=8, augment=True, rot90=True, seed=0)
    assert torch.equal(torch.stack([reversed_order[i]["low"] for i in reversed(range(5))]).flip(0), crops(0, 0))


def test_without_augmentation_the_patch_is_a_plain_window(inverse_pair):
    dataset = PairedImageDataset([inverse_pair] * 4, patch_size=5)
    original = read_image(inverse_pair[0])
    assert all(_occurs_in(dataset[i]["low"].numpy(), original) for i in range(4))


def test_rot90_on_a_non_square_image_keeps_square_patch_shapes(inverse_pair):
    dataset = PairedImageDataset([inverse_pair] * 8, patch_size=16, augment=True, rot90=True)
    batch = next(iter(DataLoader(dataset, batch_size=8)))
    assert batch["low"].shape == batch["high"].shape == (8, 3, 16, 16)


def test_eval_mode_pads_and_crop_to_size_restores_the_original(inverse_pair):
    dataset = PairedImageDataset([inverse_pair], pad_multiple=8)
    item = dataset[0]
    assert item["low"].shape == (3, 24, 32) and item["size"] == (21, 30)
    restored = crop_to_size(item["low"][None], item["size"])[0]
    assert torch.equal(restored, torch.from_numpy(read_image(inverse_pair[0])))
    torch.testing.assert_close(item["low"] + item["high"], torch.ones_like(item["low"]), atol=1e-6, rtol=0)
    # reflect padding mirrors the last rows/columns without repeating the edge
    assert torch.equal(item["low"][:, 21, :30], item["low"][:, 19, :30])
    assert torch.equal(PairedImageDataset([inverse_pair])[0]["low"], restored)  # pad_multiple=1: no padding


def test_crop_to_size_rejects_larger_sizes():
    with pytest.raises(ValueError, match="larger"):
        crop_to_size(torch.zeros(1, 3, 4, 4), (5, 4))


def test_max_side_center_crops(inverse_pair):
    item = PairedImageDataset([inverse_pair], max_side=10)[0]
    assert item["size"] == (10, 10)
    assert torch.equal(item["low"], torch.from_numpy(read_image(inverse_pair[0])[:, 5:15, 10:20]))


def test_mismatched_pair_sizes_name_both_files(tmp_path):
    low = write_fake_images(tmp_path / "low", ["a.png"], size=(8, 8))[0]
    high = write_fake_images(tmp_path / "high", ["a.png"], size=(8, 10))[0]
    with pytest.raises(ValueError) as info:
        PairedImageDataset([(low, high)])[0]
    assert str(low) in str(info.value) and str(high) in str(info.value)


def test_patch_larger_than_image_is_a_clear_error(inverse_pair):
    with pytest.raises(ValueError, match="patch_size=32"):
        PairedImageDataset([inverse_pair], patch_size=32)[0]
    with pytest.raises(DatasetError):
        PairedImageDataset([])


def test_unpaired_dataset_has_no_high(inverse_pair):
    dataset = UnpairedImageDataset([inverse_pair[0]], patch_size=8, augment=True)
    item = dataset[0]
    assert set(item) == {"low", "name", "size"} and item["low"].shape == (3, 8, 8) and item["name"] == "low"


def test_unique_names_disambiguate_groups(tmp_path):
    files = [tmp_path / "Huawei/low/1.jpg", tmp_path / "Nikon/low/1.jpg"]
    assert unique_names(files) == ["Huawei/1", "Nikon/1"]
    assert unique_names([tmp_path / "a/1.png", tmp_path / "a/2.png"]) == ["1", "2"]


def test_evenly_spaced_keeps_first_and_last():
    assert evenly_spaced(range(10), 3) == [0, 4, 9]
    assert evenly_spaced("abcde", 2) == ["a", "e"]
    assert evenly_spaced([1, 2], None) == [1, 2] and evenly_spaced([1, 2], 5) == [1, 2]


def test_training_pairs_fall_back_to_the_embedded_set(tmp_path):
    data = DataSettings(root=tmp_path, cache_dir=tmp_path / "cache", train=["lol_v1", "synthetic"],
                        max_train_images=3, synthetic=TINY_SYNTHETIC)
    name, pairs = resolve_training_pairs(data)
    assert name.startswith("synthetic (fallback") and "lol_v1" in name
    assert len(pairs) == 3 and all(lo.parent.parent.name == "train" for lo, _ in pairs)
    assert all((tmp_path / "cache" / "synthetic") in lo.parents for lo, _ in pairs)  # built in data.cache_dir
    assert len(resolve_paired("synthetic", data, "test")) == 2  # max_eval_images unset: all test pairs
    assert resolve_training_pairs(data.replace(train=()))[0] == "synthetic (fallback: no training set configured)"


def test_the_embedded_set_needs_a_cache_folder(tmp_path):
    with pytest.raises(ValueError, match="cache folder"):
        resolve_paired("synthetic", DataSettings(synthetic=TINY_SYNTHETIC), "test")


@pytest.mark.real_data
def test_profile_resolution_on_the_shared_data(real_data_root, tmp_path):
    data = DataSettings(root=real_data_root, cache_dir=tmp_path, train=["lol_v1"], max_train_images=8,
                        max_eval_images=3, synthetic=TINY_SYNTHETIC)
    test_pairs = resolve_paired("lol_v1", data, "test")
    assert [lo.stem for lo, _ in test_pairs] == ["1", "179", "780"]  # items 0, 7, 14 of the 15 (natural order)
    name, train = resolve_training_pairs(data)
    assert name == "lol_v1" and len(train) == 8
    assert len(resolve_unpaired("dicm", data)) == 3


def test_cached_items_equal_uncached_and_the_cache_is_never_handed_out(inverse_pair, monkeypatch):
    plain = PairedImageDataset([inverse_pair] * 3, patch_size=8, augment=True, seed=1)
    cached = PairedImageDataset([inverse_pair] * 3, patch_size=8, augment=True, seed=1, cache=True)
    for epoch in range(2):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for i in range(3):
            assert torch.equal(plain[i]["low"], cached[i]["low"]) and torch.equal(plain[i]["high"], cached[i]["high"])
    reads = []
    monkeypatch.setattr("data_prep.datasets.read_image", lambda f: reads.append(f) or read_image(f))
    full = PairedImageDataset([inverse_pair], cache=True)  # eval mode: the item is the whole image
    first = full[0]
    first["low"].mul_(0)  # a caller writing into its input must not corrupt the cache
    assert torch.equal(full[0]["high"], first["high"]) and full[0]["low"].sum() > 0
    assert len(reads) == 2  # one read per file, then served from memory
