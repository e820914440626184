"""ICLR: Inter-Chrominance and Luminance Interaction for natural colour restoration in low-light image enhancement
(Xu, Liu, Liu, Wang, Wu, Jiang; AAAI 2026, arXiv 2511.13607; code ``Derliye/ICLR`` ``net/ICLR.py``).

CIDNet's dual-branch HVI U-Net (:mod:`llie_core.models.cidnet`) with the Dual-stream Interaction Enhancement
Module (DIEM, paper §Method): every CIDNet LCA becomes a CDEM block (cross dynamic enhancement + multi-branch
enhancement, both with residuals), and the HV features are fused with the I features by a MAFM after every
stem/down/up block (the DIEM's first MAFM, "align") and after every CDEM block (the second MAFM, "refine"). One
MAFM per scale (``fusion1..4``, widths 36, 36, 72, 144) is shared by all fusions at that scale, as released. The
HV stem sees only H and V (2 channels). Released wiring otherwise as CIDNet's.

Module names equal the official ``ICLR()`` (407 keys, 4,474,672 parameters; ``shared/specs/state_dict_keys/
iclr_ICLR_state_dict.txt``); the paper reports 4.27 M.

Ablation switches (paper Table "ablation", Omega_1..5 and the two-MAFM study):

* ``fusion_stages``: which MAFMs run - ``['pre', 'post']`` (full), ``[]`` (w/o MAFM; the modules are not built),
  ``['post']`` (w/o the first MAFM), ``['pre']`` (w/o the second MAFM);
* ``cross_attention``: ``'cdem'`` or ``'plain'`` (CDEM -> "TCA": CIDNet's cross-attention block without dynamic
  weighting/FFN; MFEM kept; an assumption, the note does not say whether TCA also replaces the MFEM);
* ``cdem_residual`` and ``fusion_weighting``: ``'paper'`` or ``'released'`` (see :mod:`.iclr_blocks`).

Inputs need at least 32 px per side after padding to a multiple of 8 (the MAFM's 7x7 reflect-padded convolutions
run at 1/8 scale), as released. Parameters: 4,474,672 = 4.27 M (2^20) at the official widths; the quick profile's
[16, 16, 32, 64] has 924,469.
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from llie_core.models.cidnet import HVIDualBranchNet
from llie_core.models.cidnet_blocks import CrossAttention, InteractionBlock
from llie_core.models.iclr_blocks import CDEM, MAFM, MFEM
from llie_core.models.registry import MODELS

FUSION_STAGES = ("pre", "post")
CROSS_ATTENTIONS = ("cdem", "plain")


@MODELS.register()
class ICLR(HVIDualBranchNet):
    """ICLR network. Args as :class:`~llie_core.models.cidnet.CIDNet` plus the ablation switches above."""

    min_side = 32  # the MAFM's 7x7 reflect padding at 1/8 resolution (module docstring); enhancers pad up to it

    def __init__(self, channels: Sequence[int] = (36, 36, 72, 144), heads: Sequence[int] = (1, 2, 4, 8),
                 density_k: float = 0.2, fusion_stages: Sequence[str] = FUSION_STAGES,
                 cross_attention: str = "cdem", cdem_residual: str = "paper",
                 fusion_weighting: str = "paper", pad_multiple: int = 8, channels_last: bool = True) -> None:
        unknown = sorted(set(fusion_stages) - set(FUSION_STAGES))
        if unknown:
            raise ValueError(f"unknown fusion_stages {unknown}; use a subset of {list(FUSION_STAGES)}")
        if cross_attention not in CROSS_ATTENTIONS:
            raise ValueError(f"unknown cross_attention {cross_attention!r}; choose one of {CROSS_ATTENTIONS}")

        def make_block(dim: int, num_heads: int, branch: str) -> nn.Module:
            attention = (CDEM(dim, num_heads, cdem_residual) if cross_attention == "cdem"
                         else CrossAttention(dim, num_heads))
            return InteractionBlock(attention, MFEM(dim), dim, residual_gdfn=True)

        super().__init__(channels, heads, 2, ("CDEM_HV", "CDEM_I"), make_block, density_k, pad_multiple,
                         channels_last)
        self.fusion_stages = tuple(s for s in FUSION_STAGES if s in fusion_stages)
        if self.fusion_stages:
            for level, width in enumerate(self.channels, start=1):
                self.add_module(f"fusion{level}", MAFM(width, weighting=fusion_weighting))

    def fuse(self, hv: Tensor, i: Tensor, level: int, stage: str) -> Tensor:
        if stage not in self.fusion_stages:
            return hv
        return getattr(self, f"fusion{level}")(hv, i)
