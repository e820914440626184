"""IRLE model (self-supervised, arXiv 2605.28605): blind spot, GAFM, pseudo GT, training outputs, honesty
(no loss ever reads 'high'), a few training steps, and the configs."""
from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from data_prep.image_io import write_image
from llie_core.core.profiles import deep_merge, load_profile
from llie_core.engine import SelfSupervisedTask, StageTask, load_checkpoint, train
from llie_core.evaluation.complexity import FLOPS_PER_MAC
from llie_core.losses import build_loss_set
from llie_core.losses.registry import LOSSES
from llie_core.models import irle as irle_module
from llie_core.models.irle import (FULL_RESOLUTION_MODEL, IRLE, IlluminationNet, neighbor_pair_indices,
                                    neighbor_subsample, pd_down, pd_up)
from llie_core.models.irle_blindspot import BlindSpotDenoiser, ring_mean
from llie_core.models.irle_pseudo_gt import gaussian_blur, gray_world, pseudo_ground_truth
from llie_core.models.registry import MODELS
from llie_core.report.ledger import reported_value
from llie_core.training import recipes
from tests.helpers import TINY_IRLE

CONFIG_DIR = Path(__file__).resolve().parents[2] / "llie_core" / "configs" / "irle"
VARIANTS = {"wo_pseudo_gt", "wo_iap", "wo_sisc", "sisc_to_spatial", "wo_gafm", "no_denoiser"}


def _texture(b: int = 1, h: int = 32, w: int = 32, seed: int = 0, level: float = 0.08) -> torch.Tensor:
    """A dark, structured, noisy RGB batch with a colour cast (a stand-in for a low-light crop)."""
    g = torch.Generator().manual_seed(seed)
    base = gaussian_blur(torch.rand(b, 3, h, w, generator=g), 1.5)
    base = (base - base.mean()) / base.std() * 0.25 + 1.0
    cast = torch.tensor([1.0, 0.8, 0.6]).view(1, 3, 1, 1)
    noise = 0.004 * torch.randn(b, 3, h, w, generator=g)
    return (level * base * cast + noise).clamp(0, 1)


def _tiny(**overrides) -> IRLE:
    torch.manual_seed(0)
    return IRLE(**deep_merge(TINY_IRLE, overrides))


def _randomise_gafm(denoiser: BlindSpotDenoiser) -> None:
    """Zero-initialised layers (GAFM heads, the last tail conv over the ring-mean base) made non-trivial."""
    for head in denoiser.gafm.heads if denoiser.gafm is not None else []:
        torch.nn.init.normal_(head.weight, std=0.3)
        torch.nn.init.normal_(head.bias, std=0.1)
    torch.nn.init.normal_(denoiser.tail[-1].weight, std=0.3)


# ---- blind spot and GAFM ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("gafm", [True, False])
def test_blind_spot_output_ignores_its_own_input_pixel(gafm):
    torch.manual_seed(1)
    net = BlindSpotDenoiser(channels=8, num_blocks=4, gafm=gafm, prior_hidden=8).double()
    _randomise_gafm(net)
    noisy = torch.rand(1, 3, 21, 21, dtype=torch.double, requires_grad=True)
    prior = torch.rand(1, 3, 21, 21, dtype=torch.double)
    net(noisy, prior)[0, :, 10, 10].sum().backward()
    grad = noisy.grad[0].abs().sum(0)
    assert grad[10, 10].item() == 0.0                                  # exactly blind at its own pixel
    for dy, dx in [(0, 1), (1, 0), (0, -1), (-1, 0), (1, 1)]:
        assert grad[10 + dy, 10 + dx] > 0                              # neighbours matter
    assert (grad > 0).sum() > 40                                       # a wide receptive field
    for y, x in [(0, 0), (0, 20), (20, 7)]:                            # also at borders and corners (padding)
        noisy.grad = None
        net(noisy, prior)[0, :, y, x].sum().backward()
        assert noisy.grad[0, :, y, x].abs().sum().item() == 0.0, (y, x)


def test_denoiser_starts_from_the_blind_ring_mean():
    torch.manual_seed(3)
    net = BlindSpotDenoiser(channels=8, num_blocks=2, prior_hidden=8)
    noisy, prior = torch.rand(2, 3, 12, 14), torch.rand(2, 3, 12, 14)
    base = ring_mean(noisy)
    torch.testing.assert_close(net(noisy, prior), base)                   # zero-initialised correction
    torch.testing.assert_close(base[..., 5, 6], noisy[..., 4:7, 5:8].sum((-2, -1)) / 8 - noisy[..., 5, 6] / 8)
    torch.testing.assert_close(ring_mean(torch.full((1, 3, 5, 5), 0.3)), torch.full((1, 3, 5, 5), 0.3))
    plain = BlindSpotDenoiser(channels=8, num_blocks=2, prior_hidden=8, base=None)
    assert not torch.allclose(plain(noisy, prior), base)
    with pytest.raises(ValueError, match="base"):
        BlindSpotDenoiser(base="median")


