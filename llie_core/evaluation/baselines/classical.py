"""Classical enhancers: the input itself, global histogram equalisation (HE) and CLAHE (scikit-image).

Tiling (``Enhancer.tileable``): HE and CLAHE use whole-image statistics and are never run tile by tile.

- ``input``: identity; the "no enhancement" row every table needs.
- ``he`` (Gonzalez & Woods, Digital Image Processing, Sec. 3.3.1): the intensity CDF as the mapping,
  ``skimage.exposure.equalize_hist`` with 256 bins. Default ``mode='v'`` equalises the V channel of HSV
  (V = max_c, hue and saturation kept) so colours do not shift; ``mode='rgb'`` equalises each channel on its
  own, the variant some papers show (it changes the colour balance).
- ``clahe`` (Zuiderveld, Graphics Gems IV, 1994): ``skimage.exposure.equalize_adapthist`` on CIE Lab L (scaled
  to [0,1]); a and b are kept. Defaults follow scikit-image: ``clip_limit=0.01`` (a fraction of the tile's
  pixel count, *not* OpenCV's ``clipLimit`` which is a multiple of the uniform bin height, e.g. 2.0) and
  ``kernel_size=None`` = tiles of 1/8 of the image height and width (an 8x8 grid, as OpenCV's default).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from skimage import color, exposure

from llie_core.evaluation.baselines.registry import ENHANCERS
from llie_core.evaluation.loop import Enhancer, as_enhancer

ImageFn = Callable[[np.ndarray], np.ndarray]


def per_image(fn: ImageFn) -> Callable[[torch.Tensor], torch.Tensor]:
    """Lift an (H,W,3) float64 [0,1] numpy function to (N,3,H,W) tensors, image by image."""

    def run(batch: torch.Tensor) -> torch.Tensor:
        outs = []
        for image in batch.detach().cpu().double().numpy():
            result = fn(np.clip(image.transpose(1, 2, 0), 0.0, 1.0))
            outs.append(torch.from_numpy(np.ascontiguousarray(result.transpose(2, 0, 1))))
        return torch.stack(outs).to(batch.device, torch.float32)

    return run


def histogram_equalize(image: np.ndarray, mode: str = "v", nbins: int = 256) -> np.ndarray:
    """Global HE of an (H,W,3) image in [0,1] on HSV V (``mode='v'``) or per RGB channel (``mode='rgb'``)."""
    if mode == "rgb":
        return np.stack([exposure.equalize_hist(image[..., c], nbins=nbins) for c in range(3)], axis=-1)
    if mode != "v":
        raise ValueError(f"histogram_equalize: mode must be 'v' or 'rgb', got {mode!r}")
    hsv = color.rgb2hsv(image)
    hsv[..., 2] = exposure.equalize_hist(hsv[..., 2], nbins=nbins)
    return color.hsv2rgb(hsv)


def clahe_lab(image: np.ndarray, clip_limit: float = 0.01, kernel_size: int | tuple[int, int] | None = None,
              nbins: int = 256) -> np.ndarray:
    """CLAHE on the L channel of CIE Lab of an (H,W,3) image in [0,1]; a/b untouched."""
    lab = color.rgb2lab(image)
    lightness = np.clip(lab[..., 0] / 100.0, 0.0, 1.0)
    lab[..., 0] = 100.0 * exposure.equalize_adapthist(lightness, kernel_size=kernel_size, clip_limit=clip_limit,
                                                      nbins=nbins)
    return np.clip(color.lab2rgb(lab), 0.0, 1.0)


@ENHANCERS.register("input")
def build_identity() -> Enhancer:
    """The low image unchanged."""
    return as_enhancer(lambda x: x, "input")


@ENHANCERS.register("he")
def build_he(mode: str = "v", nbins: int = 256) -> Enhancer:
    """Global histogram equalisation (``mode='v'`` HSV value, or ``'rgb'`` per channel)."""
    if mode not in ("v", "rgb"):
        raise ValueError(f"he: mode must be 'v' or 'rgb', got {mode!r}")
    return as_enhancer(per_image(lambda im: histogram_equalize(im, mode, nbins)), "he" if mode == "v" else "he_rgb",
                       tileable=False)  # a global histogram: never tiled


@ENHANCERS.register("clahe")
def build_clahe(clip_limit: float = 0.01, kernel_size: int | tuple[int, int] | None = None,
                nbins: int = 256) -> Enhancer:
    """CLAHE on Lab L with scikit-image's clip limit and an 8x8 tile grid by default."""
    return as_enhancer(per_image(lambda im: clahe_lab(im, clip_limit, kernel_size, nbins)), "clahe",
                       tileable=False)  # its tile grid is 1/8 of the whole image
