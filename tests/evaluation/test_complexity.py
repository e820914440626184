"""Complexity measurement: analytic FLOPs of a convolution, parameter counts, latency record."""
from __future__ import annotations

import pytest
import torch

from llie_core.evaluation.complexity import complexity_row, count_flops, count_parameters, measure_latency, params_m


@pytest.mark.parametrize("cin,cout,k,h,w", [(3, 16, 3, 32, 48), (8, 4, 1, 17, 9)])
def test_conv_flops_equal_two_macs_per_output(cin, cout, k, h, w):
    conv = torch.nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
    assert count_flops(conv, (1, cin, h, w)) == 2 * cin * cout * k * k * h * w


def test_flops_scale_with_batch_and_linear_layer():
    lin = torch.nn.Linear(10, 7)
    assert count_flops(lin, (4, 10)) == 2 * 4 * 10 * 7


def test_parameter_counts_trainable_only_and_shared_once():
    conv = torch.nn.Conv2d(3, 16, 3)
    assert count_parameters(conv) == 3 * 16 * 9 + 16
    shared = torch.nn.Sequential(conv, conv)
    assert count_parameters(shared) == 3 * 16 * 9 + 16
    conv.bias.requires_grad_(False)
    assert count_parameters(conv) == 3 * 16 * 9


def test_params_m_uses_2_pow_20_by_default():
    assert params_m(1_975_569) == pytest.approx(1.884, abs=1e-3)  # HVI-CIDNet "1.88 M"
    assert params_m(2_000_000, base=1e6) == 2.0


def test_latency_record_and_row():
    model = torch.nn.Conv2d(3, 3, 3, padding=1).train()
    result = measure_latency(model, (1, 3, 16, 16), warmup=1, runs=3)
    assert set(result) == {"median_s", "min_s", "fps", "threads", "runs"}
    assert result["median_s"] > 0 and result["min_s"] <= result["median_s"] and result["fps"] > 0
    assert result["threads"] == torch.get_num_threads() and result["runs"] == 3
    assert model.training, "measurement must restore the training flag"
    row = complexity_row("conv", model, (1, 3, 16, 16), runs=2)
    assert row["params"] == 84 and row["flops"] == 2 * 3 * 3 * 9 * 16 * 16
    assert row["GMACs"] == pytest.approx(row["GFLOPs"] / 2) and row["latency_runs"] == 2
    with pytest.raises(ValueError, match="runs"):
        measure_latency(model, (1, 3, 8, 8), runs=0)
