"""The models committed in ``checkpoints/quick`` (issue 17): every trained method has one, it says what it is, and
``enhance`` and the explorer use it in a checkout with no run, no data and no weights."""
from __future__ import annotations

import re

import pytest
import torch

from llie_core.core.methods import TRAINED_METHODS, display_name
from llie_core.training.shipped import CARD, SHIPPED_PROFILE, shipped_runs_dir
from llie_core.workbook import explorer as E
from llie_core.evaluation.tiling import pad_to_multiple
from llie_core.workbook.enhance import build_method_enhancer
from tests.report.test_notebook_helpers import tiny_results


@pytest.mark.parametrize("method", TRAINED_METHODS)
def test_every_trained_method_is_shipped_with_its_card(method):
    folder = shipped_runs_dir(SHIPPED_PROFILE) / method
    card = (folder / CARD).read_text(encoding="utf-8")
    weights = list(folder.glob("*/checkpoints/best.pt"))
    assert len(weights) == 1, f"{folder}: expected one <stage>/checkpoints/best.pt, found {weights}"
    stored = torch.load(weights[0], map_location="cpu", weights_only=True)["stored_dtype"]
    assert re.search(rf"stored as: {'fp16' if stored == 'float16' else 'fp32'} ", card)
    for field in ("iterations", "precision", "checksums", "psnr", "commit"):
        assert field in card, f"{method}'s model card does not state its {field}"


@pytest.mark.parametrize("method", TRAINED_METHODS)
def test_enhance_uses_the_shipped_model_without_a_checkpoint(method):
    enhancer = build_method_enhancer(method)  # no --checkpoint: the shipped model
    low = torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(0)) * 0.2
    out = enhancer(low)
    assert out.shape == low.shape and torch.isfinite(out).all()
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert float(out.mean()) > float(low.mean()), f"{method}'s shipped model does not brighten a dark image"


def test_the_explorer_offers_every_shipped_model_in_a_checkout_without_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    monkeypatch.delenv("LLIE_WEIGHTS_ROOT", raising=False)
    profile, _, results = tiny_results(tmp_path)
    with pytest.warns(UserWarning):  # Zero-DCE's weights are absent
        explorer, skipped = E.build_explorer(profile, results, max_side=8)
    assert [display_name(m) for m in TRAINED_METHODS if display_name(m) not in explorer.enhancers] == []
    assert all(m not in skipped for m in TRAINED_METHODS)


@pytest.mark.parametrize("method", TRAINED_METHODS)
def test_tiny_images_are_enhanced_by_every_shipped_model(method):
    """A thumbnail or a 1x1 probe: ICLR's deepest reflect paddings and JCRNet's instance norms used to fail on
    them; the enhancer pads up to NETWORK_MIN_SIDE and crops back."""
    enhancer = build_method_enhancer(method)
    for size in ((1, 1), (3, 5), (8, 8), (31, 17)):
        low = torch.full((1, 3, *size), 0.1)
        out = enhancer(low)
        assert out.shape == low.shape and torch.isfinite(out).all(), (method, size)


def test_padding_reaches_the_minimum_side_then_the_multiple():
    image = torch.rand(1, 3, 5, 70)
    assert pad_to_multiple(image, 8, min_side=64).shape[-2:] == (64, 72)
    assert pad_to_multiple(image, 1, min_side=6).shape[-2:] == (6, 70)
    assert torch.equal(pad_to_multiple(image, 8, min_side=64)[..., :5, :70], image)
    assert pad_to_multiple(image, 1).shape == image.shape
