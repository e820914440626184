"""The few helpers every workbook notebook uses: one root, one profile, outputs with provenance.

A notebook's second cell calls :func:`start` with its parameters; tables and figures are written through the
returned :class:`NotebookContext`, which records what was promised, and the last cell calls
:meth:`NotebookContext.check_outputs` so a notebook never "succeeds" with missing outputs.
"""
from __future__ import annotations

import io
import os
import random
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import matplotlib.pyplot as plt
from IPython.display import Image, display

from data_prep.settings import resolve_roots
from data_prep.validate import short_reason
from llie_core.core import paths, provenance
from llie_core.core.profiles import Profile, load_profile
from llie_core.report.artifacts import expected_outputs, output_dataset
from llie_core.report.figure_check import figure_problems
from llie_core.workbook.runner import REUSE_VARIABLE

INLINE_MAX_WIDTH_PX = 1000  # the widest inline figure of a rendered notebook (the saved PNG keeps its dpi)
PRECISION_VARIABLE = "LLIE_PRECISION"  # forces train.precision of every run of the notebook (fp32 | bf16 | auto)
STRICT_FIGURES_VARIABLE = "LLIE_STRICT_FIGURES"  # "1" / "0": a failed figure check raises / warns, in any profile
STRICT_FIGURE_PROFILES = ("smoke",)  # profiles where a figure that fails the figure check raises


