"""ICLR (Xu et al., AAAI 2026): weight compatibility, the released wiring of the DIEM (MAFM -> CDEM -> MAFM), the
blocks' paper and released formulas, ablation switches, test-time options, the Covariance Correction Loss and the
configs."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from llie_core.core.profiles import deep_merge
from llie_core.losses.covariance_correction import CovarianceCorrectionLoss, hv_covariance, hv_second_moment
from llie_core.models.cidnet import CIDNet, official_keys, official_test_options, state_dict_from_listing
from llie_core.models.cidnet_blocks import CrossAttention
from llie_core.models.iclr import ICLR
from llie_core.models.iclr_blocks import CDEM, MAFM, MFEM, PixelAttention
from llie_core.models.registry import MODELS
from tests.helpers import (TINY_CIDNET, assert_numbers, check_hvi_test_time_options, check_losses_build, check_profiles,
                           load_config, numbers_in, rand, shared_text)

LISTING = "specs/state_dict_keys/iclr_ICLR_state_dict.txt"
RELEASED = {"cdem_residual": "released", "fusion_weighting": "released"}


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _randomise_scalars(model: torch.nn.Module, seed: int = 0) -> None:
    """Move the 0.5-initialised scalars (and zero biases) away from their symmetric init, so formulas differ."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() <= 1:
                p.copy_(torch.rand(p.shape, generator=generator) * 1.5 + 0.1)


# ---- weight compatibility ----------------------------------------------------------------------------------
def test_parameter_count_equals_the_official_network():
    assert _count(ICLR()) == 4_474_672                       # official_measurements.md
    assert round(4_474_672 / 2**20, 2) == 4.27                # the paper's 4.27 M (M = 2^20)


def test_keys_and_shapes_equal_the_official_listing_and_load_strictly(shared_root):
    listing = shared_root / LISTING
    model = ICLR()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == official_keys(listing)
    state = state_dict_from_listing(listing, seed=3)
    model.load_state_dict(state, strict=True)
    torch.testing.assert_close(model.fusion3.pa.pa2.weight, state["fusion3.pa.pa2.weight"])
    assert model.HVE_block0[1].in_channels == 2               # the HV stem sees H and V only


def test_registered_and_validated():
    assert isinstance(MODELS.build({"type": "ICLR", **TINY_CIDNET}), ICLR)
    with pytest.raises(ValueError, match="fusion_stages"):
        ICLR(fusion_stages=["middle"])
    with pytest.raises(ValueError, match="cross_attention"):
        ICLR(cross_attention="self")
    with pytest.raises(ValueError, match="CDEM residual"):
        ICLR(cdem_residual="other")
    with pytest.raises(ValueError, match="MAFM weighting"):
        ICLR(fusion_weighting="other")


# ---- the released forward, transliterated independently of HVIDualBranchNet.enhance_hvi ---------------------
def official_forward_hvi(m: ICLR, hvi: torch.Tensor) -> torch.Tensor:
    """``net/ICLR.py`` forward (Derliye/ICLR), step by step, in HVI space."""
    i, hv = hvi[:, 2:3], hvi[:, :2]
    i0 = m.IE_block0(i)
    hv0 = m.fusion1(m.HVE_block0(hv), i0)
    i1 = m.IE_block1(i0)
    hv1 = m.fusion2(m.HVE_block1(hv0), i1)
    i2 = m.CDEM_I1(i1, hv1)
    hv2 = m.fusion2(m.CDEM_HV1(hv1, i1), i2)
    jump1 = (hv2, i2)
    i2 = m.IE_block2(i2)
    hv2 = m.fusion3(m.HVE_block2(hv2), i2)
    i3 = m.CDEM_I2(i2, hv2)
    hv3 = m.fusion3(m.CDEM_HV2(hv2, i2), i3)
    jump2 = (hv3, i3)
    i3 = m.IE_block3(i2)                                      # pre-CDEM tensors go down (released)
    hv3 = m.fusion4(m.HVE_block3(hv2), i3)
    i4 = m.CDEM_I3(i3, hv3)
    hv4 = m.fusion4(m.CDEM_HV3(hv3, i3), i4)
    i_dec4 = m.CDEM_I4(i4, hv4)
    hv4 = m.fusion4(m.CDEM_HV4(hv4, i4), i_dec4)
    hv3 = m.HVD_block3(hv4, jump2[0])
    i_dec3 = m.ID_block3(i_dec4, jump2[1])
    hv3 = m.fusion3(hv3, i_dec3)
    i_dec2 = m.CDEM_I5(i_dec3, hv3)                          # only feeds fusion3 ...
    hv2 = m.fusion3(m.CDEM_HV5(hv3, i_dec3), i_dec2)
    hv2 = m.HVD_block2(hv2, jump1[0])
    i_dec2 = m.ID_block2(i_dec3, jump1[1])                   # ... then is overwritten
    hv2 = m.fusion2(hv2, i_dec2)
    i_dec1 = m.CDEM_I6(i_dec2, hv2)
    hv1 = m.fusion2(m.CDEM_HV6(hv2, i_dec2), i_dec1)
    i_dec1 = m.ID_block1(i_dec1, i0)
    hv1 = m.fusion1(m.HVD_block1(hv1, hv0), i_dec1)
    return torch.cat([m.HVD_block0(hv1), m.ID_block0(i_dec1)], dim=1) + hvi


