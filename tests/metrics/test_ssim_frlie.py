"""FRLIE's SSIM protocol (issue 19 §3): ``ssim_frlie`` is the released evaluation script's skimage call
``structural_similarity(rgb2gray(gt), rgb2gray(pred), data_range=1, win_size=51)`` on float images in [0, 1]."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2gray
from skimage.metrics import structural_similarity

from llie_core.metrics import create_metric, metric_info

# A fixed 8-bit pair (96 x 120): a smooth reference and a darker, noisy, colour-shifted "output".
_RNG = np.random.default_rng(20240619)
_Y, _X = np.mgrid[0:96, 0:120]
GT = np.round(255 * np.stack([0.5 + 0.4 * np.sin(_X / 9.0), 0.5 + 0.4 * np.cos(_Y / 7.0),
                              0.3 + 0.3 * np.sin((_X + _Y) / 13.0)], axis=-1)) / 255.0
PRED = np.clip(np.round(255 * (0.8 * GT + 0.05 * _RNG.standard_normal(GT.shape) + [0.02, 0.0, -0.03])), 0, 255) / 255.0
# The value of the pair (FRLIE's call on these arrays); pins the protocol against changes of this file or skimage.
GOLDEN = 0.935255


def _skimage_call(gt: np.ndarray, pred: np.ndarray) -> float:
    """The released script's line, verbatim apart from compare_ssim's newer name."""
    return float(structural_similarity(rgb2gray(gt), rgb2gray(pred), data_range=1, win_size=51))


def test_equals_skimage_own_call_on_a_fixed_pair():
    value = create_metric("ssim_frlie")(PRED, GT)
    assert value == pytest.approx(_skimage_call(GT, PRED), abs=1e-12)
    assert value == pytest.approx(GOLDEN, abs=5e-6)


def test_differs_from_the_other_ssim_conventions():
    value = create_metric("ssim_frlie")(PRED, GT)
    for other in ("ssim_gray", "ssim", "ssim_matlab_gray"):
        assert abs(value - create_metric(other)(PRED, GT)) > 1e-3, other


def test_scores_the_8bit_output_unless_quantize_false():
    rough = np.clip(PRED + 0.4 / 255 * _RNG.uniform(-1, 1, PRED.shape), 0, 1)   # between the 8-bit levels
    assert create_metric("ssim_frlie")(rough, GT) == pytest.approx(
        _skimage_call(GT, np.round(rough * 255) / 255), abs=1e-12)
    assert create_metric("ssim_frlie", quantize=False)(rough, GT) == pytest.approx(_skimage_call(GT, rough), abs=1e-12)


def test_metadata_states_the_protocol_and_direction():
    info = metric_info("ssim_frlie")
    assert info.kind == "FR" and info.lower_better is False and info.score_range == (-1.0, 1.0)
    for words in ("FRLIE", "rgb2gray", "win_size=51", "data_range=1"):
        assert words in info.description, words


def test_argument_order_is_the_scripts():
    """skimage's SSIM with a 51-px window is symmetric in its two images, so the order cannot change the value;
    the gray conversion is skimage's (not OpenCV's rounded BT.601 of ssim_gray)."""
    assert _skimage_call(GT, PRED) == pytest.approx(_skimage_call(PRED, GT), abs=1e-12)
    assert rgb2gray(GT[:1, :1])[0, 0] == pytest.approx(float(GT[0, 0] @ [0.2125, 0.7154, 0.0721]), abs=1e-12)


def test_images_smaller_than_the_window_fail_clearly():
    with pytest.raises(ValueError, match="win_size"):
        create_metric("ssim_frlie")(PRED[:40, :40], GT[:40, :40])
