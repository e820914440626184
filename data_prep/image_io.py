"""Image files <-> float32 CHW arrays in [0, 1] (the one decoding path every loader and notebook uses).

Decoding is done by Pillow (validation, EXIF, palettes, CMYK, 8-bit and 16-bit grey). Pillow reduces 16-bit
*colour* PNG/TIFF to 8 bits, so those files are decoded by OpenCV instead (``cv2.IMREAD_UNCHANGED``) and keep
their 16 bits (values / 65535). Alpha is dropped, not composited (LLIE images carry no meaningful alpha: the
FiveK DPE renditions are RGBA with alpha 255 everywhere). EXIF orientation is applied in both paths.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .files import atomic_write_bytes

PathLike = str | os.PathLike
EXIF_ORIENTATION = 0x0112
_SWAPS_AXES = frozenset({5, 6, 7, 8})
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError)


class ImageReadError(ValueError):
    """An image file is missing, unreadable, truncated or in an unsupported format."""


def _fail(path: Path, problem: str, fix: str) -> ImageReadError:
    return ImageReadError(f"{path}: {problem}. Fix: {fix}")


def _exif_orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(EXIF_ORIENTATION, 1) or 1)
    except _DECODE_ERRORS:
        return 1


def apply_orientation(hwc: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip an HWC array as EXIF ``Orientation`` 1-8 prescribes (TIFF 6.0 / EXIF 2.3 tag 0x0112)."""
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, k=1),
    }
    return np.ascontiguousarray(ops.get(orientation, ops[1])(hwc))


def _png_bit_depth(path: Path) -> int:
    with open(path, "rb") as fh:
        header = fh.read(26)
    return header[24] if len(header) >= 26 and header[12:16] == b"IHDR" else 8


def _is_high_bit_colour(image: Image.Image, path: Path) -> bool:
    """True for 16-bit colour PNG/TIFF, which Pillow would silently reduce to 8 bits."""
    if image.mode not in ("RGB", "RGBA"):
        return False
    if image.format == "PNG":
        return _png_bit_depth(path) > 8
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, (8,))
        return max(bits if isinstance(bits, tuple) else (bits,)) > 8
    return False


def _decode_high_bit_colour(path: Path) -> np.ndarray:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if array is None or array.ndim != 3:
        raise _fail(path, "OpenCV could not decode this 16-bit colour image", "re-export it as 8/16-bit RGB PNG")
    rgb = array[..., 2::-1]  # BGR(A) -> RGB, alpha dropped
    scale = float(np.iinfo(array.dtype).max) if array.dtype.kind == "u" else 1.0
    return rgb.astype(np.float32) / scale


def _pillow_to_float(image: Image.Image) -> np.ndarray:
    """Any Pillow mode -> HWC float32 RGB in [0, 1]."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        grey = np.asarray(image).astype(np.float32) / 65535.0
    elif mode == "I":  # 16-bit grey PNG opened as 32-bit int (assumption: 16-bit data, as PNG allows no more)
        grey = np.asarray(image).astype(np.float32) / 65535.0
    elif mode == "F":  # float TIFF: assumed to hold values in [0, 1]
        grey = np.asarray(image).astype(np.float32)
    else:
        grey = None
    if grey is not None:
        return np.repeat(grey[..., None], 3, axis=2)
    if mode == "P":
        image = image.convert("RGBA")
    elif mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")  # L, LA, 1, CMYK, YCbCr, LAB, HSV
    return np.asarray(image)[..., :3].astype(np.float32) / 255.0


def read_image(path: PathLike) -> np.ndarray:
    """Decode ``path`` to float32 CHW RGB in [0, 1] (8-bit / 255, 16-bit / 65535).

    Grey images become 3 identical channels, alpha is dropped, palette/CMYK are converted, the EXIF orientation
    is applied. Missing, truncated, corrupt or unsupported files raise :class:`ImageReadError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file not found", "check the path or the data root (`python -m data_prep status`)")
    try:
        with Image.open(path) as image:
            image.load()
            orientation = _exif_orientation(image)
            if _is_high_bit_colour(image, path):
                hwc = _decode_high_bit_colour(path)
            else:
                hwc = _pillow_to_float(image)
    except ImageReadError:
        raise
    except _DECODE_ERRORS as exc:
        raise _fail(path, f"cannot decode image ({type(exc).__name__}: {exc})",
                    "the file is corrupt, truncated or not an image: re-download or re-export it") from exc
    hwc = apply_orientation(hwc, orientation)
    return np.ascontiguousarray(np.clip(hwc, 0.0, 1.0).transpose(2, 0, 1), dtype=np.float32)


def image_size(path: PathLike) -> tuple[int, int]:
    """``(height, width)`` as :func:`read_image` returns it (EXIF rotation included), from the header only."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file not found", "check the path or the data root (`python -m data_prep status`)")
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = _exif_orientation(image)
    except _DECODE_ERRORS as exc:
        raise _fail(path, f"cannot read the image header ({type(exc).__name__}: {exc})",
                    "the file is corrupt or not an image: re-download or re-export it") from exc
    return (width, height) if orientation in _SWAPS_AXES else (height, width)


def to_uint8_hwc(chw) -> np.ndarray:
    """float CHW (numpy or torch, 1 or 3 channels, optional leading batch of 1) -> uint8 HWC RGB (clip+round)."""
    if hasattr(chw, "detach"):
        chw = chw.detach().cpu().float().numpy()
    array = np.asarray(chw, dtype=np.float32)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or array.shape[0] not in (1, 3):
        raise ValueError(f"expected a (3,H,W) or (1,H,W) image, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("image contains NaN or inf values; cannot write it")
    if array.shape[0] == 1:
        array = np.repeat(array, 3, axis=0)
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8).transpose(1, 2, 0)


def encode_png(hwc_uint8: np.ndarray) -> bytes:
    """Deterministic 8-bit PNG bytes of an HWC uint8 RGB array (no metadata, so same pixels -> same bytes)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(hwc_uint8)).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def write_image(path: PathLike, chw) -> Path:
    """Write float CHW in [0, 1] (numpy or torch) as an 8-bit RGB PNG, atomically, creating folders."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: write_image writes PNG only; use a .png file name")
    return atomic_write_bytes(path, encode_png(to_uint8_hwc(chw)))