@pytest.mark.parametrize("options", [RELEASED, {}])
def test_enhance_hvi_equals_the_released_forward(options):
    torch.manual_seed(0)
    model = ICLR(**TINY_CIDNET, **options).eval()
    _randomise_scalars(model)
    with torch.no_grad():
        hvi = model.trans(rand(1, 3, 32, 48, seed=1))
        torch.testing.assert_close(model.enhance_hvi(hvi), official_forward_hvi(model, hvi))


def test_one_mafm_per_scale_shared_by_every_fusion_at_that_scale():
    model = ICLR(**TINY_CIDNET).eval()
    calls = {n: 0 for n in ("fusion1", "fusion2", "fusion3", "fusion4")}
    hooks = [getattr(model, n).register_forward_hook(lambda *_, n=n: calls.__setitem__(n, calls[n] + 1))
             for n in calls]
    with torch.no_grad():
        model(rand(1, 3, 32, 32, seed=2))
    for hook in hooks:
        hook.remove()
    assert calls == {"fusion1": 2, "fusion2": 4, "fusion3": 4, "fusion4": 3}   # 13 fusions, 4 modules
    assert [getattr(model, n).conv.in_channels for n in calls] == [8, 8, 16, 32]


def test_gradients_reach_every_parameter_including_the_fifth_i_block():
    """Unlike CIDNet, CDEM_I5's output reaches the loss (through fusion3)."""
    model = ICLR(**TINY_CIDNET)
    low, high = rand(1, 3, 32, 32, seed=3), rand(1, 3, 32, 32, seed=4)
    out = model.train_outputs(low, high)
    (out["output"] - high).abs().mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


# ---- blocks: paper formulas and the released ones --------------------------------------------------------
def test_cdem_paper_and_released_outputs():
    torch.manual_seed(0)
    paper, released = CDEM(8, 2, "paper"), CDEM(8, 2, "released")
    released.load_state_dict(paper.state_dict())
    _randomise_scalars(paper)
    released.load_state_dict(paper.state_dict())
    x, y = rand(2, 8, 6, 6, seed=5), rand(2, 8, 6, 6, seed=6)
    with torch.no_grad():
        z = paper.linear(paper.attend(x, y))
        t1 = paper.beta * z + paper.alpha * y
        ffn = paper.ffn(t1)
        torch.testing.assert_close(paper(x, y), paper.project_out(paper.gamma * z + paper.delta * ffn))
        torch.testing.assert_close(released(x, y), paper.project_out(paper.gamma * t1 + paper.delta * ffn))
        assert (paper(x, y) - released(x, y)).abs().max() > 1e-3


def test_cross_attention_is_channel_attention_with_normalised_queries_and_keys():
    block = CrossAttention(8, 2)
    x, y = rand(1, 8, 5, 7, seed=7), rand(1, 8, 5, 7, seed=8)
    with torch.no_grad():
        q = block.q_dwconv(block.q(x)).reshape(1, 2, 4, 35)
        k, v = (t.reshape(1, 2, 4, 35) for t in block.kv_dwconv(block.kv(y)).chunk(2, dim=1))
        attn = torch.softmax(F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1), dim=-1)
        assert attn.shape == (1, 2, 4, 4)                      # (C/heads x C/heads), not pixels x pixels
        torch.testing.assert_close(block(x, y), block.project_out((attn @ v).reshape(1, 8, 5, 7)))


