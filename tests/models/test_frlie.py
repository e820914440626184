"""FRLIE network (paper §2, Fig. 3): structure, parameter counts, padding, gradients, test-time options, configs."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from llie_core.core.profiles import deep_merge
from llie_core.losses.registry import LOSSES
from llie_core.models.blocks import ContextBlock
from llie_core.models.frlie import FRLIE, FRNet, luma_blend, quantize_uint8
from llie_core.models.registry import MODELS
from tests.helpers import assert_numbers, numbers_in, rand, shared_text

CONFIG_DIR = Path(__file__).resolve().parents[2] / "llie_core" / "configs" / "frlie"


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.fixture(scope="module")
def model() -> FRLIE:
    torch.manual_seed(0)
    return FRLIE(upsampling="bilinear").eval()


def test_parameter_counts_match_official_measurements(model):
    assert _count(model) == 2_854_467                                     # official_measurements.md, FRLIE row
    assert _count(model.encoder) + _count(model.decoder) == 262_595       # stage-1 autoencoder
    assert _count(model.feature_processor) == 2_591_872                   # FeatureProcessNet (weight_compat §2d)
    assert _count(FRLIE(upsampling="pixelshuffle").decoder) == 407_139    # old pixel-shuffle decoder (§2b)


def test_registered_and_built_from_config():
    built = MODELS.build({"type": "FRLIE", "upsampling": "bilinear"})
    assert isinstance(built, FRLIE) and built.decoder.upsampling == "bilinear"
    with pytest.raises(ValueError, match="upsampling"):
        FRLIE(upsampling="nearest")


def test_frnet_structure():
    net = FRNet()
    assert len(net.main_blocks) == 4
    ctx = net.main_blocks[0][0]
    assert isinstance(ctx, ContextBlock)
    assert [getattr(ctx, f"conv{i}").dilation[0] for i in range(1, 5)] == [1, 2, 3, 4]
    assert [getattr(ctx, f"conv{i}").padding[0] for i in range(1, 5)] == [1, 2, 3, 4]


def test_frnet_global_residual():
    """With every block reduced to the identity (last convs zeroed), FRNet(f) = f + f."""
    net = FRNet(channels=16, num_blocks=2)
    for block in net.main_blocks:
        for layer in (block[0].fusion, block[1].res[2], block[2].res[2]):
            torch.nn.init.zeros_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    f = rand(1, 16, 5, 6)
    torch.testing.assert_close(net(f), 2 * f)


@pytest.mark.parametrize("size", [(37, 50), (40, 52), (33, 31)])
def test_forward_pads_and_crops_back(model, size):
    low = rand(1, 3, *size, seed=1)
    with torch.no_grad():
        out = model(low)
        assert out.shape == low.shape
        assert out.min() > 0 and out.max() < 1  # (tanh + 1) / 2
        h, w = size
        padded = torch.nn.functional.pad(low, (0, (-w) % 4, 0, (-h) % 4))
        manual = model.decode(model.restore(model.encode(padded)))[..., :h, :w]
    torch.testing.assert_close(out, manual)


def test_encode_shapes_and_intermediates(model):
    x = rand(2, 3, 32, 48)
    with torch.no_grad():
        feats = model.encode(x)
        inter = model.encoder.intermediates(x)
    assert feats.shape == (2, 128, 8, 12)
    assert [t.shape[1] for t in inter] == [32, 64, 64, 128]
    torch.testing.assert_close(inter[-1], feats)
    with pytest.raises(ValueError, match="RGB"):
        model(rand(1, 1, 32, 32))


def test_stage2_gradients_reach_only_frnet_when_autoencoder_frozen():
    net = FRLIE(base_channels=8, num_blocks=1, upsampling="bilinear")
    for part in (net.encoder, net.decoder):
        part.requires_grad_(False)
        part.eval()
    net.feature_processor.train()
    low, high = rand(2, 3, 16, 16, seed=2), rand(2, 3, 16, 16, seed=3)
    out = net.stage2_outputs(low, high)
    loss = (out["enhanced"] - high).pow(2).mean() + (out["restored"] - out["features_high"]).abs().mean()
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.feature_processor.parameters())
    assert all(p.grad is None for p in list(net.encoder.parameters()) + list(net.decoder.parameters()))
    assert not out["features_high"].requires_grad and not out["features_low"].requires_grad


def test_stage2_outputs_without_high_and_bad_crops():
    net = FRLIE(base_channels=8, num_blocks=1)
    out = net.stage2_outputs(rand(1, 3, 16, 16))
    assert set(out) == {"output", "enhanced", "restored", "features_low"}
    assert out["output"] is out["enhanced"]
    with pytest.raises(ValueError, match="multiples of 4"):
        net.stage2_outputs(rand(1, 3, 18, 16))


def test_luma_blend_and_forward_option(model):
    enhanced, low = rand(1, 3, 8, 8, seed=4), rand(1, 3, 8, 8, seed=5)
    torch.testing.assert_close(luma_blend(enhanced, torch.zeros_like(low)), enhanced)      # Y = 0 -> prediction
    torch.testing.assert_close(luma_blend(enhanced, torch.ones_like(low)), torch.ones_like(low))  # Y = 1 -> input
    y = 0.299 * low[:, 0:1] + 0.587 * low[:, 1:2] + 0.114 * low[:, 2:3]
    torch.testing.assert_close(luma_blend(enhanced, low), (1 - y) * enhanced + y * low)
    with torch.no_grad():
        torch.testing.assert_close(model(low, luma_blend_input=True), luma_blend(model(low), low))


def test_quantize_uint8_truncates_like_the_release():
    x = torch.tensor([0.0, 0.5, 0.999, 1.0, 1.2])
    assert quantize_uint8(x).tolist() == [0, 127, 254, 255, 255]
    assert quantize_uint8(x, rounding="round").tolist() == [0, 128, 255, 255, 255]
    with pytest.raises(ValueError, match="rounding"):
        quantize_uint8(x, rounding="floor")


def test_load_official_errors(tmp_path):
    net = FRLIE(base_channels=8, num_blocks=1)
    with pytest.raises(FileNotFoundError, match="shared/weights/frlie"):
        net.load_official(tmp_path / "missing.pth")
    with pytest.raises(KeyError, match="encoder"):
        net.load_official({"decoder": {}})


def test_load_official_round_trip_with_feature_processor(tmp_path):
    src = FRLIE(base_channels=8, num_blocks=1)
    torch.save({"encoder": src.encoder.state_dict(), "decoder": src.decoder.state_dict()}, tmp_path / "s1.pth")
    fp = {"feature_processor": src.feature_processor.state_dict()}
    dst = FRLIE.from_official(tmp_path / "s1.pth", fp, base_channels=8, num_blocks=1)
    for key, value in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[key], value)
    with pytest.raises(ValueError, match="upsampling='pixelshuffle'"):
        FRLIE(base_channels=8, num_blocks=1, upsampling="bilinear").load_official(tmp_path / "s1.pth")


# ---- configs ------------------------------------------------------------------------------------------------
def _config(name: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def _strip_budgets(cfg: dict) -> dict:
    out = {k: v for k, v in cfg.items() if k not in ("profile", "params", "init_stage1_from_official")}
    out["stages"] = {name: {k: v for k, v in stage.items() if k not in ("train", "scheduler", "eval")}
                     for name, stage in cfg["stages"].items()}
    return out


def test_paper_config_is_the_paper_recipe():
    cfg = _config("paper")
    s1, s2 = cfg["stages"]["stage1"], cfg["stages"]["stage2"]
    assert s1["losses"] == [{"type": "MSELoss", "loss_weight": 100}]
    weights = {loss["type"]: loss["loss_weight"] for loss in s2["losses"]}
    assert weights == {"MSELoss": 100, "FeatureMatchingLoss": 0.2, "SSIMLoss": 0.5, "HueLoss": 0.05}  # Eq. 7
    for stage in (s1, s2):
        assert stage["optim"] == {"type": "Adam", "lr": 2e-4, "betas": [0.5, 0.9]}
        assert stage["scheduler"]["gamma"] == 0.1 and stage["scheduler"]["milestones"] == [15000]
        assert stage["train"]["batch_size"] == 16 and stage["train"]["patch_size"] == 192
    assert s2["trainable"] == ["feature_processor"]
    hue = [loss for loss in s2["losses"] if loss["type"] == "HueLoss"]
    assert hue == [{"type": "HueLoss", "loss_weight": 0.05, "normalizer": 180}]     # Eq. 6 prefactor 1/180


def test_paper_config_against_the_paper_and_spec_text(shared_root):
    """Every recipe number of paper.yaml, read from the paper's sentences (§2, Eq. 6-7 and the training paragraph),
    or, where the paper is silent (crop, iterations, stage-1 weight, evaluation period), from methods.md §6.2's
    transcription of the released code."""
    paper = shared_text(shared_root, "seeds/frlie_2022_paper.txt")
    spec = shared_text(shared_root, "specs/methods.md", "## 6. FRLIE", "## 7.")
    cfg = _config("paper")
    s1, s2 = cfg["stages"]["stage1"], cfg["stages"]["stage2"]
    lam_d, lam_fm, lam_ssim, lam_hue = numbers_in(
        paper, r"We set \$\\lambda_D = #\$ , \$\\lambda_\{FM\} = #\$ , \$\\lambda_\{SSIM\} = #\$ and "
               r"\$\\lambda_\{Hue\} = #\$")
    weights = {loss["type"]: loss["loss_weight"] for loss in s2["losses"]}
    assert_numbers([weights[t] for t in ("MSELoss", "FeatureMatchingLoss", "SSIMLoss", "HueLoss")],
                   [lam_d, lam_fm, lam_ssim, lam_hue], "Eq. 7 weights")
    (prefactor,) = numbers_in(paper, r"L_\{hue\} := \\frac\{1\}\{#\}")
    (released,) = numbers_in(spec, r"loss = mean\(d\)/#")
    hue = next(loss for loss in s2["losses"] if loss["type"] == "HueLoss")
    code = next(loss for loss in deep_merge(cfg, cfg["variants"]["released_code"])["stages"]["stage2"]["losses"]
                if loss["type"] == "HueLoss")
    assert_numbers([hue["normalizer"], code["normalizer"]], [prefactor, released], "Eq. 6 / released hue normalizer")
    (batch,) = numbers_in(paper, r"On both training stages, .{0,60}? with batch-size of #")
    beta1, beta2 = numbers_in(paper, r"\$\\beta_1 = #\$ and \$\\beta_2 = #\$")
    lr, lr_end, epochs = numbers_in(paper, r"learning rate decays from \$? ?# ?\$? to \$? ?# ?\$? after # epochs")
    (stage1_weight,) = numbers_in(spec, r"Stage 1 \(MODEL=1\): autoencoder on \*\*normal-light\*\* images only: "
                                        r"L = #·MSE")
    crop, iters, every = numbers_in(spec, r"random crop #, random h/v flips, up to # iters; eval every # iters")
    assert_numbers([s1["losses"][0]["loss_weight"]], [stage1_weight], "stage-1 reconstruction weight (code)")
    for name, stage in (("stage1", s1), ("stage2", s2)):
        optim, sched, train = stage["optim"], stage["scheduler"], stage["train"]
        assert optim["type"] == "Adam" and sched["type"] == "multistep" and sched["step_per"] == "epoch", name
        assert_numbers([optim["lr"], optim["lr"] * sched["gamma"], *sched["milestones"], *optim["betas"]],
                       [lr, lr_end, epochs, beta1, beta2], f"{name}: Adam / decay")
        assert_numbers([train["batch_size"], train["patch_size"], train["iterations"], stage["eval"]["every"]],
                       [batch, crop, iters, every], f"{name}: batch (paper), crop / iterations / eval (code)")
        assert train["flips"] == ["horizontal", "vertical"], name


def test_hue_normalizer_in_every_profile_and_variant():
    """Main recipe and wo_fr: the paper's 1/180 (Eq. 6); released_code: the code's 1/360."""
    for profile in ("paper", "quick", "smoke"):
        cfg = _config(profile)
        for variant, expected in ((None, 180), ("wo_fr", 180), ("released_code", 360)):
            merged = deep_merge(cfg, cfg["variants"][variant]) if variant else cfg
            hue = [loss for loss in merged["stages"]["stage2"]["losses"] if loss["type"] == "HueLoss"]
            assert [loss["normalizer"] for loss in hue] == [expected], (profile, variant)
        assert "released_decoder" not in (CONFIG_DIR / f"{profile}.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("profile", ["quick", "smoke"])
def test_profile_configs_differ_from_paper_only_in_budgets(profile):
    cfg = _config(profile)
    assert cfg["profile"] == profile
    assert _strip_budgets(cfg) == _strip_budgets(_config("paper"))
    assert _count(MODELS.build(cfg["model"])) == _count(FRLIE(upsampling=cfg["model"]["upsampling"]))
    assert _config("quick")["init_stage1_from_official"] is True


@pytest.mark.parametrize("profile", ["paper", "quick", "smoke"])
def test_variants_merge_into_valid_configs(profile):
    cfg = _config(profile)
    wo_fr = deep_merge(cfg, cfg["variants"]["wo_fr"])
    assert wo_fr["stages"]["stage1"] is None
    stage = wo_fr["stages"]["stage2"]
    assert "FeatureMatchingLoss" not in [loss["type"] for loss in stage["losses"]]
    assert stage["trainable"] == ["encoder", "feature_processor", "decoder"]
    released = deep_merge(cfg, cfg["variants"]["released_code"])
    assert released["model"]["upsampling"] == "bilinear"
    assert released["official_weights"]["stage1"].endswith("weights_reconstruct.pth")
    fm = [loss for loss in released["stages"]["stage2"]["losses"] if loss["type"] == "FeatureMatchingLoss"]
    assert fm == [{"type": "FeatureMatchingLoss", "loss_weight": 0.2, "target": "low"}]


@pytest.mark.parametrize("profile", ["paper", "quick", "smoke"])
def test_config_losses_build_from_the_registry(profile):
    """Every FRLIE loss entry (kwargs included) builds from the registry (which discovers every loss module);
    MSELoss comes from the shared pixel losses."""
    cfg = _config(profile)
    configs = [cfg] + [deep_merge(cfg, v) for v in cfg["variants"].values()]
    entries = [loss for c in configs for stage in c["stages"].values() if stage for loss in stage["losses"]]
    frlie_losses = [e for e in entries if e["type"] != "MSELoss"]
    assert {e["type"] for e in frlie_losses} == {"FeatureMatchingLoss", "SSIMLoss", "HueLoss"}
    for entry in frlie_losses:
        assert LOSSES.build(entry).loss_weight == entry["loss_weight"]
