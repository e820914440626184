"""Numeric goldens of every registered model (and the Zero-DCE network) at its smoke width.

Run once from the repository root (refuses to overwrite existing goldens unless ``--overwrite``)::

    python tests/goldens/make_model_goldens.py [--overwrite] [--audit] [NAME ...]

``tests/models/test_model_goldens.py`` recomputes every entry with the functions of this file and compares. The goldens
exist to prove that a refactor (files moved between packages, code reorganised) changed no number.

Protocol (one golden per model, ``tests/goldens/models/<name>.npz``):

* Model: ``torch.manual_seed(WEIGHT_SEED)``, then ``build_model(load_method_config(<method>, 'smoke')['model'])``
  (the way ``llie_core.training.recipes.train_method`` builds a model: seed, then build); Zero-DCE: ``ZeroDCE()`` (official
  defaults, random seeded weights; no released weights needed).
* Fingerprint of that seeded initialisation, before anything else: the state-dict key names, shapes and dtypes
  (UTF-8 JSON) and, per entry, the float64 sum and sum of squares.
* Perturbation (:func:`perturb_`): every floating state-dict entry ``t += PERTURB_STD * scale(t) * N(0, 1)``,
  noise from a ``torch.Generator`` seeded ``PERTURB_SEED`` and drawn in state-dict order; ``scale`` is
  ``1 / sqrt(fan_in)`` for weight matrices/kernels (``dim >= 2`` and ``shape[0] > 1``; about a tenth of torch's
  default initialisation spread) and 1 for vectors and scalars; BatchNorm ``running_var`` is multiplied by
  ``exp(PERTURB_STD * N(0, 1))`` instead (stays positive). Zero-initialised layers (IRLE's
  illumination head, StructureNet tail, GAFM heads and denoiser tail; LLFlow's ActNorms and zero convolutions)
  then contribute, and the seeded initialisation still enters every value (the noise is added to it).
* Inputs (:func:`inputs`): ``low`` = ``0.01 + 0.24 * U(0, 1)`` of shape ``INPUT_SHAPE`` (1x3x32x48, a multiple of
  every smoke ``pad_multiple``), ``high`` = ``0.1 + 0.85 * U(0, 1)``, one generator seeded ``INPUT_SEED``; in both,
  the ``EXTREME_PIXELS`` are set to exactly 0 or 1 (a black pixel, a zero channel, a white pixel, a saturated
  channel: eps guards and log/ratio limits act there, e.g. LLFlow's ``log_input`` eps 1e-3 -> 1.001e-3 moves the
  outputs by more than the tolerance only through the black pixel); ``low_odd`` = ``low[..., :29, :45]``
  (exercises each model's padding).
* Entry points (:data:`CASES`): eval mode, ``torch.no_grad``, float32, one intra-op thread; every public inference
  and training entry point that is cheap at this size (forward, padded forward, intermediates, training outputs
  in eval mode; LLFlow's NLL terms and seeded sampling). Plus ``variant.<name>.forward`` for every smoke variant
  that overrides ``model:`` (ablation and released-code switches), built and perturbed the same way (LLFlow: the
  unclamped deterministic decode).
* Storage per entry ``<key>``: ``<key>`` float32 values (all of them when ``numel <= MAX_VALUES``, else
  ``MAX_VALUES`` evenly spaced elements of the flattened tensor, :func:`sample_indices`), ``<key>__stats`` float64
  ``[mean, mean |x|, std, min, max]`` over the whole tensor, ``<key>__shape`` int64. ``meta__config`` is the UTF-8
  JSON of the model configs used (base and variants), ``meta__torch`` the torch version that wrote the file
  (information only).
* Comparison (:func:`compare`): configs equal; state-dict listing equal; fingerprint within ``FINGERPRINT_RTOL``
  (:func:`fingerprint_mismatches`); same entry keys and shapes; stored values and statistics within
  ``ATOL + RTOL * scale`` (1e-5 + 1e-5 * scale), ``scale`` = max|golden entry| (at least ``Case.scale_floors``:
  LLFlow's entries through its flow decode use 8). Building and running use one thread.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from llie_core.evaluation.baselines.zero_dce import ZeroDCE
from llie_core.models import build_model
from llie_core.training.recipes import load_method_config, method_variants

GOLDEN_DIR = Path(__file__).resolve().parent / "models"
WEIGHT_SEED = 20240601
PERTURB_SEED = 4242
PERTURB_STD = 0.05
INPUT_SEED = 7
INPUT_SHAPE = (1, 3, 32, 48)
ODD_SIZE = (29, 45)
# ((y, x), channel or None for all three, value): a black pixel, one zero channel, a white pixel, one saturated channel
EXTREME_PIXELS = (((0, 0), None, 0.0), ((3, 5), 1, 0.0), ((31, 47), None, 1.0), ((10, 20), 0, 1.0))
MAX_VALUES = 512          # stored elements per entry (statistics always cover the whole tensor)
ATOL, RTOL = 1e-5, 1e-5   # |actual - golden| <= ATOL + RTOL * max|golden entry| (values and statistics)
FINGERPRINT_RTOL = 1e-6   # per state-dict entry: |d sum| <= 1e-6 sqrt(n sumsq), |d sumsq| <= 1e-6 sumsq


@dataclass(frozen=True)
class Case:
    """One golden: ``name`` (file stem), how to build the model, and its entry points."""

    name: str
    method: str | None                      # configs/<method>/smoke.yaml; None: Zero-DCE (no config)
    run: Callable[[nn.Module, Mapping[str, Tensor]], dict[str, Tensor]]
    variant_run: Callable[[nn.Module, Tensor], Tensor] = lambda model, low: model(low)
    # {entry-key prefix: minimum tolerance scale}: entries computed through an ill-conditioned path whose clamped
    # values (in [0, 1]) carry the float32 error of a larger unclamped range
    scale_floors: Mapping[str, float] = field(default_factory=dict)

    def scale_floor(self, key: str) -> float:
        return max([floor for prefix, floor in self.scale_floors.items() if key.startswith(prefix)], default=0.0)

    def config(self, variant: str | None = None) -> dict[str, Any]:
        """The smoke ``model:`` section (with ``variant``'s overrides merged)."""
        if self.method is None:
            return {"type": "ZeroDCE"}
        return dict(load_method_config(self.method, "smoke", variant)["model"])

    def model_variants(self) -> list[str]:
        """The smoke config's variants whose ``model:`` differs from the base (ablation / released-code switches)."""
        if self.method is None:
            return []
        base = self.config()
        return [v for v in method_variants(self.method, "smoke") if self.config(v) != base]

    def all_configs(self) -> dict[str, Any]:
        """What the golden records as its configuration: the base model and every model variant."""
        return {"model": self.config(), "variants": {v: self.config(v) for v in self.model_variants()}}

    def build(self, variant: str | None = None) -> nn.Module:
        """The model with seeded initial weights (before :func:`perturb_`), in eval mode. One thread: LLFlow's
        QR-initialised 1x1 convolutions differ by ~1e-7 between LAPACK thread counts."""
        with single_thread():
            torch.manual_seed(WEIGHT_SEED)
            model = ZeroDCE() if self.method is None else build_model(self.config(variant))
        return model.eval()


@contextmanager
def single_thread() -> Iterator[None]:
    """One intra-op thread inside the block (restored afterwards): reductions keep one summation order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ------------------------------------------------------------------------------------------------ inputs, weights
def inputs() -> dict[str, Tensor]:
    """The fixed inputs ``low``, ``high`` (``INPUT_SHAPE``) and ``low_odd`` (``low`` cropped to ``ODD_SIZE``)."""
    g = torch.Generator().manual_seed(INPUT_SEED)
    low = 0.01 + 0.24 * torch.rand(INPUT_SHAPE, generator=g)
    high = 0.1 + 0.85 * torch.rand(INPUT_SHAPE, generator=g)
    for image in (low, high):  # exact 0 and 1 pixels: eps guards, log/ratio limits and clamps are exercised
        for (y, x), channel, value in EXTREME_PIXELS:
            image[:, slice(None) if channel is None else channel, y, x] = value
    return {"low": low, "high": high, "low_odd": low[..., :ODD_SIZE[0], :ODD_SIZE[1]].contiguous()}


def perturbation_scale(tensor: Tensor) -> float:
    """``1 / sqrt(fan_in)`` for weight matrices and kernels (``dim >= 2``, ``shape[0] > 1``), else 1."""
    if tensor.dim() >= 2 and tensor.shape[0] > 1:
        return 1.0 / math.sqrt(tensor.numel() // tensor.shape[0])
    return 1.0


@torch.no_grad()
def perturb_(model: nn.Module, seed: int = PERTURB_SEED, std: float = PERTURB_STD) -> nn.Module:
    """Add seeded Gaussian noise (``std * perturbation_scale``) to every floating state-dict entry (in place,
    state-dict order); BatchNorm ``running_var`` is scaled by ``exp(std * N(0, 1))`` instead. Non-persistent buffers
    (e.g. IRLE's blind-spot mask) and integer entries are left alone."""
    g = torch.Generator().manual_seed(seed)
    for name, tensor in model.state_dict(keep_vars=True).items():
        if not tensor.is_floating_point():
            continue
        noise = std * torch.randn(tensor.shape, generator=g, dtype=torch.float32).to(tensor.dtype)
        if name.endswith("running_var"):
            tensor.mul_(noise.exp())
        else:
            tensor.add_(noise * perturbation_scale(tensor))
    return model


def fingerprint(model: nn.Module) -> tuple[list[list[Any]], np.ndarray]:
    """``([[key, shape, dtype], ...], float64 array (n_keys, 2) of [sum, sum of squares])`` of the state dict."""
    listing, sums = [], []
    for name, tensor in model.state_dict().items():
        listing.append([name, list(tensor.shape), str(tensor.dtype).removeprefix("torch.")])
        t = tensor.detach().double()
        sums.append([float(t.sum()), float((t * t).sum())])
    return listing, np.asarray(sums, dtype=np.float64).reshape(-1, 2)


# ------------------------------------------------------------------------------------------------ entry points
def _hvi_net(model: nn.Module, x: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """CIDNet / ICLR: enhanced HVI, RGB forward (plain, official test options, odd size), training outputs."""
    low, high = x["low"], x["high"]
    train = model.train_outputs(low, high)
    return {"predict_hvi": model.predict_hvi(low), "forward": model(low),
            "forward_options": model(low, saturation_gate=1.3, rgb_scale=0.84),
            "forward_gamma": model(low, gamma=0.8), "forward_odd": model(x["low_odd"]),
            "train_output": train["output"], "train_output_hvi": train["output_hvi"],
            "train_high_hvi": train["high_hvi"]}


def _frlie(model: nn.Module, x: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """FRLIE: encode / restore / decode, forward (plain, luma blend, odd size), reconstruct, stage-2 outputs."""
    low, high = x["low"], x["high"]
    features = model.encode(low)
    restored = model.restore(features)
    stage2 = model.stage2_outputs(low, high)
    return {"encode": features, "restore": restored, "decode": model.decode(restored), "forward": model(low),
            "forward_luma_blend": model(low, luma_blend_input=True), "forward_odd": model(x["low_odd"]),
            "reconstruct": model.reconstruct(high), "stage2_output": stage2["output"],
            "stage2_features_high": stage2["features_high"]}


def _irle(model: nn.Module, x: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """IRLE: every ``analysis`` intermediate, forward (pd 1 / pd 2 / odd size), stage-1 and stage-2 outputs
    (neighbour pairs from a generator seeded 3)."""
    low = x["low"]
    out = {f"analysis_{k}": v for k, v in model.analysis(low).items()}
    out.update({"forward": model(low), "forward_pd2": model(low, pd_factor=2), "forward_odd": model(x["low_odd"])})
    stage1 = model.stage1_outputs(low, generator=torch.Generator().manual_seed(3))
    for key in ("output", "output_lowpass", "enhanced_lowpass", "output_sub", "reference_sub", "output_full_sub1"):
        out[f"stage1_{key}"] = stage1[key]
    out["stage2_output"] = model.stage2_outputs(low)["output"]
    return out


def _jcrnet(model: nn.Module, x: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """JCRNet: every ``stage_outputs`` tensor, forward at an odd size."""
    out = {f"stage_{k}": v for k, v in model.stage_outputs(x["low"]).items()}
    out["forward_odd"] = model(x["low_odd"])
    return out


def _llflow(model: nn.Module, x: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """LLFlow: encoder conditions and colour map, forward (deterministic decode; odd size), NLL terms of
    ``high`` in eval mode (prior mean always g(x_l)), seeded sampling (temperature 0.8, generator seeded 5)."""
    low, high = x["low"], x["high"]
    cond = model.condition(low)
    out = {f"cond_{level}": feat for level, feat in cond["conds"].items()}
    out["color_map"] = cond["color_map"]
    terms = model.nll_terms(low, high)
    out.update({"nll_z": terms["z"], "nll_logdet": terms["logdet"], "nll_prior_mean": terms["prior_mean"],
                "nll": terms["nll"], "forward": model(low), "forward_odd": model(x["low_odd"]),
                "decode_prior": model.decode_prior(cond),
                "sample": model.sample(low, temperature=0.8, generator=torch.Generator().manual_seed(5),
                                       clamp=False)})
    return out


def _zero_dce(model: nn.Module, x: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Zero-DCE: the 24 curve maps and the enhanced image (also at an odd size)."""
    return {"curve_maps": model.curve_maps(x["low"]), "forward": model(x["low"]), "forward_odd": model(x["low_odd"])}


CASES: dict[str, Case] = {c.name: c for c in (
    Case("CIDNet", "cidnet", _hvi_net),
    Case("FRLIE", "frlie", _frlie),
    Case("ICLR", "iclr", _hvi_net),
    Case("IRLE", "irle", _irle),
    Case("JCRNet", "jcrnet", _jcrnet),
    # The flow decode (|x| up to ~7.3 at these weights) carries ~1e-6 relative float32 error: 1e-7 relative noise on
    # the QR-initialised 1x1 convolutions (what another LAPACK thread count gives) moves it by 8e-6 and its clamp
    # (forward) by 2e-5, so entries through the decode are compared relative to scale 8.
    Case("LLFlow", "llflow", _llflow, lambda model, low: model.sample(low, temperature=0.0, clamp=False),
         {"forward": 8.0, "decode_prior": 8.0, "sample": 8.0, "variant.": 8.0}),
    Case("ZeroDCE", None, _zero_dce),
)}


@torch.no_grad()
def compute(case: Case, model: nn.Module | None = None) -> dict[str, Tensor]:
    """The entry-point outputs of ``case`` (``model``: an already perturbed model, else built and perturbed), then
    ``variant.<name>.forward``: ``case.variant_run`` of each model variant (built and perturbed the same way) on
    ``low``."""
    model = perturb_(case.build()) if model is None else model
    with single_thread():
        x = inputs()
        out = case.run(model.eval(), x)
        for variant in case.model_variants():
            out[f"variant.{variant}.forward"] = case.variant_run(perturb_(case.build(variant)), x["low"])
    return {k: v.detach().float().contiguous() for k, v in out.items()}


# ------------------------------------------------------------------------------------------------ storage
def sample_indices(numel: int, limit: int = MAX_VALUES) -> np.ndarray:
    """Indices of the stored elements of a flattened tensor: all, or ``limit`` evenly spaced ones."""
    if numel <= limit:
        return np.arange(numel)
    return np.unique(np.round(np.linspace(0, numel - 1, limit)).astype(np.int64))


def stats(values: np.ndarray) -> np.ndarray:
    """``[mean, mean |x|, std, min, max]`` (float64) of all elements."""
    v = values.astype(np.float64).ravel()
    return np.array([v.mean(), np.abs(v).mean(), v.std(), v.min(), v.max()], dtype=np.float64)


def _utf8(obj: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(obj, sort_keys=True).encode("utf-8"), dtype=np.uint8)


def decode_json(array: np.ndarray) -> Any:
    return json.loads(array.tobytes().decode("utf-8"))


def golden_arrays(case: Case) -> dict[str, np.ndarray]:
    """Everything stored for ``case`` (see the module protocol)."""
    model = case.build()
    listing, sums = fingerprint(model)
    arrays = {"meta__config": _utf8(case.all_configs()), "meta__torch": _utf8(torch.__version__),
              "params__listing": _utf8(listing), "params__sums": sums}
    for key, tensor in compute(case, perturb_(model)).items():
        values = tensor.numpy()
        if not np.isfinite(values).all():
            raise ValueError(f"{case.name}: entry {key!r} is not finite; lower PERTURB_STD")
        flat = values.ravel()
        arrays[key] = flat[sample_indices(flat.size)].astype(np.float32)
        arrays[f"{key}__stats"] = stats(values)
        arrays[f"{key}__shape"] = np.asarray(values.shape, dtype=np.int64)
    return arrays


def entry_keys(stored: Mapping[str, np.ndarray]) -> list[str]:
    """The entry-point keys of a golden (not its statistics, shapes, metadata or fingerprint)."""
    return sorted(k for k in stored if "__" not in k)


def close(actual: np.ndarray, expected: np.ndarray, scale: float) -> tuple[bool, float]:
    """``(max |actual - expected| <= ATOL + RTOL * scale, that maximum)``; ``scale`` = max |x| of the golden entry
    (its statistics' min/max), so an entry of large values (LLFlow's logdet, its unclamped decode) gets the same
    relative tolerance as an image in [0, 1] gets an absolute one."""
    err = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    worst = float(err.max()) if err.size else 0.0
    return worst <= ATOL + RTOL * scale, worst


def fingerprint_mismatches(sums: np.ndarray, golden: np.ndarray, listing: list[list[Any]]) -> list[str]:
    """State-dict entries whose sum or sum of squares moved beyond ``FINGERPRINT_RTOL`` (float32 rounding of a
    platform's LAPACK/RNG kernels stays far below; any change of initialisation far above)."""
    numel = np.array([max(1, math.prod(shape)) for _, shape, _ in listing], dtype=np.float64)
    d_sum, d_sq = np.abs(sums[:, 0] - golden[:, 0]), np.abs(sums[:, 1] - golden[:, 1])
    bad = (d_sum > FINGERPRINT_RTOL * np.sqrt(numel * golden[:, 1]) + 1e-12) | \
          (d_sq > FINGERPRINT_RTOL * golden[:, 1] + 1e-12)
    return [listing[i][0] for i in np.nonzero(bad)[0]]


def compare(case: Case, stored: Mapping[str, np.ndarray],
            outputs: Mapping[str, Tensor] | None = None, model: nn.Module | None = None) -> tuple[list[str], float]:
    """Differences between a fresh computation of ``case`` and the golden ``stored``: ``(problems, worst error)``,
    the worst being max |actual - golden| / max(1, max|golden entry|) over all values and statistics.
    ``outputs``/``model`` default to a fresh build; an empty list means equal."""
    problems: list[str] = []
    config = case.all_configs()
    if decode_json(stored["meta__config"]) != json.loads(json.dumps(config, sort_keys=True)):
        problems.append(f"smoke model config (or a model variant) changed: {config} vs golden "
                        f"{decode_json(stored['meta__config'])} (regenerate the golden only if intended)")
    seeded = case.build()
    listing, sums = fingerprint(seeded)
    golden_listing = decode_json(stored["params__listing"])
    if listing != golden_listing:
        names, golden_names = [e[0] for e in listing], [e[0] for e in golden_listing]
        problems.append(f"state-dict keys/shapes differ: missing {sorted(set(golden_names) - set(names))[:10]}, "
                        f"new {sorted(set(names) - set(golden_names))[:10]}, "
                        f"changed {[a for a, b in zip(listing, golden_listing) if a != b][:5]}")
    else:
        bad = fingerprint_mismatches(sums, stored["params__sums"], listing)
        if bad:
            problems.append(f"seeded initialisation changed in {bad[:10]} ({len(bad)} state-dict entries)")
    if outputs is None:
        outputs = compute(case, perturb_(seeded) if model is None else model)
    expected_keys = entry_keys(stored)
    if sorted(outputs) != expected_keys:
        problems.append(f"entry points differ: got {sorted(outputs)}, golden {expected_keys}")
    worst = 0.0
    for key in expected_keys:
        if key not in outputs:
            continue
        values = outputs[key].numpy()
        if tuple(values.shape) != tuple(stored[f"{key}__shape"]):
            problems.append(f"{key}: shape {tuple(values.shape)} vs golden {tuple(stored[f'{key}__shape'])}")
            continue
        flat = values.ravel()
        scale = max(float(np.abs(stored[f"{key}__stats"][3:5]).max()), case.scale_floor(key))
        for label, actual, expected in ((key, flat[sample_indices(flat.size)], stored[key]),
                                        (f"{key}__stats", stats(values), stored[f"{key}__stats"])):
            ok, err = close(actual, expected, scale)
            worst = max(worst, err / max(1.0, scale))
            if not ok:
                problems.append(f"{label}: max abs error {err:.3g} > atol {ATOL:g} + rtol {RTOL:g} * "
                                f"max|golden| ({scale:.3g})")
    return problems, worst


# ------------------------------------------------------------------------------------------------ audit, CLI
def dead_entries(case: Case) -> list[str]:
    """State-dict entries whose change moves no stored output (one extra perturbation each): the parts of the
    model the goldens cannot see (e.g. layers the released code builds but never calls)."""
    base = perturb_(case.build())
    reference = compute(case, base)
    state = {k: v.clone() for k, v in base.state_dict().items()}
    dead = []
    g = torch.Generator().manual_seed(99)
    for name, tensor in state.items():
        if not tensor.is_floating_point():
            continue
        changed = dict(state)
        changed[name] = tensor + 0.1 * torch.randn(tensor.shape, generator=g).to(tensor.dtype)
        model = case.build()
        model.load_state_dict(changed)
        out = compute(case, model)
        if all(torch.equal(out[k], reference[k]) for k in reference):
            dead.append(name)
    return dead


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1024:.1f} KiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"cases (default: all): {sorted(CASES)}")
    parser.add_argument("--overwrite", action="store_true", help="replace existing goldens")
    parser.add_argument("--audit", action="store_true", help="list state-dict entries no output depends on")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = args.names or sorted(CASES)
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {sorted(CASES)}")
    existing = [GOLDEN_DIR / f"{n}.npz" for n in names if (GOLDEN_DIR / f"{n}.npz").exists()]
    if existing and not args.overwrite:
        print(f"refusing to overwrite {[str(p) for p in existing]}: pass --overwrite (goldens pin numerics; "
              f"regenerate only for an intended change)", file=sys.stderr)
        return 1
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for name in names:
        case = CASES[name]
        path = GOLDEN_DIR / f"{name}.npz"
        np.savez_compressed(path, **golden_arrays(case))
        problems, worst = compare(case, np.load(path))
        if problems:
            raise RuntimeError(f"{name}: a second computation disagrees with the golden just written: {problems}")
        print(f"{name}: {path.relative_to(GOLDEN_DIR.parent.parent.parent)} {_size(path)}, "
              f"{len(entry_keys(np.load(path)))} entries, recomputation worst error {worst:.3g}")
        if args.audit:
            dead = dead_entries(case)
            print(f"  entries no output depends on ({len(dead)}): {dead}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
