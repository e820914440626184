"""Enhance your own images with a trained model, an official checkpoint or a classical baseline.

Command line::

    python -m llie_core.workbook.enhance --method frlie --checkpoint results/quick/runs/frlie INPUT... --out DIR
    python -m llie_core.workbook.enhance --method lime photos/ --out enhanced/          # baselines need no checkpoint

``INPUT`` are image files and/or folders (their images, natural order; ``--recursive`` for sub-folders). Every
output is an 8-bit PNG of the input's size in ``--out``: ``<stem>.png``, under the sub-folders the image had in its
input folder (``--recursive``). Names stay unique (:func:`output_names`): images that would share an output name
get the parent folders that tell them apart (``a/x.png``, ``b/x.png``), or their suffix (``x_jpg.png``); an
existing output is never replaced without ``--overwrite``, and an input is never replaced at all: ``--out`` may not be
a folder holding input images. ``--out`` is created and checked to be writable before anything is enhanced.
Outputs are written atomically (a temporary file, then a rename: an interrupted run never leaves a half image) and
a run that stopped midway continues when the same command is run again (the outputs it finished are kept, the
rest are enhanced; a journal ``.llie-enhance.json`` in ``--out`` records them until the run completes). Images
larger than ``--tile-size`` are enhanced tile by tile (:mod:`llie_core.evaluation.tiling`: overlapping tiles,
blended; never resized) when the method may be tiled (``Enhancer.tileable``); methods that use whole-image
statistics (HE, CLAHE, LIME, and trained networks unless their class declares ``tileable = True``) always run on
the whole image, so any size gives the untiled result. Unreadable inputs raise an error naming the file
(``--skip-errors``: go on and list them at the end). A progress bar is shown on a terminal (never under papermill or
with ``LLIE_NO_PROGRESS``).

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
import json
import os
import sys
import tempfile
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
from llie_core.evaluation.tiling import TileConfig, choose_tile_size, enhance_tiled
from llie_core.training.recipes import available_methods
from llie_core.training.shipped import SHIPPED_PROFILE, shipped_runs_dir
from llie_core.training.trained import DEFAULT_PROFILE, RECIPE, CheckpointError, load_model

DEFAULT_TILE = TileConfig(tile_size=1024, overlap=64)
JOURNAL = ".llie-enhance.json"  # in --out while a run is unfinished (see the module docstring)


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
    Zero-DCE's, under ``weights_root``) or a trained method (:func:`llie_core.training.trained.load_model`); a trained
    method without ``checkpoint`` uses the model shipped in ``checkpoints/quick/<method>``
    (:mod:`llie_core.training.shipped`, its ``MODEL_CARD.md`` says what it is)."""
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
    if checkpoint is None:  # the model shipped with the repository (checkpoints/quick/<method>), if any
        shipped = shipped_runs_dir(SHIPPED_PROFILE) / method
        if not (shipped / RECIPE).is_file():
            raise EnhanceError(f"{method} needs --checkpoint (e.g. results/quick/runs/{method}, a run folder, or "
                               f"its <stage>/checkpoints/best.pt); no shipped model in {shipped} either")
        checkpoint = shipped
    try:
        model, cfg, _ = load_model(method, checkpoint, profile, variant)
    except CheckpointError as exc:
        raise EnhanceError(str(exc)) from exc
    model = model.to(device).eval()
    fn = (lambda low: model(low, **options)) if options else model
    return as_enhancer(fn, method, int(cfg["model"].get("pad_multiple", 1) or 1), device,
                       tileable=bool(getattr(model, "tileable", False)), min_side=getattr(model, "min_side", 1))


