"""Run the numbered notebooks of the workbook headlessly with papermill.

``python -m llie_core.workbook.runner run --profile smoke|quick|paper [--only NAME ...]`` executes
``notebooks/NN_*.ipynb`` in order into ``results/<profile>/notebooks/``, passing the profile and the root paths
(resolved once here: ``--data-root`` / ``--weights-root``, else ``$LLIE_DATA_ROOT`` / ``$LLIE_WEIGHTS_ROOT``) as
parameters, with a named Jupyter kernel started with ``LLIE_NO_PROGRESS=1`` in its environment. It stops at the
first failure and says which notebook and cell failed, and writes ``results/<profile>/manifest.json`` (git
commit at the start of the run and of each notebook, package versions, start/end, duration per notebook,
checksums of the data used, the embedded set included).

``--dry-run`` runs the profile's dry run (:mod:`llie_core.core.profiles`: every training stage capped at 2
iterations with its schedule scaled, 1 image per test set, 1 seed) into ``results/<profile>-dry-run/``, never into
``results/<profile>``: the notebooks get ``profile=<profile>-dry-run`` and load that profile (same recipes, widths,
patch and batch sizes, losses, schedule shapes; ``dry_run: true`` in every training record). ``make paper-dry-run``
executes the GPU path of the ``paper`` profile end to end on a CPU.

``--reuse-shipped`` (or ``LLIE_REUSE_SHIPPED=1``) lets each method's main run install the shipped weights
(``checkpoints/<profile>/<method>``) instead of training, when their recipe and data checksums match exactly
(:func:`llie_core.training.recipes.train_method`); the notebooks' kernel gets ``LLIE_REUSE_SHIPPED=1`` and
:func:`llie_core.workbook.context.start` sets ``train.reuse_shipped`` in their profile. Default: every run trains.
``python -m llie_core.workbook status --profile P`` lists the state of the datasets that profile uses (exit 1 when
one of them is present but invalid).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from data_prep.catalogue import get_spec
from data_prep.settings import DataSettings, resolve_roots
from data_prep.synthetic import synthetic_root
from data_prep.validate import check_dataset, format_status, list_images, list_pairs, status_table
from llie_core.core import paths, provenance
from llie_core.core.profiles import PROFILE_NAMES, Profile, dry_run_name, load_profile

KERNEL_NAME = "llie-workbook"
REUSE_VARIABLE = "LLIE_REUSE_SHIPPED"  # "1": main runs reuse matching shipped weights (read by context.start)
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


class NotebookFailed(RuntimeError):
    """A notebook of the workbook raised; the message names the notebook and the cell."""


@dataclass
class NotebookRun:
    name: str
    status: str = "pending"  # pending | ok | failed | skipped
    seconds: float = 0.0
    output: str = ""
    error: str = ""
    failed_cell: int | None = None
    started: str = ""
    git_commit: str = ""  # at this notebook's start; ``+dirty`` when tracked files had uncommitted changes


@dataclass
class WorkbookRun:
    profile: str
    root: str
    data_root: str | None
    kernel: str
    started: str
    finished: str = ""
    seconds: float = 0.0
    git_commit: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    data_checksums: dict[str, str] = field(default_factory=dict)
    notebooks: list[NotebookRun] = field(default_factory=list)
    weights_root: str | None = None
    dry_run: bool = False  # profile is <name>-dry-run: its numbers mean nothing (module docstring)
    reuse_shipped: bool = False  # main runs could install matching shipped weights instead of training

    @property
    def ok(self) -> bool:
        return all(nb.status in ("ok", "skipped") for nb in self.notebooks)


def list_notebooks(root: str | os.PathLike | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in execution order."""
    return sorted(paths.notebooks_dir(root).glob(NOTEBOOK_GLOB))