def test_pixel_attention_equals_the_released_interleaved_grouped_convolution():
    pa = PixelAttention(6)
    torch.nn.init.normal_(pa.pa2.bias)
    x, g = rand(2, 6, 9, 11, seed=9), rand(2, 6, 9, 11, seed=10)
    interleaved = torch.stack([x, g], dim=2).flatten(1, 2)   # x_0, g_0, x_1, g_1, ...
    with torch.no_grad():
        torch.testing.assert_close(pa(x, g), torch.sigmoid(pa.pa2(interleaved)), atol=1e-6, rtol=1e-5)


def test_guided_pair_equals_two_released_pixel_attention_calls_values_and_gradients():
    """MAFM's shortcut: PA(F0, F0 + CA) and PA(F0, F0 + SA) from one depthwise convolution, by linearity."""
    pa = PixelAttention(6)
    torch.nn.init.normal_(pa.pa2.bias)
    x = rand(2, 6, 9, 11, seed=20).requires_grad_(True)
    shift_c = rand(2, 6, 1, 1, seed=21).requires_grad_(True)
    shift_p = rand(2, 1, 9, 11, seed=22).requires_grad_(True)
    leaves = [x, shift_c, shift_p, pa.pa2.weight, pa.pa2.bias]
    released = pa(x, x + shift_c), pa(x, x + shift_p)
    fused = pa.guided_pair(x, shift_c, shift_p)
    for a, b in zip(released, fused):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    grads_a = torch.autograd.grad((1.3 * released[0] + released[1]).sum(), leaves)
    grads_b = torch.autograd.grad((1.3 * fused[0] + fused[1]).sum(), leaves)
    for a, b in zip(grads_a, grads_b):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_channels_last_layout_changes_no_output():
    torch.manual_seed(0)
    fast = ICLR(**TINY_CIDNET).eval()
    plain = ICLR(**TINY_CIDNET, channels_last=False).eval()
    plain.load_state_dict(fast.state_dict())
    low = rand(1, 3, 32, 40, seed=23)
    with torch.no_grad():
        torch.testing.assert_close(fast(low), plain(low), atol=1e-5, rtol=0)


def test_mafm_paper_weighting_is_the_released_one_with_the_inputs_swapped():
    """F0 = x + y is symmetric, so paper(x, y) = conv(F0 + W y + (1-W) x) = released(y, x)."""
    paper, released = MAFM(8, weighting="paper"), MAFM(8, weighting="released")
    _randomise_scalars(paper)
    released.load_state_dict(paper.state_dict())
    x, y = rand(1, 8, 10, 10, seed=11), 3 * rand(1, 8, 10, 10, seed=12)
    with torch.no_grad():
        torch.testing.assert_close(paper(x, y), released(y, x))
        assert (paper(x, y) - released(x, y)).abs().max() > 1e-3


def test_mafm_weights_stay_between_the_two_inputs():
    """With alpha + beta = 1 the pixel weight W is in (0, 1): the fused term is a convex mix of x and y."""
    mafm = MAFM(8)
    torch.nn.init.eye_(mafm.conv.weight.view(8, 8))
    torch.nn.init.zeros_(mafm.conv.bias)
    x, y = torch.zeros(1, 8, 8, 8), torch.ones(1, 8, 8, 8)
    with torch.no_grad():
        mixed = mafm(x, y) - (x + y)                          # conv = identity: out - F0 = W y + (1 - W) x
    assert (mixed > 0).all() and (mixed < 1).all()


def test_mfem_branch_receptive_fields():
    """Branches 2 and 3 reach 4 px (1x3/3x1 then a dilation-3 3x3), branch 1 one pixel, branch 4 none."""
    mfem = MFEM(4)
    for p in mfem.parameters():
        torch.nn.init.constant_(p, 0.1)
    impulse = torch.zeros(1, 4, 15, 15)
    impulse[..., 7, 7] = 1.0
    with torch.no_grad():
        reach = {name: (getattr(mfem, name)(impulse).abs().sum(1)[0] > 0).nonzero() for name in
                 ("branch1", "branch2", "branch3", "branch4")}
    radius = {name: int((r - 7).abs().max()) for name, r in reach.items()}
    assert radius == {"branch1": 1, "branch2": 4, "branch3": 4, "branch4": 0}


