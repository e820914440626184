"""Enhance your own images with a trained model, an official checkpoint or a classical baseline.

Command line::

    python -m llie_core.workbook.enhance --method frlie --checkpoint results/quick/runs/frlie INPUT... --out DIR
    python -m llie_core.workbook.enhance --method lime photos/ --out enhanced/          # baselines need no checkpoint

``INPUT`` are image files and/or folders (their images, natural order; ``--recursive`` for sub-folders). Every
output is an 8-bit PNG of the input's size in ``--out``: ``<stem>.png``, under the sub-folders the image had in its
input folder (``--recursive``). Names stay unique (:func:`output_names`): images that would share an output name
get the parent folders that tell them apart (``a/x.png``, ``b/x.png``), or their suffix (``x_jpg.png``); an
existing output is never replaced without ``--overwrite``. Images larger than ``--tile-size`` are enhanced tile by
tile (:mod:`llie_core.evaluation.tiling`: overlapping tiles, blended; never resized), so any size works. Unreadable inputs
raise an error naming the file (``--skip-errors``: go on and list them at the end). A progress bar is shown on a
terminal (never under papermill or with ``LLIE_NO_PROGRESS``).

The model is built from the configuration the checkpoint was trained with: when the checkpoint lies in a run
folder of :func:`llie_core.training.recipes.train_method` (``<run>/recipe.json``), that run's config (its profile and
variant); otherwise ``llie_core/configs/<method>/paper.yaml``. ``--profile`` (and ``--variant`` for an ablation
variant) chooses ``configs/<method>/<profile>.yaml`` instead. ``--checkpoint`` takes an engine checkpoint
(``{"model": state_dict, ...}``, e.g. ``runs/<method>/<stage>/checkpoints/best.pt``), a run folder (its last
trained stage's ``best.pt``), a bare state dict, or an official file the model's ``load_official`` reads (loading:
:mod:`llie_core.training.trained`). From Python: :func:`enhance_images`.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import torch
import yaml
from natsort import natsorted

from data_prep.catalogue import IMAGE_EXTENSIONS
from data_prep.image_io import ImageReadError, read_image, write_image
from data_prep.settings import resolve_roots
from llie_core.core.methods import BASELINES, TRAINED_METHODS
from llie_core.core.paths import default_weights_root
from llie_core.evaluation.baselines import WeightsAbsent, build_enhancer, list_enhancers
from llie_core.evaluation.loop import as_enhancer, progress_enabled
from llie_core.evaluation.tiling import TileConfig, enhance_tiled
from llie_core.training.recipes import available_methods
from llie_core.training.trained import DEFAULT_PROFILE, RECIPE, CheckpointError, load_model

DEFAULT_TILE = TileConfig(tile_size=1024, overlap=64)


class EnhanceError(RuntimeError):
    """An input, a checkpoint or a method cannot be used; the message says which and how to fix it (a
    :class:`~llie_core.training.trained.CheckpointError` is re-raised as this error, same message)."""


# ------------------------------------------------------------------------------------------------ inputs
def input_tree(inputs: Iterable[str | os.PathLike], recursive: bool = False) -> dict[Path, PurePath]:
    """Image files named by ``inputs`` (files, or folders of images) -> their path under the input folder they
    were found in (the file name for a file input); natural order within each folder, duplicates removed (the
    first input naming a file wins). Raises :class:`EnhanceError` for a missing path or a folder without images."""
    files: dict[Path, PurePath] = {}
    seen: set[str] = set()  # absolute paths: one file named twice (``a/`` and ``./a/x.png``) is enhanced once

    def add(file: Path, relative: PurePath) -> None:
        if os.path.abspath(file) not in seen:
            seen.add(os.path.abspath(file))
            files[file] = relative

    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found = natsorted((p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS),
                              key=lambda p: str(p.relative_to(path)))
            if not found:
                raise EnhanceError(f"{path}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder"
                                   + ("" if recursive else "; use --recursive for sub-folders"))
            for p in found:
                add(p, p.relative_to(path))
        elif path.is_file():
            add(path, PurePath(path.name))
        else:
            raise EnhanceError(f"{path}: no such file or folder")
    if not files:
        raise EnhanceError("no input images given")
    return files


def collect_inputs(inputs: Iterable[str | os.PathLike], recursive: bool = False) -> list[Path]:
    """The image files of :func:`input_tree`, in order."""
    return list(input_tree(inputs, recursive))


def output_names(files: Sequence[Path], relative: Sequence[PurePath] | None = None) -> list[str]:
    """Unique output names (POSIX relative paths) of ``files``: ``relative`` (their paths under the input folders,
    :func:`input_tree`; default: the file names) with the suffix ``.png``. Images of one folder that share a stem
    keep their suffix (``x_jpg.png``, ``x_png.png``); names that still collide (case-insensitively) take their
    parent folders, one at a time, until they differ (``a/x.png``, ``b/x.png``). The same inputs always give the
    same names; :class:`EnhanceError` when no distinct names exist."""
    relative = [PurePath(f.name) for f in files] if relative is None else list(relative)
    paths = [Path(os.path.abspath(f)) for f in files]
    twins = Counter(str(p.with_suffix("")).casefold() for p in paths)
    stems = [p.stem + (f"_{p.suffix.lstrip('.').lower()}" if twins[str(p.with_suffix("")).casefold()] > 1 else "")
             for p in paths]
    folders = [p.parts[1:-1] for p in paths]        # parent folders, without the anchor
    depth = [len(r.parts) - 1 for r in relative]    # how many of them the name keeps
    while True:
        names = ["/".join([*f[len(f) - d:], f"{s}.png"]) for f, d, s in zip(folders, depth, stems)]
        counts = Counter(n.casefold() for n in names)
        clashing = [i for i, n in enumerate(names) if counts[n.casefold()] > 1]
        if not clashing:
            return names
        growing = [i for i in clashing if depth[i] < len(folders[i])]
        if not growing:
            raise EnhanceError(f"cannot give distinct output names to {[str(files[i]) for i in clashing]}")
        for i in growing:
            depth[i] += 1


# ------------------------------------------------------------------------------------------------ models
def build_method_enhancer(method: str, checkpoint: str | os.PathLike | None = None, profile: str | None = None,
                          variant: str | None = None, device: str = "cpu",
                          options: Mapping[str, Any] | None = None, weights_root: str | os.PathLike | None = None):
    """An :class:`~llie_core.evaluation.loop.Enhancer` for a baseline (no checkpoint; released weights, e.g.
    Zero-DCE's, under ``weights_root``) or a trained method (:func:`llie_core.training.trained.load_model`)."""
    if method in list_enhancers():
        if checkpoint is not None:
            raise EnhanceError(f"{method} is a classical baseline: it takes no --checkpoint")
        try:
            return build_enhancer(method, weights_root, **dict(options or {}))
        except WeightsAbsent as exc:
            raise EnhanceError(str(exc)) from exc
    if method not in available_methods():
        raise EnhanceError(f"unknown method {method!r}; trained methods: {available_methods()}, "
                           f"baselines: {list_enhancers()}")
    if checkpoint is None:
        raise EnhanceError(f"{method} needs --checkpoint (e.g. results/quick/runs/{method}, a run folder, or "
                           f"its <stage>/checkpoints/best.pt)")
    try:
        model, cfg, _ = load_model(method, checkpoint, profile, variant)
    except CheckpointError as exc:
        raise EnhanceError(str(exc)) from exc
    model = model.to(device)
    fn = (lambda low: model(low, **options)) if options else model
    return as_enhancer(fn, method, int(cfg["model"].get("pad_multiple", 1) or 1), device)


# ------------------------------------------------------------------------------------------------ enhancing
@dataclass
class EnhanceReport:
    """What :func:`enhance_images` did: written files, and the inputs that failed (with the reason)."""

    written: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)
    replaced: list[Path] = field(default_factory=list)  # outputs that existed before (``overwrite=True``)


