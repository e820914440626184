"""Tiny fake dataset trees for tests and examples (real layouts, a few pixels per image)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image


def write_fake_images(folder: str | Path, names: Iterable[str], size: tuple[int, int] = (4, 6),
                      seed: int = 0) -> list[Path]:
    """Write random RGB images ``folder/<name>`` (any Pillow-writable extension) of ``size = (H, W)``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for name in names:
        pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
        out.append(folder / name)
    return out


def write_fake_pairs(root: str | Path, low: str, high: str, names: Iterable[str],
                     size: tuple[int, int] = (4, 6), high_names: Iterable[str] | None = None) -> None:
    """Low images under ``root/low`` and (independent) high images under ``root/high``."""
    names = list(names)
    write_fake_images(Path(root) / low, names, size, seed=1)
    write_fake_images(Path(root) / high, names if high_names is None else high_names, size, seed=2)
