"""LLFlow: Low-light image enhancement with normalizing flow (Wang, Wan, Yang, Li, Chau, Kot; AAAI 2022).

Paper Fig. 2: a conditional encoder turns the low image ``x_l`` into multi-scale features and a learned,
illumination-invariant colour map ``g(x_l)`` (``llflow_encoder.py``); an invertible network maps a normal-light
image ``x_h`` to a latent ``z = f(x_h; x_l)`` (``llflow_flow.py``). Training maximises the exact likelihood
(Eq. 3-4, ``llie_core/losses/llflow_nll.py``) under the prior ``z ~ N(mu, I)``, where a random selector picks
``mu = squeeze(C(x_h))`` with probability ``train_gt_ratio`` and ``mu = squeeze(g(x_l))`` otherwise. Enhancement
runs the flow backwards from the prior mean (deterministic, the released test path) or from
``z ~ N(g(x_l) + shift, temperature^2 I)`` (:meth:`LLFlow.sample`, the paper's stochastic sampling).

Weight compatibility: sub-modules ``RRDB`` (encoder) and ``flowUpsamplerNet`` (flow) carry the released names, so
the official ``LOL`` (nf 64, nb 24, K 12, blocks [1,3,5,7]: 38,859,481 parameters) and ``LOL_smallNet``
(nf 32, nb 4, K 4, blocks [1]: 5,429,849) checkpoints load with ``strict=True`` (``load_official``).

Paper vs released code (``wyf0912/LLFlow`` @115da16; ``shared/specs/methods.md`` §5):

* ``C(x)``: the paper divides by the channel *mean* (``color_map_norm='mean'``, default); the code divides by the
  channel sum + 1e-4 (``'sum'``, needed for official checkpoints). With ``'mean'`` the learned map is
  ``3 * sigmoid`` (assumption) so both settings are the same model up to a factor 3 of the prior mean.
* Sampling: the paper samples ``z ~ N(g(x_l), I)``; the released ``reverse_flow`` ignores the sampled ``z`` and
  always decodes the mean. :meth:`sample` implements the paper; :meth:`forward` is the released deterministic path.
* Histogram equalisation is computed by the model on its input (the training crop) rather than on the full image
  before cropping as the released loader does; at test time both see the whole image. The train/test gap grows
  with smaller patches (64 px in the quick profile); matching the loader needs the dataset to equalise the full
  image (a ``data_prep`` option, not available here).
* Released-only extras not reproduced: fp16 autocast, dequantisation noise (off in the released configs), the
  per-group weight decay 1e-5 on the encoder (the recipe engine uses one parameter group).

Ablation options ("with vs without the illumination-invariant colour map": the map has two roles in Fig. 2):
``prior='zero'`` removes it as the prior mean (``z ~ N(0, I)``, decode from 0; the encoder's ``g(x_l)`` is then
unused) and ``input_maps=['noise']`` removes C(x) from the encoder input (N(x), computed from C(x), kept);
NLL vs L1 training is a choice of loss in the config.

Training entry points (a recipe stage's ``forward:``): :meth:`nll_outputs` (NLL), :meth:`nll_l1_outputs`
(NLL + L1 on the decode, released ``weight_l1``) and :meth:`forward` (L1 only, the ablation). Under
DistributedDataParallel the released unused layers and the random selector (``g(x_l)`` unused in a GT-mean step)
leave parameters without gradients: wrap with ``find_unused_parameters=True``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.core.precision import full_precision
from llie_core.models.llflow_encoder import INPUT_MAPS, ConditionEncoder, color_map, histogram_equalize, log_input
from llie_core.models.llflow_flow import FlowUpsamplerNet, flow_nll, squeeze2d
from llie_core.models.registry import MODELS

PRIORS = ("color_map", "zero")


@MODELS.register()
class LLFlow(nn.Module):
    """Conditional normalizing flow for low-light enhancement (defaults: the released ``LOL`` configuration).

    ``nf``/``nb``/``gc``: encoder width, RRDB count, growth; ``stack_blocks``: RRDB outputs appended to every
    conditioning feature; ``K``: conditional steps per level; ``L``: levels (3: the encoder gives H/2, H/4, H/8
    features); ``n_plain``: unconditional steps per level; ``hidden_channels``: coupling NN width;
    ``train_gt_ratio``: probability of the reference's colour map as prior mean in training; ``color_map_norm``:
    C(x) divided by the channel ``'mean'`` (paper) or ``'sum'`` (released code); ``prior``: ``'color_map'``
    (``N(g(x_l), I)``) or ``'zero'`` (ablation); ``input_maps``: C(x)/N(x) appended to the encoder input
    (``['color', 'noise']`` released); ``pad_multiple``: inputs of :meth:`forward` / :meth:`sample` are
    reflect-padded to this multiple (>= 8) and cropped back.
    """

    def __init__(self, nf: int = 64, nb: int = 24, gc: int = 32, stack_blocks: Sequence[int] = (1, 3, 5, 7),
                 K: int = 12, L: int = 3, n_plain: int = 2, hidden_channels: int = 64, affine_eps: float = 1e-4,
                 train_gt_ratio: float = 0.2, color_map_norm: str = "mean", prior: str = "color_map",
                 input_maps: Sequence[str] = INPUT_MAPS, pad_multiple: int = 8) -> None:
        super().__init__()
        if L != 3:
            raise ValueError(f"LLFlow's encoder gives conditioning features for 3 levels (H/2, H/4, H/8); got L={L}")
        if prior not in PRIORS:
            raise ValueError(f"unknown prior {prior!r}; choose one of {PRIORS}")
        if not 0.0 <= train_gt_ratio <= 1.0:
            raise ValueError(f"train_gt_ratio must be in [0, 1], got {train_gt_ratio}")
        if pad_multiple % 2 ** L:
            raise ValueError(f"pad_multiple must be a multiple of {2 ** L} (three squeeze levels), got {pad_multiple}")
        self.L, self.prior, self.train_gt_ratio = L, prior, train_gt_ratio
        self.color_map_norm, self.pad_multiple = color_map_norm, pad_multiple
        self.RRDB = ConditionEncoder(nf, nb, gc, stack_blocks, 6, input_maps, color_map_norm)
        self.flowUpsamplerNet = FlowUpsamplerNet(K, L, n_plain, self.RRDB.out_channels, hidden_channels, affine_eps,
                                                 unused_f_in=64 * (len(stack_blocks) + 1))

    # ---- conditioning ------------------------------------------------------------------------------------
    @staticmethod
    def prepare_input(low: Tensor) -> Tensor:
        """``cat[log(low + 1e-3), histeq(low)]`` (6 channels) from an RGB image in [0, 1]."""
        if low.dim() != 4 or low.shape[1] != 3:
            raise ValueError(f"LLFlow expects RGB batches (B, 3, H, W) in [0, 1], got {tuple(low.shape)}")
        return torch.cat([log_input(low), histogram_equalize(low)], dim=1)

    def _check_size(self, x: Tensor) -> None:
        h, w = x.shape[-2:]
        m = 2 ** self.L
        if h % m or w % m:
            raise ValueError(f"LLFlow needs H and W divisible by {m}, got {h}x{w}; crop patches to a multiple of "
                             f"{m} or call forward(), which pads")

    def condition(self, low: Tensor) -> dict[str, Any]:
        """Encoder outputs for ``low`` (H, W multiples of 8): ``{'conds': {level: features}, 'color_map': g}``."""
        self._check_size(low)
        return self.RRDB(self.prepare_input(low))

    def latent_shape(self, image: Tensor) -> tuple[int, int, int, int]:
        b, _, h, w = image.shape
        f = 2 ** self.L
        return b, self.flowUpsamplerNet.out_channels, h // f, w // f

    def prior_mean(self, cond: Mapping[str, Any], high: Tensor | None = None, gt_ratio: float = 0.0) -> Tensor:
        """Mean of the latent prior: ``squeeze_8(g(x_l))``, or ``squeeze_8(C(x_h))`` with probability ``gt_ratio``
        (one draw per batch, as released); zeros for ``prior='zero'``."""
        g = cond["color_map"]
        if self.prior == "zero":
            return g.new_zeros(self.latent_shape(g))
        source = g
        if high is not None and gt_ratio > 0 and float(torch.rand(())) < gt_ratio:
            source = color_map(high, self.color_map_norm)
        return squeeze2d(source, 2 ** self.L)

    # ---- the two directions ------------------------------------------------------------------------------
    @full_precision
    def encode(self, high: Tensor, cond: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """``z = f(x_h; x_l)`` and ``log|det dz/dx_h|`` per sample."""
        self._check_size(high)
        return self.flowUpsamplerNet.encode(high, cond["conds"], high.new_zeros(high.shape[0]))

    @full_precision
    def decode(self, z: Tensor, cond: Mapping[str, Any]) -> Tensor:
        """``x = f^-1(z; x_l)`` (no clamping)."""
        return self.flowUpsamplerNet.decode(z, cond["conds"], z.new_zeros(z.shape[0]))[0]

    # ---- training entry points (config ``forward:``) -----------------------------------------------------
    def nll_terms(self, low: Tensor, high: Tensor, gt_ratio: float | None = None) -> dict[str, Any]:
        """``z``, ``logdet``, ``prior_mean`` and per-sample ``nll`` (bits/pixel) of ``high`` given ``low``.

        ``gt_ratio`` defaults to ``train_gt_ratio`` in training mode and 0 (always ``g(x_l)``) in eval mode.
        """
        cond = self.condition(low)
        z, logdet = self.encode(high, cond)
        ratio = (self.train_gt_ratio if self.training else 0.0) if gt_ratio is None else gt_ratio
        mean = self.prior_mean(cond, high, ratio)
        nll = flow_nll(z, logdet, mean, high.shape[-2] * high.shape[-1])
        return {"z": z, "logdet": logdet, "prior_mean": mean, "nll": nll, "cond": cond}

    def nll_outputs(self, low: Tensor, high: Tensor) -> dict[str, Tensor | None]:
        """NLL training (``forward: nll_outputs``, inputs ``[low, high]``).

        Training mode: the :meth:`nll_terms` tensors (``z``, ``logdet``, ``prior_mean``, ``nll``) and
        ``output=None`` (the NLL needs no decode; skipping it saves about 10% of a step). Eval mode (the engine's
        validation, which reads only ``output``): ``{'output': forward(low)}``, without the encode direction.
        """
        if not self.training:
            return {"output": self(low)}
        terms = self.nll_terms(low, high)
        terms.pop("cond")
        terms["output"] = None
        return terms

    def nll_l1_outputs(self, low: Tensor, high: Tensor) -> dict[str, Tensor]:
        """As :meth:`nll_outputs` but ``output`` is always the decode, with its gradient, for NLL + L1 (released
        ``weight_l1``: L1 on the reverse output at heat 0)."""
        terms = self.nll_terms(low, high)
        terms["output"] = self.decode_prior(terms.pop("cond")).clamp(0, 1)
        return terms

    def l1_outputs(self, low: Tensor, high: Tensor) -> dict[str, Tensor]:
        """L1-only training (the "NLL vs L1" ablation; ``forward: l1_outputs``, inputs ``[low, high]``):
        ``output`` = the clamped deterministic decode, as :meth:`forward`.

        The flow's ActNorm layers are initialised from data in the encode direction only (Glow §3.1); a flow
        trained through its inverse alone would start from identity ActNorms, whose decode saturates the clamp
        (zero gradients). So, in training mode, the first call encodes ``high`` once without gradients to run
        that initialisation [assumption; the released L1 term is only used on top of the NLL]. ``high`` is
        otherwise unused: the loss compares ``output`` with it.
        """
        if self.training and not self.flowUpsamplerNet.initialized:
            with torch.no_grad():
                self.encode(high, self.condition(low))
        return {"output": self.decode_prior(self.condition(low)).clamp(0, 1)}

    # ---- enhancement -------------------------------------------------------------------------------------
    def condition_padded(self, low: Tensor) -> dict[str, Any]:
        """:meth:`condition` of ``low`` (any size) reflect-padded at the bottom/right to ``pad_multiple``; crop
        the decode back with ``[..., :H, :W]``. Histogram equalisation sees the unpadded image (released
        ``test.py``)."""
        h, w = low.shape[-2:]
        x = self.prepare_input(low)
        pad = ((-w) % self.pad_multiple, (-h) % self.pad_multiple)
        if any(pad):
            x = F.pad(x, (0, pad[0], 0, pad[1]), mode="reflect")
        return self.RRDB(x)

    def decode_prior(self, cond: Mapping[str, Any], temperature: float = 0.0, shift: float | Tensor = 0.0,
                     generator: torch.Generator | None = None) -> Tensor:
        """Decode ``z = mu + shift + temperature * eps`` (``mu`` = :meth:`prior_mean`, ``eps ~ N(0, I)`` drawn
        from ``generator``): the paper's sampling from ``N(g(x_l), temperature^2 I)``, shifted. Not clamped."""
        mean = self.prior_mean(cond)
        z = mean + shift
        if temperature:
            z = z + temperature * torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return self.decode(z, cond)

    def sample(self, low: Tensor, temperature: float = 1.0, shift: float | Tensor = 0.0,
               generator: torch.Generator | None = None, clamp: bool = True) -> Tensor:
        """Enhance ``low`` with ``z = g(x_l) + shift + temperature * eps``, ``eps ~ N(0, I)`` (paper §"Inference":
        ``z ~ N(g(x_l), I)`` is ``temperature=1``). ``temperature=0, shift=0`` is :meth:`forward`. Any size."""
        h, w = low.shape[-2:]
        out = self.decode_prior(self.condition_padded(low), temperature, shift, generator)[..., :h, :w]
        return out.clamp(0, 1) if clamp else out

    def forward(self, low: Tensor) -> Tensor:
        """Deterministic enhancement: decode the prior mean (released test path, heat 0), clamped to [0, 1]."""
        return self.sample(low, temperature=0.0)

    # ---- official checkpoints ----------------------------------------------------------------------------
    def load_official(self, source: str | os.PathLike | Mapping[str, Tensor], strict: bool = True) -> None:
        """Load a released ``LLFlow`` state dict (a ``.pth`` of ``netG.state_dict()``; ``module.`` stripped).

        Released checkpoints were trained with ``color_map_norm='sum'``; other settings raise.
        """
        if self.color_map_norm != "sum":
            raise ValueError("official LLFlow checkpoints use C(x) = x / sum_c(x); build LLFlow(color_map_norm='sum')"
                             " (the `released_code` config variant) before load_official")
        if isinstance(source, Mapping):
            state = dict(source)
        else:
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"{path} not found; the official LLFlow weights are Google-Drive downloads "
                                        f"(shared/specs/weight_compat.md §1), not available offline")
            state = torch.load(path, map_location="cpu", weights_only=True)
        state = {k.removeprefix("module."): v for k, v in state.items()}
        try:
            self.load_state_dict(state, strict=strict)
        except RuntimeError as err:
            raise RuntimeError(f"{err}\nFix: build LLFlow with the checkpoint's configuration (LOL: nf=64, nb=24, "
                               f"K=12, stack_blocks=[1,3,5,7]; LOL_smallNet: nf=32, nb=4, K=4, "
                               f"stack_blocks=[1])") from None
