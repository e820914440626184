"""Official FRLIE stage-1 checkpoints load with strict=True and reproduce the official outputs.

Read in place from ``shared/weights/frlie`` (MANIFEST.md there) and ``shared/specs/state_dict_keys``.
Tolerances: the references are float32 outputs of the official classes; evaluating the same weights in float64
differs from them by up to 3.5e-5 (features, |f| <= 73) and 3e-5 (images), so float32 here agrees to float32
round-off, not better. Images: max abs error <= 2e-5, mean <= 2e-6; features: max <= 2e-6 * max|f|, mean <= 5e-6.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from llie_core.models.frlie import FRLIE, FRNet
from llie_core.provenance import sha256_file

CHECKPOINTS = {  # file -> (reference prefix, decoder design, sha256 from MANIFEST.md)
    "weights_reconstruct.pth":
        ("HEAD", "bilinear", "a77d26aa39fdd29a45c5bedff856e88f7993cd93d3dd0066cc7162928e8d7aa0"),
    "weights_reconstruct__old_2e9e486_pixelshuffle.pth":
        ("pixelshuffle_2e9e486", "pixelshuffle", "ee03c752d600e6887871c62054fb481936de9713a1b96e6f9e9e392ce60b20a8"),
}
KEY_LISTINGS = {"weights_reconstruct.pth": "frlie_weights_reconstruct_HEAD_contents.txt",
                "weights_reconstruct__old_2e9e486_pixelshuffle.pth": "frlie_weights_reconstruct_old_2e9e486_contents.txt"}


@pytest.fixture(scope="module")
def frlie_dir(shared_root: Path) -> Path:
    return shared_root / "weights" / "frlie"


def _listing(path: Path) -> dict[str, tuple[int, ...]]:
    """``key<ws>(shape)`` rows of a state_dict listing -> {key: shape}."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts and "(" in line and "." in parts[0] and not parts[0].startswith("top"):
            shape = line[line.index("("):line.index(")") + 1]
            out[parts[0]] = tuple(int(s) for s in shape.strip("(),").split(",") if s.strip())
    return out


def _load(frlie_dir: Path, name: str) -> FRLIE:
    _, design, _ = CHECKPOINTS[name]
    model = FRLIE(upsampling=design).eval()
    model.load_official(frlie_dir / name, strict=True)
    return model


def _ref(frlie_dir: Path, name: str) -> torch.Tensor:
    return torch.from_numpy(np.load(frlie_dir / "reference_outputs" / name))


def _assert_image_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    err = (actual - expected).abs()
    assert actual.shape == expected.shape
    assert err.max().item() <= 2e-5 and err.mean().item() <= 2e-6, (err.max().item(), err.mean().item())


@pytest.mark.parametrize("name", list(CHECKPOINTS))
def test_checkpoint_is_the_manifest_file(frlie_dir, name):
    assert sha256_file(frlie_dir / name) == CHECKPOINTS[name][2]


@pytest.mark.parametrize("name", list(CHECKPOINTS))
def test_autoencoder_keys_match_the_listing(shared_root, name):
    expected = _listing(shared_root / "specs" / "state_dict_keys" / KEY_LISTINGS[name])
    model = FRLIE(upsampling=CHECKPOINTS[name][1])
    ours = {f"{part}.{k}": tuple(v.shape) for part in ("encoder", "decoder")
            for k, v in getattr(model, part).state_dict().items()}
    assert ours == expected


def test_frnet_keys_match_the_expected_listing(shared_root):
    expected = _listing(shared_root / "specs" / "state_dict_keys" / "frlie_feature_processor_state_dict_expected.txt")
    assert len(expected) == 80
    assert {k: tuple(v.shape) for k, v in FRNet().state_dict().items()} == expected


@pytest.mark.parametrize("name", list(CHECKPOINTS))
def test_official_outputs_are_reproduced(frlie_dir, name):
    prefix = CHECKPOINTS[name][0]
    model = _load(frlie_dir, name)
    x = _ref(frlie_dir, "input_rand_1x3x64x96.npy")
    image = _ref(frlie_dir, "input_examples4png_crop_1x3x412x368.npy")
    with torch.no_grad():
        features = model.encode(x)
        expected = _ref(frlie_dir, f"{prefix}_rand_features.npy")
        err = (features - expected).abs()
        bound = 2e-6 * expected.abs().max().item()
        assert err.max().item() <= bound and err.mean().item() <= 5e-6, (err.max().item(), bound)
        _assert_image_close(model.reconstruct(x), _ref(frlie_dir, f"{prefix}_rand_reconstruction.npy"))
        _assert_image_close(model.reconstruct(image), _ref(frlie_dir, f"{prefix}_examples4png_reconstruction.npy"))


def test_from_official_detects_the_decoder_and_rejects_the_other(frlie_dir):
    for name, (_, design, _) in CHECKPOINTS.items():
        assert FRLIE.from_official(frlie_dir / name).decoder.upsampling == design
    with pytest.raises(ValueError, match="upsampling='bilinear'"):
        FRLIE(upsampling="pixelshuffle").load_official(frlie_dir / "weights_reconstruct.pth")
