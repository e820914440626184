"""bf16 parity of every method's training step: the same weights and batch give losses within a few per cent of
fp32 under bf16 autocast (emulated on CPUs without bf16 instructions), nothing non-finite, and the code kept in
fp32 (HVI colour transform, LLFlow's flow) is unchanged bit for bit."""
from __future__ import annotations

import copy
import math

import pytest
import torch

from llie_core.core.precision import autocast, full_precision
from llie_core.core.profiles import load_profile
from llie_core.engine.registry import TASKS
from llie_core.losses import build_loss_set
from llie_core.models import build_model
from llie_core.models.hvi import HVITransform
from llie_core.training.recipes import _engine_config, available_methods, load_method_config
from tests.helpers import rand

PATCH = 64  # a multiple of every smoke model's pad_multiple


def _loss_terms(method: str, stage_name: str, precision: str) -> dict[str, float]:
    profile = load_profile("smoke")
    cfg = load_method_config(method, "smoke")
    stage = cfg["stages"][stage_name]
    engine = _engine_config(cfg, stage, profile, 1.0)
    torch.manual_seed(0)
    model = build_model(copy.deepcopy(cfg["model"]))
    task = TASKS.build(dict(engine["task"]))
    task.setup(model)
    task.train_mode(model)
    losses = build_loss_set(engine["losses"])
    low = rand(2, 3, PATCH, PATCH, seed=1) * 0.3
    batch = {"low": low, "high": (low * 3).clamp(0, 1), "name": ["a", "b"]}
    torch.manual_seed(1)  # dropout / sampling draws equal in both precisions
    with autocast(precision, "cpu"):
        terms = task.compute_losses(model, batch, losses)
    assert all(t.dtype == torch.float32 for t in terms.values()), f"{method}: a loss left fp32"
    return {k: float(v.detach()) for k, v in terms.items()}


@pytest.mark.parametrize("method", available_methods())
def test_bf16_training_losses_match_fp32(method):
    cfg = load_method_config(method, "smoke")
    for stage_name, stage in cfg["stages"].items():
        if not stage:
            continue
        fp32 = _loss_terms(method, stage_name, "fp32")
        bf16 = _loss_terms(method, stage_name, "bf16")
        assert fp32.keys() == bf16.keys()
        for name, value in fp32.items():
            assert math.isfinite(bf16[name]), f"{method}/{stage_name}: {name} is {bf16[name]} under bf16"
            assert bf16[name] == pytest.approx(value, rel=0.05, abs=2e-3), f"{method}/{stage_name}: {name}"


def test_the_hvi_transform_stays_fp32_under_autocast():
    """The ICLR crash of a bf16 hue index: the transform runs in fp32 inside autocast, bit-identical to fp32."""
    hvi = HVITransform()
    rgb = rand(1, 3, 32, 32, seed=3)
    reference = hvi.inverse(hvi(rgb))
    with autocast("bf16", "cpu"):
        forward = hvi(rgb)
        back = hvi.inverse(forward)
    assert forward.dtype == back.dtype == torch.float32
    assert torch.equal(back, reference)


def test_full_precision_is_a_no_op_outside_autocast():
    calls = []

    @full_precision
    def f(x):
        calls.append(x.dtype)
        return x

    x = torch.ones(2, dtype=torch.bfloat16)
    assert f(x) is x and calls == [torch.bfloat16]
    with autocast("bf16", "cpu"):
        assert f(x).dtype == torch.float32
