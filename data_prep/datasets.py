"""Torch datasets over image files, and the choice of which files to use from the data settings
(:class:`data_prep.settings.DataSettings`).

Train mode (``patch_size`` set): one random square window, the same on low and high, then optional flips and
rot90 (BasicSR ``paired_random_crop`` + ``augment``). The randomness depends only on ``(seed, epoch, index)``,
so a run is reproducible whatever the worker count or order; call :meth:`set_epoch` every epoch.
Eval mode (``patch_size=None``): the full image, reflect-padded at the bottom/right to ``pad_multiple``; the item
carries the original ``size`` so outputs can be cropped back with :func:`crop_to_size`.
``max_side`` center-crops larger images first (the smoke profile's ``eval_max_side``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .image_io import read_image
from .settings import DataSettings
from .synthetic import synthetic_root
from .validate import DatasetError, list_images, list_pairs

Pair = tuple[Path, Path]


def unique_names(files: Sequence[Path]) -> list[str]:
    """File stems, prefixed with parent folders only where stems collide (LSRW ``Huawei/1`` vs ``Nikon/1``)."""
    stems = [Path(f).stem for f in files]
    if len(set(stems)) == len(stems):
        return stems
    return [f"{Path(f).parent.parent.name}/{Path(f).stem}" for f in files]


def center_crop(chw: np.ndarray, max_side: int | None) -> np.ndarray:
    """Crop the centre so neither side exceeds ``max_side``."""
    if not max_side:
        return chw
    h, w = chw.shape[-2:]
    top, left = max(0, (h - max_side) // 2), max(0, (w - max_side) // 2)
    return chw[..., top:top + min(h, max_side), left:left + min(w, max_side)]


def pad_to_multiple(chw: np.ndarray, multiple: int) -> np.ndarray:
    """Reflect-pad bottom/right so H and W are multiples of ``multiple``."""
    h, w = chw.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h == 0 and pad_w == 0:
        return chw
    return np.pad(chw, ((0, 0), (0, pad_h), (0, pad_w)), mode="reflect")


def crop_to_size(x: Tensor, size: Sequence[int] | Tensor) -> Tensor:
    """Undo eval padding: keep the top-left ``size = (H, W)`` of ``x`` (..., H', W')."""
    h, w = (int(v) for v in size)
    if h > x.shape[-2] or w > x.shape[-1]:
        raise ValueError(f"cannot crop a {tuple(x.shape[-2:])} tensor to the larger size {(h, w)}")
    return x[..., :h, :w]


def _augment(arrays: list[np.ndarray], rng: np.random.Generator, flips: bool, rot90: bool) -> list[np.ndarray]:
    """The same random horizontal/vertical flip and 90-degree rotation on every array (CHW)."""
    hflip, vflip = (rng.random() < 0.5, rng.random() < 0.5) if flips else (False, False)
    turns = int(rng.integers(4)) if rot90 else 0
    out = []
    for a in arrays:
        a = a[..., ::-1] if hflip else a
        a = a[..., ::-1, :] if vflip else a
        out.append(np.ascontiguousarray(np.rot90(a, k=turns, axes=(-2, -1))))
    return out


class _ImageFiles(Dataset):
    """Shared sampling logic of the paired and unpaired datasets (``_files`` returns the files of item i)."""

    def __init__(self, patch_size: int | None = None, augment: bool = False, rot90: bool = False, seed: int = 0,
                 pad_multiple: int = 1, max_side: int | None = None, cache: bool = False) -> None:
        if patch_size is not None and patch_size < 1:
            raise ValueError(f"patch_size must be >= 1 or None, got {patch_size}")
        if pad_multiple < 1:
            raise ValueError(f"pad_multiple must be >= 1, got {pad_multiple}")
        self.patch_size, self.augment, self.rot90, self.seed = patch_size, augment, rot90, seed
        self.pad_multiple, self.max_side, self.epoch = pad_multiple, max_side, 0
        self._cache: dict[int, list[np.ndarray]] | None = {} if cache else None

    def set_epoch(self, epoch: int) -> None:
        """Select the random crops/flips of ``epoch`` (deterministic per (seed, epoch, index))."""
        self.epoch = int(epoch)

    def _files(self, index: int) -> list[Path]:
        raise NotImplementedError

    def _load(self, index: int) -> list[np.ndarray]:
        """The decoded (center-cropped) arrays of item ``index``; kept in memory after the first read when the
        dataset was built with ``cache=True`` (training re-reads every image once per epoch: decoding a
        600x400 PNG pair costs about as much as a small model's training step on a CPU)."""
        if self._cache is None:
            return self._read(index)
        if index not in self._cache:
            self._cache[index] = self._read(index)
        return [a.copy() for a in self._cache[index]]  # items may be views of these: never hand out the cache

    def _read(self, index: int) -> list[np.ndarray]:
        files = self._files(index)
        arrays = [center_crop(read_image(f), self.max_side) for f in files]
        if any(a.shape != arrays[0].shape for a in arrays[1:]):
            sizes = ", ".join(f"{f} {a.shape[1:]}" for f, a in zip(files, arrays))
            raise ValueError(f"pair size mismatch (H, W): {sizes}. Fix: the low and normal images must have the "
                             "same size; check the pairing or re-export the files")
        return arrays

    def _crop(self, arrays: list[np.ndarray], index: int) -> list[np.ndarray]:
        h, w = arrays[0].shape[-2:]
        p = self.patch_size
        if p > h or p > w:
            raise ValueError(f"{self._files(index)[0]} is {h}x{w}, smaller than patch_size={p}. Fix: lower "
                             "patch_size or raise the synthetic/profile max_side")
        rng = np.random.default_rng([self.seed, self.epoch, index])
        top, left = int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1))
        patches = [a[:, top:top + p, left:left + p] for a in arrays]
        return _augment(patches, rng, self.augment, self.rot90)

    def _item(self, index: int, keys: Sequence[str], name: str) -> dict[str, Any]:
        arrays = self._load(index)
        if self.patch_size is not None:
            arrays = self._crop(arrays, index)
            size = (self.patch_size, self.patch_size)
        else:
            size = tuple(arrays[0].shape[-2:])
            arrays = [pad_to_multiple(a, self.pad_multiple) for a in arrays]
        item: dict[str, Any] = {k: torch.from_numpy(np.ascontiguousarray(a)) for k, a in zip(keys, arrays)}
        item.update(name=name, size=size)
        return item


