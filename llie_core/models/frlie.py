"""FRLIE: Low-light image enhancement via feature restoration (Yang, Zhang, Guo; ICASSP 2022).

Paper §2 / Fig. 3: an encoder E and decoder D are trained as an image reconstructor on normal-light images
(Eq. 1); a feature restoration net FRNet maps dark features to bright ones, F_r = FRNet(E(I_l)) (Eq. 2), and the
enhanced image is D(F_r). Module names follow the released code (``YaN9-Y/FRLIE`` ``src/networks.py``) so the
official checkpoints (``{'encoder': ..., 'decoder': ...}`` and ``{'feature_processor': ...}``) load with
``strict=True`` (see ``shared/specs/weight_compat.md`` §3.1).

Paper vs. released code:

* Decoder upsampling. §2.1 says "upsampled by a series of pixelshuffle blocks"; the release that matches the paper
  (commit 2e9e486, Jan 2022) uses conv -> PixelShuffle; the current release (Feb 2022, ``weights_reconstruct.pth``)
  uses bilinear x2 (align_corners=True) -> reflect-pad conv. ``upsampling='pixelshuffle'`` (default, the paper) or
  ``'bilinear'`` (released code). The official FRLIE parameter count 2,854,467 is for the bilinear decoder.
* Test-time extras of the official ``test.py`` are *not* part of the model: the luma blend used for unpaired
  inputs (:func:`luma_blend`) and the uint8 truncation when saving (:func:`quantize_uint8`).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.models.blocks import ContextBlock, ResBlock, conv_block, kaiming_init_, pixelshuffle_block
from llie_core.models.registry import MODELS

UPSAMPLING_MODES = ("pixelshuffle", "bilinear")
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


class Encoder(nn.Module):
    """Image -> features of 4c channels at H/4 x W/4 (paper §2.1 "a few convolution blocks").

    ``conv1`` reflect-pad 5x5 3->c (no norm/act); ``conv2`` 3x3 stride 2 c->2c; ``conv3`` 3x3 2c->2c; ``conv4`` 3x3
    stride 2 2c->4c; conv2-4 are reflect-pad conv -> BatchNorm -> ReLU. Kaiming init as released.
    """

    def __init__(self, base_channels: int = 32, in_channels: int = 3) -> None:
        super().__init__()
        c = base_channels
        self.conv1 = conv_block(in_channels, c, kernel_size=5)
        self.conv2 = conv_block(c, 2 * c, stride=2, batch_norm=True, activation="relu")
        self.conv3 = conv_block(2 * c, 2 * c, batch_norm=True, activation="relu")
        self.conv4 = conv_block(2 * c, 4 * c, stride=2, batch_norm=True, activation="relu")
        kaiming_init_(self)

    def intermediates(self, x: Tensor) -> list[Tensor]:
        """Outputs of conv1 ... conv4 (the last one is the feature map), for feature figures."""
        outs = []
        for layer in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = layer(x)
            outs.append(x)
        return outs

    def forward(self, x: Tensor) -> Tensor:
        return self.intermediates(x)[-1]


class Decoder(nn.Module):
    """Features (4c, H/4, W/4) -> image in (0, 1) via ``(tanh(y) + 1) / 2`` (paper §2.1).

    ``upsampling='pixelshuffle'`` (paper §2.1, release 2e9e486): ``up1`` conv3x3 4c->8c, PixelShuffle(2), BN, ReLU;
    ``conv1`` conv3x3 2c->2c, BN, ReLU; ``up2`` conv3x3 2c->4c, PixelShuffle(2), BN, ReLU; ``conv2`` conv3x3 c->3
    (zero padding). ``upsampling='bilinear'`` (current release): ``up1`` bilinear x2 (align_corners=True),
    reflect conv3x3 4c->2c, BN, ReLU; ``conv1`` reflect conv 2c->2c, BN, ReLU; ``up2`` bilinear x2, reflect conv
    2c->c, BN, ReLU; ``conv2`` reflect conv c->3.
    """

    def __init__(self, base_channels: int = 32, out_channels: int = 3, upsampling: str = "pixelshuffle") -> None:
        super().__init__()
        if upsampling not in UPSAMPLING_MODES:
            raise ValueError(f"unknown upsampling {upsampling!r}; choose one of {UPSAMPLING_MODES}")
        self.upsampling = upsampling
        c = base_channels
        if upsampling == "pixelshuffle":
            self.up1 = pixelshuffle_block(4 * c, 2 * c)
            self.conv1 = conv_block(2 * c, 2 * c, padding="zeros", batch_norm=True, activation="relu")
            self.up2 = pixelshuffle_block(2 * c, c)
            self.conv2 = conv_block(c, out_channels, padding="zeros")
        else:
            self.up1 = conv_block(4 * c, 2 * c, batch_norm=True, activation="relu", upsample=_bilinear_x2())
            self.conv1 = conv_block(2 * c, 2 * c, batch_norm=True, activation="relu")
            self.up2 = conv_block(2 * c, c, batch_norm=True, activation="relu", upsample=_bilinear_x2())
            self.conv2 = conv_block(c, out_channels)
        kaiming_init_(self)

    def forward(self, f: Tensor) -> Tensor:
        y = self.conv2(self.up2(self.conv1(self.up1(f))))
        return (torch.tanh(y) + 1) / 2


def _bilinear_x2() -> nn.Module:
    return nn.UpsamplingBilinear2d(scale_factor=2)  # align_corners=True, as released


class FRNet(nn.Module):
    """Feature restoration network (paper §2.2, Eq. 2; ``FeatureProcessNet`` in the released code).

    ``num_blocks`` FR-Blocks, each ``Sequential(ContextBlock(dilations 1-4), ResBlock, ResBlock)`` at ``channels``,
    plus a global residual: ``F_r = F_d + B_n(...B_1(F_d))`` ("learned through predicting the residual").
    Keys: ``main_blocks.<i>.0.{conv0..conv4,fusion}``, ``main_blocks.<i>.{1,2}.res.{0,2}``. Default torch init.
    """

    def __init__(self, channels: int = 128, num_blocks: int = 4, context_reduction: int = 4,
                 dilations: tuple[int, ...] = (1, 2, 3, 4), negative_slope: float = 0.2) -> None:
        super().__init__()
        self.main_blocks = nn.ModuleList(
            nn.Sequential(
                ContextBlock(channels, channels // context_reduction, dilations, negative_slope),
                ResBlock(channels, negative_slope=negative_slope),
                ResBlock(channels, negative_slope=negative_slope),
            )
            for _ in range(num_blocks)
        )

    def forward(self, f: Tensor) -> Tensor:
        out = f
        for block in self.main_blocks:
            out = block(out)
        return f + out


@MODELS.register()
class FRLIE(nn.Module):
    """Encoder -> FRNet -> Decoder (paper Fig. 3). ``forward(low)`` returns the enhanced image.

    Args:
        base_channels: c (``BASE_CHANNEL_NUM`` = 32); features have 4c channels.
        num_blocks: FR-Blocks (``BLOCK_NUM`` = 4).
        upsampling: ``'pixelshuffle'`` (paper §2.1) or ``'bilinear'`` (released code, HEAD weights).
        pad_multiple: inputs are zero-padded right/bottom to a multiple of this and cropped back (official test).
    """

    def __init__(self, base_channels: int = 32, num_blocks: int = 4, upsampling: str = "pixelshuffle",
                 pad_multiple: int = 4) -> None:
        super().__init__()
        self.encoder = Encoder(base_channels)
        self.feature_processor = FRNet(4 * base_channels, num_blocks)
        self.decoder = Decoder(base_channels, upsampling=upsampling)
        self.pad_multiple = pad_multiple

    # -- the three stages (for losses and feature figures); inputs must already be a multiple of 4 ----------
    def encode(self, x: Tensor) -> Tensor:
        """E(x): features (4c, H/4, W/4)."""
        return self.encoder(x)

    def restore(self, features: Tensor) -> Tensor:
        """FRNet(F): restored features F_r (Eq. 2)."""
        return self.feature_processor(features)

    def decode(self, features: Tensor) -> Tensor:
        """D(F): image in (0, 1)."""
        return self.decoder(features)

    # -- whole-image entry points (pad to a multiple, crop back) -------------------------------------------
    def forward(self, low: Tensor, luma_blend_input: bool = False) -> Tensor:
        """Enhanced image D(FRNet(E(low))). ``luma_blend_input=True`` applies the official unpaired-test blend
        :func:`luma_blend` (off by default; PSNR in the official code is computed without it)."""
        enhanced = self._padded(low, lambda x: self.decode(self.restore(self.encode(x))))
        return luma_blend(enhanced, low) if luma_blend_input else enhanced

    def reconstruct(self, image: Tensor) -> Tensor:
        """Stage-1 autoencoder D(E(image)) (paper Eq. 1)."""
        return self._padded(image, lambda x: self.decode(self.encode(x)))

    def stage2_outputs(self, low: Tensor, high: Tensor | None = None) -> dict[str, Tensor]:
        """Tensors the stage-2 losses (Eqs. 3-7) need, for multiple-of-4 training crops.

        ``output`` = ``enhanced`` = D(F_r), ``restored`` = F_r = FRNet(E(low)), ``features_low`` = E(low) (detached; the
        released code's buggy feature target, see ``FeatureMatchingLoss``) and, when ``high`` is given,
        ``features_high`` = E(high) (the Eq. 3 target, computed without gradient). Pass ``high=None`` for the
        end-to-end "w/o FR" ablation, which has no feature target (and must not run E on ``high`` in train mode).
        """
        _check_multiple(low, self.pad_multiple)
        features_low = self.encode(low)
        restored = self.restore(features_low)
        enhanced = self.decode(restored)
        outputs = {"output": enhanced, "enhanced": enhanced, "restored": restored,
                   "features_low": features_low.detach()}
        if high is not None:
            _check_multiple(high, self.pad_multiple)
            with torch.no_grad():
                outputs["features_high"] = self.encode(high)
        return outputs

    def _padded(self, x: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
        _check_image(x)
        h, w = x.shape[-2:]
        m = self.pad_multiple
        padded = F.pad(x, (0, (-w) % m, 0, (-h) % m))  # right/bottom, constant 0 (official test)
        return fn(padded)[..., :h, :w]

    # -- weights -----------------------------------------------------------------------------------------
    def load_official(self, stage1: str | os.PathLike | Mapping[str, Any],
                      feature_processor: str | os.PathLike | Mapping[str, Any] | None = None,
                      strict: bool = True) -> dict[str, str]:
        """Load official checkpoints: the stage-1 dict ``{'encoder', 'decoder'}`` (``weights_reconstruct.pth``)
        and optionally ``{'feature_processor'}`` (``weights_feature_process.pth``). Paths or loaded dicts.
        Returns ``{submodule: source}``. A decoder of the other upsampling design raises a ``ValueError``
        naming the right ``upsampling`` value."""
        stage1_dict, stage1_src = _as_checkpoint(stage1)
        _require_keys(stage1_dict, ("encoder", "decoder"), stage1_src)
        found = detect_upsampling(stage1_dict["decoder"])
        if found != self.decoder.upsampling:
            raise ValueError(f"{stage1_src}: its decoder is the {found!r} design but this model was built with "
                             f"upsampling={self.decoder.upsampling!r}; build FRLIE(upsampling={found!r}) "
                             f"or use FRLIE.from_official(...)")
        self.encoder.load_state_dict(stage1_dict["encoder"], strict=strict)
        self.decoder.load_state_dict(stage1_dict["decoder"], strict=strict)
        loaded = {"encoder": stage1_src, "decoder": stage1_src}
        if feature_processor is not None:
            fp_dict, fp_src = _as_checkpoint(feature_processor)
            _require_keys(fp_dict, ("feature_processor",), fp_src)
            self.feature_processor.load_state_dict(fp_dict["feature_processor"], strict=strict)
            loaded["feature_processor"] = fp_src
        return loaded

    @classmethod
    def from_official(cls, stage1: str | os.PathLike | Mapping[str, Any],
                      feature_processor: str | os.PathLike | Mapping[str, Any] | None = None,
                      **kwargs: Any) -> "FRLIE":
        """Build with the decoder design found in the stage-1 checkpoint, then :meth:`load_official` it."""
        stage1_dict, src = _as_checkpoint(stage1)
        _require_keys(stage1_dict, ("encoder", "decoder"), src)
        model = cls(upsampling=detect_upsampling(stage1_dict["decoder"]), **kwargs)
        model.load_official(stage1_dict, feature_processor)
        return model


def detect_upsampling(decoder_state: Mapping[str, Tensor]) -> str:
    """``'pixelshuffle'`` if the decoder dict has the old ``up1.0`` conv, ``'bilinear'`` if it has ``up1.2``."""
    if "up1.0.weight" in decoder_state:
        return "pixelshuffle"
    if "up1.2.weight" in decoder_state:
        return "bilinear"
    raise ValueError(f"not an FRLIE decoder state_dict (no up1.0/up1.2 conv); keys start {list(decoder_state)[:4]}")


def luma_blend(enhanced: Tensor, low: Tensor) -> Tensor:
    """Official unpaired-test post-processing (``HAS_GT: 0``): ``(1 - Y) * enhanced + Y * low`` with
    Y = 0.299R + 0.587G + 0.114B of the low-light input. Not described in the paper."""
    weights = low.new_tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    y = (low * weights).sum(dim=1, keepdim=True)
    return (1 - y) * enhanced + y * low


def quantize_uint8(image: Tensor, rounding: str = "truncate") -> Tensor:
    """[0, 1] float -> uint8 after clamping. ``'truncate'`` = official saving ``(x * 255).int()``; ``'round'``
    = nearest (what most evaluation code does)."""
    scaled = image.clamp(0, 1) * 255
    if rounding == "truncate":
        return scaled.to(torch.uint8)
    if rounding == "round":
        return scaled.round().to(torch.uint8)
    raise ValueError(f"unknown rounding {rounding!r}; choose 'truncate' or 'round'")


def _check_image(x: Tensor) -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"FRLIE expects a (B, 3, H, W) RGB tensor in [0, 1], got shape {tuple(x.shape)}")


def _check_multiple(x: Tensor, multiple: int) -> None:
    _check_image(x)
    if x.shape[-2] % multiple or x.shape[-1] % multiple:
        raise ValueError(f"training crops must be multiples of {multiple}, got {tuple(x.shape[-2:])}; "
                         f"crop the patches or use forward()/reconstruct(), which pad")


def _as_checkpoint(source: str | os.PathLike | Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    if isinstance(source, Mapping):
        return source, "<given dict>"
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"FRLIE checkpoint {path} not found; the official files live in "
                                f"shared/weights/frlie/ (see its MANIFEST.md); pass that path")
    return torch.load(path, map_location="cpu", weights_only=True), str(path)


def _require_keys(checkpoint: Mapping[str, Any], keys: tuple[str, ...], source: str) -> None:
    missing = [k for k in keys if k not in checkpoint]
    if missing:
        raise KeyError(f"{source}: missing top-level keys {missing} (has {sorted(checkpoint)}); expected the "
                       f"official FRLIE layout {{'encoder', 'decoder'}} or {{'feature_processor'}}")