@dataclass
class NotebookContext:
    """Where a notebook writes, under which profile; every written file is remembered."""

    name: str
    profile: Profile
    root: Path
    results: Path
    written: list[Path] = field(default_factory=list)
    promised: list[Path] = field(default_factory=list)

    @property
    def profile_name(self) -> str:
        return self.profile.name

    @property
    def tables(self) -> Path:
        return _mkdir(self.results / "tables")

    @property
    def figures(self) -> Path:
        return _mkdir(self.results / "figures")

    @property
    def data_root(self) -> Path | None:
        """The real-data root of this run (``profile.data.root``), ``None`` without real data."""
        return self.profile.data.root

    @property
    def weights_root(self) -> Path | None:
        """Where released weights are looked up (``profile.data.weights_root``)."""
        return self.profile.data.weights_root

    @property
    def settings(self) -> Mapping[str, Any]:
        """This notebook's settings from the profile's ``notebooks:`` section (per-profile values live in the YAML,
        never in a notebook)."""
        return self.profile.notebook(self.name)

    def promise(self, *files: str | os.PathLike) -> None:
        """Declare outputs that :meth:`check_outputs` must find."""
        self.promised.extend(Path(f) for f in files)

    def promise_catalogue(self) -> list[Path]:
        """Promise every output the table/figure catalogue (:mod:`llie_core.report.artifacts`) expects of this
        notebook in this profile. An output drawn from one test set (``qualitative_<dataset>``) is promised only
        when that set is on disk; elsewhere the notebook prints why it is not drawn. Returns the promised paths."""
        files = [self.results / rel for rel in expected_outputs(self.profile_name, {self.name})
                 if (dataset := output_dataset(rel)) is None or not short_reason(dataset, self.profile.data)]
        self.promise(*files)
        return files

    def save_table(self, df, name: str, protocol: str, notes: str = "", extra: dict[str, Any] | None = None
                   ) -> tuple[Path, Path]:
        """Write ``tables/<name>.csv`` and ``<name>.md`` (header: profile, protocol, commit; a missing value is
        "-" in Markdown, empty in the CSV) and a provenance sidecar ``<name>.json``."""
        csv_path, md_path = self.tables / f"{name}.csv", self.tables / f"{name}.md"
        provenance.atomic_write_bytes(csv_path, df.to_csv(index=False).encode())
        record = provenance.run_record(self.profile_name, self.profile.seed, notebook=self.name,
                                       protocol=protocol, notes=notes, **(extra or {}))
        header = (f"# {name}\n\nProfile: `{self.profile_name}` | protocol: {protocol} | "
                  f"commit: `{record['git_commit'][:12]}` | notebook: `{self.name}`\n\n")
        body = df.astype(object).where(df.notna(), None).to_markdown(index=False, missingval="-")  # no "nan"
        text = header + body + (f"\n\n{notes}\n" if notes else "\n")
        provenance.atomic_write_bytes(md_path, text.encode())
        provenance.write_json(self.tables / f"{name}.json", record)
        self.written += [csv_path, md_path]
        return csv_path, md_path

    def save_figure(self, fig, name: str, dpi: int = 110, show: bool = True) -> None:
        """Save ``figures/<name>.png`` at ``dpi``, show the figure inline (``show``), then close it.

        Size rule of the rendered notebooks: the inline copy is a PNG at most ``INLINE_MAX_WIDTH_PX`` pixels wide
        (the saved file keeps ``dpi``), so a rendered notebook carries ~50-250 KB per figure. Returns nothing, so
        no path is echoed into the notebook.

        Before saving, :func:`llie_core.report.figure_check.figure_problems` checks the figure: in the profiles of
        ``STRICT_FIGURE_PROFILES`` a problem raises ``ValueError`` naming the figure and its problems (the smoke run
        is the test of every registered figure); elsewhere the problems are warnings, so a long run never stops for
        a cosmetic reason. ``$LLIE_STRICT_FIGURES`` ``1`` / ``0`` makes every profile raise / warn (``0``: list
        every problem of a run at once)."""
        problems = figure_problems(fig)
        if problems:
            message = f"figure {name!r} fails the figure check: " + "; ".join(problems)
            strict = os.environ.get(STRICT_FIGURES_VARIABLE, "")
            if strict == "1" or (strict != "0" and self.profile_name in STRICT_FIGURE_PROFILES):
                plt.close(fig)
                raise ValueError(message)
            warnings.warn(message, stacklevel=2)
        path = self.figures / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        self.written.append(path)
        if show:
            width_in = fig.get_size_inches()[0]
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", bbox_inches="tight",
                        dpi=min(dpi, INLINE_MAX_WIDTH_PX / max(width_in, 1e-6)))
            display(Image(data=buffer.getvalue()))
        plt.close(fig)

    def check_outputs(self) -> list[Path]:
        """Assert every promised and written file exists and is not empty; return them."""
        expected = list(dict.fromkeys(self.promised + self.written))
        missing = [str(p) for p in expected if not p.is_file() or p.stat().st_size == 0]
        if missing:
            raise AssertionError(f"{self.name}: promised outputs are missing or empty: {missing}")
        return expected


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def start(name: str, profile: str, root: str = "", data_root: str = "", weights_root: str = "") -> NotebookContext:
    """A notebook's entry point: resolve the roots once, load the profile, seed everything, set the threads.

    ``root``: the project root outputs go under (default: :func:`llie_core.core.paths.project_root`); the embedded
    set is cached in ``$LLIE_CACHE_DIR``, else ``<root>/.cache``. ``data_root`` / ``weights_root``: the real-data
    and released-weights roots; when empty, ``$LLIE_DATA_ROOT`` / ``$LLIE_WEIGHTS_ROOT`` are read here (and only
    here, for the notebook), and the weights root defaults to ``<data root>/../weights``. All of them travel inside
    ``ctx.profile.data``; nothing is written to the environment (the workbook runner passes every root as a
    parameter and starts the kernel without those variables). ``$LLIE_PRECISION`` (``fp32`` | ``bf16`` | ``auto``),
    when set, replaces the profile's ``train.precision`` (``LLIE_PRECISION=fp32`` forces fp32 on bf16 hardware).
    ``$LLIE_REUSE_SHIPPED=1`` (the runner's ``--reuse-shipped``) sets ``train.reuse_shipped``: main runs install
    matching shipped weights instead of training. ``profile`` may be a dry-run spec (``paper-dry-run``: results in
    ``results/paper-dry-run``, :mod:`llie_core.core.profiles`).
    """
    project = Path(root).resolve() if root else paths.project_root()
    data, weights = resolve_roots(data_root or None, weights_root or None)
    cfg = load_profile(profile, data_root=data, weights_root=weights, cache_dir=paths.cache_dir(root=project))
    if os.environ.get(PRECISION_VARIABLE):
        cfg = cfg.with_overrides({"train": {"precision": os.environ[PRECISION_VARIABLE]}})
    if os.environ.get(REUSE_VARIABLE) == "1":
        cfg = cfg.with_overrides({"train": {"reuse_shipped": True}})
    _seed_and_threads(cfg)
    return NotebookContext(name=name, profile=cfg, root=project, results=paths.results_dir(profile, project))


def _seed_and_threads(cfg: Profile) -> None:
    import numpy as np
    import torch

    seed = int(cfg.seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if cfg.num_threads:
        torch.set_num_threads(int(cfg.num_threads))
    # Subnormal floats (weights decayed towards 0) take a slow microcode path on x86 CPUs (Zero-DCE's released
    # weights: 35x slower); flushing them to zero changes no result in [0, 1].
    torch.set_flush_denormal(True)