class PairedImageDataset(_ImageFiles):
    """(low, high) image pairs -> dict(low, high, name, size); see the module docstring for the two modes."""

    def __init__(self, pairs: Sequence[Pair], patch_size: int | None = None, augment: bool = False,
                 rot90: bool = False, seed: int = 0, pad_multiple: int = 1, max_side: int | None = None,
                 cache: bool = False) -> None:
        super().__init__(patch_size, augment, rot90, seed, pad_multiple, max_side, cache)
        self.pairs = [(Path(lo), Path(hi)) for lo, hi in pairs]
        if not self.pairs:
            raise DatasetError("PairedImageDataset got no pairs. Fix: check the dataset root "
                               "(`python -m data_prep status`)")
        self.names = unique_names([lo for lo, _ in self.pairs])

    def __len__(self) -> int:
        return len(self.pairs)

    def _files(self, index: int) -> list[Path]:
        return list(self.pairs[index])

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._item(index, ("low", "high"), self.names[index])


class UnpairedImageDataset(_ImageFiles):
    """Low-light images without references -> dict(low, name, size) (self-supervised training, NR metrics)."""

    def __init__(self, files: Sequence[Path], patch_size: int | None = None, augment: bool = False,
                 rot90: bool = False, seed: int = 0, pad_multiple: int = 1, max_side: int | None = None,
                 cache: bool = False) -> None:
        super().__init__(patch_size, augment, rot90, seed, pad_multiple, max_side, cache)
        self.files = [Path(f) for f in files]
        if not self.files:
            raise DatasetError("UnpairedImageDataset got no files. Fix: check the dataset root "
                               "(`python -m data_prep status`)")
        self.names = unique_names(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def _files(self, index: int) -> list[Path]:
        return [self.files[index]]

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._item(index, ("low",), self.names[index])


# ------------------------------------------------------------------------------------- profile resolution
def evenly_spaced(items: Sequence[Any], limit: int | None) -> list[Any]:
    """At most ``limit`` items spread evenly over the (naturally ordered) list, first and last included."""
    items = list(items)
    if limit is None or limit >= len(items):
        return items
    if limit < 1:
        raise ValueError(f"image limit must be >= 1 or null, got {limit}")
    indices = np.unique(np.round(np.linspace(0, len(items) - 1, limit)).astype(int))
    return [items[i] for i in indices]


def resolve_paired(name: str, data: DataSettings, split: str) -> list[Pair]:
    """Pairs of ``name``/``split`` under ``data.root`` ('synthetic': the embedded set in ``data.cache_dir``, built
    if needed), cut to ``data.max_train_images``/``data.max_eval_images`` by even spacing."""
    if name == "synthetic":
        pairs = list_pairs(name, synthetic_root(data), split)
    else:
        pairs = list_pairs(name, data.root, split)
    return evenly_spaced(pairs, data.limit(split))


def resolve_unpaired(name: str, data: DataSettings, split: str = "test") -> list[Path]:
    """Images of an unpaired set (or the low side of a paired one), limited like :func:`resolve_paired`."""
    if name == "synthetic":
        files = list_images(name, synthetic_root(data), split)
    else:
        files = list_images(name, data.root, split)
    return evenly_spaced(files, data.limit(split))


def resolve_training_pairs(data: DataSettings) -> tuple[str, list[Pair]]:
    """The first usable set of ``data.train`` and its pairs; when none of the real sets is present, the embedded
    set with the name ``"synthetic (fallback: <why>)"``."""
    tried = []
    for name in data.train:
        if name == "synthetic":
            break
        try:
            return name, resolve_paired(name, data, "train")
        except DatasetError:
            tried.append(name)
    label = "synthetic"
    if tried:
        label = f"synthetic (fallback: {', '.join(tried)} not available)"
    elif "synthetic" not in data.train:
        label = "synthetic (fallback: no training set configured)"
    return label, resolve_paired("synthetic", data, "train")