@pytest.mark.parametrize("pd_factor", [1, 2])
def test_irle_denoise_is_blind_with_and_without_pixel_shuffle(pd_factor):
    """Exact w.r.t. the denoiser input (the stage-1 output), also on pixel-shuffle sub-images (stage-2 training)."""
    model = _tiny(denoiser={"num_blocks": 3}).double()
    _randomise_gafm(model.denoiser)
    noisy = torch.rand(1, 3, 30, 30, dtype=torch.double, requires_grad=True)
    gain = 1 + 4 * torch.rand(1, 3, 30, 30, dtype=torch.double)
    model.denoise(noisy, gain, pd_factor)[0, :, 15, 15].sum().backward()
    grad = noisy.grad[0].abs().sum(0)
    assert grad[15, 15].item() == 0.0
    assert grad[15, 15 + pd_factor] > 0 and grad[15 + pd_factor, 15] > 0   # same sub-image neighbours
    if pd_factor == 2:
        assert grad[15, 16].item() == 0.0                                   # other sub-images are not seen


def _self_gradients(model: IRLE, h: int, w: int, pd_factor: int) -> torch.Tensor:
    """|d out[c, p] / d in[c', p]| summed over c' and maxed over c, for every pixel p of an (h, w) image: one batch
    entry per pixel (the denoiser treats batch entries independently), one backward pass per output channel."""
    g = torch.Generator().manual_seed(h * 100 + w)
    n = h * w
    noisy = torch.rand(1, 3, h, w, generator=g, dtype=torch.double).expand(n, -1, -1, -1).clone().requires_grad_()
    gain = (1 + 4 * torch.rand(1, 3, h, w, generator=g, dtype=torch.double)).expand(n, -1, -1, -1)
    out = model.denoise(noisy, gain, pd_factor)
    ys, xs = (t.flatten() for t in torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij"))
    batch = torch.arange(n)
    diag = torch.zeros(h, w, dtype=torch.double)
    for c in range(3):
        (grad,) = torch.autograd.grad(out[batch, c, ys, xs].sum(), noisy, retain_graph=True)
        diag = torch.maximum(diag, grad[batch, :, ys, xs].abs().sum(1).view(h, w))
        assert grad.abs().sum() > 0                                      # the outputs do depend on the input
    return diag


@pytest.mark.parametrize("gafm", [True, False])
@pytest.mark.parametrize("pd_factor", [1, 2, 4])
@pytest.mark.parametrize("size", [(15, 15), (17, 13)])
def test_denoise_is_blind_at_every_pixel_of_odd_sizes(size, pd_factor, gafm):
    """d out[p] / d in[p] == 0 for every pixel p, borders included, when the size is not a multiple of pd_factor
    (the right/bottom padding must not copy a pixel into its own sub-image)."""
    model = _tiny(denoiser={"num_blocks": 3, "gafm": gafm}).double()
    _randomise_gafm(model.denoiser)
    assert _self_gradients(model, *size, pd_factor).max().item() == 0.0


PAPER_LAYOUT = {"cell": 2, "prior_scale": 4, "prior_kernel": 3, "prior_layers": 3}  # the paper config's switches


@pytest.mark.parametrize("pd_factor", [1, 2])
@pytest.mark.parametrize("size", [(15, 15), (17, 13)])
def test_blind_cell_denoiser_is_blind_at_every_pixel(size, pd_factor):
    """The reduced-resolution body (2x2 cells, GAFM at 1/4 resolution, 3x3 prior convolutions) keeps the blind
    spot exact at every pixel of odd sizes, with and without pixel-shuffle sub-images."""
    model = _tiny(denoiser={"num_blocks": 3, **PAPER_LAYOUT}).double()
    _randomise_gafm(model.denoiser)
    assert _self_gradients(model, *size, pd_factor).max().item() == 0.0


def test_blind_cell_hides_the_whole_cell_and_sees_beyond_it():
    torch.manual_seed(4)
    net = BlindSpotDenoiser(channels=8, num_blocks=3, prior_hidden=8, base=None, **PAPER_LAYOUT).double()
    _randomise_gafm(net)
    noisy = torch.rand(1, 3, 20, 20, dtype=torch.double, requires_grad=True)
    prior = torch.rand(1, 3, 20, 20, dtype=torch.double)
    net(noisy, prior)[0, :, 10, 10].sum().backward()                    # pixel (10, 10): cell rows/cols 10-11
    grad = noisy.grad[0].abs().sum(0)
    assert grad[10:12, 10:12].max().item() == 0.0                        # its whole 2x2 cell is blind
    assert grad[9, 10] > 0 and grad[10, 12] > 0 and grad[12, 11] > 0     # the neighbouring cells are seen
    assert net(noisy, prior).shape == noisy.shape
    odd = torch.rand(2, 3, 9, 11, dtype=torch.double)
    assert net(odd, torch.rand(2, 3, 9, 11, dtype=torch.double)).shape == odd.shape
    with pytest.raises(ValueError, match="cell"):
        BlindSpotDenoiser(cell=0)
    with pytest.raises(ValueError, match="GAFM"):
        BlindSpotDenoiser(prior_kernel=2)


def test_reduced_resolution_structure_net_keeps_sizes_and_starts_as_identity():
    torch.manual_seed(5)
    model = _tiny(structure={"scale": 2}).double()
    low = _texture(2, 15, 17).double()
    parts = model.enhance(low)
    out = model.extract_structure(parts["enhanced_noisy"], parts["gain"])
    torch.testing.assert_close(out, parts["enhanced_noisy"])            # zero-initialised tail
    torch.nn.init.normal_(model.structure.tail.weight, std=0.1)
    out = model.extract_structure(parts["enhanced_noisy"], parts["gain"])
    assert out.shape == low.shape and not torch.allclose(out, parts["enhanced_noisy"])
    assert model.structure.head[0].in_channels == 24 and model.structure.tail.out_channels == 12
    stage1 = model.stage1_outputs(low, generator=torch.Generator().manual_seed(0))   # odd sub-images (7 x 8)
    assert stage1["output_sub"].shape == stage1["reference_sub"].shape == (2, 3, 7, 8)
    with pytest.raises(ValueError, match="scale"):
        IRLE(structure={"scale": 0})


def _meta_cost(model_cfg: dict) -> tuple[int, int, int, int]:
    """(stage-1 params, whole params, stage-1 MACs, whole MACs) at 1x3x400x600, counted on the meta device by
    torch's FlopCounterMode (conv/matmul only, 1 MAC = 2 FLOPs as ``llie_core.evaluation.complexity`` counts)."""
    cfg = {k: v for k, v in copy.deepcopy(model_cfg).items() if k != "type"}
    with torch.device("meta"):
        model = IRLE(**cfg)
        low = torch.rand(1, 3, 400, 600)
    stage1 = sum(p.numel() for p in [*model.illumination.parameters(), *model.structure.parameters()])
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        parts = model.enhance(low)
        model.extract_structure(parts["enhanced_noisy"], parts["gain"])
    stage1_macs = counter.get_total_flops() // FLOPS_PER_MAC
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(low)
    return stage1, sum(p.numel() for p in model.parameters()), stage1_macs, counter.get_total_flops() // FLOPS_PER_MAC


def test_paper_model_costs_what_the_project_page_table2_says():
    """Stage 1 and the whole network within 10 % of the page's Table 2 (read from the ledger) in parameters (M =
    10^6) and G MACs at 400x600; the counted numbers are pinned (they are the docstring's)."""
    stage1, whole, stage1_macs, whole_macs = _meta_cost(_config("paper")["model"])
    assert (stage1, whole, stage1_macs, whole_macs) == (911_507, 2_224_439, 32_003_913_600, 77_856_393_600)
    for counted, method, metric, scale in [(stage1, "IRLE (stage 1)", "params_m", 1e6),
                                           (whole, "IRLE", "params_m", 1e6),
                                           (stage1_macs, "IRLE (stage 1)", "macs_g", 1e9),
                                           (whole_macs, "IRLE", "macs_g", 1e9)]:
        reported = reported_value("irle", "Table 2", method, "none", metric)
        assert abs(counted / scale / reported - 1) <= 0.10, (method, metric, counted / scale, reported)
    assert _config("paper")["params"] == whole


def test_full_resolution_variant_is_the_former_topology_and_fails_the_cost():
    """The pre-redesign layout stays buildable; its MACs (6.6x Table 2) are what the cost test above rejects."""
    stage1, whole, stage1_macs, whole_macs = _meta_cost(FULL_RESOLUTION_MODEL)
    assert (stage1, whole) == (912_070, 2_215_497)
    assert round(stage1_macs / 1e9, 1) == 214.0 and round(whole_macs / 1e9, 1) == 525.5
    assert whole_macs / 1e9 > 1.1 * reported_value("irle", "Table 2", "IRLE", "none", "macs_g")


@pytest.mark.parametrize("profile", ["quick", "smoke"])
def test_budget_profiles_shrink_params_and_macs_together(profile):
    """[small] widths scale parameters and MACs alike (the same reduced-resolution layout as the paper)."""
    paper, small = _meta_cost(_config("paper")["model"]), _meta_cost(_config(profile)["model"])
    assert small[1] == _config(profile)["params"]
    ratio_params, ratio_macs = small[1] / paper[1], small[3] / paper[3]
    assert ratio_params < 0.1 and 0.5 < ratio_macs / ratio_params < 2.0


def test_reflect_padding_would_open_the_blind_spot(monkeypatch):
    """The check above can fail: with the former reflect padding (row H copies row H-2, same pd-2 sub-image),
    the last real row/column sees its own pixel."""
    model = _tiny(denoiser={"num_blocks": 3}).double()
    _randomise_gafm(model.denoiser)

    def reflect(x: torch.Tensor, factor: int) -> torch.Tensor:
        h, w = x.shape[-2:]
        return torch.nn.functional.pad(x, (0, (-w) % factor, 0, (-h) % factor), mode="reflect")

    monkeypatch.setattr(irle_module, "pd_pad", reflect)
    leak = _self_gradients(model, 15, 15, 2)
    assert leak[-2, :].max() > 0.05 and leak[:, -2].max() > 0.05         # rows/cols whose copy lands next to them
    assert leak[:-2, :-2].max().item() == 0.0                            # interior untouched
    monkeypatch.undo()
    assert _self_gradients(model, 15, 15, 2).max().item() == 0.0


def test_gafm_starts_as_identity_then_uses_the_gain_prior():
    torch.manual_seed(2)
    with_gafm = BlindSpotDenoiser(channels=8, num_blocks=2, gafm=True, prior_hidden=8)
    torch.nn.init.normal_(with_gafm.tail[-1].weight, std=0.3)           # a non-trivial correction, GAFM still zero
    plain = BlindSpotDenoiser(channels=8, num_blocks=2, gafm=False)
    plain.load_state_dict({k: v for k, v in with_gafm.state_dict().items() if not k.startswith("gafm.")})
    noisy, prior = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(with_gafm(noisy, prior), plain(noisy))     # zero-initialised heads
    _randomise_gafm(with_gafm)
    assert not torch.allclose(with_gafm(noisy, prior), with_gafm(noisy, prior + 1.0))
    with_gafm(noisy, prior).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in with_gafm.gafm.parameters())
    with pytest.raises(ValueError, match="gain_prior"):
        with_gafm(noisy)


