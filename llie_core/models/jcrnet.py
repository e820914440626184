"""JCRNet: Joint Correcting and Refinement Network (Yu, Shi, Han; IEEE TMM 2023, arXiv 2309.16128).

Three stages (paper §III, Figs. 2-3), each in its own file:

* FES (``jcrnet_fes.py``, §III-A): Eq. 1 residual-block step, residual channel attention (Eqs. 2-4), an
  encoder-decoder with skips and the self-supervised block (SSB) giving the supervised stage-1 image x_A and the
  features passed on.
* JRS (``jcrnet_jrs.py``, §III-B): detail enhancement E, spatial feature transform (Eq. 5) and Retinex
  colour correction ``x_J = x_A / R(S(x_A, E(x_A)))`` (Eq. 6) with the 128-channel correction net R, whose
  illumination has one map per colour channel (``jrs_branches``, below).
* IAS (``jcrnet_ias.py``, §III-C): aggregation of the input and the previous stage, back projection
  ``R_F = L2(lambda x_F - D(L1(x_F)))`` (Eq. 7) added to the prediction.

Loss (§III-D, Eqs. 8-10): ``CharbonnierLoss + 0.05 CharbonnierEdgeLoss`` on the final output and, for deep
supervision, on the intermediate images x_A (FES) and x_J (JRS), equal weights (MPRNet / DGUNet convention; the
paper does not give the weights) (``llie_core/configs/jcrnet/*.yaml``). :meth:`JCRNet.stage_outputs` returns
``{'output', 'stage1', 'stage2', 'illumination', 'ias_residual'}`` (keys of disabled stages omitted);
:meth:`JCRNet.forward` returns the enhanced image only (what evaluation and complexity counting call).

Ablation switches (constructor flags; the config ``variants`` set them):
``fes``/``jrs``/``ias`` (Tables III-IV; without FES the JRS reads the input, without JRS the IAS reads x_A,
without IAS the output is x_J), ``encoder_decoder``/``cab``/``ssb`` (Table V), ``jrs_branches`` (l_rgb) and
``modulation`` (l_m, Table VI). ``per_channel`` (bool) is the former switch, kept so that configs of earlier runs
still build: True = ``jrs_branches='per_channel'``, False = ``'single_rgb_map'``.

Paper vs released code (``woshiyll/JCRNet`` ``JCRNet_LBP9_M.py``, an unfinished MindSpore port built on DGUNet;
``shared/specs/methods.md`` §3) - the paper is implemented, each code behaviour is an option:

* Eq. 6 divides by R; the code returns R itself (its division is commented out): ``jrs_output='map'``.
* Eq. 5 is the affine SFT ``S_c * S_1 + S_h``; the code concatenates S_c: ``sft_mode='concat'``.
* The code has one RGB JRS branch whose R ends in 3 channels: ``jrs_branches='single_rgb_map'``, the default
  (see "Which reading of l_rgb" below). Its U-Net is instantiated with depth 2 (the class default is 3).
* The SSB follows MPRNet's supervised attention (ref. [30], sigmoid gate); the code drops the gate:
  ``ssb_gate=False``.
* Eq. 1 has no step size; the code scales the step by 0.4412 (FES) and 0.4965 (IAS): ``fes_step``/``ias_step``.
* The code's IAS runs its back projection on the 3-channel input alone (code width 1); the paper describes
  64 -> 32 -> 64 channel blocks on aggregated features, implemented here. Not reproduced as an option.

Assumptions (not stated in the paper; all configurable):

* Widths of FES, E, the SFT and the condition net are the released ones (n_feat 40, U-Net +20 per level, CA
  reduction 4, residual blocks 3 -> 64 -> 3; E 32/64; condition 64 -> 32; SFT 64). U-Net depth 3 (encoder
  widths 40, 60, 80): the released Encoder/Decoder classes' default depth; JCRNet_LBP9_M.py instantiates them
  with 2, but depth 3 is what brings the parameter count to Table VII's (below). R: two conv-BN-ReLU layers and
  two residual blocks at 128, conv1x1 -> 3, sigmoid (six 128-channel convs, as released).
* ``jrs_branches='per_channel'`` (variant ``per_channel_branches``): E, the condition net and S are separate
  (unshared) branches per colour channel; their 3 x 64 features are concatenated for R (3-channel illumination).
* "w/o l_m": the SFT layers are removed; E and the condition net then have no consumer and are removed too.
* "w/o SSB": x_A comes from a plain conv ``to_image(f) + x_r``; the recipe drops the stage-1 supervision.
* IAS: "the original image and the output of the previous stage are employed as the input ... the features in
  the two input feature maps are concatenated, calibrated, and integrated" (§III-C). The two feature maps are the
  FES (SSB) features of the input image and the CAB features of the previous stage's output after the Eq. 1 step
  towards the input (released stage 7); x_F = conv3x3 + PReLU (-> 64) of their squeeze-excitation-calibrated
  concatenation (without FES only the second map exists). Eq. 1's res_k are "a 3x3 convolution and a PReLU";
  the released residual blocks (conv, PReLU, conv, skip; 3 -> 64 -> 3) are used. lambda is a learned scalar
  (init 1); R_F and x_F are mapped to images by two conv3x3 (``tail``, ``residual_tail``);
  ``output = x + tail(x_F) + residual_tail(R_F)``.
* Eq. 6 uses ``eps = 1e-5`` (the code's commented ``input / (latent + 0.00001)``).
* Inputs are reflect-padded bottom/right to a multiple of ``pad_multiple`` (2: one U-Net downsampling) and
  cropped back, so any size works.
* E (detail enhancement) ends with the 1x1 conv, without the released final ReLU (dead from initialisation for
  about 4 in 10 seeds, which would cut E and the SFT condition off).

Which reading of l_rgb, and the cost (Table VII: 2.01 M parameters, 219.74 G "FLOPs" at 384x384). §III-B says
the JRS "independently estimates the brightness information for each color channel" and that "the illumination
is estimated independently in each channel". Two readings exist (``jrs_branches``):

* ``'single_rgb_map'`` (default): one E/S branch on the RGB image and an R that ends in 3 channels, one
  illumination map per colour channel; this is how the released ``illuminationNet`` is built.
* ``'per_channel'``: three unshared single-channel E/S branches whose 3 x 64 features feed R (192 channels in).

Counted with ``llie_core.evaluation.complexity`` (torch ``FlopCounterMode``, 1 MAC = 2 FLOPs; convolutions and
matmuls only) at 1x3x384x384, paper widths:

=====================================  ==========  =============  =========================
reading, U-Net depth                   parameters  G MACs @384    vs Table VII (SI M, MACs)
=====================================  ==========  =============  =========================
single_rgb_map, depth 3 (default)      1,981,797   221.68         -1.4% / +0.9%
single_rgb_map, depth 2                1,553,097   212.62         -22.7% / -3.2%
per_channel, depth 2 (former default)  2,115,339   295.26         +5.2% / +34.4%
per_channel, depth 3                   2,544,039   304.31         +26.6% / +38.5%
=====================================  ==========  =============  =========================

The per-channel branches cost +60.8 G MACs and the 192-channel input of R +21.8 G (both at full resolution), so
the per-channel reading cannot cost 219.74 G with the released widths, whatever the counting convention: it is
not the network Table VII measured. The single-RGB-branch reading with the released classes' default U-Net depth
(3) is within 1.5% of both numbers, so it is the default and ``per_channel`` is a labelled variant. Table VII's
"FLOPs" are read as multiply-adds (what thop, the usual tool, reports as "FLOPs"; our FLOPs, 443.4 G, are 2x
that), and its "M" as 10^6 (SI): thop returns a raw parameter count and the usual print is ``params / 1e6``; in
the 2^20 convention the default model is 1.890 M (-6.0%), in SI 1.982 M (-1.4%), and G MACs in 2^30 units would
be 206.5 (-6.0%); only the SI reading puts both numbers within 3%. (The issue's torch port of the released
structure at depth 3 counted 2,028,602 parameters / 221.9 G MACs; this model's R and IAS follow the paper, so
the counts differ slightly.) ``tests/models/test_jcrnet.py`` pins both numbers within 3%.
``analysis.jcrnet.stage_breakdown`` gives the per-stage split.

"w/o l_rgb" (Table VI) under this reading: R predicts ONE illumination map shared by R, G and B
(``jrs_branches='shared_map'``; x_A / R then scales the three channels alike); the RGB branch E/S is unchanged.
The released code's structure has 1,599,900 parameters (its proposed torch key listing, including unused layers).
"""
from __future__ import annotations

