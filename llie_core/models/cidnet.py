"""CIDNet: the HVI-CIDNet baseline (Yan et al., "HVI: A New Color Space for Low-light Image Enhancement",
CVPR 2025, §3.2, Fig. 3; repo ``Fediory/HVI-CIDNet`` ``net/CIDNet.py``), the network ICLR builds on.

The input is mapped to HVI (:mod:`llie_core.models.hvi`); an intensity branch (I, 1 channel) and a chrominance
branch (HV) run as two U-Nets of widths ``[36, 36, 72, 144]`` (three bilinear /2 stages) that exchange information
in six lighten cross-attention blocks per branch (``HV_LCA1..6``, ``I_LCA1..6``). The output is the predicted HVI
*residual* added to the input HVI, mapped back to RGB.

Module names equal the official ``CIDNet()`` (191 keys, 1,975,569 parameters; ``shared/specs/state_dict_keys/
hvi-cidnet_CIDNet_state_dict.txt``), so official checkpoints load with ``strict=True``.

Released wiring kept as is (``shared/specs/weight_compat.md`` §3.4):

* the third down-sampling takes the tensors *before* the second interaction block;
* the I-branch output of the fifth block is computed but unused (``ID_block2`` takes ``ID_block3``'s output);
* ``HV_LCA`` has no residual around its IEL, ``I_LCA`` has one.

Test-time options of the official ``eval.py`` are arguments of :meth:`HVIDualBranchNet.forward`, off by default:
``saturation_gate`` (s x 1.3, LOLv1), ``rgb_scale`` (RGB x alpha, LOLv2-real) and ``gamma`` (input ``x ** gamma``).
:func:`official_test_options` lists the per-dataset values.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.models.cidnet_blocks import NormDownsample, NormUpsample, lighten_cross_attention, padded_stem
from llie_core.models.hvi import HVITransform
from llie_core.models.registry import MODELS

BlockFactory = Callable[[int, int, str], nn.Module]  # (dim, heads, branch 'hv' | 'i') -> interaction block

# Official eval.py settings per test set (weight_compat.md §3.4-3.5). LOLv2-real alpha depends on the CIDNet weight
# file: 0.84 for w_perc.pth ("best GT-mean"), 0.80 best_PSNR.pth, 0.82 best_SSIM.pth; ICLR uses 0.84.
_TEST_OPTIONS = MappingProxyType({"lol_v1": (("saturation_gate", 1.3),), "lol_v2_real": (("rgb_scale", 0.84),),
                                  "lol_v2_synthetic": ()})
LOLV2_REAL_ALPHA = MappingProxyType({"w_perc": 0.84, "best_PSNR": 0.80, "best_SSIM": 0.82})


def official_test_options(dataset: str, weights: str | None = None) -> dict[str, float]:
    """Keyword arguments for ``model(low, **options)`` reproducing the official evaluation of ``dataset``.

    ``lol_v1``: saturation x 1.3; ``lol_v2_real``: RGB x 0.84 (CIDNet ``weights`` 'best_PSNR' -> 0.80,
    'best_SSIM' -> 0.82); ``lol_v2_synthetic`` and any other set: no option (unpaired sets use ``--alpha`` 1.0,
    which is the identity).
    """
    options = dict(_TEST_OPTIONS.get(dataset, ()))
    if dataset == "lol_v2_real" and weights is not None:
        if weights not in LOLV2_REAL_ALPHA:
            raise KeyError(f"unknown CIDNet LOLv2-real weights {weights!r}; choose from {sorted(LOLV2_REAL_ALPHA)}")
        options["rgb_scale"] = LOLV2_REAL_ALPHA[weights]
    return options


class HVIDualBranchNet(nn.Module):
    """The dual-branch U-shaped HVI network shared by CIDNet and ICLR (same skeleton and attribute names).

    Subclasses choose the interaction blocks (``block_prefixes`` and ``make_block``), how many HVI channels the
    HV stem sees, and may fuse the HV features with the I features after every stage (:meth:`fuse`, identity
    here). ``stage`` tells :meth:`fuse` whether the step before was a stem/down/up block (``'pre'``, ahead of an
    interaction) or an interaction block (``'post'``).
    """

    def __init__(self, channels: Sequence[int], heads: Sequence[int], hv_in_channels: int,
                 block_prefixes: tuple[str, str], make_block: BlockFactory, density_k: float = 0.2,
                 pad_multiple: int = 8, channels_last: bool = True) -> None:
        super().__init__()
        self.channels_last = channels_last
        if pad_multiple % 8:
            raise ValueError(f"pad_multiple must be a multiple of 8 (three /2 stages), got {pad_multiple}")
        self.pad_multiple = pad_multiple
        if len(channels) != 4 or len(heads) != 4:
            raise ValueError(f"channels and heads need 4 entries (one per scale), got {channels} and {heads}")
        if hv_in_channels not in (2, 3):
            raise ValueError(f"hv_in_channels must be 3 (H, V, I; CIDNet) or 2 (H, V; ICLR), got {hv_in_channels}")
        ch1, ch2, ch3, ch4 = channels
        self.channels, self.heads, self.hv_in_channels = list(channels), list(heads), hv_in_channels
        self.HVE_block0 = padded_stem(hv_in_channels, ch1)
        self.HVE_block1, self.HVE_block2, self.HVE_block3 = (NormDownsample(a, b) for a, b in
                                                             ((ch1, ch2), (ch2, ch3), (ch3, ch4)))
        self.HVD_block3, self.HVD_block2, self.HVD_block1 = (NormUpsample(a, b) for a, b in
                                                             ((ch4, ch3), (ch3, ch2), (ch2, ch1)))
        self.HVD_block0 = padded_stem(ch1, 2)
        self.IE_block0 = padded_stem(1, ch1)
        self.IE_block1, self.IE_block2, self.IE_block3 = (NormDownsample(a, b) for a, b in
                                                          ((ch1, ch2), (ch2, ch3), (ch3, ch4)))
        self.ID_block3, self.ID_block2, self.ID_block1 = (NormUpsample(a, b) for a, b in
                                                          ((ch4, ch3), (ch3, ch2), (ch2, ch1)))
        self.ID_block0 = padded_stem(ch1, 1)
        self.block_prefixes = block_prefixes
        dims = [(ch2, heads[1]), (ch3, heads[2]), (ch4, heads[3]), (ch4, heads[3]), (ch3, heads[2]), (ch2, heads[1])]
        for n, (dim, nh) in enumerate(dims, start=1):
            self.add_module(f"{block_prefixes[0]}{n}", make_block(dim, nh, "hv"))
            self.add_module(f"{block_prefixes[1]}{n}", make_block(dim, nh, "i"))
        self.trans = HVITransform(density_k)

    # -- the network in HVI space -------------------------------------------------------------------------
    def interact(self, n: int, hv: Tensor, i: Tensor) -> tuple[Tensor, Tensor]:
        """The n-th pair of interaction blocks: (HV block(hv, i), I block(i, hv))."""
        hv_block, i_block = (getattr(self, f"{p}{n}") for p in self.block_prefixes)
        return hv_block(hv, i), i_block(i, hv)

    def fuse(self, hv: Tensor, i: Tensor, level: int, stage: str) -> Tensor:
        """HV features after fusion with the I features at scale ``level`` (1 = full resolution); identity here."""
        return hv

    def enhance_hvi(self, hvi: Tensor) -> Tensor:
        """Predicted HVI = input HVI + the two branches' output (the network of Fig. 3 in HVI space)."""
        if self.channels_last:  # same maths; torch's CPU depthwise convolutions run ~2x faster in this layout
            hvi = hvi.contiguous(memory_format=torch.channels_last)
        hv_in = hvi if self.hv_in_channels == 3 else hvi[:, :2]
        i0 = self.IE_block0(hvi[:, 2:3])
        hv0 = self.fuse(self.HVE_block0(hv_in), i0, 1, "pre")
        i1 = self.IE_block1(i0)
        hv1 = self.fuse(self.HVE_block1(hv0), i1, 2, "pre")
        hv2, i2 = self.interact(1, hv1, i1)
        hv2 = self.fuse(hv2, i2, 2, "post")
        skip1 = (hv2, i2)
        i2 = self.IE_block2(i2)
        hv2 = self.fuse(self.HVE_block2(hv2), i2, 3, "pre")
        hv3, i3 = self.interact(2, hv2, i2)
        hv3 = self.fuse(hv3, i3, 3, "post")
        skip2 = (hv3, i3)
        i3 = self.IE_block3(i2)  # released wiring: the pre-interaction tensors go down
        hv3 = self.fuse(self.HVE_block3(hv2), i3, 4, "pre")
        hv4, i4 = self.interact(3, hv3, i3)
        hv4 = self.fuse(hv4, i4, 4, "post")
        hv4, i4 = self.interact(4, hv4, i4)
        hv4 = self.fuse(hv4, i4, 4, "post")
        hv3 = self.HVD_block3(hv4, skip2[0])
        i3 = self.ID_block3(i4, skip2[1])
        hv3 = self.fuse(hv3, i3, 3, "pre")
        hv2, i5 = self.interact(5, hv3, i3)  # i5 only reaches the fusion (ICLR); unused in CIDNet
        hv2 = self.fuse(hv2, i5, 3, "post")
        hv2 = self.HVD_block2(hv2, skip1[0])
        i2 = self.ID_block2(i3, skip1[1])
        hv2 = self.fuse(hv2, i2, 2, "pre")
        hv1, i1 = self.interact(6, hv2, i2)
        hv1 = self.fuse(hv1, i1, 2, "post")
        i1 = self.ID_block1(i1, i0)
        hv1 = self.fuse(self.HVD_block1(hv1, hv0), i1, 1, "pre")
        return torch.cat([self.HVD_block0(hv1), self.ID_block0(i1)], dim=1) + hvi

    # -- RGB entry points ------------------------------------------------------------------------------------
    def forward(self, low: Tensor, saturation_gate: float | None = None, rgb_scale: float | None = None,
                gamma: float | None = None) -> Tensor:
        """Enhanced RGB. Inputs whose sides are not multiples of 8 are reflect-padded bottom/right and cropped
        back (official ``eval.py`` for non-LOL sets). Test-time options (all off by default, see
        :func:`official_test_options`): ``saturation_gate`` (``gated``), ``rgb_scale`` (``gated2`` alpha),
        ``gamma`` (input ``low ** gamma``)."""
        return self.to_rgb(self.predict_hvi(low, gamma), low.shape[-2:], saturation_gate, rgb_scale)

    def predict_hvi(self, low: Tensor, gamma: float | None = None) -> Tensor:
        """The enhanced HVI of ``low`` (reflect-padded to ``pad_multiple``): the part of :meth:`forward` that the
        RGB test-time options do not touch, so one network pass can serve several option settings."""
        _check_rgb(low)
        if gamma is not None:
            low = low.clamp_min(0) ** gamma
        h, w = low.shape[-2:]
        m = self.pad_multiple
        padded = F.pad(low, (0, (-w) % m, 0, (-h) % m), mode="reflect") if (h % m or w % m) else low
        return self.enhance_hvi(self.trans(padded))

    def to_rgb(self, hvi: Tensor, size: Sequence[int], saturation_gate: float | None = None,
               rgb_scale: float | None = None) -> Tensor:
        """RGB of a :meth:`predict_hvi` result, cropped to ``size`` = (H, W), with the test-time options."""
        h, w = (int(v) for v in size)
        return self.trans.inverse(hvi, saturation_gate, rgb_scale)[..., :h, :w]

    def train_outputs(self, low: Tensor, high: Tensor) -> dict[str, Tensor]:
        """Training tensors (official ``train.py``): ``output`` (RGB), and ``output_hvi`` / ``high_hvi`` = the
        current HVI transform of the RGB output and of the reference (gradients reach ``density_k`` through
        both), so the HVI-space loss terms are plain losses with ``inputs: [output_hvi, high_hvi]``."""
        _check_rgb(low)
        if low.shape[-2] % self.pad_multiple or low.shape[-1] % self.pad_multiple:
            raise ValueError(f"training crops must be multiples of {self.pad_multiple}, got {tuple(low.shape[-2:])}; "
                             f"use a patch_size divisible by {self.pad_multiple}")
        output = self.trans.inverse(self.enhance_hvi(self.trans(low)))
        return {"output": output, "output_hvi": self.trans(output), "high_hvi": self.trans(high)}

    # -- weights -----------------------------------------------------------------------------------------
    def load_official(self, source: str | os.PathLike | Mapping[str, Tensor], strict: bool = True) -> str:
        """Load an official checkpoint (a plain state dict; a ``module.`` prefix is stripped). Returns the source."""
        if isinstance(source, Mapping):
            state, name = source, "<given dict>"
        else:
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"{type(self).__name__} checkpoint {path} not found; no official weights "
                                        f"are available offline (shared/weights/hvi-cidnet/SOURCE.md)")
            state, name = torch.load(path, map_location="cpu", weights_only=True), str(path)
        state = {k.removeprefix("module."): v for k, v in state.items()}
        self.load_state_dict(state, strict=strict)
        return name