# ---- pseudo ground truth -----------------------------------------------------------------------------------------
def test_pseudo_gt_is_brighter_low_frequency_colour_balanced_and_deterministic():
    low = _texture(b=2, h=64, w=64)
    state = torch.random.get_rng_state()
    pgt = pseudo_ground_truth(low)
    assert torch.equal(torch.random.get_rng_state(), state)             # no randomness
    torch.testing.assert_close(pseudo_ground_truth(low), pgt, rtol=0, atol=0)
    assert not pgt.requires_grad and pgt.min() >= 0 and pgt.max() <= 1
    assert pgt.mean() > 4 * low.mean() and 0.3 < pgt.mean() < 0.8
    means = pgt.mean(dim=(2, 3))
    assert (means.amax(1) - means.amin(1)).max() < 0.03                 # grey world removed the cast
    assert (low.mean(dim=(2, 3))[:, 0] / low.mean(dim=(2, 3))[:, 2]).min() > 1.4
    # low frequency: the detail layer (image minus its sigma-2 blur, borders excluded) all but vanishes
    detail = lambda x: (x - gaussian_blur(x, 2.0))[..., 8:-8, 8:-8].pow(2).mean()  # noqa: E731
    assert detail(pgt) < 1e-3 * detail(low * pgt.mean() / low.mean())


