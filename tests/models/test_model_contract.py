"""The contract every registered model keeps at its smoke width (parametrised over ``available_models()``, so a
newly registered model is covered as soon as it has ``configs/<method>/smoke.yaml``).

Protocol: the model is built as the recipes build it (``torch.manual_seed`` then
``build_model(load_method_config(method, 'smoke')['model'])``), its weights perturbed with the goldens' seeded
perturbation (``tests/goldens/make_model_goldens.py``: zero-initialised layers then contribute), eval mode, one
thread. Inputs are seeded low-light images (values 0.01-0.25 with a few pixels at exactly 0 and 1).

* Size: ``model(low)`` and the recipe enhancer (``as_enhancer(model, name, config pad_multiple)``, as
  ``MethodRun.enhancer``) return the input's (N, 3, H, W) for odd sizes (37x53, 29x61); the model's
  ``pad_multiple`` attribute, when it has one, equals the config's.
* Batch independence: a batch of two gives each image's single result (within 1e-5; eval mode).
* Determinism: two eval forwards are bit-identical.
* Range: finite; within [0, 1] for every model except those listed in :data:`UNCLAMPED` (documented there); the
  enhancer output is always within [0, 1].
* State dict: ``torch.save`` to memory, ``load_state_dict(strict=True)`` into an instance built with another
  seed, bit-identical outputs.
* Size of the model: ``sum(p.numel() for p in model.parameters())`` (trainable + non-trainable parameters,
  buffers excluded) equals the top-level ``params:`` of the method's config in every profile (smoke required).
  The count is of the base ``model:``; variants that override ``model:`` may differ.
"""
from __future__ import annotations

import io
from functools import lru_cache

import pytest
import torch
from torch import Tensor, nn

from llie_core.evaluation.loop import as_enhancer
from llie_core.models import available_models, build_model
from llie_core.training.recipes import available_methods, load_method_config
from tests.goldens.make_model_goldens import perturb_

pytestmark = pytest.mark.usefixtures("one_thread")

MODEL_NAMES = available_models()
ODD_SIZES = ((37, 53), (29, 61))
PROFILES = ("smoke", "quick", "paper")
# models whose forward() is not clamped to [0, 1] (the recipe enhancer clamps their output), with the reason
UNCLAMPED = {"JCRNet": "forward returns the raw stage output (jcrnet.py: 'The enhanced image (not clamped)')"}


@lru_cache(maxsize=None)
def smoke_methods() -> dict[str, str]:
    """``{model type: config method}`` from every ``configs/<method>/smoke.yaml``."""
    out = {}
    for method in available_methods():
        try:
            cfg = load_method_config(method, "smoke")
        except FileNotFoundError:
            continue
        out[cfg["model"]["type"]] = method
    return out


def method_of(name: str) -> str:
    method = smoke_methods().get(name)
    if method is None:
        pytest.fail(f"registered model {name} has no configs/<method>/smoke.yaml whose model type is {name}; the "
                    f"contract (and the recipes) need one")
    return method


def build(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return perturb_(build_model(dict(load_method_config(method_of(name), "smoke")["model"]))).eval()


def low_image(h: int, w: int, batch: int = 1, seed: int = 11) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    x = 0.01 + 0.24 * torch.rand(batch, 3, h, w, generator=g)
    x[..., 0, 0], x[..., -1, -1], x[..., h // 2, w // 3] = 0.0, 1.0, 1.0
    return x


@torch.no_grad()
def run(model: nn.Module, x: Tensor) -> Tensor:
    return model(x)


@pytest.fixture(scope="module", params=MODEL_NAMES)
def smoke(request) -> tuple[str, nn.Module, dict]:
    name = request.param
    return name, build(name), load_method_config(method_of(name), "smoke")


@pytest.mark.parametrize("size", ODD_SIZES)
def test_output_shape_equals_input_shape_at_odd_sizes(smoke, size):
    name, model, cfg = smoke
    x = low_image(*size)
    assert run(model, x).shape == x.shape, name
    pad = int(cfg["model"].get("pad_multiple", 1) or 1)
    if hasattr(model, "pad_multiple"):
        assert model.pad_multiple == pad, f"{name}: model pad_multiple {model.pad_multiple} vs config {pad}"
    out = as_enhancer(model, name, pad)(x)
    assert out.shape == x.shape and bool(((out >= 0) & (out <= 1)).all()), name


def test_batch_of_two_equals_two_single_images(smoke):
    name, model, _ = smoke
    x = low_image(*ODD_SIZES[0], batch=2)
    batched = run(model, x)
    singles = torch.cat([run(model, x[i:i + 1]) for i in range(2)])
    torch.testing.assert_close(batched, singles, atol=1e-5, rtol=1e-5, msg=lambda m: f"{name}: {m}")


def test_eval_forward_is_deterministic(smoke):
    name, model, _ = smoke
    x = low_image(*ODD_SIZES[0])
    assert torch.equal(run(model, x), run(model, x)), name


def test_output_is_finite_and_in_range(smoke):
    name, model, _ = smoke
    out = run(model, low_image(*ODD_SIZES[1]))
    assert torch.isfinite(out).all(), name
    if name in UNCLAMPED:
        return
    assert out.min() >= 0 and out.max() <= 1, (f"{name}: forward output in [{out.min():.4g}, {out.max():.4g}]; "
                                                f"clamp it or document the model in UNCLAMPED")


def test_state_dict_round_trip_is_exact(smoke):
    name, model, _ = smoke
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh = build(name, seed=1)
    x = low_image(*ODD_SIZES[0])
    before = run(fresh, x)
    fresh.load_state_dict(torch.load(buffer, weights_only=True), strict=True)
    reference, loaded = run(model, x), run(fresh, x)
    assert not torch.equal(before, reference), f"{name}: another seed gave the same output (test is vacuous)"
    assert torch.equal(loaded, reference), name


def test_parameter_count_matches_the_smoke_config(smoke):
    name, model, cfg = smoke
    assert "params" in cfg, f"configs/{method_of(name)}/smoke.yaml needs a top-level params: key"
    assert sum(p.numel() for p in model.parameters()) == cfg["params"], name


@pytest.mark.parametrize("profile", [p for p in PROFILES if p != "smoke"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_parameter_count_matches_the_other_profiles(name, profile):
    method = method_of(name)
    try:
        cfg = load_method_config(method, profile)
    except FileNotFoundError:
        pytest.skip(f"{method} has no {profile} profile")
    if "params" not in cfg:
        pytest.fail(f"configs/{method}/{profile}.yaml has no top-level params: key")
    model = build_model(dict(cfg["model"]))
    assert sum(p.numel() for p in model.parameters()) == cfg["params"], f"{method}/{profile}"
