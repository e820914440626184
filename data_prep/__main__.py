"""``python -m data_prep {status,build-synthetic,download}`` (also installed as ``llie-data``)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from llie_core.core import paths

from data_prep.catalogue import DatasetSpec


def _status(args: argparse.Namespace) -> int:
    import pandas as pd

    from .validate import status_table

    root = paths.data_root(args.root)
    table = status_table(root, deep=args.deep)
    print(f"data root: {root or '(none: set $LLIE_DATA_ROOT or pass --root)'}")
    with pd.option_context("display.max_colwidth", 120, "display.width", 250, "display.max_rows", None):
        print(table[["name", "split", "state", "n_items", "expected", "reason"]].to_string(index=False))
    todo = table[table["state"] != "found"]
    if len(todo):
        print("\nhow to fix:")
        for row in todo.itertuples():
            print(f"  {row.name}/{row.split} [{row.state}]: {row.fix}")
            for problem in filter(None, row.problems.split("; ")):
                print(f"      {problem}")
    return 0


def _build_synthetic(args: argparse.Namespace) -> int:
    from llie_core.core.profiles import load_profile

    from .synthetic import synthetic_root

    root = synthetic_root(load_profile(args.profile))
    print(root)
    return 0


def _explain_manual(spec: DatasetSpec) -> None:
    """Where to get a dataset without a direct link, and the layouts it may be placed in."""
    how = ("no direct download link is known; obtain it manually" if spec.public
           else "it is not publicly released; ask for a copy (see where)")
    print(f"{spec.title}: {how}.\n"
          f"  where:    {spec.url}\n  cite:     {spec.citation}\n  licence:  {spec.licence}\n"
          f"  notes:    {spec.notes}\n  place it under the data root ($LLIE_DATA_ROOT) in one of these layouts:")
    for split, layout in spec.splits.items():
        expected = spec.expected_count[split]
        print(f"  [{split}] ({expected if expected is not None else 'any number of'} items)")
        for variant in layout.variants:
            print(f"      {variant.describe()}")


def _download(args: argparse.Namespace) -> int:
    from data_prep.catalogue import get_spec

    try:
        spec = get_spec(args.name)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    if spec.location == "cache":
        print(f"{spec.name} is built locally, not downloaded: python -m data_prep build-synthetic")
        return 0
    if not spec.has_direct_download:
        _explain_manual(spec)
        return 1
    from .download import download

    print(download(spec.download_url, download_destination(spec, args.root), spec.download_sha256))
    return 0


def download_destination(spec: DatasetSpec, root: str | None = None) -> Path:
    """``<data root>/downloads/<file>``, or ``<cache>/downloads/<file>`` when no data root is set."""
    base = paths.data_root(root) or paths.cache_dir()
    return base / "downloads" / spec.download_url.rsplit("/", 1)[-1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_prep", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="which datasets are found, partial, missing or invalid")
    status.add_argument("--root", default=None, help="data root (default: $LLIE_DATA_ROOT)")
    status.add_argument("--deep", action="store_true", help="decode every image (slow on large sets)")
    status.set_defaults(func=_status)
    build = sub.add_parser("build-synthetic", help="build the embedded synthetic set for a profile")
    build.add_argument("--profile", default="quick", help="smoke | quick | paper (default: quick)")
    build.set_defaults(func=_build_synthetic)
    down = sub.add_parser("download", help="download a dataset, or explain where to get it")
    down.add_argument("name")
    down.add_argument("--root", default=None, help="data root (default: $LLIE_DATA_ROOT)")
    down.set_defaults(func=_download)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