def test_pseudo_gt_exposure_is_local_and_options_validate():
    low = torch.full((1, 3, 48, 96), 0.02)
    low[..., 48:] = 0.2                                                  # a dark half and a brighter half
    pgt = pseudo_ground_truth(low, color_correction=None)
    left, right = pgt[..., :, 4:20].mean(), pgt[..., :, 76:92].mean()
    assert 0.4 < left < 0.8 and 0.4 < right < 0.8                     # both halves brought to mid-grey ...
    assert left / low[..., :, 4:20].mean() > 4 * right / low[..., :, 76:92].mean()  # ... by different gains
    torch.testing.assert_close(gray_world(torch.ones(1, 3, 4, 4) * torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)),
                               torch.full((1, 3, 4, 4), 0.4))
    with pytest.raises(ValueError, match="color_correction"):
        pseudo_ground_truth(low, color_correction="white_patch")
    with pytest.raises(ValueError, match="RGB"):
        pseudo_ground_truth(low[:, :1])


def test_pseudo_gt_desaturates_shadows_more_than_bright_regions():
    colour = torch.tensor([1.0, 0.6, 0.5]).view(1, 3, 1, 1)
    low = torch.cat([0.02 * colour.expand(1, 3, 48, 48), 0.25 * colour.expand(1, 3, 48, 48)], dim=-1)

    def saturations(desaturation: float) -> torch.Tensor:  # (dark half, bright half)
        pgt = pseudo_ground_truth(low, color_correction=None, desaturation=desaturation)
        sat = lambda x: ((x.amax(1) - x.amin(1)) / x.amax(1)).mean()  # noqa: E731
        return torch.stack([sat(pgt[..., 4:20]), sat(pgt[..., 76:92])])

    kept = saturations(0.5) / saturations(0.0)     # fraction of saturation kept, per half
    assert kept[0] < kept[1] - 0.05 and kept[0] < 0.8  # the more a region is amplified, the more it is desaturated