@MODELS.register()
class CIDNet(HVIDualBranchNet):
    """HVI-CIDNet (CVPR 2025): HV stem on all three HVI channels, ``HV_LCA``/``I_LCA`` blocks (CAB + IEL).

    Args:
        channels: widths per scale (official ``[36, 36, 72, 144]``).
        heads: attention heads per scale (official ``[1, 2, 4, 8]``; the first entry is unused, as released).
        density_k: initial HVI density (official 0.2, learned).
        pad_multiple: :meth:`forward` reflect-pads to a multiple of this (8: three /2 stages).
        channels_last: run the network on channels-last tensors (a CPU speed choice: same outputs up to float
            rounding; ICLR's training step is ~25% faster).
    """

    def __init__(self, channels: Sequence[int] = (36, 36, 72, 144), heads: Sequence[int] = (1, 2, 4, 8),
                 density_k: float = 0.2, pad_multiple: int = 8, channels_last: bool = True) -> None:
        super().__init__(channels, heads, 3, ("HV_LCA", "I_LCA"), _lca_factory, density_k, pad_multiple,
                         channels_last)


def _lca_factory(dim: int, heads: int, branch: str) -> nn.Module:
    return lighten_cross_attention(dim, heads, residual_gdfn=branch == "i")


def _check_rgb(x: Tensor) -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected a (B, 3, H, W) RGB tensor in [0, 1], got shape {tuple(x.shape)}")


def official_keys(listing: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """``{key: shape}`` from a ``shared/specs/state_dict_keys/*.txt`` listing (``key<TAB>(d0, d1, ...)``)."""
    keys = {}
    for line in Path(listing).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        name, shape = line.split("\t")
        keys[name] = tuple(int(d) for d in shape.strip("()").split(",") if d.strip())
    return keys


def state_dict_from_listing(listing: str | os.PathLike, seed: int = 0) -> dict[str, Tensor]:
    """A random state dict with exactly the keys and shapes of an official listing (for strict-load tests)."""
    generator = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=generator) for k, shape in official_keys(listing).items()}


__all__ = ["CIDNet", "HVIDualBranchNet", "official_test_options", "official_keys", "state_dict_from_listing"]
