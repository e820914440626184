"""Numeric goldens of every registered model (and the Zero-DCE network) at smoke width: proof that a refactor
(files moved between packages, code reorganised) changed no number.

Protocol (``tests/goldens/make_model_goldens.py``, whose functions these tests reuse): seeded initial weights (the
recipe's build), their fingerprint (state-dict names/shapes/dtypes exactly; per-entry float64 sum and sum of
squares within 1e-6 relative), a seeded perturbation of every floating state-dict entry so zero-initialised layers
contribute, fixed seeded inputs (1x3x32x48 with exact 0/1 pixels, and a 29x45 crop), every cheap entry point in
eval mode with one thread, plus the forward of every smoke variant that overrides ``model:``. Stored values (up to
512 evenly spaced elements per entry) and whole-tensor statistics (mean, mean |x|, std, min, max) must agree within
``1e-5 + 1e-5 * scale`` (scale = max |golden entry|; 8 for LLFlow's entries through its flow decode).

Measured worst error (|actual - golden| / max(1, scale)): 0 (bit-identical) on the machine that wrote the goldens;
simulated other platforms: building and running with 2 threads 3.9e-7 (LLFlow 2.7e-6: 2.2e-5 absolute on its
clamped decode), oneDNN disabled 1.1e-6. Mutations of the library code that the goldens catch (checked once by
hand on a copy of ``llie_core``): a kaiming fan_in -> fan_out, a zero-init bias -> 1e-3, two layers constructed in
another order, two concatenated tensors swapped, constants changed by 1e-4 relative (HVI collapse pi/2, ring-mean
1/8, luma weight, log eps, coupling offset 2.0).

Regenerate only for an intended numeric change: ``python tests/goldens/make_model_goldens.py --overwrite NAME``.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from llie_core.models import available_models
from tests.goldens import make_model_goldens as gen

pytestmark = pytest.mark.usefixtures("one_thread")

NAMES = sorted(gen.CASES)


def _stored(name: str) -> dict[str, np.ndarray]:
    path = gen.GOLDEN_DIR / f"{name}.npz"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run python tests/goldens/make_model_goldens.py {name}")
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def test_every_registered_model_has_a_case_and_a_golden():
    missing = sorted(set(available_models()) - set(gen.CASES))
    assert not missing, (f"registered models without a golden case: {missing}; add a Case to "
                         f"tests/goldens/make_model_goldens.py and generate its golden")
    assert sorted(p.stem for p in gen.GOLDEN_DIR.glob("*.npz")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_golden_files_stay_small(name):
    assert (gen.GOLDEN_DIR / f"{name}.npz").stat().st_size < 64 * 1024


@pytest.mark.parametrize("name", NAMES)
def test_outputs_match_golden(name):
    problems, worst = gen.compare(gen.CASES[name], _stored(name))
    assert not problems, f"{name} drifted from its golden (max abs error {worst:.3g}):\n" + "\n".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_comparison_detects_a_one_element_weight_change(name):
    """Mutation check: +1e-3 on one element of the first floating state-dict entry (the input layer) of the
    perturbed model must be reported, while the seeded-initialisation fingerprint still matches."""
    case = gen.CASES[name]
    model = gen.perturb_(case.build())
    with torch.no_grad():
        first = next(t for t in model.state_dict(keep_vars=True).values() if t.is_floating_point())
        first.view(-1)[0] += 1e-3
    problems, _ = gen.compare(case, _stored(name), model=model)
    assert problems and not any("initialisation" in p for p in problems), problems


@pytest.mark.parametrize("name", NAMES)
def test_comparison_detects_another_initialisation(name, monkeypatch):
    """Mutation check: another weight seed (a changed initialisation) fails both the fingerprint and the outputs."""
    monkeypatch.setattr(gen, "WEIGHT_SEED", gen.WEIGHT_SEED + 1)
    problems, _ = gen.compare(gen.CASES[name], _stored(name))
    assert any("initialisation" in p for p in problems), problems
    assert any(p.split(":")[0] in gen.entry_keys(_stored(name)) or "__stats" in p.split(":")[0] for p in problems)