def _progress(items: Sequence[Any], enabled: bool | None, desc: str) -> Iterable[Any]:
    if not (progress_enabled() if enabled is None else enabled):
        return items
    from tqdm.auto import tqdm  # only with a bar shown: tqdm.auto probes for a notebook front end on import

    return tqdm(items, desc=desc, unit="img")


def enhance_images(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, method: str | None = None,
                   checkpoint: str | os.PathLike | None = None, *, profile: str | None = None,
                   variant: str | None = None, enhancer: Any = None, tile: TileConfig = DEFAULT_TILE,
                   recursive: bool = False, skip_errors: bool = False, progress: bool | None = None,
                   device: str = "cpu", options: Mapping[str, Any] | None = None,
                   overwrite: bool = False, weights_root: str | os.PathLike | None = None) -> EnhanceReport:
    """Enhance every image of ``inputs`` into ``out_dir`` under its :func:`output_names` name (same size as the
    input).

    Give ``method`` (+ ``checkpoint`` for trained methods; ``profile=None``: the config of the checkpoint's run,
    :func:`llie_core.training.trained.model_config`; baselines with released weights: under ``weights_root``) or
    a ready ``enhancer``. An unreadable input raises :class:`EnhanceError` naming it, or
    with ``skip_errors`` is recorded in ``report.failed`` and skipped. Existing outputs raise
    :class:`EnhanceError` before anything is enhanced, unless ``overwrite`` (then listed in ``report.replaced``).
    """
    tree = input_tree(inputs, recursive)
    files = list(tree)
    targets = [Path(out_dir) / name for name in output_names(files, list(tree.values()))]
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise EnhanceError(f"{len(existing)} output(s) exist already, e.g. {existing[0]}: choose another --out or "
                           "pass --overwrite")
    if enhancer is None:
        if method is None:
            raise EnhanceError("give a method (and a checkpoint for trained methods) or an enhancer")
        enhancer = build_method_enhancer(method, checkpoint, profile, variant, device, options, weights_root)
    report = EnhanceReport()
    pad = int(getattr(enhancer, "pad_multiple", 1) or 1)
    for file, target in _progress(list(zip(files, targets)), progress, getattr(enhancer, "name", "enhance")):
        try:
            low = torch.from_numpy(read_image(file))[None]
        except ImageReadError as exc:
            if not skip_errors:
                raise EnhanceError(f"cannot read input {file}: {exc}") from exc
            report.failed[file] = str(exc)
            continue
        with torch.no_grad():
            result = enhance_tiled(enhancer, low, tile, pad)
        target.parent.mkdir(parents=True, exist_ok=True)
        report.written.append(write_image(target, result[0].clamp(0, 1)))
        if target in existing:
            report.replaced.append(target)
    return report