def select_notebooks(notebooks: Sequence[Path], only: Sequence[str] | None) -> list[Path]:
    """Keep the notebooks whose stem, name or number prefix matches one of ``only`` (all when empty)."""
    if not only:
        return list(notebooks)
    chosen = [nb for nb in notebooks
              if any(key in (nb.stem, nb.name, nb.stem.split("_", 1)[0], nb.stem.split("_", 1)[-1]) for key in only)]
    unknown = [key for key in only if not any(key in (nb.stem, nb.name, nb.stem.split("_", 1)[0],
                                                     nb.stem.split("_", 1)[-1]) for nb in notebooks)]
    if unknown:
        raise SystemExit(f"no notebook matches {unknown}; available: {[nb.stem for nb in notebooks]}")
    return chosen


def pick_kernel(requested: str | None) -> str:
    """``requested`` if given, else the ``llie-workbook`` kernel, else ``python3`` (this interpreter).

    A registered ``llie-workbook`` kernel whose interpreter is not this one (e.g. a user-level spec left by
    another checkout) is not used: the notebooks would import another copy of the code.
    """
    if requested:
        return requested
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        print(f"note: Jupyter kernel {KERNEL_NAME!r} is not registered (run `make kernel`); using 'python3'",
              file=sys.stderr)
        return "python3"
    if _same_interpreter(spec.argv[0] if spec.argv else "", sys.executable):
        return KERNEL_NAME
    print(f"note: Jupyter kernel {KERNEL_NAME!r} ({spec.resource_dir}) runs {spec.argv[0] if spec.argv else '?'}, "
          f"not this interpreter {sys.executable}; using 'python3'. Fix: `make kernel` (registers it in the venv)",
          file=sys.stderr)
    return "python3"


def _same_interpreter(a: str, b: str) -> bool:
    """Whether two interpreter paths belong to the same environment (venv pythons are symlinks to one system
    python, so the environment is told by the directory holding them, not by the resolved file)."""
    pa, pb = Path(a), Path(b)
    return pa.exists() and pa.absolute().parent == pb.absolute().parent


def uses_synthetic(data: DataSettings) -> bool:
    """Whether a run with ``data`` (``Profile.data``) uses the embedded set: listed, or the training fallback (no
    listed training set is on disk, as ``data_prep.datasets.resolve_training_pairs`` decides)."""

    if "synthetic" in data.datasets:
        return True
    if data.root is None:
        return True
    return not any(s.state in ("found", "partial")
                   for name in data.train for s in check_dataset(name, data.root, "train"))


def _split_checksums(name: str, root: str | os.PathLike) -> dict[str, str]:
    """``{name/split: fingerprint}`` of every split of ``name`` present under ``root``."""

    out = {}
    for status in check_dataset(name, root):
        if status.state not in ("found", "partial"):
            continue
        if get_spec(name).paired:
            files = [f for pair in list_pairs(name, root, status.split) for f in pair]
        else:
            files = list_images(name, root, status.split)
        out[f"{name}/{status.split}"] = provenance.checksum_files(files)
    return out


def data_checksums(data: DataSettings) -> dict[str, str]:
    """sha256 fingerprints of every dataset split of ``data`` (``Profile.data``) that is present on disk, with
    the embedded set (the build of ``data.synthetic`` in ``data.cache_dir``, built here if needed) whenever the
    run uses it, with or without a data root."""
    out: dict[str, str] = {}
    for name in data.datasets:
        if name != "synthetic" and data.root is not None:
            out.update(_split_checksums(name, data.root))
    if uses_synthetic(data):
        out.update(_split_checksums("synthetic", synthetic_root(data)))
    return out


def _failure_message(nb: Path, exc: BaseException) -> tuple[str, int | None]:
    """Name the failing cell by its index in the *source* notebook (papermill adds one injected cell)."""
    from papermill.exceptions import PapermillExecutionError

    if not isinstance(exc, PapermillExecutionError):
        return f"notebook {nb.name} failed: {type(exc).__name__}: {exc}", None
    injected = 1 if exc.cell_index > _parameters_cell_index(nb) else 0
    cell = exc.cell_index - injected
    first_line = (exc.source or "").strip().splitlines()[0][:80] if (exc.source or "").strip() else ""
    return (f"notebook {nb.name} failed in cell {cell} (0-based, `{first_line}`): {exc.ename}: {exc.evalue}",
            cell)