# ---- ablation switches -------------------------------------------------------------------------------------
def test_without_mafm_no_fusion_module_exists_and_fusion_is_identity():
    full, without = ICLR(**TINY_CIDNET), ICLR(**TINY_CIDNET, fusion_stages=[])
    assert not any(n.startswith("fusion") for n, _ in without.named_children())
    assert _count(full) - _count(without) == sum(_count(getattr(full, f"fusion{k}")) for k in range(1, 5))
    hv, i = rand(1, 8, 4, 4, seed=13), rand(1, 8, 4, 4, seed=14)
    assert without.fuse(hv, i, 1, "pre") is hv


@pytest.mark.parametrize("stages, expected", [(["pre"], {"fusion1": 2, "fusion2": 2, "fusion3": 2, "fusion4": 1}),
                                              (["post"], {"fusion2": 2, "fusion3": 2, "fusion4": 2})])
def test_first_and_second_mafm_of_the_diem_can_be_removed(stages, expected):
    model = ICLR(**TINY_CIDNET, fusion_stages=stages).eval()
    calls: dict[str, int] = {}
    for n in ("fusion1", "fusion2", "fusion3", "fusion4"):
        getattr(model, n).register_forward_hook(lambda *_, n=n: calls.__setitem__(n, calls.get(n, 0) + 1))
    with torch.no_grad():
        model(rand(1, 3, 32, 32, seed=15))
    assert calls == expected


def test_plain_cross_attention_variant_drops_the_dynamic_weighting():
    model = ICLR(**TINY_CIDNET, cross_attention="plain")
    assert type(model.CDEM_HV3.ffn) is CrossAttention and isinstance(model.CDEM_HV3.gdfn, MFEM)
    assert not any(n.endswith((".linear.weight", ".alpha", ".delta")) for n, _ in model.named_parameters()
                   if n.startswith("CDEM_"))


# ---- test-time options: explicit arguments, off by default -----------------------------------------------
def test_test_time_options_are_arguments_not_state():
    model = ICLR(**TINY_CIDNET).eval()
    low = rand(1, 3, 32, 40, seed=16)
    plain = check_hvi_test_time_options(model, low)
    with torch.no_grad():
        assert (model(low, saturation_gate=1.3) - plain).abs().max() > 1e-4
    assert official_test_options("lol_v1") == {"saturation_gate": 1.3}
    assert official_test_options("lol_v2_real") == {"rgb_scale": 0.84}


def test_iclr_is_cidnet_plus_diem_at_the_same_skeleton():
    cidnet, iclr = CIDNet(), ICLR()
    skeleton = lambda m: {k: v.shape for k, v in m.state_dict().items()  # noqa: E731
                          if k.startswith(("HVE_block", "HVD_block", "IE_block", "ID_block", "trans"))}
    a, b = skeleton(cidnet), skeleton(iclr)
    assert set(a) == set(b)
    assert [k for k in a if a[k] != b[k]] == ["HVE_block0.1.weight"]   # 3 -> 36 vs 2 -> 36


