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
trained stage's ``best.pt``), a bare state dict, or an official file the model's ``load_official`` reads. From
Python: :func:`enhance_images`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import torch
from torch import Tensor, nn

from llie_core.evaluation.tiling import TileConfig, enhance_tiled

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_TILE = TileConfig(tile_size=1024, overlap=64)
DEFAULT_PROFILE = "paper"  # config profile of a checkpoint outside a run folder (no recipe.json)
RECIPE = "recipe.json"     # written by llie_core.training.recipes.train_method in every run folder


class EnhanceError(RuntimeError):
    """An input, a checkpoint or a method cannot be used; the message says which and how to fix it."""


# ------------------------------------------------------------------------------------------------ inputs
def input_tree(inputs: Iterable[str | os.PathLike], recursive: bool = False) -> dict[Path, PurePath]:
    """Image files named by ``inputs`` (files, or folders of images) -> their path under the input folder they
    were found in (the file name for a file input); natural order within each folder, duplicates removed (the
    first input naming a file wins). Raises :class:`EnhanceError` for a missing path or a folder without images."""
    from natsort import natsorted

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
            found = natsorted((p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                              key=lambda p: str(p.relative_to(path)))
            if not found:
                raise EnhanceError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder"
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


def find_recipe(checkpoint: str | os.PathLike) -> dict[str, Any] | None:
    """The ``recipe.json`` of the run a checkpoint belongs to (the run folder itself, or up to two folders above
    a checkpoint file: ``<run>/<stage>/checkpoints/best.pt``), or ``None`` outside a run folder."""
    path = Path(checkpoint).expanduser()
    start = path if path.is_dir() else path.parent
    for folder in (start, *list(start.parents)[:2]):
        if (folder / RECIPE).is_file():
            try:
                return json.loads((folder / RECIPE).read_text(encoding="utf-8"))
            except ValueError as exc:
                raise EnhanceError(f"{folder / RECIPE}: not valid JSON ({exc})") from exc
    return None


def model_config(method: str, checkpoint: str | os.PathLike, profile: str | None = None,
                 variant: str | None = None) -> tuple[dict[str, Any], str]:
    """``(config, where it comes from)`` to build ``method`` for ``checkpoint``: ``configs/<method>/<profile>.yaml``
    for an explicit ``profile``; else the config of the checkpoint's run (``recipe.json``; with another
    ``variant``: that variant of the run's profile); else the ``paper`` profile's."""
    from llie_core.training.recipes import load_method_config

    recipe = find_recipe(checkpoint)
    if recipe is not None and recipe.get("method", method) != method:
        raise EnhanceError(f"{checkpoint} is a {recipe['method']} run ({RECIPE}), not a {method} checkpoint")
    if profile is None and recipe is not None:
        if variant in (None, recipe.get("variant")) and recipe.get("config"):
            run_variant = f" variant {recipe['variant']}" if recipe.get("variant") else ""
            return dict(recipe["config"]), f"its run's {RECIPE} (profile {recipe.get('profile')}{run_variant})"
        profile = recipe.get("profile")
    profile = profile or DEFAULT_PROFILE
    return load_method_config(method, profile, variant), (f"configs/{method}/{profile}.yaml"
                                                          + (f" variant {variant}" if variant else ""))


def load_model(method: str, checkpoint: str | os.PathLike, profile: str | None = None,
               variant: str | None = None) -> tuple[nn.Module, dict[str, Any], Path]:
    """``(model in eval mode, its config, the checkpoint file used)`` for a trained method; the config as
    :func:`model_config` chooses it (``profile=None``: the run's own, else ``paper``)."""
    from llie_core.models import build_model

    cfg, source = model_config(method, checkpoint, profile, variant)
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
        raise EnhanceError(f"{path} does not fit {method} built from {source}: {exc}\nFix: pass the --profile / "
                           "--variant the checkpoint was trained with") from exc
    return model.eval(), cfg, path


def build_method_enhancer(method: str, checkpoint: str | os.PathLike | None = None, profile: str | None = None,
                          variant: str | None = None, device: str = "cpu",
                          options: Mapping[str, Any] | None = None):
    """An :class:`~llie_core.evaluation.loop.Enhancer` for a baseline (no checkpoint) or a trained method."""
    from llie_core.evaluation.baselines import build_enhancer, list_enhancers
    from llie_core.evaluation.loop import as_enhancer
    from llie_core.training.recipes import available_methods

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
    replaced: list[Path] = field(default_factory=list)  # outputs that existed before (``overwrite=True``)


def _progress(items: Sequence[Any], enabled: bool | None, desc: str) -> Iterable[Any]:
    from llie_core.evaluation.loop import progress_enabled

    if not (progress_enabled() if enabled is None else enabled):
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="img")


def enhance_images(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, method: str | None = None,
                   checkpoint: str | os.PathLike | None = None, *, profile: str | None = None,
                   variant: str | None = None, enhancer: Any = None, tile: TileConfig = DEFAULT_TILE,
                   recursive: bool = False, skip_errors: bool = False, progress: bool | None = None,
                   device: str = "cpu", options: Mapping[str, Any] | None = None,
                   overwrite: bool = False) -> EnhanceReport:
    """Enhance every image of ``inputs`` into ``out_dir`` under its :func:`output_names` name (same size as the
    input).

    Give ``method`` (+ ``checkpoint`` for trained methods; ``profile=None``: the config of the checkpoint's run,
    :func:`model_config`) or a ready ``enhancer``. An unreadable input raises :class:`EnhanceError` naming it, or
    with ``skip_errors`` is recorded in ``report.failed`` and skipped. Existing outputs raise
    :class:`EnhanceError` before anything is enhanced, unless ``overwrite`` (then listed in ``report.replaced``).
    """
    from data_prep.image_io import ImageReadError, read_image, write_image

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
        enhancer = build_method_enhancer(method, checkpoint, profile, variant, device, options)
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
    import yaml

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
    parser.add_argument("--method", required=True, help="frlie, llflow, jcrnet, iclr, irle, cidnet, or a baseline "
                                                        "(input, he, clahe, lime, zero_dce)")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = enhance_images(args.inputs, args.out, args.method, args.checkpoint, profile=args.profile,
                                variant=args.variant, tile=TileConfig(args.tile_size, args.tile_overlap),
                                recursive=args.recursive, skip_errors=args.skip_errors,
                                progress=False if args.no_progress else None, device=args.device,
                                options=_parse_options(args.option), overwrite=args.overwrite)
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