def _parameters_cell_index(nb: Path) -> int:
    import nbformat

    cells = nbformat.read(str(nb), as_version=4).cells
    return next((i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])), -1)


ROOT_VARIABLES = ("LLIE_DATA_ROOT", "LLIE_WEIGHTS_ROOT")  # resolved by the runner, passed as parameters instead


def kernel_environment(environ: dict[str, str] | None = None, reuse_shipped: bool = False) -> dict[str, str]:
    """The environment of the notebooks' kernel: this process's, with ``LLIE_NO_PROGRESS=1`` (library code shows no
    progress bars in executed notebooks) and without :data:`ROOT_VARIABLES` (the runner resolved the roots and
    passes them as the notebooks' ``data_root`` / ``weights_root`` parameters: one source of truth); with
    :data:`REUSE_VARIABLE` ``=1`` exactly when ``reuse_shipped`` (the manifest records the same choice)."""
    drop = (*ROOT_VARIABLES, REUSE_VARIABLE)
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if k not in drop}
    return {**env, "LLIE_NO_PROGRESS": "1", **({REUSE_VARIABLE: "1"} if reuse_shipped else {})}


def _kernel_manager_class(reuse_shipped: bool = False) -> type:
    """An ``AsyncKernelManager`` (the class nbclient uses) that starts the kernel with :func:`kernel_environment`,
    so the runner never writes its own ``os.environ``."""
    from jupyter_client.manager import AsyncKernelManager

    class WorkbookKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            kw["env"] = kernel_environment(kw.get("env"), reuse_shipped)
            return await super()._async_pre_start_kernel(**kw)

    return WorkbookKernelManager


def run_notebook(nb: Path, output: Path, parameters: dict[str, Any], kernel: str, cwd: Path,
                 timeout: int | None, reuse_shipped: bool = False) -> None:
    """Execute one notebook with papermill (no progress bar, no streamed output), its kernel started with
    :func:`kernel_environment`."""
    import papermill as pm

    output.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(str(nb), str(output), parameters=parameters, kernel_name=kernel, cwd=str(cwd),
                        progress_bar=False, log_output=False, execution_timeout=timeout,
                        kernel_manager_class=_kernel_manager_class(reuse_shipped))