# ---- the model -----------------------------------------------------------------------------------------------------
def test_stage1_outputs_shapes_and_relations():
    model = _tiny()
    low = _texture(b=2, h=32, w=48)
    out = model.stage1_outputs(low, generator=torch.Generator().manual_seed(0))
    expected = {"output", "illumination", "gain", "enhanced_noisy", "pseudo_gt", "output_lowpass",
                "enhanced_lowpass", "output_sub", "reference_sub", "output_full_sub1", "output_full_sub2"}
    assert set(out) == expected
    for key in expected - {"output_sub", "reference_sub", "output_full_sub1", "output_full_sub2"}:
        assert out[key].shape == low.shape, key
    for key in ("output_sub", "reference_sub", "output_full_sub1", "output_full_sub2"):
        assert out[key].shape == (2, 3, 16, 24), key
    assert 0.02 <= out["illumination"].min() and out["illumination"].max() <= 1
    torch.testing.assert_close(out["gain"], 1 / out["illumination"])
    torch.testing.assert_close(out["enhanced_noisy"], low * out["gain"])
    torch.testing.assert_close(out["output"], out["enhanced_noisy"])     # StructureNet starts as the identity
    for key in ("pseudo_gt", "reference_sub", "output_full_sub1", "output_full_sub2"):
        assert not out[key].requires_grad, key                              # targets carry no gradient
    assert out["output"].requires_grad and out["output_sub"].requires_grad
    torch.testing.assert_close(out["illumination"].mean(), torch.tensor(0.2), atol=0.05, rtol=0)  # init level


def test_structure_branch_changes_structure_not_brightness():
    model = _tiny(structure={"channels": 8, "num_blocks": 1, "highpass_sigma": 4.0})
    torch.nn.init.normal_(model.structure.tail.weight, std=0.5)
    torch.nn.init.constant_(model.structure.tail.bias, 0.3)          # a brightness shift the high-pass removes
    out = model.stage1_outputs(_texture(b=2, h=48, w=48))
    residual = out["output"] - out["enhanced_noisy"]
    assert residual.abs().mean() > 1e-3
    assert residual.mean(dim=(2, 3)).abs().max() < 0.05 * residual.std()


def test_stage2_outputs_train_only_the_denoiser():
    model = _tiny()
    for p in model.structure.parameters():
        torch.nn.init.normal_(p, std=0.05)
    low = _texture(b=2, h=32, w=32)
    out = model.stage2_outputs(low)
    assert set(out) == {"output", "blind_spot_target", "illumination", "gain", "enhanced_noisy"}
    assert not out["blind_spot_target"].requires_grad and out["output"].shape == low.shape
    torch.testing.assert_close(out["blind_spot_target"],
                               model.extract_structure(out["enhanced_noisy"], out["gain"]).detach())
    (out["output"] - out["blind_spot_target"]).abs().mean().backward()
    assert all(p.grad is None for p in list(model.illumination.parameters()) + list(model.structure.parameters()))
    assert model.denoiser.tail[-1].weight.grad.abs().sum() > 0                 # the (zero-initialised) correction
    torch.testing.assert_close(out["output"], model.denoise(out["blind_spot_target"], out["gain"], 2))


def test_forward_clamps_pads_and_pd_round_trip():
    model = _tiny().eval()
    low = _texture(h=31, w=45)
    with torch.no_grad():
        out = model(low)
        out_pd = model(low, pd_factor=2)
        parts = model.enhance(low)
    assert out.shape == out_pd.shape == low.shape
    assert out.min() >= 0 and out.max() <= 1
    stage1 = model.extract_structure(parts["enhanced_noisy"], parts["gain"])
    torch.testing.assert_close(out, model.denoise(stage1, parts["gain"]).clamp(0, 1))
    figures = model.analysis(low)
    assert {"illumination", "gain", "enhanced_noisy", "stage1_output", "pseudo_gt", "output"} <= set(figures)
    torch.testing.assert_close(figures["output"], out)
    x = torch.rand(2, 3, 8, 12)
    assert pd_down(x, 2).shape == (8, 3, 4, 6)
    torch.testing.assert_close(pd_up(pd_down(x, 2), 2), x)
    torch.testing.assert_close(pd_down(x, 2)[1], x[0, :, 0::2, 1::2])
    odd = torch.rand(1, 3, 5, 7)
    padded = irle_module.pd_pad(odd, 4)
    assert padded.shape[-2:] == (8, 8) and irle_module.pd_pad(x, 2) is x
    torch.testing.assert_close(padded[..., :5, :7], odd)
    torch.testing.assert_close(padded[..., 5:, :7], odd[..., 4:5, :].expand(-1, -1, 3, -1))   # replicate
    with pytest.raises(ValueError, match="RGB"):
        model(torch.rand(1, 1, 8, 8))


