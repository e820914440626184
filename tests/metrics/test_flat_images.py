"""NIQE and BRISQUE on images without natural-scene statistics (issue 18, defect 4): a flat image (one gray level
after 8-bit rounding) scores NaN, documented, with one RuntimeWarning that says why and no numpy noise."""
from __future__ import annotations

import math
import warnings

import pytest
import torch

from llie_core.metrics import create_metric, metric_info
from tests.helpers import rand, require_assets

ASSETS = {"niqe": "niqe/niqe_pris_params.npz", "brisque": "brisque/live_svm.npz"}


@pytest.fixture(scope="module", params=["niqe", "brisque"])
def metric(request):
    name = request.param
    require_assets(ASSETS[name])
    return name, create_metric(name)


@pytest.mark.parametrize("level", [0.0, 0.4, 1.0])
def test_a_flat_image_scores_nan_with_one_clear_warning(metric, level):
    name, fn = metric
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(fn(torch.full((1, 3, 200, 300), level)))
    assert math.isnan(value)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "flat" in messages[0] and name.upper() in messages[0], messages
    assert "flat" in metric_info(name).description  # the outcome is part of the documented protocol


def test_a_textured_image_still_scores_a_number_without_warnings(metric):
    name, fn = metric
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = float(fn(rand(1, 3, 200, 300, seed=3)))
    assert math.isfinite(value)