# ---- Covariance Correction Loss ----------------------------------------------------------------------------
def _hvi_pair(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    pred = rand(2, 3, 8, 8, seed=seed) * torch.tensor([2.0, 2.0, 1.0]).view(1, 3, 1, 1) - torch.tensor(
        [1.0, 1.0, 0.0]).view(1, 3, 1, 1)
    target = (pred + 0.2 * (rand(2, 3, 8, 8, seed=seed + 1) - 0.5)).clamp(-1, 1)
    return pred, target


def test_ccl_terms_follow_the_paper_formulas():
    pred, target = _hvi_pair()
    h, v, i = pred.unbind(1)
    hr, vr, ir = target.unbind(1)
    residual = (i - ir).abs()
    w_h, w_v = 1 + residual.mean(), 1 + residual.std()
    expected = (F.mse_loss(i, ir) + w_h * F.mse_loss(h, hr) + w_v * F.mse_loss(v, vr)
                + ((h * v).mean(dim=(1, 2)) - (hr * vr).mean(dim=(1, 2))).pow(2).mean())
    loss = CovarianceCorrectionLoss(2.0)
    torch.testing.assert_close(loss(pred, target), 2.0 * expected)
    terms = loss.components(pred, target)
    torch.testing.assert_close(terms["W_H"], w_h)
    torch.testing.assert_close(terms["W_V"], w_v)


def test_ccl_golden_value_on_a_hand_made_pair():
    """One image, two pixels: I residual |0.2|, |0.0| -> W_H = 1.1, W_V = 1 + std([0.2, 0]) = 1 + 0.1414."""
    target = torch.tensor([[0.5, 0.5], [0.5, -0.5], [0.4, 0.6]]).view(1, 3, 1, 2)
    pred = torch.tensor([[0.3, 0.5], [0.5, -0.1], [0.6, 0.6]]).view(1, 3, 1, 2)
    l_i = (0.2 ** 2) / 2
    l_h = (0.2 ** 2) / 2
    l_v = (0.4 ** 2) / 2
    moment = ((0.3 * 0.5 + 0.5 * -0.1) / 2 - (0.25 - 0.25) / 2) ** 2
    expected = l_i + 1.1 * l_h + (1 + 2 ** 0.5 / 10) * l_v + moment
    assert CovarianceCorrectionLoss()(pred, target).item() == pytest.approx(expected, rel=1e-5)


def test_ccl_released_channel_order_differs_and_is_a_channel_permutation():
    paper, released = CovarianceCorrectionLoss(), CovarianceCorrectionLoss(channel_order="released")
    # a pure luminance error of 0.5 with mean V = 0.4: paper = L_I = 0.25 (H, V exact, E[HV] unchanged);
    # released = W_V * MSE(I) + (E[V (I + 0.5)] - E[V I])^2 = 0.25 + (0.5 * 0.4)^2 = 0.29
    target = torch.stack([torch.full((4, 4), 0.1), torch.full((4, 4), 0.4), torch.full((4, 4), 0.3)])[None]
    pred = target + torch.tensor([0.0, 0.0, 0.5]).view(1, 3, 1, 1)
    assert paper(pred, target).item() == pytest.approx(0.25, rel=1e-5)
    assert released(pred, target).item() == pytest.approx(0.29, rel=1e-5)
    pred, target = _hvi_pair(seed=3)
    # the released code reads (I, H, V) from channels (0, 1, 2): the paper loss on channels permuted to that
    order = [1, 2, 0]
    torch.testing.assert_close(released(pred, target), paper(pred[:, order], target[:, order]))
    # in the released reading the "luminance" statistics come from H (channel 0)
    changed = pred.clone()
    changed[:, 2] += 0.3                                         # true luminance error only
    assert (released.components(changed, target)["W_H"] - released.components(pred, target)["W_H"]).abs() < 1e-7
    assert paper.components(changed, target)["W_H"] > paper.components(pred, target)["W_H"]


def test_ccl_zero_on_equal_inputs_and_gradients_flow():
    pred, target = _hvi_pair(seed=5)
    assert CovarianceCorrectionLoss()(target, target).item() == 0.0
    pred.requires_grad_(True)
    CovarianceCorrectionLoss()(pred, target).backward()
    assert torch.isfinite(pred.grad).all() and (pred.grad != 0).any()


def test_ccl_covariance_term_sees_what_pixel_losses_do_not():
    """Two H errors of equal size: one leaves the image's E[HV] unchanged (L_HV = 0), the other shifts it."""
    target = torch.zeros(2, 3, 1, 2)
    target[0, :2] = 0.5
    target[1, :2] = torch.tensor([[0.5, -0.5], [-0.5, 0.5]]).view(2, 1, 2)
    torch.testing.assert_close(hv_second_moment(target), torch.tensor([0.25, -0.25]))
    torch.testing.assert_close(hv_covariance(target), torch.tensor([0.0, -0.25]))
    loss = CovarianceCorrectionLoss()
    balanced, unbalanced = target.clone(), target.clone()
    balanced[1, 0] += 0.1                                          # E[dH V] = 0.1 * mean(V) = 0
    unbalanced[1, 0] += torch.tensor([0.1, -0.1]).view(1, 2)       # E[dH V] = -0.05
    a, b = loss.components(balanced, target), loss.components(unbalanced, target)
    torch.testing.assert_close(a["L_I_HV"], b["L_I_HV"])           # same pixel-wise error
    assert a["L_HV"].item() == pytest.approx(0.0, abs=1e-12)
    assert b["L_HV"].item() == pytest.approx(0.05 ** 2 / 2, rel=1e-5)  # batch mean over two images


def test_ccl_rejects_non_hvi_tensors():
    with pytest.raises(ValueError, match="output_hvi, high_hvi"):
        CovarianceCorrectionLoss()(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="channel_order"):
        CovarianceCorrectionLoss(channel_order="bgr")


# ---- configs ------------------------------------------------------------------------------------------------
def _losses(cfg: dict) -> dict[tuple[str, tuple[str, ...]], float]:
    return {(e["type"], tuple(e.get("inputs", ("output", "high")))): e["loss_weight"]
            for e in cfg["stages"]["main"]["losses"]}


HVI = ("output", "high")  # CCL's default inputs are (output_hvi, high_hvi) through the class attribute


def test_paper_config_is_the_released_recipe():
    cfg = load_config("iclr", "paper")
    weights = _losses(cfg)
    assert weights[("MSELoss", ("output", "high"))] == 1.0                 # L_RGB uses L2, not L1
    assert weights[("CovarianceCorrectionLoss", HVI)] == 1.0             # L_HVI: CCL replaces the pixel loss
    for space in (("output", "high"), ("output_hvi", "high_hvi")):
        assert weights[("SSIMLoss", space)] == 0.5
        assert weights[("LaplacianEdgeLoss", space)] == 50
        assert weights[("VGGPerceptualLoss", space)] == 0.01
    assert CovarianceCorrectionLoss.inputs == ("output_hvi", "high_hvi")
    assert len(weights) == 8
    stage = cfg["stages"]["main"]
    assert stage["optim"] == {"type": "Adam", "lr": 1e-4}
    assert (stage["train"]["batch_size"], stage["train"]["patch_size"], stage["train"]["seed"]) == (8, 256, 287469)
    assert cfg["model"]["channels"] == [36, 36, 72, 144] and cfg["test"]["gt_mean"] is True
    assert cfg["test"]["official_options"]["lol_v1"] == official_test_options("lol_v1")


def test_paper_config_against_the_spec_text(shared_root):
    """The recipe numbers of paper.yaml are the ones methods.md §2.2-2.3 transcribes from the released train.py /
    options.py (the stored ICLR seed is the abstract only: it states no recipe number)."""
    spec = shared_text(shared_root, "specs/methods.md", "## 2. ICLR", "## 3. JCRNet")
    stage = load_config("iclr", "paper")["stages"]["main"]
    weights = _losses({"stages": {"main": stage}})
    rgb_ssim, rgb_edge, rgb_perc, hvi_ssim, hvi_edge, hvi_perc, hvi = numbers_in(
        spec, r"L_RGB = \*\*MSE\*\* \(L2, not L1\) \+ #\(1−SSIM\) \+ #·Edge \+ #·Perc; "
              r"L_HVI = CCL \+ #\(1−SSIM\) \+ #·Edge \+ #·Perc; total = L_RGB \+ #·L_HVI")
    ccl_terms, ccl_weight = numbers_in(spec, r"all three terms weight #; loss weight #")
    rgb, hvi_space = ("output", "high"), ("output_hvi", "high_hvi")
    assert_numbers([weights[("MSELoss", rgb)], weights[("SSIMLoss", rgb)], weights[("LaplacianEdgeLoss", rgb)],
                    weights[("VGGPerceptualLoss", rgb)]], [1.0, rgb_ssim, rgb_edge, rgb_perc], "L_RGB weights")
    assert_numbers([weights[("CovarianceCorrectionLoss", HVI)], weights[("SSIMLoss", hvi_space)],
                    weights[("LaplacianEdgeLoss", hvi_space)], weights[("VGGPerceptualLoss", hvi_space)]],
                   [hvi * ccl_weight, hvi * hvi_ssim, hvi * hvi_edge, hvi * hvi_perc], "L_HVI weights")
    assert ccl_terms == 1 and len(weights) == 8
    lr, batch, crop, epochs, warmup, eta_min, seed = numbers_in(
        spec, r"Adam lr #, batch #, crop #, flips, # epochs, warm-up # \+ cosine to #, fixed seed #")
    sched, train = stage["scheduler"], stage["train"]
    assert_numbers([stage["optim"]["lr"], train["batch_size"], train["patch_size"], sched["warmup_iters"],
                    sched["eta_min"], train["seed"]], [lr, batch, crop, warmup, eta_min, seed],
                   "optimiser / schedule / batch / seed")
    cidnet = shared_text(shared_root, "specs/methods.md", "### 1.4", "### 1.5")   # ICLR keeps CIDNet's trainer
    assert "default betas" in cidnet and "betas" not in stage["optim"] and "Built on the CIDNet code base" in spec
    assert sched["type"] == "cosine" and sched["step_per"] == "epoch"             # warm-up counted in epochs
    (pairs,) = numbers_in(shared_text(shared_root, "specs/methods.md"), r"our485/\{low,high\}` \(# train pairs\)")
    assert "Train on LOLv1 only" in spec
    assert_numbers([train["iterations"]], [epochs * math.ceil(pairs / batch)], "iterations = epochs x batches")


def test_ablation_variants_change_exactly_one_thing():
    paper = load_config("iclr", "paper")
    base = _losses(paper)
    for variant, replacement in (("ccl_to_l1", "L1Loss"), ("ccl_to_l2", "MSELoss")):
        merged = _losses(deep_merge(paper, paper["variants"][variant]))
        expected = {k: v for k, v in base.items() if k[0] != "CovarianceCorrectionLoss"}
        expected[(replacement, ("output_hvi", "high_hvi"))] = 1.0
        assert merged == expected, variant
    for variant, model in (("wo_mafm", {"fusion_stages": []}), ("cdem_to_tca", {"cross_attention": "plain"}),
                           ("wo_first_mafm", {"fusion_stages": ["post"]}),
                           ("wo_second_mafm", {"fusion_stages": ["pre"]})):
        assert paper["variants"][variant]["model"] == model and "stages" not in paper["variants"][variant]
    # the paper-text reading is one labelled variant: the three switches, nothing else
    text = deep_merge(paper, paper["variants"]["paper_text"])
    assert paper["variants"]["paper_text"]["model"] == {"cdem_residual": "paper", "fusion_weighting": "paper"}
    assert _losses(text) == base and _ccl_orders(text) == ["paper"]


def _ccl_orders(cfg):
    return [e.get("channel_order", "paper") for e in cfg["stages"]["main"]["losses"]
            if e["type"] == "CovarianceCorrectionLoss"]


@pytest.mark.parametrize("profile", ["paper", "quick", "smoke"])
def test_defaults_are_the_released_code_and_ablations_inherit_them(profile):
    """The reported main and ablation numbers come from the released code (issue 19 §4): its CDEM residual
    (gamma t1), MAFM weighting (W on the HV input) and CCL channel split are the defaults of every profile, and every
    ablation variant keeps the two model switches and (where it keeps CCL) the released split."""
    cfg = load_config("iclr", profile)
    assert {k: cfg["model"][k] for k in RELEASED} == RELEASED and _ccl_orders(cfg) == ["released"]
    assert "released_code" not in cfg["variants"]                     # the defaults are the released code
    for variant, override in cfg["variants"].items():
        merged = deep_merge(cfg, override)
        if variant == "paper_text":
            assert {merged["model"][k] for k in RELEASED} == {"paper"} and _ccl_orders(merged) == ["paper"]
            continue
        assert {k: merged["model"][k] for k in RELEASED} == RELEASED, variant
        assert _ccl_orders(merged) in ([], ["released"]), variant


def test_profiles_differ_only_in_budgets_and_documented_deviations():
    check_profiles("iclr")


def test_quick_budgets_are_iterations():
    for method in ("iclr", "cidnet"):
        train = load_config(method, "quick")["stages"]["main"]["train"]
        assert "time_budget_s" not in train and train["iterations"] > 0


def test_config_losses_build_and_models_build():
    check_losses_build("iclr")
    for profile in ("quick", "smoke"):
        cfg = load_config("iclr", profile)
        for variant in [None, *cfg["variants"]]:
            merged = deep_merge(cfg, cfg["variants"][variant]) if variant else copy.deepcopy(cfg)
            assert isinstance(MODELS.build(dict(merged["model"])), ICLR)
