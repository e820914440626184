"""Classical baselines and Zero-DCE: behaviour on synthetic and (when present) real LOL images."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from llie_core.evaluation.baselines import available_baselines, build_enhancer, list_enhancers
from llie_core.evaluation.baselines.lime import (estimate_illumination, illumination_system, initial_illumination,
                                                 lime_enhance, solve_illumination)
from llie_core.evaluation.baselines.zero_dce import (OFFICIAL_SHA256, WeightsAbsent, ZeroDCE, default_weights_path,
                                                     load_zero_dce)
from tests.helpers import skip_or_fail


def dark_image(h: int = 48, w: int = 64, seed: int = 0) -> torch.Tensor:
    """A smooth dark scene with texture, values in [0, 0.25]."""
    gen = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0.02, 0.2, w).expand(h, w)
    texture = 0.05 * torch.rand(3, h, w, generator=gen)
    return (ramp + texture).clamp(0, 1).unsqueeze(0)


def hist_std(x: torch.Tensor) -> float:
    counts = torch.histc(x.mean(1), bins=32, min=0, max=1)
    return float(counts.std())


def read_rgb(path: Path) -> torch.Tensor:
    from PIL import Image

    array = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a - b) ** 2).mean()))


def test_registry_lists_all_baselines():
    assert set(list_enhancers()) >= {"input", "he", "clahe", "lime", "zero_dce"}
    with pytest.raises(KeyError, match="unknown enhancer"):
        build_enhancer("nope")


def test_identity_returns_input():
    low = dark_image()
    enhancer = build_enhancer("input")
    assert enhancer.name == "input" and enhancer.pad_multiple == 1
    torch.testing.assert_close(enhancer(low), low)


@pytest.mark.parametrize("mode", ["v", "rgb"])
def test_he_flattens_histogram_and_stays_in_range(mode):
    low = dark_image()
    out = build_enhancer("he", mode=mode)(low)
    assert out.shape == low.shape and out.min() >= 0 and out.max() <= 1
    assert hist_std(out) < hist_std(low)
    assert out.mean() > low.mean()


def test_he_v_mode_keeps_hue_order():
    base = dark_image()[:, 1:2]
    low = torch.cat([1.5 * base, base, base], dim=1).clamp(0, 1)  # red dominant everywhere
    out = build_enhancer("he")(low)
    assert (out[:, 0] >= out[:, 1] - 1e-6).all()
    torch.testing.assert_close(out[:, 1], out[:, 2])  # equal channels stay equal (hue kept)


def test_he_bad_mode_rejected():
    with pytest.raises(ValueError, match="mode"):
        build_enhancer("he", mode="lab")


def test_clahe_range_shape_and_brightens():
    low = dark_image(40, 56)
    out = build_enhancer("clahe")(low)
    assert out.shape == low.shape and out.min() >= 0 and out.max() <= 1
    assert out.mean() > low.mean()


def test_lime_brightens_dark_image():
    low = dark_image()
    out = build_enhancer("lime")(low)
    assert out.shape == low.shape and out.min() >= 0 and out.max() <= 1
    assert float(out.mean()) > 2 * float(low.mean())


@pytest.mark.parametrize("strategy", [1, 2, 3])
def test_lime_solver_satisfies_linear_system(strategy):
    rng = np.random.default_rng(0)
    t_hat = rng.uniform(0.05, 0.5, size=(12, 15))
    refined = solve_illumination(t_hat, alpha=0.15, strategy=strategy)
    system, rhs = illumination_system(t_hat, 0.15, strategy)
    residual = np.linalg.norm(system @ refined.ravel() - rhs) / np.linalg.norm(rhs)
    assert residual < 1e-8
    assert refined.std() < t_hat.std()  # the structure prior smooths
    cg = solve_illumination(t_hat, alpha=0.15, strategy=strategy, solver="cg")
    np.testing.assert_allclose(cg, refined, atol=1e-6)


def test_lime_illumination_close_to_max_channel():
    image = dark_image().squeeze(0).permute(1, 2, 0).double().numpy()
    t_hat = initial_illumination(image)
    np.testing.assert_array_equal(t_hat, image.max(axis=-1))
    refined = estimate_illumination(image)
    assert abs(refined.mean() - t_hat.mean()) < 0.01  # a smoothing, mean-preserving refinement
    _, t_final = lime_enhance(image)
    assert np.mean(t_final >= t_hat - 0.02) > 0.95  # gamma 0.8 lifts T above the max channel almost everywhere


def test_lime_large_image_solves_downsampled_and_keeps_size():
    image = dark_image(60, 80).squeeze(0).permute(1, 2, 0).double().numpy()
    full = estimate_illumination(image)
    reduced = estimate_illumination(image, max_pixels=1200)
    assert reduced.shape == full.shape
    assert np.abs(reduced - full).mean() < 0.02


def test_zero_dce_missing_weights_names_path_and_source(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.pth.*Li-Chongyi/Zero-DCE"):
        load_zero_dce(tmp_path / "nowhere.pth")


def test_zero_dce_paper_and_official_curves_are_equivalent():
    torch.manual_seed(0)
    official, paper = ZeroDCE(curve="official"), ZeroDCE(curve="paper")
    paper.load_state_dict(official.state_dict())
    with torch.no_grad():
        paper.e_conv7.weight.neg_()
        paper.e_conv7.bias.neg_()
        x = torch.rand(1, 3, 16, 16)
        torch.testing.assert_close(paper(x), official(x))
    with pytest.raises(ValueError, match="curve"):
        ZeroDCE(curve="other")


def test_zero_dce_shape_and_gradients():
    model = ZeroDCE()
    x = torch.rand(2, 3, 17, 23)
    out = model(x)
    assert out.shape == x.shape and model.curve_maps(x).shape == (2, 24, 17, 23)
    out.mean().backward()
    assert model.e_conv1.weight.grad is not None and model.e_conv1.weight.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def zero_dce_weights(shared_root):
    path = shared_root / "weights" / "zero_dce" / "Epoch99.pth"
    if not path.is_file():
        skip_or_fail(f"{path} absent")
    return path


def test_zero_dce_weights_come_from_the_weights_root_argument_only(monkeypatch, shared_root, zero_dce_weights,
                                                                    tmp_path):
    """``<weights_root>/zero_dce/Epoch99.pth``, else WeightsAbsent naming the source and the root; the environment
    is not read (the entry points resolve ``$LLIE_WEIGHTS_ROOT`` into ``Profile.data.weights_root``)."""
    monkeypatch.setenv("LLIE_WEIGHTS_ROOT", str(shared_root / "weights"))
    monkeypatch.setenv("LLIE_DATA_ROOT", str(shared_root / "data"))
    assert default_weights_path(shared_root / "weights") == zero_dce_weights.resolve()
    with pytest.raises(WeightsAbsent, match="Li-Chongyi/Zero-DCE.*none configured"):
        default_weights_path(None)
    with pytest.raises(WeightsAbsent, match=str(tmp_path)):
        default_weights_path(tmp_path)
    (tmp_path / "zero_dce").mkdir()
    (tmp_path / "zero_dce" / "Epoch99.pth").write_bytes(b"")
    assert default_weights_path(tmp_path) == tmp_path.resolve() / "zero_dce" / "Epoch99.pth"


def test_available_baselines_look_for_weights_in_the_given_root(shared_root, zero_dce_weights, tmp_path):
    built, absent = available_baselines(["he", "zero_dce"], weights_root=tmp_path)
    assert list(built) == ["he"] and absent["zero_dce"].startswith("weights absent") and str(tmp_path) in absent[
        "zero_dce"]
    built, absent = available_baselines(["he", "zero_dce"], weights_root=shared_root / "weights")
    assert list(built) == ["he", "zero_dce"] and absent == {}
    assert build_enhancer("he", weights_root=tmp_path).name == "he"  # builders without weights ignore the root


def test_zero_dce_strict_load_and_sha(zero_dce_weights, tmp_path):
    model = load_zero_dce(zero_dce_weights)
    state = torch.load(zero_dce_weights, map_location="cpu", weights_only=True)
    assert set(model.state_dict()) == set(state)
    torch.testing.assert_close(model.e_conv7.bias, state["e_conv7.bias"])
    tampered = tmp_path / "Epoch99.pth"
    state["e_conv1.bias"] = state["e_conv1.bias"] + 1
    torch.save(state, tampered)
    with pytest.raises(ValueError, match=OFFICIAL_SHA256):
        load_zero_dce(tampered)
    del state["e_conv7.bias"]
    torch.save(state, tampered)
    with pytest.raises(RuntimeError, match="e_conv7.bias"):
        load_zero_dce(tampered, check_sha256=False)


def test_zero_dce_brightens_lol_image_and_improves_psnr(zero_dce_weights, real_data_root):
    low_path = real_data_root / "LOLv1" / "eval15" / "low" / "1.png"
    if not low_path.is_file():
        skip_or_fail(f"{low_path} absent")
    low = read_rgb(low_path)[..., :200, :300]
    high = read_rgb(real_data_root / "LOLv1" / "eval15" / "high" / "1.png")[..., :200, :300]
    out = build_enhancer("zero_dce", weights=zero_dce_weights)(low)
    assert out.shape == low.shape and out.min() >= 0 and out.max() <= 1
    assert out.mean() > 2 * low.mean()
    assert psnr(out, high) > psnr(low, high) + 3
    # pinned (measured once; float32 output, not quantised, so 1e-4 rather than 5e-5): the whole eval15 set
    # through the evaluation suite is pinned in test_baseline_goldens.py
    assert psnr(low, high) == pytest.approx(9.2904, abs=1e-4)
    assert psnr(out, high) == pytest.approx(17.1799, abs=1e-4)
    assert float(out.mean()) == pytest.approx(0.24473, abs=1e-5)


def test_zero_dce_denormal_flush_keeps_outputs(zero_dce_weights):
    """The released weights hold subnormal floats (slow on x86); zeroing them must not change the output."""
    from llie_core.evaluation.baselines.zero_dce import ZeroDCE

    state = torch.load(zero_dce_weights, map_location="cpu", weights_only=True)
    tiny = torch.finfo(torch.float32).tiny
    assert sum(int(((v.abs() < tiny) & (v != 0)).sum()) for v in state.values()) > 1000
    flushed = load_zero_dce(zero_dce_weights)
    assert all(int(((p.abs() < tiny) & (p != 0)).sum()) == 0 for p in flushed.parameters())
    raw = ZeroDCE()
    raw.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(0)) * 0.3
    with torch.no_grad():
        torch.testing.assert_close(flushed(x), raw.eval()(x), rtol=0, atol=1e-6)