# ------------------------------------------------------------------------------------------------ enhancing
@dataclass
class EnhanceReport:
    """What :func:`enhance_images` did: written files, and the inputs that failed (with the reason)."""

    written: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)
    replaced: list[Path] = field(default_factory=list)  # outputs that existed before (``overwrite=True``)
    resumed: list[Path] = field(default_factory=list)   # outputs an interrupted run of the same command had written


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
    :class:`EnhanceError` before anything is enhanced, unless ``overwrite`` (then listed in ``report.replaced``)
    or they were written by an interrupted run of the same call (then kept, listed in ``report.resumed``, and the
    run continues with the rest). ``out_dir`` may not hold input images (:class:`EnhanceError`, even with
    ``overwrite``), and must be writable (checked before anything is enhanced).
    """
    inputs = list(inputs)
    tree = input_tree(inputs, recursive)
    files = list(tree)
    out = Path(out_dir).expanduser()
    targets = [out / name for name in output_names(files, list(tree.values()))]
    _refuse_inputs_as_outputs(inputs, files, out, targets)
    _prepare_out(out)
    existing = [t for t in targets if t.exists()]
    if enhancer is None and method is None:
        raise EnhanceError("give a method (and a checkpoint for trained methods) or an enhancer")
    run_key = _run_key(files, targets, method, checkpoint, profile, variant, enhancer, tile, options)
    journal = out / JOURNAL
    finished = set(_journal_done(journal, run_key))  # outputs an interrupted run of this same command wrote
    resumed = [t for t in existing if t.relative_to(out).as_posix() in finished]
    clashing = [t for t in existing if t not in resumed]
    if clashing and not overwrite:
        raise EnhanceError(f"{len(clashing)} output(s) exist already, e.g. {clashing[0]}: choose another --out or "
                           "pass --overwrite")
    if enhancer is None:
        enhancer = build_method_enhancer(method, checkpoint, profile, variant, device, options, weights_root)
    pad = int(getattr(enhancer, "pad_multiple", 1) or 1)
    try:
        choose_tile_size(tile, pad)
    except ValueError as exc:
        raise EnhanceError(f"{exc} (--tile-size / --tile-overlap)") from exc
    report = EnhanceReport(resumed=list(resumed))
    done = sorted(finished & {t.relative_to(out).as_posix() for t in resumed})
    _write_journal(journal, run_key, done)
    todo = [(f, t) for f, t in zip(files, targets) if t not in resumed]
    for file, target in _progress(todo, progress, getattr(enhancer, "name", "enhance")):
        try:
            low = torch.from_numpy(read_image(file))[None]
        except ImageReadError as exc:
            if not skip_errors:
                raise EnhanceError(f"cannot read input {file}: {exc}") from exc
            report.failed[file] = str(exc)
            continue
        with torch.no_grad():
            result = enhance_tiled(enhancer, low, tile, pad)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            report.written.append(write_image(target, result[0].clamp(0, 1)))  # atomic: temporary file + rename
        except OSError as exc:
            raise EnhanceError(f"cannot write {target} ({exc.strerror or exc}); {len(report.written)} output(s) "
                               "written so far: run the same command again to continue") from exc
        if target in existing:
            report.replaced.append(target)
        done.append(target.relative_to(out).as_posix())
        _write_journal(journal, run_key, done)
    journal.unlink(missing_ok=True)  # complete: a later run with the same outputs needs --overwrite again
    return report


def _refuse_inputs_as_outputs(inputs: Sequence[str | os.PathLike], files: Sequence[Path], out: Path,
                              targets: Sequence[Path]) -> None:
    """:class:`EnhanceError` when ``out`` is a folder that holds input images (an input folder, or the folder of
    an input file) or an output would be an input: the originals must never be replaced, ``--overwrite`` or not."""
    real_out = os.path.realpath(out)
    folders = {os.path.realpath(p) for p in (Path(i).expanduser() for i in inputs) if p.is_dir()}
    folders |= {os.path.realpath(f.parent) for f in files}
    real_inputs = {os.path.realpath(f) for f in files}
    if real_out in folders or any(os.path.realpath(t) in real_inputs for t in targets):
        raise EnhanceError(f"--out {out} is a folder of the input images: enhancing into it could replace the "
                           "originals; choose another --out (e.g. a new folder beside it)")


def _prepare_out(out: Path) -> None:
    """Create ``out`` and check that files can be written in it, before anything is enhanced."""
    if out.exists() and not out.is_dir():
        raise EnhanceError(f"--out {out} is a file, not a folder; choose a folder (it is created when absent)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".llie-write-test-"):
            pass
    except OSError as exc:
        raise EnhanceError(f"--out {out} cannot be written ({type(exc).__name__}: {exc.strerror or exc}); "
                           "choose a folder you can write to") from exc


def _run_key(files: Sequence[Path], targets: Sequence[Path], method: str | None, checkpoint: Any,
             profile: str | None, variant: str | None, enhancer: Any, tile: TileConfig,
             options: Mapping[str, Any] | None) -> str:
    """What makes two runs the same command: inputs, outputs, method (or the enhancer's name), checkpoint,
    config and tiling."""
    return json.dumps({"inputs": [os.path.abspath(f) for f in files], "outputs": [os.path.abspath(t) for t in targets],
                       "method": method if enhancer is None else getattr(enhancer, "name", repr(enhancer)),
                       "checkpoint": os.path.abspath(checkpoint) if checkpoint is not None else None,
                       "profile": profile, "variant": variant, "tile": repr(tile),
                       "options": dict(options or {})}, sort_keys=True, default=str)


def _journal_done(journal: Path, run_key: str) -> list[str]:
    """The outputs (relative names) an unfinished run of the same command recorded in ``journal``."""
    try:
        record = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return list(record.get("done", [])) if record.get("key") == run_key else []


def _write_journal(journal: Path, run_key: str, done: Sequence[str]) -> None:
    tmp = journal.with_name(journal.name + ".tmp")
    tmp.write_text(json.dumps({"key": run_key, "done": list(done)}), encoding="utf-8")
    os.replace(tmp, journal)


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
    parser.add_argument("--tile-size", type=int, default=DEFAULT_TILE.tile_size,
                        help="tile side in pixels (> 2 x overlap)")
    parser.add_argument("--tile-overlap", type=int, default=DEFAULT_TILE.overlap,
                        help="tile overlap in pixels (>= 0, under half the tile)")
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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        tile = TileConfig(args.tile_size, args.tile_overlap)
    except ValueError as exc:
        parser.error(f"--tile-size {args.tile_size} / --tile-overlap {args.tile_overlap}: {exc}")
    data_root, weights_root = resolve_roots(args.data_root, args.weights_root)  # the entry point reads the env
    weights_root = weights_root or default_weights_root(data_root)
    try:
        report = enhance_images(args.inputs, args.out, args.method, args.checkpoint, profile=args.profile,
                                variant=args.variant, tile=tile,
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