def test_neighbor_subsampling_picks_two_adjacent_pixels_per_cell():
    h, w = 8, 10
    coords = torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")).float()
    x = torch.cat([coords, torch.zeros(1, h, w)]).unsqueeze(0).expand(3, -1, -1, -1)  # (3, 3, h, w)
    first, second = neighbor_pair_indices(x.shape, generator=torch.Generator().manual_seed(3))
    a, b = neighbor_subsample(x, first), neighbor_subsample(x, second)
    manhattan = (a[:, :2] - b[:, :2]).abs().sum(1)
    assert torch.equal(manhattan, torch.ones_like(manhattan))            # 4-adjacent, never the same pixel
    assert torch.equal(a[:, 0] // 2, torch.arange(h // 2).view(1, -1, 1).float().expand_as(a[:, 0]))  # own cell
    again = neighbor_pair_indices(x.shape, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again[0], first) and torch.equal(again[1], second)


def test_illumination_net_grey_option_and_optional_branches():
    net = IlluminationNet(channels=8, num_layers=2, per_channel=False)
    illum = net(torch.rand(2, 3, 20, 28))
    assert illum.shape == (2, 3, 20, 28) and torch.equal(illum[:, 0], illum[:, 2])
    with pytest.raises(ValueError, match="min_illumination"):
        IlluminationNet(min_illumination=0.5, init_illumination=0.2)
    low = _texture()
    no_denoiser = _tiny(denoiser=None)
    assert no_denoiser.denoiser is None
    with torch.no_grad():
        parts = no_denoiser.enhance(low)
        stage1 = no_denoiser.extract_structure(parts["enhanced_noisy"], parts["gain"])
        torch.testing.assert_close(no_denoiser(low), stage1.clamp(0, 1))
    with pytest.raises(ValueError, match="stage 2"):
        no_denoiser.stage2_outputs(low)
    no_structure = _tiny(structure=None)
    out = no_structure.stage1_outputs(low)
    torch.testing.assert_close(out["output"], out["enhanced_noisy"])
    built = MODELS.build({"type": "IRLE", **TINY_IRLE})
    assert isinstance(built, IRLE) and built.denoiser.gafm is not None and built.train_pd_factor == 2


# ---- honesty: no reference ever reaches a loss ---------------------------------------------------------------------
def _loss_configs(stage: str = "stage1", profile: str = "smoke", variant: str | None = None) -> list[dict]:
    cfg = _config(profile)
    if variant:
        cfg = deep_merge(cfg, cfg["variants"][variant])
    losses = copy.deepcopy(cfg["stages"][stage]["losses"])
    for loss in losses:
        if loss["type"] == "IlluminationAlignedPerceptualLoss":
            loss["weights"] = "random"  # no offline assets needed in this test
    return losses


class _Pairs(torch.utils.data.Dataset):
    def __init__(self, high_seed: int) -> None:
        self.low = _texture(b=4, h=32, w=32, seed=5)
        self.high = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(high_seed))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> dict:
        return {"low": self.low[i], "high": self.high[i], "name": str(i)}


class _StageView(torch.nn.Module):
    """The engine's SelfSupervisedTask calls ``model(low)``; route it to ``IRLE.<stage>_outputs``."""

    def __init__(self, model: IRLE, stage: str) -> None:
        super().__init__()
        self.model, self.stage = model, stage

    def forward(self, low: torch.Tensor) -> dict:
        return getattr(self.model, f"{self.stage}_outputs")(low)


@pytest.mark.parametrize("stage,variant", [("stage1", None), ("stage1", "sisc_to_spatial"), ("stage2", None)])
def test_losses_never_read_the_reference(stage, variant):
    losses = build_loss_set(_loss_configs(stage, variant=variant))
    assert all("high" not in term.keys() for term in losses.terms)
    model = _tiny()
    batch_a = {"low": _texture(b=2), "high": torch.rand(2, 3, 32, 32)}
    batch_b = {**batch_a, "high": torch.full((2, 3, 32, 32), float("nan"))}   # garbage reference
    tasks = [SelfSupervisedTask(), StageTask(method=f"{stage}_outputs", self_supervised=True)]
    values = []
    for task in tasks:
        for batch in (batch_a, batch_b):
            torch.manual_seed(0)
            if isinstance(task, SelfSupervisedTask):
                terms = task.compute_losses(_StageView(model, stage), batch, losses)
            else:
                terms = task.compute_losses(model, batch, losses)
            values.append({k: v.item() for k, v in terms.items()})
    assert values[0] == values[1] == values[2] == values[3]
    assert all(torch.isfinite(torch.tensor(list(v.values()))).all() for v in values)
    sneaky = build_loss_set([{"type": "L1Loss", "inputs": ["output", "high"]}])
    for task in tasks:
        with pytest.raises(KeyError, match="high"):
            task.compute_losses(_StageView(model, stage) if task is tasks[0] else model, batch_a, sneaky)


def test_engine_training_is_identical_whatever_the_reference(tmp_path):
    logs = []
    for seed in (1, 2):
        cfg = {"model": {"type": "IRLE", **TINY_IRLE}, "losses": _loss_configs(),
               "task": {"type": "SelfSupervisedTask"}, "optim": {"type": "Adam", "lr": 1e-3},
               "train": {"iterations": 3, "batch_size": 2, "log_every": 1, "seed": 0}}
        result = train(cfg, _Pairs(high_seed=seed), None, tmp_path / f"run{seed}",
                       model=lambda: _StageView(_tiny(), "stage1"), resume=False)
        logs.append(result.log_path.read_text().splitlines())
    strip = lambda rows: [",".join(r.split(",")[:-1]) for r in rows]  # noqa: E731  (drop elapsed_s)
    assert strip(logs[0]) == strip(logs[1]) and len(logs[0]) == 4


