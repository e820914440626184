"""Typed data settings: the ``data:`` section of a run profile (``llie_core/profiles/<name>.yaml``).

Every ``data_prep`` function that depends on a profile takes a :class:`DataSettings` (or only the values it needs),
never the profile's dictionary. The settings are frozen; :meth:`DataSettings.replace` returns a changed copy.

Roots are explicit: ``root`` (real benchmark data), ``weights_root`` (released weights) and ``cache_dir`` (where the
embedded synthetic set is built) are resolved once by the entry point (``python -m data_prep``, the workbook
runner, a notebook's ``start``) and passed down here; library code never reads them from the environment.
:func:`resolve_roots` is the one helper that reads ``$LLIE_DATA_ROOT`` / ``$LLIE_WEIGHTS_ROOT``, for entry points.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A profile section has an unknown key or a value of the wrong kind; the message names the key and the YAML."""


def _where(source: str | os.PathLike | None) -> str:
    return f"{source}: " if source else ""


def check_keys(cls: type, values: Mapping[str, Any], section: str, source: str | os.PathLike | None = None) -> None:
    """Raise :class:`SettingsError` naming ``<section>.<key>`` (``section=''``: the top level) and ``source`` (the
    YAML) for every key of ``values`` that is not a field of the dataclass ``cls``."""
    if not isinstance(values, Mapping):
        raise SettingsError(f"{_where(source)}{section!r} must be a mapping, got {type(values).__name__}")
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in values if k not in known]
    if unknown:
        keys = ", ".join(repr(f"{section}.{k}" if section else str(k)) for k in unknown)
        where = f"of {section!r}" if section else "at the top level"
        raise SettingsError(f"{_where(source)}unknown key {keys}; the keys {where} are {known}")


def as_path(value: str | os.PathLike | None) -> Path | None:
    """``None`` for ``None``/``''``, else the absolute path (``~`` expanded; relative to the current directory)."""
    if value is None or value == "":
        return None
    return Path(value).expanduser().resolve()


