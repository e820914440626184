"""The evaluation option ``resize`` (JCRNet's test protocol, TMM 2023 §IV-A: test images resized to 384x384):
:class:`llie_core.evaluation.suite.ResizedTestSet` and ``evaluate_suite(..., resize=N)``."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from llie_core.core.profiles import load_profile
from llie_core.evaluation.baselines import build_enhancer
from llie_core.evaluation.suite import ResizedTestSet, evaluate_suite, paired_test_set
from llie_core.metrics import create_metric


@pytest.fixture
def embedded_profile(tmp_path):
    """The smoke profile on the embedded set only (no real data), cached under tmp_path."""
    return load_profile("smoke", overrides={"data": {"synthetic": {"variants_per_photo": 1}}},
                        cache_dir=tmp_path / "cache")


class _Items(list):
    """A list of dataset items with the ``names`` / ``pairs`` attributes of the project's datasets."""

    def __init__(self, items):
        super().__init__(items)
        self.names = [it["name"] for it in items]
        self.pairs = [("lo.png", "hi.png")] * len(items)


def _item(h: int, w: int, pad: int = 0, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    low, high = torch.rand(3, h, w, generator=g), torch.rand(3, h, w, generator=g)
    if pad:   # padded like a dataset with pad_multiple: the padding must not reach the resized image
        low, high = F.pad(low, (0, pad, 0, pad), value=1.0), F.pad(high, (0, pad, 0, pad), value=1.0)
    return {"low": low, "high": high, "name": f"im{seed}.png", "size": (h, w)}


def test_low_and_reference_are_resized_alike_to_8_bit_values():
    data = ResizedTestSet(_Items([_item(10, 15, seed=1)]), 8)
    item = data[0]
    assert item["low"].shape == item["high"].shape == (3, 8, 8) and item["size"] == (8, 8)
    assert data.names == ["im1.png"] and data.pairs == [("lo.png", "hi.png")] and len(data) == 1
    raw = _item(10, 15, seed=1)
    expected = F.interpolate(raw["low"][None], size=(8, 8), mode="bilinear", align_corners=False, antialias=True)[0]
    torch.testing.assert_close(item["low"], (expected.clamp(0, 1) * 255).round() / 255)
    assert torch.equal(item["low"] * 255, (item["low"] * 255).round())          # 8-bit values
    assert item["low"].min() >= 0 and item["high"].max() <= 1


def test_padding_is_cropped_before_the_resize():
    torch.testing.assert_close(ResizedTestSet(_Items([_item(10, 15, pad=3, seed=2)]), 6)[0]["low"],
                               ResizedTestSet(_Items([_item(10, 15, seed=2)]), 6)[0]["low"])


def test_constant_images_stay_constant_and_unpaired_items_work():
    flat = {"low": torch.full((3, 9, 13), 0.4), "name": "flat.png", "size": (9, 13)}
    out = ResizedTestSet(_Items([flat]), 5)[0]
    assert "high" not in out and torch.allclose(out["low"], torch.full((3, 5, 5), round(0.4 * 255) / 255))
    with pytest.raises(ValueError, match="positive"):
        ResizedTestSet(_Items([flat]), 0)


def test_evaluate_suite_resize_rows_are_separate_and_scored_on_resized_pairs(embedded_profile, tmp_path):
    enhancer = build_enhancer("input")
    full = evaluate_suite(enhancer, embedded_profile, tmp_path / "scores", paired=["synthetic"], unpaired=[],
                          paired_metrics=["psnr"])
    small = evaluate_suite(enhancer, embedded_profile, tmp_path / "scores", paired=["synthetic"], unpaired=[],
                           paired_metrics=["psnr"], resize=24)
    assert "eval_resize" not in full and small["eval_resize"].tolist() == [24]
    assert small.loc[0, "status"] == "ok" and small.loc[0, "images"] == full.loc[0, "images"]
    per_image = pd.read_csv(tmp_path / "scores" / "input" / "synthetic@24x24.csv")        # its own cache file
    per_image = per_image[per_image["image"] != "mean"]
    assert set(per_image["height"]) == {24} and set(per_image["width"]) == {24}
    assert (tmp_path / "scores" / "input" / "synthetic.csv").is_file()                    # full-size rows untouched
    dataset = paired_test_set("synthetic", embedded_profile.data, resize=24)
    psnr = create_metric("psnr")
    expected = np.mean([float(psnr(it["low"][None], it["high"][None])) for it in dataset])
    assert math.isclose(small.loc[0, "psnr"], expected, rel_tol=1e-6)
    assert not math.isclose(small.loc[0, "psnr"], full.loc[0, "psnr"], rel_tol=1e-6)
