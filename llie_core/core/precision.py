"""Training precision: ``fp32``, ``bf16`` autocast, or ``auto`` (bf16 where the hardware runs it natively).

``train.precision`` (engine config; profiles set it for every stage, ``--precision fp32`` forces fp32) takes

- ``fp32``: no autocast;
- ``bf16``: ``torch.autocast(device, dtype=torch.bfloat16)`` around the model's forward, on any hardware (on a CPU
  without native bf16 instructions this is emulated and slower; it is there to test parity);
- ``auto``: ``bf16`` on a CPU with AVX512-BF16 or AMX tiles, or a CUDA device that supports bf16; ``fp32``
  elsewhere. :func:`resolve_precision` says which, and every run record stores the resolved value.

What bf16 would break stays in fp32: the models mark such code with :func:`full_precision` (the HVI colour
transform, LLFlow's flow and its log-determinants), the engine computes every loss and its reduction from fp32
copies of the outputs (:func:`fp32_region`), and validation and metrics never run under autocast.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator, TypeVar

import torch
from torch import Tensor

PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
AUTOCAST_DEVICES: tuple[str, ...] = ("cpu", "cuda")  # others (e.g. ``meta`` for counting MACs) never autocast here
F = TypeVar("F", bound=Callable[..., Any])


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` computes bf16 natively (CPU: AVX512-BF16 or AMX; CUDA: ``is_bf16_supported``)."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    return False


def resolve_precision(requested: str, device: torch.device | str) -> str:
    """``fp32`` or ``bf16`` for ``requested`` (one of :data:`PRECISIONS`) on ``device``."""
    if requested not in PRECISIONS:
        raise ValueError(f"train.precision {requested!r} unknown; choose one of {PRECISIONS}")
    if requested == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return requested


def autocast(precision: str, device: torch.device | str) -> contextlib.AbstractContextManager:
    """The autocast context of a resolved ``precision`` (a no-op for ``fp32``)."""
    device = torch.device(device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def _as_fp32(value: Any) -> Any:
    if isinstance(value, Tensor) and value.is_floating_point() and value.dtype != torch.float32:
        return value.float()
    if isinstance(value, dict):
        return {k: _as_fp32(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_as_fp32(v) for v in value)
    return value


def _device_type(values: Any) -> str:
    for value in values:
        if isinstance(value, Tensor):
            return value.device.type
    return "cpu"


@contextlib.contextmanager
def fp32_region(*tensors: Any) -> Iterator[None]:
    """Autocast off (on the device of the first tensor given) for the block; cast inputs with :func:`to_fp32`."""
    with torch.autocast(_device_type(tensors), enabled=False):
        yield


def to_fp32(value: Any) -> Any:
    """``value`` with every floating tensor (also inside dicts, lists and tuples) in float32."""
    return _as_fp32(value)


def full_precision(fn: F) -> F:
    """Decorator: run ``fn`` with autocast off and its floating tensor arguments in float32 (a no-op outside
    autocast, so fp32 numbers are unchanged bit for bit)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        device_type = _device_type(list(args) + list(kwargs.values()))
        if device_type not in AUTOCAST_DEVICES or not torch.is_autocast_enabled(device_type):
            return fn(*args, **kwargs)
        with torch.autocast(device_type, enabled=False):
            return fn(*_as_fp32(args), **_as_fp32(kwargs))

    return wrapper  # type: ignore[return-value]
