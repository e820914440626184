"""Parameters, FLOPs and CPU latency, counted the way ``/work/shared/specs/official_measurements.md`` does.

- Parameters: trainable tensors only (``requires_grad``). Papers in this workbook print "M" as 2^20 parameters
  (e.g. HVI-CIDNet's 1,975,569 = 1.88 M), so :func:`params_m` defaults to ``base=2**20``; pass ``1e6`` for SI.
- FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` at a stated input size, **1 multiply-add = 2 FLOPs**
  (a papers' "FLOPs" figure may be MACs: halve ours to compare). Only ops torch counts (conv, matmul, bmm,
  attention...) are included; elementwise ops, norms and activations are not.
- Latency: wall clock of a no-grad forward after ``warmup`` runs, median and min over ``runs``, with the torch
  thread count recorded (timings on a shared 2-core CPU move by about +-15%: quote medians, compare ratios).
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Sequence

import torch
from torch.utils.flop_counter import FlopCounterMode

FLOPS_PER_MAC = 2


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters (shared tensors counted once)."""
    seen: dict[int, int] = {}
    for p in model.parameters():
        if p.requires_grad:
            seen[id(p)] = p.numel()
    return sum(seen.values())


def params_m(n: int, base: float = 2**20) -> float:
    """Parameters in "M": ``n / 2**20`` as the papers print it, or ``base=1e6`` for SI millions."""
    return n / base


def dummy_input(model: torch.nn.Module, input_size: Sequence[int]) -> torch.Tensor:
    """A random input of ``input_size`` on the device of the model's parameters (meta for a model built there)."""
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    return torch.rand(*input_size, device=device)


def count_flops(model: torch.nn.Module, input_size: Sequence[int] = (1, 3, 256, 256)) -> int:
    """FLOPs of one forward at ``input_size`` (1 MAC = 2 FLOPs), counted by torch's FlopCounterMode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(dummy_input(model, input_size))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def measure_latency(model: torch.nn.Module, input_size: Sequence[int] = (1, 3, 256, 256), warmup: int = 2,
                    runs: int = 5) -> dict[str, Any]:
    """Median/min seconds per no-grad forward, frames per second (from the median), threads and runs."""
    if runs < 1 or warmup < 0:
        raise ValueError(f"measure_latency needs runs >= 1 and warmup >= 0, got runs={runs}, warmup={warmup}")
    was_training = model.training
    model.eval()
    x = dummy_input(model, input_size)
    times = []
    try:
        with torch.no_grad():
            for _ in range(warmup):
                model(x)
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    median = statistics.median(times)
    return {"median_s": median, "min_s": min(times), "fps": 1.0 / median if median > 0 else float("inf"),
            "threads": torch.get_num_threads(), "runs": runs}


def build_on_meta(factory: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """``factory()`` with every tensor on torch's meta device (shapes, no storage): for counting, not running."""
    with torch.device("meta"):
        return factory()


def count_flops_on_meta(factory: Callable[[], torch.nn.Module], input_size: Sequence[int]) -> int | None:
    """:func:`count_flops` of ``factory()`` built on torch's meta device: shapes only, no arithmetic, so a
    paper-width model costs about a second. ``None`` when the model cannot run without values (an op that reads
    a tensor's data, e.g. ``.item()`` or a data-dependent index): count it on real tensors then."""
    try:
        return count_flops(build_on_meta(factory), input_size)
    except (NotImplementedError, RuntimeError):  # meta tensors have no data to read
        return None


def complexity_row(name: str, model: torch.nn.Module, input_size: Sequence[int] = (1, 3, 256, 256),
                   latency: bool = True, warmup: int = 2, runs: int = 5, flops: int | None = None) -> dict[str, Any]:
    """One table row: params (count, M as 2^20 and as 1e6), GFLOPs (2 per MAC), input size, latency.
    ``flops``: already counted (e.g. by :func:`count_flops_on_meta`); else one forward of ``model`` counts them."""
    n = count_parameters(model)
    flops = count_flops(model, input_size) if flops is None else int(flops)
    row: dict[str, Any] = {
        "model": name, "params": n, "params_M_2^20": params_m(n), "params_M_1e6": params_m(n, 1e6),
        "flops": flops, "GFLOPs": flops / 1e9, "GMACs": flops / FLOPS_PER_MAC / 1e9,
        "input_size": "x".join(str(s) for s in input_size), "flop_convention": "1 MAC = 2 FLOPs",
    }
    if latency:
        timing = measure_latency(model, input_size, warmup=warmup, runs=runs)
        row.update({f"latency_{k}": v for k, v in timing.items()})
    return row
