"""Summary rows of the evaluation suite carry the 95% bootstrap CI of each mean over images, and
:func:`llie_core.evaluation.suite.save_enhanced` writes the enhanced test images as the suite scores them."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from data_prep.image_io import read_image
from llie_core.core.profiles import load_profile
from llie_core.evaluation import suite as S
from llie_core.evaluation.baselines import build_enhancer


def _reference_ci(values):
    """The CI computed here independently: scipy.stats.bootstrap, BCa, 10,000 resamples, seed 0."""
    res = stats.bootstrap((np.asarray(values, dtype=float),), np.mean, confidence_level=0.95, n_resamples=10_000,
                          method="BCa", random_state=np.random.default_rng(0), vectorized=True)
    return res.confidence_interval.low, res.confidence_interval.high


def test_summary_row_has_n_and_the_bootstrap_ci_of_each_metric():
    psnr = [14.0, 17.5, 15.2, 20.1, 18.3, 16.0]
    frame = pd.DataFrame({"image": [*map(str, range(6)), "mean"], "psnr": [*psnr, np.mean(psnr)],
                          "niqe": [4.0, math.nan, 5.0, 6.0, 4.5, 5.5, math.nan], "seconds": 0.1})
    row = S._summary(frame, "lol_v1", "paired", ["psnr", "niqe"])
    assert row["images"] == 6 and row["psnr"] == pytest.approx(np.mean(psnr))
    low, high = _reference_ci(psnr)
    assert (row["psnr_ci95_low"], row["psnr_ci95_high"]) == pytest.approx((low, high))
    assert row["psnr_ci95_low"] < row["psnr"] < row["psnr_ci95_high"]
    assert S._summary(frame, "lol_v1", "paired", ["psnr"])["psnr_ci95_low"] == row["psnr_ci95_low"]
    # an undefined score makes the mean NaN: no interval around it
    assert math.isnan(row["niqe"]) and math.isnan(row["niqe_ci95_low"]) and math.isnan(row["niqe_ci95_high"])


def test_bootstrap_ci_of_one_value_or_of_equal_values():
    assert all(math.isnan(v) for v in S.bootstrap_ci([3.0]))
    assert S.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    assert S.ci_columns("ssim") == ("ssim_ci95_low", "ssim_ci95_high")


def test_save_enhanced_writes_one_8_bit_png_per_scored_image(tmp_path):
    profile = load_profile("smoke", overrides={"data": {"synthetic": {"variants_per_photo": 1}}},
                           cache_dir=tmp_path / "cache")
    enhancer = build_enhancer("input")
    paths = S.save_enhanced(enhancer, profile, "synthetic", tmp_path / "enhanced" / "input" / "synthetic")
    scores = S.evaluate_suite(enhancer, profile, tmp_path / "scores", paired=["synthetic"], unpaired=[],
                              paired_metrics=["psnr"])
    per_image = pd.read_csv(tmp_path / "scores" / "input" / "synthetic.csv", dtype={"image": str})
    per_image = per_image[per_image["image"] != "mean"]
    assert len(paths) == scores.loc[0, "images"] > 0
    assert [p.stem for p in paths] == [str(n).rsplit(".", 1)[0] for n in per_image["image"]]
    test = S.paired_test_set("synthetic", profile.data)
    for path, item, (_, row) in zip(paths, test, per_image.iterrows()):
        assert path.suffix == ".png" and path.stat().st_size > 0
        image = read_image(path)
        assert tuple(image.shape[-2:]) == (row["height"], row["width"])  # the size the suite scores
        h, w = int(row["height"]), int(row["width"])
        expected = np.round(np.clip(np.asarray(item["low"])[:, :h, :w], 0, 1) * 255) / 255
        np.testing.assert_allclose(np.asarray(image), expected, atol=1 / 255 + 1e-6)  # 8-bit of the output


def test_the_suite_saves_the_scored_outputs_of_the_sets_named_and_save_enhanced_copies_them(tmp_path):
    profile = load_profile("smoke", overrides={"data": {"synthetic": {"variants_per_photo": 1}}},
                           cache_dir=tmp_path / "cache")
    enhancer = build_enhancer("input")
    S.evaluate_suite(enhancer, profile, tmp_path / "scores", paired=["synthetic"], unpaired=["dicm"],
                     paired_metrics=["psnr"], unpaired_metrics=["niqe"], save_images=["synthetic"])
    scored = S.saved_images_dir(tmp_path / "scores", "input", "synthetic")
    saved = sorted(scored.glob("*.png"))
    assert saved and not S.saved_images_dir(tmp_path / "scores", "input", "dicm").exists()   # only the set named
    fresh = S.save_enhanced(enhancer, profile, "synthetic", tmp_path / "fresh")
    copied = S.save_enhanced(enhancer, profile, "synthetic", tmp_path / "copied", scored_dir=scored)
    assert [p.name for p in copied] == [p.name for p in fresh]
    assert all(c.read_bytes() == s.read_bytes() for c, s in zip(copied, fresh))   # the same 8-bit outputs
    # an incomplete set of scored PNGs is not copied: every image is enhanced again
    saved[0].write_bytes(b"not a png")
    saved[1].unlink()
    again = S.save_enhanced(enhancer, profile, "synthetic", tmp_path / "again", scored_dir=scored)
    assert all(a.read_bytes() == f.read_bytes() for a, f in zip(again, fresh))