def run_workbook(profile: str, only: Sequence[str] | None = None, root: str | os.PathLike | None = None,
                 data_root: str | os.PathLike | None = None, kernel: str | None = None,
                 timeout: int | None = None, weights_root: str | os.PathLike | None = None, dry_run: bool = False,
                 reuse_shipped: bool = False) -> WorkbookRun:
    """Run the workbook for ``profile``; raise :class:`NotebookFailed` at the first failing notebook.

    ``dry_run``: the profile's dry run, into ``results/<profile>-dry-run`` (module docstring); ``reuse_shipped``:
    main runs may install matching shipped weights instead of training (module docstring).

    ``data_root`` / ``weights_root`` are used as given (``None``: no real data; weights under
    ``<data root>/../weights``); :func:`main` resolves them from the command line and the environment. Every
    notebook gets ``profile``, ``root``, ``data_root`` and ``weights_root`` as parameters.

    The manifest is written after every notebook and in every case (with the failure recorded), so no
    result is lost, even when the process is killed. After every notebook the text outputs under
    ``results/<profile>`` are made portable (:func:`llie_core.core.provenance.portable_paths`): no absolute path of
    this machine (checkout, data, weights, cache, Python environment) is left in them, only paths relative to the
    project root.
    """
    root = Path(root).resolve() if root else paths.project_root()
    spec = dry_run_name(profile) if dry_run else profile  # what the notebooks load (their `profile` parameter)
    cfg = load_profile(spec, data_root=data_root, weights_root=weights_root, cache_dir=paths.cache_dir(root=root))
    notebooks = select_notebooks(list_notebooks(root), only)
    if not notebooks:
        raise SystemExit(f"no notebooks found in {paths.notebooks_dir(root)}")
    profile = cfg.results_name  # the results folder, the manifest's profile and the log prefix
    out_dir = paths.results_dir(profile, root)
    data_str, weights_str = (str(p) if p else None for p in (cfg.data.root, cfg.data.weights_root))
    run = WorkbookRun(profile=profile, root=str(root), data_root=data_str, kernel=pick_kernel(kernel),
                      started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      git_commit=provenance.git_commit(root), versions=provenance.package_versions(),
                      environment=provenance.environment_record(), data_checksums=data_checksums(cfg.data),
                      notebooks=[NotebookRun(nb.stem) for nb in notebooks], weights_root=weights_str,
                      dry_run=cfg.dry_run, reuse_shipped=reuse_shipped)
    params = {"profile": spec, "root": str(root), "data_root": data_str or "", "weights_root": weights_str or ""}
    # every absolute machine path an output may hold, and its replacement relative to the project root
    portable = provenance.path_replacements(root, cfg.data.root, cfg.data.weights_root, cfg.data.cache_dir)
    t_start = time.perf_counter()
    try:
        for nb, record in zip(notebooks, run.notebooks):
            output = out_dir / "notebooks" / nb.name
            record.output = str(output.relative_to(root))
            print(f"[{profile}] {nb.name} ...", flush=True)
            record.started, record.git_commit = _now(), provenance.git_commit(root)  # code may change mid-run
            t0 = time.perf_counter()
            try:
                run_notebook(nb, output, params, run.kernel, root, timeout, reuse_shipped)
            except Exception as exc:  # papermill raises several types; all end the run
                record.seconds = round(time.perf_counter() - t0, 2)
                record.status = "failed"
                record.error, record.failed_cell = _failure_message(nb, exc)
                raise NotebookFailed(f"{record.error}\n  executed notebook with the traceback: {output}") from exc
            record.seconds = round(time.perf_counter() - t0, 2)
            record.status = "ok"
            print(f"[{profile}] {nb.name} ok ({record.seconds:.1f} s)", flush=True)
            # after every notebook, so a killed run still says where its finished results came from
            run.seconds = round(time.perf_counter() - t_start, 2)
            write_manifest(run, out_dir / "manifest.json", keep_others=only is not None)
            provenance.portable_paths(out_dir, portable)
    finally:
        for record in run.notebooks:
            if record.status == "pending":
                record.status = "skipped"
        run.finished = _now()
        run.seconds = round(time.perf_counter() - t_start, 2)
        write_manifest(run, out_dir / "manifest.json", keep_others=only is not None)
        provenance.portable_paths(out_dir, portable)
    return run


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_manifest(run: WorkbookRun, path: Path, keep_others: bool = False) -> Path:
    """``manifest.json``: everything needed to tell where the results of a run came from.

    A notebook this run has not run (yet) (``pending``, or ``skipped`` after a failure) keeps the record of an
    earlier run that ran it (``ok`` or ``failed``) left in the manifest, if any: its results on disk still come from
    that run (a failing or killed
    full run never replaces finished notebooks' provenance by ``skipped``). With ``keep_others`` (a run of
    selected notebooks), the records of the other notebooks already in the manifest are kept too, each with its
    own start time and git commit, so re-running one notebook never loses the provenance of the rest; the
    manifest's ``seconds`` is then the sum over its notebooks.
    """
    import json

    record = asdict(run)
    previous: dict[str, Any] = {}
    if path.is_file():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
    if previous.get("profile") == run.profile:
        earlier = {nb["name"]: nb for nb in previous.get("notebooks", [])
                   if isinstance(nb, dict) and "name" in nb and nb.get("status") in ("ok", "failed")}
        record["notebooks"] = [earlier[nb["name"]] if nb["status"] in ("pending", "skipped") and nb["name"] in earlier
                               else nb for nb in record["notebooks"]]
        if keep_others:
            fresh = {nb["name"]: nb for nb in record["notebooks"]}
            merged = [fresh.pop(nb["name"], nb) for nb in previous.get("notebooks", [])]
            record["notebooks"] = sorted(merged + list(fresh.values()), key=lambda nb: nb["name"])
            record["data_checksums"] = {**previous.get("data_checksums", {}), **record["data_checksums"]}
            record["seconds"] = round(sum(nb.get("seconds", 0.0) for nb in record["notebooks"]), 2)
    return provenance.write_json(path, record)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llie_core.workbook.runner", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebooks with papermill")
    run.add_argument("--profile", default="quick", choices=PROFILE_NAMES)
    run.add_argument("--only", nargs="*", default=None, help="notebook names or numbers, e.g. 00 or data_prep")
    run.add_argument("--root", default=None, help="project root (default: the checkout holding llie_core)")
    _add_roots(run)
    run.add_argument("--kernel", default=None, help=f"Jupyter kernel (default: {KERNEL_NAME} if registered)")
    run.add_argument("--timeout", type=int, default=None, help="per-cell execution timeout in seconds")
    run.add_argument("--dry-run", action="store_true",
                     help="the profile's dry run (2 iterations per stage, 1 image per test set, 1 seed) into "
                          "results/<profile>-dry-run")
    run.add_argument("--reuse-shipped", action="store_true",
                     help="main runs install checkpoints/<profile>/<method> instead of training when its recipe and "
                          f"data checksums match (also ${REUSE_VARIABLE}=1); default: always train")
    sub.add_parser("list", help="list the notebooks in execution order")
    status = sub.add_parser("status", help="which datasets of a profile are found, partial, missing or invalid")
    status.add_argument("--profile", default="quick", choices=PROFILE_NAMES)
    _add_roots(status)
    status.add_argument("--deep", action="store_true", help="decode every image (slow on large sets)")
    return parser


