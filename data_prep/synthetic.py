"""The embedded default dataset: clean photos shipped inside pip packages, darkened by a physical model.

No LLIE dataset can be installed offline (specs/offline_dependencies.md, section 0), so the workbook always has
this paired set. The clean photos are scikit-image's ``astronaut``, ``coffee``, ``chelsea``, ``rocket``,
``stereo_motorcycle`` (left and right views: one scene) and matplotlib's ``grace_hopper`` sample; nothing is
downloaded. Train and test are split **by scene**: the test scenes are :data:`TEST_SCENES` (``chelsea`` and
``rocket``), so no test photo, nor a view of it, is ever seen in training.

Degradation (:func:`degrade`), per image, all parameters drawn from :class:`LowLightModel` ranges:

1. linearise the sRGB photo (IEC 61966-2-1 transfer function);
2. ``s = exposure * gain_c * lin ** gamma`` (shorter exposure, a mild camera-response change, a colour cast);
3. photon shot noise and read noise: ``y = Poisson(N * s) / N + Normal(0, sigma_r)``, so that
   ``Var[y] = s / N + sigma_r**2`` (the Poisson-Gaussian model of Foi et al., IEEE TIP 17(10), 2008), N = photons
   at full well;
4. clip to the sensor range, back to sRGB, quantise to 8 bits.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .files import sha256_file, write_json
from .image_io import encode_png
from .settings import DataSettings

FORMAT_VERSION = 1
DEGRADATION = ("low = quantise8(srgb(clip(Poisson(N * exposure * gain_c * linear(clean) ** gamma) / N "
               "+ Normal(0, read_noise), 0, 1))); sRGB per IEC 61966-2-1; N = full_well")
TEST_SCENES = ("chelsea", "rocket")
PHOTO_SCENES = (  # (photo name, scene) in a fixed order: the order seeds every image
    ("astronaut", "astronaut"), ("coffee", "coffee"), ("chelsea", "chelsea"), ("rocket", "rocket"),
    ("stereo_motorcycle_left", "stereo_motorcycle"), ("stereo_motorcycle_right", "stereo_motorcycle"),
    ("grace_hopper", "grace_hopper"),
)


@dataclass(frozen=True)
class LowLightModel:
    """Ranges of the low-light degradation; each image draws its parameters uniformly from them.

    ``exposure_range``: linear-intensity scale (1/20 to 1/4 of the clean exposure, LOL-like darkness).
    ``gamma_range``: exponent on linear intensity (camera-response change, >= 1 darkens shadows slightly more).
    ``color_gain_range``: independent per-channel gain (white-balance error / colour cast).
    ``full_well_range``: photons at full scale, drawn log-uniformly (shot-noise strength; fewer = noisier).
    ``read_noise_range``: Gaussian read-noise std in linear full-scale units.
    Set both ends of a range equal to fix a parameter.
    """

    exposure_range: tuple[float, float] = (0.05, 0.25)
    gamma_range: tuple[float, float] = (1.0, 1.2)
    color_gain_range: tuple[float, float] = (0.85, 1.15)
    full_well_range: tuple[float, float] = (300.0, 3000.0)
    read_noise_range: tuple[float, float] = (0.0005, 0.005)

    def __post_init__(self) -> None:
        for f in fields(self):
            lo, hi = getattr(self, f.name)
            if not (0 <= lo <= hi) or (f.name != "read_noise_range" and lo <= 0):
                raise ValueError(f"LowLightModel.{f.name} must be (low, high) with 0 < low <= high "
                                 f"(read noise may be 0), got {(lo, hi)}")
            object.__setattr__(self, f.name, (float(lo), float(hi)))

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "LowLightModel":
        return cls(**{k: tuple(v) for k, v in (values or {}).items()})


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB decoding (values in [0, 1])."""
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB encoding (values in [0, 1])."""
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.maximum(linear, 0.0031308) ** (1 / 2.4) - 0.055)


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], size: int | None = None):
    return rng.uniform(bounds[0], bounds[1], size) if bounds[1] > bounds[0] else np.full(size or (), bounds[0])


def sample_params(rng: np.random.Generator, model: LowLightModel) -> dict[str, Any]:
    """One draw of the degradation parameters (plain floats, JSON-ready)."""
    log_well = _uniform(rng, (np.log(model.full_well_range[0]), np.log(model.full_well_range[1])))
    return {
        "exposure": float(_uniform(rng, model.exposure_range)),
        "gamma": float(_uniform(rng, model.gamma_range)),
        "color_gain": [float(g) for g in _uniform(rng, model.color_gain_range, 3)],
        "full_well": float(np.exp(log_well)),
        "read_noise": float(_uniform(rng, model.read_noise_range)),
    }


def degrade(clean_srgb: np.ndarray, rng: np.random.Generator,
            model: LowLightModel = LowLightModel()) -> tuple[np.ndarray, dict[str, Any]]:
    """Darken an HWC RGB photo (uint8, or float in [0, 1]); returns the HWC uint8 low-light image and the
    parameters used (see the module docstring for the model)."""
    if clean_srgb.ndim != 3 or clean_srgb.shape[2] != 3:
        raise ValueError(f"degrade expects an HWC RGB image, got shape {clean_srgb.shape}")
    clean = clean_srgb.astype(np.float64) / 255.0 if clean_srgb.dtype == np.uint8 else clean_srgb.astype(np.float64)
    params = sample_params(rng, model)
    gains = np.asarray(params["color_gain"])
    signal = np.clip(params["exposure"] * gains * srgb_to_linear(np.clip(clean, 0, 1)) ** params["gamma"], 0, 1)
    photons = rng.poisson(signal * params["full_well"])
    noisy = photons / params["full_well"] + rng.normal(0.0, params["read_noise"], signal.shape)
    low = np.round(linear_to_srgb(np.clip(noisy, 0.0, 1.0)) * 255.0).astype(np.uint8)
    return low, params


def source_photos() -> dict[str, np.ndarray]:
    """The clean colour photos shipped inside scikit-image and matplotlib (HWC uint8 RGB), by name."""
    import skimage.data
    from matplotlib import cbook

    left, right, _ = skimage.data.stereo_motorcycle()
    with cbook.get_sample_data("grace_hopper.jpg") as fh, Image.open(fh) as image:
        grace = np.asarray(image.convert("RGB"))
    photos = {"astronaut": skimage.data.astronaut(), "coffee": skimage.data.coffee(),
              "chelsea": skimage.data.chelsea(), "rocket": skimage.data.rocket(),
              "stereo_motorcycle_left": left, "stereo_motorcycle_right": right, "grace_hopper": grace}
    return {name: np.ascontiguousarray(photos[name][..., :3]) for name, _ in PHOTO_SCENES}


def _fit_max_side(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale (Lanczos) so the longer side is at most ``max_side``; never upscales."""
    h, w = image.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def _config(seed: int, variants_per_photo: int, max_side: int | None, model: LowLightModel) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "seed": int(seed), "variants_per_photo": int(variants_per_photo),
            "max_side": max_side, "model": asdict(model), "sources": [p for p, _ in PHOTO_SCENES],
            "test_scenes": list(TEST_SCENES)}


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def _write_images(folder: Path, seed: int, variants: int, max_side: int | None,
                  model: LowLightModel) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Degrade every photo ``variants`` times into ``folder/{train,test}/{low,high}``; returns the records."""
    scenes = dict(PHOTO_SCENES)
    images, sources = [], {}
    for index, (photo, clean) in enumerate(source_photos().items()):
        clean = _fit_max_side(clean, max_side)
        split = "test" if scenes[photo] in TEST_SCENES else "train"
        sources[photo] = {"scene": scenes[photo], "split": split, "shape": list(clean.shape)}
        high_png = encode_png(clean)
        for variant in range(variants):
            rng = np.random.default_rng(np.random.SeedSequence([seed, index, variant]))
            low, params = degrade(clean, rng, model)
            name = f"{photo}_{variant:02d}.png"
            for side, data in (("low", encode_png(low)), ("high", high_png)):
                target = folder / split / side / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            images.append({"name": name, "split": split, "source": photo, "scene": scenes[photo],
                           "variant": variant, **params})
    return images, sources


def _cache(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is None or cache_dir == "":
        raise ValueError("the embedded synthetic set needs a cache folder: pass cache_dir (DataSettings.cache_dir, "
                         "resolved by the entry point: $LLIE_CACHE_DIR or <checkout>/.cache)")
    return Path(cache_dir).expanduser().resolve()


def build_synthetic(cache_dir: str | os.PathLike, seed: int = 0, variants_per_photo: int = 2,
                    max_side: int | None = 512, model: LowLightModel = LowLightModel()) -> Path:
    """Build (once) and return ``<cache_dir>/synthetic/<hash>/`` with ``{train,test}/{low,high}/*.png`` and
    ``params.json``; the hash covers every parameter, the build is atomic and byte-deterministic per seed."""
    if variants_per_photo < 1:
        raise ValueError(f"variants_per_photo must be >= 1, got {variants_per_photo}")
    config = _config(seed, variants_per_photo, max_side, model)
    parent = _cache(cache_dir) / "synthetic"
    final = parent / config_hash(config)
    if (final / "params.json").is_file():
        return final
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=parent))
    try:
        images, sources = _write_images(tmp, seed, variants_per_photo, max_side, model)
        files = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*.png"))}
        write_json(tmp / "params.json", {**config, "degradation": DEGRADATION, "photo_sources": sources,
                                          "images": images, "files": files})
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "params.json").is_file():  # not a concurrent build of the same set: a real error
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def latest_build(cache_dir: str | os.PathLike) -> Path | None:
    """The most recently built complete synthetic set in ``cache_dir``, or ``None``."""
    builds = [p.parent for p in (_cache(cache_dir) / "synthetic").glob("[!.]*/params.json")]
    return max(builds, key=lambda p: (p / "params.json").stat().st_mtime, default=None)


def synthetic_root(data: DataSettings) -> Path:
    """The embedded set of ``data.synthetic`` (seed, variants_per_photo, max_side, optional model ranges) in
    ``data.cache_dir``, built on first use."""
    settings = data.synthetic
    return build_synthetic(data.cache_dir, seed=settings.seed, variants_per_photo=settings.variants_per_photo,
                           max_side=settings.max_side, model=LowLightModel.from_dict(settings.model))
