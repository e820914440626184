"""How long building the embedded synthetic set takes with the smoke and quick profile settings.

Run: ``.venv/bin/python tests/benchmarks/bench_synthetic.py`` (builds into a temporary cache, prints seconds).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from data_prep.synthetic import build_synthetic
from llie_core.core.profiles import load_profile


def bench(profile_name: str) -> None:
    synthetic = load_profile(profile_name).data.synthetic
    settings = {"seed": synthetic.seed, "variants_per_photo": synthetic.variants_per_photo,
                "max_side": synthetic.max_side}
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        root = build_synthetic(cache, **settings)
        built = time.perf_counter() - start
        start = time.perf_counter()
        build_synthetic(cache, **settings)
        reused = time.perf_counter() - start
        n_pairs = len(list(Path(root).glob("*/low/*.png")))
        size_mb = sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file()) / 2**20
    print(f"{profile_name:6s} {settings}: build {built:6.2f} s, reuse {reused * 1000:6.1f} ms, "
          f"{n_pairs} pairs, {size_mb:5.1f} MiB")


if __name__ == "__main__":
    for name in ("smoke", "quick"):
        bench(name)
