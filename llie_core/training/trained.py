"""Load a trained method: its checkpoint (a file or a run folder) and the config it was trained with.

A run folder of :func:`llie_core.training.recipes.train_method` (``runs/<method>[-variant][-tag]``) holds
``recipe.json`` (method, profile, variant and the whole config) and ``<stage>/checkpoints/{best,last}.pt``. The model
is built from the config the checkpoint was trained with (:func:`model_config`): that run's ``recipe.json`` when the
checkpoint lies in a run folder, else ``llie_core/configs/<method>/<profile>.yaml`` (default profile ``paper``).
A checkpoint is an engine checkpoint (``{"model": state_dict, ...}``), a bare state dict (``module.`` prefixes of
DDP removed) or an official file the model's ``load_official`` reads.

:func:`load_model` and :func:`model_config` raise :class:`CheckpointError` (a checkpoint, a run record or a config
that cannot be used; the message names the file and says how to fix it, and never advises loading a file
unsafely); :func:`load_trained` raises :class:`NoTrainedRun`
when a method's run did not finish or left no usable checkpoint.
"""
from __future__ import annotations

import json
import os
import pickle
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from llie_core.core.methods import display_name
from llie_core.evaluation.loop import Enhancer, as_enhancer
from llie_core.evaluation.suite import saved_images_dir
from llie_core.models import build_model
from llie_core.training.recipes import load_method_config, scores_dir

DEFAULT_PROFILE = "paper"  # config profile of a checkpoint outside a run folder (no recipe.json)
RECIPE = "recipe.json"     # written by llie_core.training.recipes.train_method in every run folder


class CheckpointError(RuntimeError):
    """A checkpoint, its run's ``recipe.json`` or the config to build its model cannot be used; the message says
    which and how to fix it."""


class NoTrainedRun(FileNotFoundError):
    """A method has no finished run to load (its notebook has not run in this profile)."""


# ------------------------------------------------------------------------------------------------ checkpoints
def resolve_checkpoint(checkpoint: str | os.PathLike, stages: Sequence[str] = ()) -> Path:
    """A checkpoint file, or the newest usable file of a run folder: ``<run>/<stage>/checkpoints/best.pt``
    (last trained stage first, then ``last.pt``), or ``<folder>/checkpoints/best.pt``."""
    path = Path(checkpoint).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {path}: no such file or folder")
    candidates = [path / s / "checkpoints" / f for s in reversed(list(stages)) for f in ("best.pt", "last.pt")]
    candidates += [path / "checkpoints" / "best.pt", path / "checkpoints" / "last.pt"]
    for c in candidates:
        if c.is_file():
            return c
    raise CheckpointError(f"checkpoint folder {path} holds no checkpoints/best.pt or last.pt "
                          f"(looked in the stages {list(stages)})")


def checkpoint_candidates(checkpoint: str | os.PathLike, stages: Sequence[str] = ()) -> list[Path]:
    """Every existing file :func:`resolve_checkpoint` may choose, best first (a file: itself alone)."""
    path = Path(checkpoint).expanduser()
    first = resolve_checkpoint(path, stages)
    if path.is_file():
        return [first]
    files = [path / s / "checkpoints" / f for s in reversed(list(stages)) for f in ("best.pt", "last.pt")]
    files += [path / "checkpoints" / "best.pt", path / "checkpoints" / "last.pt"]
    return [f for f in dict.fromkeys(files) if f.is_file()]