from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.models.jcrnet_fes import FES
from llie_core.models.jcrnet_ias import IAS
from llie_core.models.jcrnet_jrs import JRS
from llie_core.models.registry import MODELS


@MODELS.register()
class JCRNet(nn.Module):
    """JCRNet (defaults: the paper's full model). See the module docstring for switches and assumptions."""

    def __init__(self, fes: bool = True, jrs: bool = True, ias: bool = True, encoder_decoder: bool = True,
                 cab: bool = True, ssb: bool = True, jrs_branches: str = "single_rgb_map", modulation: bool = True,
                 n_feat: int = 40, unet_step: int = 20, unet_depth: int = 3, reduction: int = 4,
                 prior_width: int = 64, edge_widths: Sequence[int] = (32, 64), cond_hidden: int = 64,
                 cond_width: int = 32, sft_width: int = 64, correction_width: int = 128, bp_width: int = 64,
                 fes_step: float = 1.0, ias_step: float = 1.0, learn_steps: bool = False, ias_lambda: float = 1.0,
                 learn_lambda: bool = True, ssb_gate: bool = True, ssb_kernel: int = 1, sft_mode: str = "affine",
                 jrs_output: str = "divide", eps: float = 1e-5, pad_multiple: int = 4,
                 per_channel: bool | None = None) -> None:
        super().__init__()
        if per_channel is not None:         # the former boolean switch (configs of earlier runs): True/False
            jrs_branches = "per_channel" if per_channel else "single_rgb_map"
        if not (fes or jrs or ias):
            raise ValueError("JCRNet needs at least one of fes, jrs, ias")
        self.fes = FES(n_feat, unet_step, unet_depth, reduction, prior_width, fes_step, learn_steps,
                       encoder_decoder, cab, ssb, ssb_gate, ssb_kernel, pass_features=ias) if fes else None
        self.jrs = JRS(jrs_branches, modulation, tuple(edge_widths), cond_hidden, cond_width, sft_width,
                       correction_width, sft_mode, jrs_output, eps) if jrs else None
        self.ias = IAS(n_feat, n_feat if fes else 0, reduction, prior_width, bp_width, ias_step, learn_steps,
                       ias_lambda, learn_lambda) if ias else None
        needed = self.fes.multiple if self.fes is not None else 1
        if pad_multiple < 1 or pad_multiple % needed:
            raise ValueError(f"pad_multiple must be a multiple of {needed} (2^(unet_depth-1)), got {pad_multiple}")
        self.pad_multiple = pad_multiple
        # the U-Net's deepest level must keep 2x2 pixels for its instance norms: enhancers pad smaller images
        self.min_side = 2 * needed

    def stage_outputs(self, low: Tensor) -> dict[str, Tensor]:
        """Training/figure tensors: ``output`` (final), ``stage1`` (x_A, FES), ``stage2`` (x_J, JRS),
        ``illumination`` (R of Eq. 6), ``ias_residual`` (R_F in image space). Any size (padded internally)."""
        if low.dim() != 4 or low.shape[1] != 3:
            raise ValueError(f"JCRNet expects a (B, 3, H, W) RGB tensor in [0, 1], got shape {tuple(low.shape)}")
        h, w = low.shape[-2:]
        m = self.pad_multiple
        x = F.pad(low, (0, (-w) % m, 0, (-h) % m), mode="reflect") if (h % m or w % m) else low
        outputs: dict[str, Tensor] = {}
        current, features = x, None
        if self.fes is not None:
            current, features = self.fes(x)
            outputs["stage1"] = current
        if self.jrs is not None:
            current, outputs["illumination"] = self.jrs(current)
            outputs["stage2"] = current
        if self.ias is not None:
            current, outputs["ias_residual"] = self.ias(x, current, features)
        outputs["output"] = current
        return {k: v[..., :h, :w] for k, v in outputs.items()}

    def forward(self, low: Tensor) -> Tensor:
        """The enhanced image (not clamped)."""
        return self.stage_outputs(low)["output"]
