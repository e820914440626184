"""Zero-DCE: Guo et al., "Zero-Reference Deep Curve Estimation for Low-Light Image Enhancement", CVPR 2020.

DCE-Net (paper Sec. 3.2, Fig. 3): seven 3x3 convolutions of 32 channels with ReLU, symmetric skip
concatenations (conv5 sees [x3, x4], conv6 [x2, x5], conv7 [x1, x6]); conv7 gives 24 channels through tanh =
8 RGB curve-parameter maps r_1..r_8. The light-enhancement curve, Eq. (1)-(2), is applied 8 times.

Paper and official code differ in the curve's sign: the paper writes ``LE_n = LE_{n-1} + A_n LE_{n-1}
(1 - LE_{n-1})`` (``curve='paper'``), the official code ``x + r (x^2 - x)`` = ``x - r x (1 - x)``
(``curve='official'``). Because tanh is odd the two are the same function family (negate e_conv7's weights and
bias to convert), but the released weights only brighten with the official sign, so ``ZeroDCE`` defaults to
``curve='official'`` (documented deviation; ``curve='paper'`` is available for training from scratch).

Wiring checked against the official ``Zero-DCE_code/model.py`` (``enhance_net_nopool``): same layer names
``e_conv1..e_conv7`` (so the released ``Epoch99.pth`` loads strictly), no pooling, and the input is the RGB image
in [0,1] with no further scaling (``lowlight_test.py`` divides by 255). The official forward also returns the
image after 4 iterations and the curve maps; here :meth:`ZeroDCE.forward` returns the final image and
:meth:`ZeroDCE.curve_maps` the maps. The official script clamps only when saving; our enhancer clamps to [0,1].
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from llie_core.core import paths
from llie_core.core.provenance import sha256_file
from llie_core.evaluation.baselines.registry import ENHANCERS, WeightsAbsent
from llie_core.evaluation.loop import Enhancer, as_enhancer

WEIGHTS_FILE = Path("zero_dce") / "Epoch99.pth"
OFFICIAL_SHA256 = "a4395acb874f320375d9704997cef874eaaaaa26a1777ceb29a92b70f74c3612"
NUM_ITERATIONS = 8


class ZeroDCE(nn.Module):
    """DCE-Net plus the iterated quadratic curve (Eq. (2)); weight-compatible with the official release."""

    def __init__(self, features: int = 32, iterations: int = NUM_ITERATIONS, curve: str = "official") -> None:
        super().__init__()
        if curve not in ("official", "paper"):
            raise ValueError(f"ZeroDCE: curve must be 'official' or 'paper', got {curve!r}")
        self.iterations, self.curve = iterations, curve
        self.e_conv1 = nn.Conv2d(3, features, 3, 1, 1)
        self.e_conv2 = nn.Conv2d(features, features, 3, 1, 1)
        self.e_conv3 = nn.Conv2d(features, features, 3, 1, 1)
        self.e_conv4 = nn.Conv2d(features, features, 3, 1, 1)
        self.e_conv5 = nn.Conv2d(2 * features, features, 3, 1, 1)
        self.e_conv6 = nn.Conv2d(2 * features, features, 3, 1, 1)
        self.e_conv7 = nn.Conv2d(2 * features, 3 * iterations, 3, 1, 1)

    def curve_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The 3*iterations curve parameters in [-1, 1] (N, 24, H, W)."""
        x1 = F.relu(self.e_conv1(x))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.e_conv6(torch.cat([x2, x5], 1)))
        return torch.tanh(self.e_conv7(torch.cat([x1, x6], 1)))

    def apply_curves(self, x: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """Eq. (2) iterated over each 3-channel map r_n: ``x + r (x^2 - x)`` (official) or ``x + r x (1 - x)``."""
        sign = 1.0 if self.curve == "official" else -1.0
        for r in torch.split(maps, 3, dim=1):
            x = x + sign * r * (x * x - x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply_curves(x, self.curve_maps(x))


def default_weights_path(weights_root: str | os.PathLike | None) -> Path:
    """``<weights_root>/zero_dce/Epoch99.pth`` (``weights_root``: ``Profile.data.weights_root``).

    Raises :class:`WeightsAbsent` (how to get the file) when the weights root does not hold it (or is ``None``): a
    fresh machine without ``../shared`` has no released weights, and tables then show Zero-DCE as "not run:
    weights absent".
    """
    path = paths.weights_file(WEIGHTS_FILE, weights_root)
    if path is None:
        raise WeightsAbsent(
            "weights absent (Zero-DCE: get Zero-DCE_code/snapshots/Epoch99.pth from the official repository "
            "https://github.com/Li-Chongyi/Zero-DCE, research use, and put it at "
            f"<weights root>/{WEIGHTS_FILE.as_posix()}; weights root: {weights_root or 'none configured'}, set by "
            "$LLIE_WEIGHTS_ROOT, else <data root>/../weights)")
    return path


def flush_denormals(tensor: torch.Tensor) -> torch.Tensor:
    """Zero the subnormal floats of a weight tensor. ``Epoch99.pth`` holds about 19,000 of them (weight decay
    drove those weights towards 0); on x86 CPUs every multiply by a subnormal takes a slow microcode path, which
    made one 600x400 inference ~35x slower (12 s instead of 0.35 s). Values below 1.2e-38 cannot change an
    output in [0, 1] (tests/evaluation/test_baselines.py checks the outputs agree)."""
    if not tensor.is_floating_point():
        return tensor
    return torch.where(tensor.abs() < torch.finfo(tensor.dtype).tiny, torch.zeros_like(tensor), tensor)


def load_zero_dce(weights: str | os.PathLike | None = None, check_sha256: bool = True,
                  weights_root: str | os.PathLike | None = None) -> ZeroDCE:
    """A :class:`ZeroDCE` with the released ``Epoch99.pth`` loaded strictly (sha256 checked by default): the file
    ``weights``, else :func:`default_weights_path` under ``weights_root``."""
    path = Path(weights) if weights is not None else default_weights_path(weights_root)
    if not path.is_file():
        raise FileNotFoundError(
            f"Zero-DCE weights not found at {path}. Get Zero-DCE_code/snapshots/Epoch99.pth from the official "
            "repository https://github.com/Li-Chongyi/Zero-DCE (academic/research use only) and put it there, "
            "or pass weights=PATH / weights_root=DIR")
    if check_sha256 and sha256_file(path) != OFFICIAL_SHA256:
        raise ValueError(f"{path}: sha256 differs from the released Epoch99.pth ({OFFICIAL_SHA256}); pass "
                         "check_sha256=False to load other Zero-DCE weights")
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k.removeprefix("module."): flush_denormals(v) for k, v in state.items()}
    model = ZeroDCE()
    model.load_state_dict(state, strict=True)
    return model.eval()


@ENHANCERS.register("zero_dce")
def build_zero_dce(weights: str | os.PathLike | None = None, device: str = "cpu", check_sha256: bool = True,
                   weights_root: str | os.PathLike | None = None) -> Enhancer:
    """The released Zero-DCE as an enhancer (output clamped to [0,1]); weights: the file ``weights``, else
    ``<weights_root>/zero_dce/Epoch99.pth`` (:class:`WeightsAbsent` when absent)."""
    return as_enhancer(load_zero_dce(weights, check_sha256, weights_root), "zero_dce", pad_multiple=1, device=device,
                       tileable=True)  # seven 3x3 convolutions: local (receptive radius 7), tiles blend exactly