def read_checkpoint(path: str | os.PathLike) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; :class:`CheckpointError` naming the file and what is
    wrong with it (empty, truncated, not a torch file, or Python objects a safe load refuses) otherwise."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise CheckpointError(f"{path}: cannot be read as a torch checkpoint (the file is empty: an interrupted "
                                  "save, copy or download?)")
        return torch.load(path, map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except Exception as exc:  # pickle, zip and EOF errors of many kinds
        raise CheckpointError(f"{path}: cannot be read as a torch checkpoint ({_unreadable_reason(exc)})") from exc


def _unreadable_reason(exc: BaseException) -> str:
    """Why torch could not load a file, in our words: torch's own message may advise ``weights_only=False``, which
    would run whatever code the file holds, so it is never passed on."""
    text = str(exc)
    if "weights_only" in text or "Weights only load failed" in text or isinstance(exc, pickle.UnpicklingError) and (
            "global" in text.lower()):
        return ("it holds Python objects other than tensors and plain containers; such files are not loaded, "
                "since unpickling them could run arbitrary code. Use a weights file: an engine checkpoint "
                "({'model': state_dict}) or a state dict")
    first = text.strip().splitlines()[0][:200] if text.strip() else ""
    return ("truncated, damaged or not a torch file: an interrupted save, copy or download? "
            f"[{type(exc).__name__}" + (f": {first}]" if first else "]"))


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
                raise CheckpointError(f"{folder / RECIPE}: not valid JSON ({exc})") from exc
    return None


def model_config(method: str, checkpoint: str | os.PathLike, profile: str | None = None,
                 variant: str | None = None) -> tuple[dict[str, Any], str]:
    """``(config, where it comes from)`` to build ``method`` for ``checkpoint``: ``configs/<method>/<profile>.yaml``
    for an explicit ``profile``; else the config of the checkpoint's run (``recipe.json``; with another
    ``variant``: that variant of the run's profile); else the ``paper`` profile's."""
    recipe = find_recipe(checkpoint)
    if recipe is not None and recipe.get("method", method) != method:
        raise CheckpointError(f"{checkpoint} is a {recipe['method']} run ({RECIPE}), not a {method} checkpoint")
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
    :func:`model_config` chooses it (``profile=None``: the run's own, else ``paper``). Raises
    :class:`CheckpointError` for a file torch cannot read or weights that do not fit the config."""
    cfg, source = model_config(method, checkpoint, profile, variant)
    path, loaded = _read_first_usable(checkpoint_candidates(checkpoint, [s for s, spec in cfg["stages"].items()
                                                                        if spec]))
    model = build_model(dict(cfg["model"]))
    state = _state_dict(loaded)
    if state is not None and not _same_network(model, state):
        if hasattr(model, "load_official"):
            try:
                model.load_official(path)
                return model.eval(), cfg, path
            except Exception:  # not an official file of this method either: the advice below
                pass
        raise CheckpointError(_other_method_message(method, path, model, state, loaded))
    try:
        if state is not None:
            model.load_state_dict(state, strict=True)
        elif hasattr(model, "load_official"):
            model.load_official(path)
        else:
            raise CheckpointError(f"{path}: neither an engine checkpoint ({{'model': state_dict}}) nor a state dict")
    except (RuntimeError, ValueError, KeyError) as exc:  # (the CheckpointError above too: message kept as it was)
        detail = str(exc) if len(str(exc)) <= 400 else str(exc)[:400] + " ..."
        raise CheckpointError(f"{path} does not fit {method} built from {source}: {detail}\nFix: pass the --profile / "
                              "--variant the checkpoint was trained with") from exc
    return model.eval(), cfg, path


def _read_first_usable(files: Sequence[Path]) -> tuple[Path, Any]:
    """The first of ``files`` that can be read (:func:`read_checkpoint`); a broken one (e.g. a truncated
    ``best.pt``) is named in a warning and the next is used; :class:`CheckpointError` naming each when none can."""
    errors = []
    for file in files:
        try:
            loaded = read_checkpoint(file)
        except CheckpointError as exc:
            errors.append(exc)
            continue
        if errors:
            warnings.warn(f"{'; '.join(str(e) for e in errors)}; using {file} instead (delete or replace the broken "
                          "file)", UserWarning, stacklevel=3)
        return file, loaded
    if len(errors) == 1:
        raise errors[0]
    raise CheckpointError("no checkpoint of the run can be read: " + "; ".join(str(e) for e in errors)) from errors[0]


def _same_network(model: nn.Module, state: Mapping[str, Tensor]) -> bool:
    """Whether ``state`` holds (at least half of) ``model``'s weight names: the same architecture, maybe sized
    differently; otherwise it is another network's."""
    names = set(model.state_dict())
    return bool(names) and len(names & set(state)) >= 0.5 * len(names)


def _other_method_message(method: str, path: Path, model: nn.Module, state: Mapping[str, Tensor],
                          loaded: Any) -> str:
    """A short error for the weights of another network (no list of hundreds of keys)."""
    names = set(model.state_dict())
    config = loaded.get("config") if isinstance(loaded, Mapping) else None
    trained_as = ""
    if isinstance(config, Mapping) and isinstance(config.get("model"), Mapping) and config["model"].get("type"):
        trained_as = f"; its config says it is a {config['model']['type']} model"
    example = ", ".join(repr(k) for k in list(state)[:3])
    return (f"{path} is not a {method} checkpoint: only {len(names & set(state))} of its {len(state)} weight names "
            f"match the {len(names)} of {method} (it has e.g. {example}){trained_as}. It looks like another "
            f"method's weights: check --method (the method it was trained for)")


# ------------------------------------------------------------------------------------------------ runs
@dataclass
class TrainedModel:
    """A method's trained network loaded from its run: the model (eval mode) and where it came from."""

    method: str
    model: nn.Module
    pad_multiple: int
    run_dir: Path
    checkpoint: Path

    def enhancer(self, name: str | None = None) -> Enhancer:
        """The model as an :class:`~llie_core.evaluation.loop.Enhancer` named ``name`` (default: the method's
        display name, :func:`llie_core.core.methods.display_name`)."""
        return as_enhancer(self.model, name or display_name(self.method), self.pad_multiple)

    def scored_images_dir(self, dataset: str) -> Path:
        """Where the main run's evaluation saved its scored outputs on ``dataset`` (``evaluate_suite``'s
        ``save_images``, enhancer named after the method), whether or not it did."""
        return saved_images_dir(scores_dir(self.run_dir, self.model), self.method, dataset)


def load_trained(method: str, profile: str, runs_dir: str | os.PathLike, variant: str | None = None,
                 tag: str | None = None) -> TrainedModel:
    """Build ``method`` from its config and load the weights of its last trained stage (``best.pt``, else
    ``last.pt``) from ``runs_dir/<method>[-variant][-tag]``. Raises :class:`NoTrainedRun` when the run did not
    finish (no ``recipe.json``) or left no usable checkpoint (the :class:`CheckpointError` is its cause)."""
    run_dir = Path(runs_dir) / "-".join(filter(None, (method, variant, tag)))
    if not (run_dir / RECIPE).is_file():
        raise NoTrainedRun(f"{method}: no finished run in {run_dir} ({RECIPE} missing); run its notebook first")
    try:
        model, cfg, path = load_model(method, run_dir, profile, variant)
    except CheckpointError as exc:
        raise NoTrainedRun(f"{method}: {exc}") from exc
    return TrainedModel(method, model, int(cfg["model"].get("pad_multiple", 1) or 1), run_dir, path)