def _write_pairs(folder: Path, n: int, write_high) -> list[tuple[Path, Path]]:
    pairs = []
    for i in range(n):
        low, high = folder / "low" / f"{i}.png", folder / "high" / f"{i}.png"
        write_image(low, _texture(h=72, w=80, seed=i)[0])
        high.parent.mkdir(parents=True, exist_ok=True)
        write_high(high, i)
        pairs.append((low, high))
    return pairs


def _config_without_assets(original):
    def load(method: str, profile: str, variant: str | None = None) -> dict:
        cfg = original(method, profile, variant)
        for stage in filter(None, cfg["stages"].values()):
            for loss in stage["losses"]:
                if loss["type"] == "IlluminationAlignedPerceptualLoss":
                    loss["weights"] = "random"  # no offline assets needed in this test
            stage["train"].update(iterations=4, log_every=1)  # room for a (forbidden) validation before the end
        return cfg
    return load


def test_recipe_never_reads_the_reference_and_keeps_the_last_weights(tmp_path, monkeypatch):
    """The notebook's path (``train_method``, smoke config): the training pairs' 'high' files are not even images
    (reading one would fail), and two runs with different validation references give bit-identical weights,
    those of the last iteration: validation runs only after the last step, so references never select weights."""
    monkeypatch.setattr(recipes, "load_method_config", _config_without_assets(recipes.load_method_config))
    train_pairs = _write_pairs(tmp_path / "train", 4, lambda path, i: path.write_bytes(b"not an image"))
    val_lows = [low for low, _ in _write_pairs(tmp_path / "val_low", 2, lambda path, i: None)]
    profile = load_profile("smoke")
    fingerprints = []
    for run_index in (1, 2):
        g = torch.Generator().manual_seed(run_index)
        highs = _write_pairs(tmp_path / f"val{run_index}", 2,
                             lambda path, i: write_image(path, torch.rand(3, 72, 80, generator=g)))
        data = recipes.TrainingData("test", train_pairs, [(lo, hi) for lo, (_, hi) in zip(val_lows, highs)])
        torch.manual_seed(0)  # train_method builds the model before the engine seeds: same initial weights
        run = recipes.train_method("irle", profile, tmp_path / f"runs{run_index}", data=data)
        for stage, result in run.stages.items():
            planned = run.config["stages"][stage]["train"]["iterations"]
            assert result.iterations_done == planned and result.stopped_reason == "completed"
            log = pd.read_csv(result.log_path)
            assert log["val_psnr"].notna().tolist() == [False] * (len(log) - 1) + [True], stage
            assert result.best_iteration == planned                       # the only validation: the last step
        last = load_checkpoint(run.stages["stage2"].last_checkpoint)["model"]
        assert all(torch.equal(v, last[k]) for k, v in run.model.state_dict().items())
        fingerprints.append(recipes.model_fingerprint(run.model))
    assert fingerprints[0] == fingerprints[1]


@pytest.mark.parametrize("profile", ["paper", "quick", "smoke"])
def test_checkpoint_selection_is_reference_free_in_every_profile(profile):
    """No periodic validation (``eval.every`` null) in any stage or variant: the engine keeps the last weights."""
    cfg = _config(profile)
    for name in [None, *sorted(VARIANTS)]:
        merged = deep_merge(cfg, cfg["variants"][name]) if name else cfg
        for stage_name, stage in merged["stages"].items():
            if stage is None:
                continue
            assert "eval" in stage and stage["eval"]["every"] is None, (name, stage_name)
            assert "val_every" not in stage["train"], (name, stage_name)
            engine = recipes._engine_config(merged, stage, load_profile(profile), 1.0)
            assert engine["train"]["val_every"] is None, (name, stage_name)


def _steps_reduce_loss(model: IRLE, stage: str, params: list[torch.nn.Parameter], steps: int = 25) -> tuple:
    losses = build_loss_set(_loss_configs(stage))
    low = _texture(b=2, h=32, w=32, seed=7)
    optimizer = torch.optim.Adam(params, lr=3e-3)

    def total() -> torch.Tensor:
        torch.manual_seed(0)  # same sub-sampling pairs at every evaluation
        return sum(losses({"low": low, **getattr(model, f"{stage}_outputs")(low)}).values())

    with torch.no_grad():
        start = total().item()
    for _ in range(steps):
        loss = total()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        end = total().item()
    return start, end


def test_a_few_self_supervised_steps_decrease_the_loss():
    model = _tiny()
    params = list(model.illumination.parameters()) + list(model.structure.parameters())
    start, end = _steps_reduce_loss(model, "stage1", params)
    assert end < 0.8 * start
    assert all(p.grad is not None for p in params)
    model.requires_grad_(False)
    model.denoiser.requires_grad_(True)
    start, end = _steps_reduce_loss(model, "stage2", list(model.denoiser.parameters()))
    assert end < start                                  # the blind ring-mean start is already a good predictor ...
    plain = _tiny(denoiser={"base": None})
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("denoiser.")},
                          strict=False)                 # same stage 1, randomly initialised denoiser
    plain.requires_grad_(False)
    plain.denoiser.requires_grad_(True)
    plain_start, plain_end = _steps_reduce_loss(plain, "stage2", list(plain.denoiser.parameters()))
    assert plain_end < 0.8 * plain_start                # ... a randomly initialised output learns from far away
    assert start < 0.5 * plain_start


