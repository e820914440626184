"""Enhance your own images with a trained model, an official checkpoint or a classical baseline.

Command line::

    python -m llie_core.enhance --method frlie --checkpoint results/quick/runs/frlie INPUT... --out DIR
    python -m llie_core.enhance --method lime photos/ --out enhanced/          # baselines need no checkpoint

``INPUT`` are image files and/or folders (their images, natural order; ``--recursive`` for sub-folders). Every
output is an 8-bit PNG of the input's size in ``--out`` (``<stem>.png``). Images larger than ``--tile-size`` are
enhanced tile by tile (:mod:`llie_core.tiling`: overlapping tiles, blended; never resized), so any size works.
Unreadable inputs raise an error naming the file (``--skip-errors``: go on and list them at the end). A progress
bar is shown on a terminal (never under papermill or with ``LLIE_NO_PROGRESS``).

The model is built from ``llie_core/configs/<method>/<profile>.yaml`` (``--profile``, default ``paper``;
``--variant`` for an ablation variant): the checkpoint must match that configuration. ``--checkpoint`` takes an
engine checkpoint (``{"model": state_dict, ...}``, e.g. ``runs/<method>/<stage>/checkpoints/best.pt``), a run
folder (its last trained stage's ``best.pt``), a bare state dict, or an official file the model's
``load_official`` reads. From Python: :func:`enhance_images`.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .tiling import TileConfig, enhance_tiled

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_TILE = TileConfig(tile_size=1024, overlap=64)


class EnhanceError(RuntimeError):
    """An input, a checkpoint or a method cannot be used; the message says which and how to fix it."""


# ------------------------------------------------------------------------------------------------ inputs
def collect_inputs(inputs: Iterable[str | os.PathLike], recursive: bool = False) -> list[Path]:
    """Image files named by ``inputs`` (files, or folders of images), natural order within each folder,
    duplicates removed. Raises :class:`EnhanceError` for a missing path or a folder without images."""
    from natsort import natsorted

    files: dict[Path, None] = {}
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found = natsorted((p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                              key=lambda p: str(p.relative_to(path)))
            if not found:
                raise EnhanceError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder"
                                   + ("" if recursive else "; use --recursive for sub-folders"))
            files.update(dict.fromkeys(found))
        elif path.is_file():
            files[path] = None
        else:
            raise EnhanceError(f"{path}: no such file or folder")
    if not files:
        raise EnhanceError("no input images given")
    return list(files)


def output_names(files: Sequence[Path]) -> list[str]:
    """``<stem>.png`` per input; inputs whose stems collide get their suffix too (``a_jpg.png``)."""
    stems = [f.stem for f in files]
    return [f"{f.stem}.png" if stems.count(f.stem) == 1 else f"{f.stem}_{f.suffix.lstrip('.').lower()}.png"
            for f in files]


# ------------------------------------------------------------------------------------------------ models
def resolve_checkpoint(checkpoint: str | os.PathLike, stages: Sequence[str] = ()) -> Path:
    """A checkpoint file, or the newest usable file of a run folder: ``<run>/<stage>/checkpoints/best.pt``
    (last trained stage first, then ``last.pt``), or ``<folder>/checkpoints/best.pt``."""
    path = Path(checkpoint).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise EnhanceError(f"checkpoint {path}: no such file or folder")
    candidates = [path / s / "checkpoints" / f for s in reversed(list(stages)) for f in ("best.pt", "last.pt")]
    candidates += [path / "checkpoints" / "best.pt", path / "checkpoints" / "last.pt"]
    for c in candidates:
        if c.is_file():
            return c
    raise EnhanceError(f"checkpoint folder {path} holds no checkpoints/best.pt or last.pt "
                       f"(looked in the stages {list(stages)})")


def _state_dict(loaded: Any) -> Mapping[str, Tensor] | None:
    """The model state dict inside an engine checkpoint or a bare state dict; ``None`` otherwise."""
    if isinstance(loaded, Mapping) and isinstance(loaded.get("model"), Mapping):
        loaded = loaded["model"]
    if isinstance(loaded, Mapping) and loaded and all(isinstance(v, Tensor) for v in loaded.values()):
        return {str(k).removeprefix("module."): v for k, v in loaded.items()}
    return None


def load_model(method: str, checkpoint: str | os.PathLike, profile: str = "paper",
               variant: str | None = None) -> tuple[nn.Module, dict[str, Any], Path]:
    """``(model in eval mode, its config, the checkpoint file used)`` for a trained method."""
    from .models import build_model
    from .recipes import load_method_config

    cfg = load_method_config(method, profile, variant)
    path = resolve_checkpoint(checkpoint, [s for s, spec in cfg["stages"].items() if spec])
    model = build_model(dict(cfg["model"]))
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors of many kinds
        raise EnhanceError(f"{path}: cannot be read as a torch checkpoint ({type(exc).__name__}: {exc})") from exc
    state = _state_dict(loaded)
    try:
        if state is not None:
            model.load_state_dict(state, strict=True)
        elif hasattr(model, "load_official"):
            model.load_official(path)
        else:
            raise EnhanceError(f"{path}: neither an engine checkpoint ({{'model': state_dict}}) nor a state dict")
    except (RuntimeError, ValueError, KeyError) as exc:
        raise EnhanceError(f"{path} does not fit {method} built from configs/{method}/{profile}.yaml"
                           f"{f' variant {variant}' if variant else ''}: {exc}\nFix: pass the --profile / --variant "
                           "the checkpoint was trained with") from exc
    return model.eval(), cfg, path


def build_method_enhancer(method: str, checkpoint: str | os.PathLike | None = None, profile: str = "paper",
                          variant: str | None = None, device: str = "cpu",
                          options: Mapping[str, Any] | None = None):
    """An :class:`~llie_core.evaluation.Enhancer` for a baseline (no checkpoint) or a trained method."""
    from .baselines import build_enhancer, list_enhancers
    from .evaluation import as_enhancer
    from .recipes import available_methods

    if method in list_enhancers():
        if checkpoint is not None:
            raise EnhanceError(f"{method} is a classical baseline: it takes no --checkpoint")
        return build_enhancer(method, **dict(options or {}))
    if method not in available_methods():
        raise EnhanceError(f"unknown method {method!r}; trained methods: {available_methods()}, "
                           f"baselines: {list_enhancers()}")
    if checkpoint is None:
        raise EnhanceError(f"{method} needs --checkpoint (e.g. results/quick/runs/{method}, a run folder, or "
                           f"its <stage>/checkpoints/best.pt)")
    model, cfg, _ = load_model(method, checkpoint, profile, variant)
    model = model.to(device)
    fn = (lambda low: model(low, **options)) if options else model
    return as_enhancer(fn, method, int(cfg["model"].get("pad_multiple", 1) or 1), device)


# ------------------------------------------------------------------------------------------------ enhancing
@dataclass
class EnhanceReport:
    """What :func:`enhance_images` did: written files, and the inputs that failed (with the reason)."""

    written: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)


def _progress(items: Sequence[Any], enabled: bool | None, desc: str) -> Iterable[Any]:
    from .evaluation import progress_enabled

    if not (progress_enabled() if enabled is None else enabled):
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="img")


def enhance_images(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, method: str | None = None,
                   checkpoint: str | os.PathLike | None = None, *, profile: str = "paper", variant: str | None = None,
                   enhancer: Any = None, tile: TileConfig = DEFAULT_TILE, recursive: bool = False,
                   skip_errors: bool = False, progress: bool | None = None, device: str = "cpu",
                   options: Mapping[str, Any] | None = None) -> EnhanceReport:
    """Enhance every image of ``inputs`` into ``out_dir`` as ``<stem>.png`` (same size as the input).

    Give ``method`` (+ ``checkpoint`` for trained methods) or a ready ``enhancer``. An unreadable input raises
    :class:`EnhanceError` naming it, or with ``skip_errors`` is recorded in ``report.failed`` and skipped.
    """
    from data_prep.image_io import ImageReadError, read_image, write_image

    if enhancer is None:
        if method is None:
            raise EnhanceError("give a method (and a checkpoint for trained methods) or an enhancer")
        enhancer = build_method_enhancer(method, checkpoint, profile, variant, device, options)
    files = collect_inputs(inputs, recursive)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = EnhanceReport()
    pad = int(getattr(enhancer, "pad_multiple", 1) or 1)
    for file, name in _progress(list(zip(files, output_names(files))), progress, getattr(enhancer, "name", "enhance")):
        try:
            low = torch.from_numpy(read_image(file))[None]
        except ImageReadError as exc:
            if not skip_errors:
                raise EnhanceError(f"cannot read input {file}: {exc}") from exc
            report.failed[file] = str(exc)
            continue
        with torch.no_grad():
            result = enhance_tiled(enhancer, low, tile, pad)
        report.written.append(write_image(out / name, result[0].clamp(0, 1)))
    return report


# ------------------------------------------------------------------------------------------------ CLI
def _parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    import yaml

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise EnhanceError(f"--option {pair!r}: expected KEY=VALUE")
        options[key] = yaml.safe_load(value)
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llie_core.enhance", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--method", required=True, help="frlie, llflow, jcrnet, iclr, irle, cidnet, or a baseline "
                                                        "(input, he, clahe, lime, zero_dce)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file or run folder (trained methods)")
    parser.add_argument("--profile", default="paper", help="config profile the checkpoint was trained with")
    parser.add_argument("--variant", default=None, help="ablation variant of the config")
    parser.add_argument("--tile-size", type=int, default=DEFAULT_TILE.tile_size, help="tile side in pixels")
    parser.add_argument("--tile-overlap", type=int, default=DEFAULT_TILE.overlap, help="tile overlap in pixels")
    parser.add_argument("--recursive", action="store_true", help="also take images of sub-folders")
    parser.add_argument("--skip-errors", action="store_true", help="skip unreadable inputs, list them at the end")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="keyword argument of the model/baseline call, e.g. luma_blend_input=true")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = enhance_images(args.inputs, args.out, args.method, args.checkpoint, profile=args.profile,
                                variant=args.variant, tile=TileConfig(args.tile_size, args.tile_overlap),
                                recursive=args.recursive, skip_errors=args.skip_errors,
                                progress=False if args.no_progress else None, device=args.device,
                                options=_parse_options(args.option))
    except EnhanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(report.written)} image(s) written to {args.out}")
    for file, reason in report.failed.items():
        print(f"skipped {file}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
