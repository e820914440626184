"""Whole-workbook wall time per profile on this machine, from ``results/<profile>/manifest.json``. Prints figures;
asserts nothing.

Budgets (2 CPU cores): ``smoke`` under 10 minutes, ``quick`` under 90 minutes. For each profile with a manifest
the script prints every notebook's wall time and share, the total, the budget verdict and the notebook that
dominates. ``--run smoke`` first runs the whole smoke workbook in a scratch copy of the project (the repository's
``results/`` stays untouched) and reports that run.

Run::

    LLIE_DATA_ROOT=../shared/data .venv/bin/python tests/benchmarks/bench_workbook.py [--profile quick]
    LLIE_DATA_ROOT=../shared/data .venv/bin/python tests/benchmarks/bench_workbook.py --run smoke

Wall times include kernel start-up and everything else running on the machine: on a shared CPU, quote the load
average printed with them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUDGETS_S = {"smoke": 10 * 60, "quick": 90 * 60}


def load_manifest(results: Path, profile: str) -> dict | None:
    path = results / profile / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def report(manifest: dict, where: str) -> str:
    """A text block: one line per notebook (seconds, share, status), the total and the budget verdict."""
    profile = manifest["profile"]
    notebooks = manifest.get("notebooks", [])
    total = sum(float(nb.get("seconds", 0.0)) for nb in notebooks)
    lines = [f"profile {profile} ({where}; manifest started {manifest.get('started', '?')}, "
             f"{len(notebooks)} notebooks, commit {str(manifest.get('git_commit', ''))[:12]})"]
    for nb in sorted(notebooks, key=lambda n: n["name"]):
        seconds = float(nb.get("seconds", 0.0))
        share = 100 * seconds / total if total else 0.0
        lines.append(f"  {nb['name']:<16s} {seconds:8.1f} s  {share:5.1f} %  {nb.get('status', '?')}")
    lines.append(f"  {'total':<16s} {total:8.1f} s  ({total / 60:.1f} min)")
    budget = BUDGETS_S.get(profile)
    if notebooks:
        top = max(notebooks, key=lambda n: float(n.get("seconds", 0.0)))
        lines.append(f"  dominated by {top['name']} ({float(top.get('seconds', 0.0)):.0f} s)")
    if budget is not None:
        verdict = "within" if total <= budget else "OVER"
        lines.append(f"  budget {budget / 60:.0f} min: {verdict} ({total / budget:.0%} of the budget)")
    failed = [nb["name"] for nb in notebooks if nb.get("status") != "ok"]
    absent = sorted({p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")} - {nb["name"] for nb in notebooks})
    if failed or absent:
        lines.append(f"  not ok: {failed}; not in this manifest: {absent} (the total is not a whole-workbook time)")
    return "\n".join(lines)


def run_scratch(profile: str, keep: bool) -> tuple[dict, Path]:
    """Run every notebook of ``profile`` in a scratch project (notebooks copied, fresh results)."""
    from llie_core.workbook import runner as workbook

    scratch = Path(tempfile.mkdtemp(prefix=f"bench_{profile}_"))
    shutil.copytree(REPO / "notebooks", scratch / "notebooks")
    try:
        workbook.run_workbook(profile, root=scratch, data_root=os.environ.get("LLIE_DATA_ROOT") or None)
    except workbook.NotebookFailed as exc:
        print(f"run failed: {exc}")
    manifest = load_manifest(scratch / "results", profile) or {"profile": profile, "notebooks": []}
    if not keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest, scratch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", action="append", choices=["smoke", "quick", "paper"],
                        help="profiles to report (default: every profile with a manifest)")
    parser.add_argument("--results", default=str(REPO / "results"), help="results folder holding <profile>/")
    parser.add_argument("--run", choices=["smoke"], help="run this profile's workbook in a scratch copy first")
    parser.add_argument("--keep", action="store_true", help="keep the scratch project of --run")
    args = parser.parse_args()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    print(f"cpus={os.cpu_count()} load average (1/5/15 min) = {load}; budgets: smoke 10 min, quick 90 min")
    if args.run:
        manifest, scratch = run_scratch(args.run, args.keep)
        print(report(manifest, f"scratch run in {scratch}" + ("" if args.keep else ", deleted")))
        return
    for profile in args.profile or ["smoke", "quick", "paper"]:
        manifest = load_manifest(Path(args.results), profile)
        if manifest is None:
            if args.profile:
                print(f"profile {profile}: no manifest in {args.results}/{profile} (run the workbook first)")
            continue
        print(report(manifest, f"{args.results}/{profile}/manifest.json"))


if __name__ == "__main__":
    main()