# ---- configs ---------------------------------------------------------------------------------------------------------
def _config(name: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


SIZE_KEYS = {("illumination", "channels"), ("illumination", "num_layers"), ("structure", "channels"),
             ("structure", "num_blocks"), ("denoiser", "channels"), ("denoiser", "num_blocks"),
             ("denoiser", "prior_hidden")}


def _strip_budgets(cfg: dict) -> dict:
    out = copy.deepcopy({k: v for k, v in cfg.items() if k not in ("profile", "params")})
    for part, key in SIZE_KEYS:
        out["model"][part].pop(key)
    for stage in out["stages"].values():
        for key in ("train", "eval"):
            stage.pop(key)
        stage["optim"].pop("lr")  # a documented [budget] key: short CPU schedules use a higher rate
    return out


def test_paper_config_is_self_supervised_and_two_stage():
    cfg = _config("paper")
    assert cfg["training"] == "self_supervised" and "assumed" in cfg["source"]
    s1, s2 = cfg["stages"]["stage1"], cfg["stages"]["stage2"]
    assert (s1["forward"], s2["forward"]) == ("stage1_outputs", "stage2_outputs")
    assert s1["input"] == s2["input"] == "low"
    assert s1["trainable"] == ["illumination", "structure"] and s2["trainable"] == ["denoiser"]
    assert s2["init_from"] == "stage1"
    types = [loss["type"] for loss in s1["losses"]]
    assert types == ["L1Loss", "IlluminationAlignedPerceptualLoss", "ShiftInvariantSpectralCorrelationLoss"]
    assert s1["losses"][0]["inputs"] == ["enhanced_lowpass", "pseudo_gt"]
    assert cfg["model"]["structure"]["highpass_sigma"] == cfg["model"]["pseudo_gt"]["lowpass_sigma"]
    assert s2["losses"] == [{"type": "L1Loss", "loss_weight": 1.0, "inputs": ["output", "blind_spot_target"],
                             "name": "blind_spot"}]
    assert cfg["model"]["denoiser"]["gafm"] is True and cfg["model"]["pseudo_gt"]["color_correction"].startswith("rob")
    assert set(cfg["variants"]) == VARIANTS and all(v["description"] for v in cfg["variants"].values())
    model = MODELS.build(copy.deepcopy(cfg["model"]))   # sized after the page's Table 2 (0.887 M + 1.317 M)
    stage1 = sum(p.numel() for p in list(model.illumination.parameters()) + list(model.structure.parameters()))
    assert 0.8e6 < stage1 < 1.0e6 and 1.2e6 < sum(p.numel() for p in model.denoiser.parameters()) < 1.45e6


@pytest.mark.parametrize("profile", ["quick", "smoke"])
def test_profile_configs_differ_from_paper_only_in_budgets_and_sizes(profile):
    cfg = _config(profile)
    assert cfg["profile"] == profile
    assert _strip_budgets(cfg) == _strip_budgets(_config("paper"))
    assert all("time_budget_s" not in stage["train"] for stage in cfg["stages"].values())  # iterations, no clock


@pytest.mark.parametrize("profile", ["paper", "quick", "smoke"])
def test_variants_merge_build_and_never_name_the_reference(profile):
    cfg = _config(profile)
    for name in sorted(VARIANTS):
        merged = deep_merge(cfg, cfg["variants"][name])
        for stage in filter(None, merged["stages"].values()):
            assert all("high" not in loss["inputs"] for loss in stage["losses"]), name
            for loss in stage["losses"]:
                entry = dict(loss, weights="random") if loss["type"] == "IlluminationAlignedPerceptualLoss" else loss
                built = LOSSES.build({k: v for k, v in entry.items() if k not in ("inputs", "name")})
                assert built.loss_weight == loss["loss_weight"]
        if profile == "smoke":
            model = MODELS.build(copy.deepcopy(merged["model"]))
            assert (model.denoiser is None) == (name == "no_denoiser") == (merged["stages"]["stage2"] is None)
            if name == "wo_gafm":
                assert model.denoiser.gafm is None
    types = lambda v: [l["type"] for l in deep_merge(cfg, cfg["variants"][v])["stages"]["stage1"]["losses"]]  # noqa
    assert "ShiftInvariantSpectralCorrelationLoss" not in types("sisc_to_spatial")
    assert "NeighborSubsamplingLoss" in types("sisc_to_spatial")
    assert "L1Loss" not in types("wo_pseudo_gt") and "IlluminationAlignedPerceptualLoss" not in types("wo_iap")
    assert "ShiftInvariantSpectralCorrelationLoss" not in types("wo_sisc")