# ------------------------------------------------------------------------------------------------ CLI
def _parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise EnhanceError(f"--option {pair!r}: expected KEY=VALUE")
        options[key] = yaml.safe_load(value)
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llie_core.workbook.enhance", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--method", required=True, help=f"{', '.join(TRAINED_METHODS)}, or a baseline "
                                                        f"({', '.join(BASELINES)})")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file or run folder (trained methods)")
    parser.add_argument("--profile", default=None, help="config profile the checkpoint was trained with (default: "
                        f"the one of its run folder's {RECIPE}, else {DEFAULT_PROFILE})")
    parser.add_argument("--variant", default=None, help="ablation variant of the config")
    parser.add_argument("--tile-size", type=int, default=DEFAULT_TILE.tile_size, help="tile side in pixels")
    parser.add_argument("--tile-overlap", type=int, default=DEFAULT_TILE.overlap, help="tile overlap in pixels")
    parser.add_argument("--recursive", action="store_true", help="also take images of sub-folders")
    parser.add_argument("--skip-errors", action="store_true", help="skip unreadable inputs, list them at the end")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that exist already in --out")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="keyword argument of the model/baseline call, e.g. luma_blend_input=true")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--data-root", default=None, help="real data root (default: $LLIE_DATA_ROOT; locates the "
                        "released weights when --weights-root and $LLIE_WEIGHTS_ROOT are unset)")
    parser.add_argument("--weights-root", default=None,
                        help="released weights, e.g. Zero-DCE's (default: $LLIE_WEIGHTS_ROOT, else "
                             "<data root>/../weights)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_root, weights_root = resolve_roots(args.data_root, args.weights_root)  # the entry point reads the env
    weights_root = weights_root or default_weights_root(data_root)
    try:
        report = enhance_images(args.inputs, args.out, args.method, args.checkpoint, profile=args.profile,
                                variant=args.variant, tile=TileConfig(args.tile_size, args.tile_overlap),
                                recursive=args.recursive, skip_errors=args.skip_errors,
                                progress=False if args.no_progress else None, device=args.device,
                                options=_parse_options(args.option), overwrite=args.overwrite,
                                weights_root=weights_root)
    except EnhanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(report.written)} image(s) written to {args.out}"
          + (f" ({len(report.replaced)} existing file(s) replaced)" if report.replaced else ""))
    for file, reason in report.failed.items():
        print(f"skipped {file}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
