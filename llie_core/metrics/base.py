"""Metric metadata, input validation and the callable :class:`Metric` base (pyiqa-style ``InferenceModel``).

Inputs are float images in [0, 1]: torch ``(N, 3, H, W)`` / ``(3, H, W)`` or numpy ``(N, H, W, 3)`` / ``(H, W, 3)``.
A single (unbatched) image gives a python ``float``; a batch gives a 1-D float64 tensor (one score per image).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch

FR, NR = "FR", "NR"


@dataclass(frozen=True)
class MetricInfo:
    """What a metric name means: ``kind`` FR/NR, direction, the exact protocol and the score range."""

    name: str
    kind: str
    lower_better: bool
    description: str
    score_range: tuple[float, float] = (-math.inf, math.inf)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    factory: Callable[..., "Metric"] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in (FR, NR):
            raise ValueError(f"metric {self.name!r}: kind must be 'FR' or 'NR', got {self.kind!r}")


def to_image_batch(x: Any, role: str) -> tuple[torch.Tensor, bool]:
    """Validate one input and return ``(float64 tensor (N, 3, H, W), was_batched)``; clear errors otherwise."""
    if isinstance(x, np.ndarray):
        if x.ndim not in (3, 4) or x.shape[-1] != 3:
            raise ValueError(f"{role}: numpy images must be HWC or NHWC with 3 channels, got shape {x.shape}")
        tensor = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, -3)))
    elif isinstance(x, torch.Tensor):
        if x.ndim not in (3, 4) or x.shape[-3] != 3:
            raise ValueError(f"{role}: tensors must be (3, H, W) or (N, 3, H, W), got shape {tuple(x.shape)}")
        tensor = x.detach()
    else:
        raise TypeError(f"{role}: expected a torch.Tensor or numpy array, got {type(x).__name__}")
    if not tensor.is_floating_point():
        raise TypeError(f"{role}: expected a float image in [0, 1], got dtype {tensor.dtype}; "
                        "convert 8-bit images with `img.astype('float32') / 255`")
    batched = tensor.ndim == 4
    tensor = tensor if batched else tensor.unsqueeze(0)
    if tensor.shape[0] == 0 or tensor.shape[-1] == 0 or tensor.shape[-2] == 0:
        raise ValueError(f"{role}: empty image batch, shape {tuple(tensor.shape)}")
    tensor = tensor.to(device="cpu", dtype=torch.float64)
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{role}: contains NaN or Inf values")
    lo, hi = tensor.min().item(), tensor.max().item()
    if lo < 0 or hi > 1:
        raise ValueError(f"{role}: values must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]; "
                         "clamp the output (`x.clamp(0, 1)`) or rescale 0-255 images by 1/255")
    return tensor, batched


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """Round [0, 1] images to the 256 levels of a saved 8-bit PNG (round half to even), still in [0, 1]."""
    return torch.round(x * 255.0) / 255.0


def to_numpy_255(x: torch.Tensor) -> np.ndarray:
    """One image ``(3, H, W)`` in [0, 1] -> float64 ``(H, W, 3)`` in [0, 255] (integer-valued if quantised)."""
    return x.permute(1, 2, 0).cpu().numpy().astype(np.float64) * 255.0


class Metric:
    """A callable metric: FR ``metric(output, target)``, NR ``metric(output)``. Subclasses implement
    :meth:`score` on prepared ``(N, 3, H, W)`` float64 batches in [0, 1] and return one value per image."""

    def __init__(self, info: MetricInfo, device: str | torch.device = "cpu", quantize: bool = True) -> None:
        self.info = info
        self.device = torch.device(device)
        self.quantize = quantize

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def lower_better(self) -> bool:
        return self.info.lower_better

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """The image the protocol scores: 8-bit quantised unless ``quantize=False``."""
        return quantize_8bit(x) if self.quantize else x

    def score(self, output: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, output: Any, target: Any = None) -> float | torch.Tensor:
        out, batched = to_image_batch(output, f"{self.name} output")
        tgt = None
        if self.info.kind == FR:
            if target is None:
                raise ValueError(f"{self.name} is full-reference: call metric(output, target)")
            tgt, tgt_batched = to_image_batch(target, f"{self.name} target")
            if tgt.shape != out.shape:
                raise ValueError(f"{self.name}: output shape {tuple(out.shape)} != target shape {tuple(tgt.shape)}")
            tgt = self.prepare(tgt)
        elif target is not None:
            raise ValueError(f"{self.name} is no-reference: call metric(output) without a target")
        with torch.no_grad():
            scores = self.score(self.prepare(out), tgt).to(dtype=torch.float64, device="cpu").reshape(-1)
        return scores if batched else float(scores[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, quantize={self.quantize}, device={str(self.device)!r})"


class PerImageMetric(Metric):
    """A metric computed image by image on float64 HWC arrays in [0, 255] (numpy / scikit-image code)."""

    def score(self, output: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        values = []
        for i in range(output.shape[0]):
            ref = None if target is None else to_numpy_255(target[i])
            values.append(self.score_image(to_numpy_255(output[i]), ref))
        return torch.tensor(values, dtype=torch.float64)

    def score_image(self, output: np.ndarray, target: np.ndarray | None) -> float:
        raise NotImplementedError
