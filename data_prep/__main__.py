"""``python -m data_prep {status,build-synthetic,download}`` (also installed as ``llie-data``).

``status`` exits 1 when a listed dataset split is ``invalid`` (present but unusable), 0 otherwise (``missing``
splits are not an error: runs fall back to the embedded set), 2 for an unknown dataset name.

An entry point: the data root (``--data-root``, else ``$LLIE_DATA_ROOT``) and the cache folder (``--cache-dir``,
else ``$LLIE_CACHE_DIR``, else ``<checkout>/.cache``) are resolved here and passed down. It needs nothing from
``llie_core``; the status of the datasets a run profile uses is ``python -m llie_core.workbook status --profile P``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from data_prep.catalogue import DatasetSpec, get_spec
from data_prep.download import download
from data_prep.files import default_cache_dir
from data_prep.settings import SyntheticSettings, as_path, resolve_roots
from data_prep.synthetic import build_synthetic
from data_prep.validate import format_status, status_table


def _cache_dir(args: argparse.Namespace) -> Path:
    return as_path(getattr(args, "cache_dir", None)) or default_cache_dir()


def _dataset_names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def _status(args: argparse.Namespace) -> int:
    root, _ = resolve_roots(args.data_root)
    try:
        table = status_table(root, deep=args.deep, names=_dataset_names(args.datasets), cache_dir=_cache_dir(args))
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    print(format_status(table, root))
    invalid = table[table["state"] == "invalid"]
    if len(invalid):  # present but unusable: a run would fail on it (missing sets are fine: the embedded set)
        print(f"error: {len(invalid)} dataset split(s) invalid: "
              + ", ".join(f"{r.name}/{r.split}" for r in invalid.itertuples()), file=sys.stderr)
        return 1
    return 0


def _build_synthetic(args: argparse.Namespace) -> int:
    print(build_synthetic(_cache_dir(args), seed=args.seed, variants_per_photo=args.variants_per_photo,
                          max_side=args.max_side or None))
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

    root, _ = resolve_roots(args.data_root)
    print(download(spec.download_url, download_destination(spec, root, _cache_dir(args)), spec.download_sha256))
    return 0


def download_destination(spec: DatasetSpec, root: str | Path | None, cache_dir: str | Path) -> Path:
    """``<data root>/downloads/<file>``, or ``<cache_dir>/downloads/<file>`` when no data root is set."""
    base = as_path(root) or Path(cache_dir)
    return base / "downloads" / spec.download_url.rsplit("/", 1)[-1]


def _add_roots(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", "--root", dest="data_root", default=None,
                        help="data root (default: $LLIE_DATA_ROOT)")
    parser.add_argument("--cache-dir", default=None, help="cache folder (default: $LLIE_CACHE_DIR, else .cache)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_prep", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="which datasets are found, partial, missing or invalid")
    _add_roots(status)
    status.add_argument("--datasets", default=None, metavar="A,B",
                        help="comma-separated dataset names (default: every dataset of the catalogue)")
    status.add_argument("--deep", action="store_true", help="decode every image (slow on large sets)")
    status.set_defaults(func=_status)
    defaults = SyntheticSettings()
    build = sub.add_parser("build-synthetic", help="build the embedded synthetic set")
    build.add_argument("--cache-dir", default=None, help="cache folder (default: $LLIE_CACHE_DIR, else .cache)")
    build.add_argument("--seed", type=int, default=defaults.seed)
    build.add_argument("--variants-per-photo", type=int, default=defaults.variants_per_photo)
    build.add_argument("--max-side", type=int, default=defaults.max_side, help="0: full-size photos")
    build.set_defaults(func=_build_synthetic)
    down = sub.add_parser("download", help="download a dataset, or explain where to get it")
    down.add_argument("name")
    _add_roots(down)
    down.set_defaults(func=_download)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