def _add_roots(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default=None, help="real data root (default: $LLIE_DATA_ROOT)")
    parser.add_argument("--weights-root", default=None,
                        help="released weights (default: $LLIE_WEIGHTS_ROOT, else <data root>/../weights)")


def profile_status(profile: Profile, deep: bool = False, table: Any = None) -> str:
    """The ``python -m data_prep status`` report restricted to the datasets ``profile`` uses (train and test sets,
    the embedded set's newest build in ``profile.data.cache_dir``), under its data root (``table``: a
    :func:`profile_status_table` already computed)."""
    table = profile_status_table(profile, deep) if table is None else table
    return f"profile: {profile.name}\n" + format_status(table, profile.data.root)


def profile_status_table(profile: Profile, deep: bool = False) -> Any:
    """``data_prep.validate.status_table`` of the datasets ``profile`` uses."""
    data = profile.data
    return status_table(data.root, deep=deep, names=data.datasets, cache_dir=data.cache_dir)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        for nb in list_notebooks():
            print(nb.name)
        return 0
    data_root, weights_root = resolve_roots(args.data_root, args.weights_root)  # the entry point reads the env
    if args.command == "status":  # exit 1 when a dataset the profile uses is present but invalid
        profile = load_profile(args.profile, data_root=data_root, weights_root=weights_root)
        table = profile_status_table(profile, args.deep)
        print(profile_status(profile, table=table))
        invalid = [f"{r.name}/{r.split}" for r in table.itertuples() if r.state == "invalid"]
        if invalid:
            print(f"error: dataset split(s) that profile {profile.name} uses are invalid: {', '.join(invalid)}",
                  file=sys.stderr)
        return 1 if invalid else 0
    try:
        reuse = args.reuse_shipped or os.environ.get(REUSE_VARIABLE) == "1"
        run = run_workbook(args.profile, args.only, args.root, data_root, args.kernel, args.timeout, weights_root,
                           dry_run=args.dry_run, reuse_shipped=reuse)
    except NotebookFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"[{run.profile}] {len(run.notebooks)} notebook(s) ok in {run.seconds:.1f} s; "
          f"manifest: results/{run.profile}/manifest.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