def _names(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise SettingsError(f"data.{key} must be a list of dataset names, got {value!r}")
    return tuple(str(v) for v in value)


def _optional_int(value: Any, key: str, minimum: int) -> int | None:
    if value is None:
        return None
    return _int(value, key, minimum)


def _int(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < minimum:
        raise SettingsError(f"data.{key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _build(cls: type, values: dict[str, Any], source: str | os.PathLike | None) -> Any:
    """``cls(**values)``, a value error prefixed with ``source`` (the YAML)."""
    try:
        return cls(**values)
    except SettingsError as exc:
        raise SettingsError(f"{_where(source)}{exc}") from None


@dataclass(frozen=True)
class SyntheticSettings:
    """The embedded synthetic set (:func:`data_prep.synthetic.build_synthetic`): ``seed``, ``variants_per_photo``
    degraded copies of each clean photo, photos downscaled to ``max_side`` (``None``: full size), and optional
    ``model`` ranges (:class:`data_prep.synthetic.LowLightModel` fields, e.g. ``exposure_range: [0.05, 0.25]``)."""

    seed: int = 0
    variants_per_photo: int = 2
    max_side: int | None = 512
    model: Mapping[str, Sequence[float]] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", _int(self.seed, "synthetic.seed", 0))
        object.__setattr__(self, "variants_per_photo", _int(self.variants_per_photo, "synthetic.variants_per_photo", 1))
        object.__setattr__(self, "max_side", _optional_int(self.max_side, "synthetic.max_side", 1))
        if self.model is not None:
            object.__setattr__(self, "model", {str(k): tuple(v) for k, v in dict(self.model).items()})

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, source: str | os.PathLike | None = None
                  ) -> "SyntheticSettings":
        values = dict(values or {})
        check_keys(cls, values, "data.synthetic", source)
        return _build(cls, values, source)

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "variants_per_photo": self.variants_per_photo, "max_side": self.max_side,
                "model": {k: list(v) for k, v in self.model.items()} if self.model is not None else None}


@dataclass(frozen=True)
class DataSettings:
    """Which data a run uses and how it is cut (the ``data:`` section of a profile).

    - ``root``: real benchmark datasets (``None``: only the embedded set can be used); ``weights_root``: released
      weights (``<root>/zero_dce/Epoch99.pth``, ...; ``None``: none available); ``cache_dir``: where the embedded
      set is built (required by anything that uses it).
    - ``train``: training sets in order of preference (the first one on disk is used, else the embedded set);
      ``eval_paired`` / ``eval_unpaired``: the test sets.
    - ``max_train_images`` / ``max_eval_images``: at most this many pairs per split, evenly spaced (``None``: all);
      ``max_unpaired_images``: the same for unpaired test sets.
    - ``eval_max_side``: test images center-cropped to at most this side (``None``: full images);
      ``eval_unpaired_max_side`` and ``val_max_side``: the same for unpaired test images and the validation
      pairs; ``None`` means "as ``eval_max_side``" (:attr:`unpaired_side`, :attr:`val_side`).
    - ``val_images``: training pairs held out for validation; ``patch_size``, ``batch_size``, ``num_workers``:
      training defaults (a recipe stage may override them).
    """

    root: Path | None = None
    weights_root: Path | None = None
    cache_dir: Path | None = None
    train: tuple[str, ...] = ()
    eval_paired: tuple[str, ...] = ()
    eval_unpaired: tuple[str, ...] = ()
    max_train_images: int | None = None
    max_eval_images: int | None = None
    eval_max_side: int | None = None
    max_unpaired_images: int | None = None
    eval_unpaired_max_side: int | None = None
    val_images: int = 4
    val_max_side: int | None = None
    patch_size: int = 128
    batch_size: int = 4
    num_workers: int = 0
    synthetic: SyntheticSettings = field(default_factory=SyntheticSettings)

    def __post_init__(self) -> None:
        put = self._put
        for name in ("root", "weights_root", "cache_dir"):
            put(name, as_path(getattr(self, name)))
        for name in ("train", "eval_paired", "eval_unpaired"):
            put(name, _names(getattr(self, name), name))
        for name in ("max_train_images", "max_eval_images", "eval_max_side", "max_unpaired_images",
                     "eval_unpaired_max_side", "val_max_side"):
            put(name, _optional_int(getattr(self, name), name, 1))
        put("val_images", _int(self.val_images, "val_images", 0))
        put("patch_size", _int(self.patch_size, "patch_size", 1))
        put("batch_size", _int(self.batch_size, "batch_size", 1))
        put("num_workers", _int(self.num_workers, "num_workers", 0))
        if isinstance(self.synthetic, Mapping):
            put("synthetic", SyntheticSettings.from_dict(self.synthetic))
        elif not isinstance(self.synthetic, SyntheticSettings):
            raise SettingsError(f"data.synthetic must be a mapping, got {self.synthetic!r}")

    def _put(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # frozen dataclass: only __post_init__ normalises fields

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, source: str | os.PathLike | None = None) -> "DataSettings":
        """Settings from a profile's ``data:`` mapping; an unknown key raises :class:`SettingsError` naming it and
        ``source`` (the YAML file)."""
        values = dict(values or {})
        check_keys(cls, values, "data", source)
        if "synthetic" in values:
            values["synthetic"] = SyntheticSettings.from_dict(values["synthetic"], source)
        return _build(cls, values, source)

    def replace(self, **changes: Any) -> "DataSettings":
        """A copy with ``changes`` (``dataclasses.replace``: values are checked again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/JSON types (paths as strings, lists): ``DataSettings.from_dict(s.to_dict()) == s``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, SyntheticSettings):
                value = value.to_dict()
            out[f.name] = value
        return out

    def limit(self, split: str) -> int | None:
        """The image limit of ``split``: ``max_train_images`` for ``train``, else ``max_eval_images``."""
        return self.max_train_images if split == "train" else self.max_eval_images

    @property
    def unpaired_side(self) -> int | None:
        """Crop side of unpaired test images: ``eval_unpaired_max_side``, else ``eval_max_side``."""
        return self.eval_unpaired_max_side if self.eval_unpaired_max_side is not None else self.eval_max_side

    @property
    def val_side(self) -> int | None:
        """Crop side of the validation pairs: ``val_max_side``, else ``eval_max_side``."""
        return self.val_max_side if self.val_max_side is not None else self.eval_max_side

    @property
    def datasets(self) -> list[str]:
        """Every dataset named by ``train``, ``eval_paired`` and ``eval_unpaired``, once, in that order."""
        return list(dict.fromkeys([*self.train, *self.eval_paired, *self.eval_unpaired]))


def resolve_roots(data_root: str | os.PathLike | None = None, weights_root: str | os.PathLike | None = None,
                  environ: Mapping[str, str] | None = None) -> tuple[Path | None, Path | None]:
    """For entry points only (CLIs, a notebook's ``start``): ``(data root, weights root)``, each the explicit
    argument when given, else ``$LLIE_DATA_ROOT`` / ``$LLIE_WEIGHTS_ROOT`` of ``environ`` (default
    ``os.environ``), else ``None``. A missing weights root defaults to ``<data root>/../weights`` where the
    profile is loaded (``llie_core.core.profiles.load_profile``)."""
    env = os.environ if environ is None else environ
    data = as_path(data_root) or as_path(env.get("LLIE_DATA_ROOT"))
    weights = as_path(weights_root) or as_path(env.get("LLIE_WEIGHTS_ROOT"))
    return data, weights
