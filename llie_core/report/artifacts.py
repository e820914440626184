"""The catalogue of every table and figure: the five documents' and the workbook's own.

One :class:`Artifact` per table or figure of the documents in ``../shared/seeds/`` (plus the tables of
``specs/methods.md`` that the ledger transcribes, and the workbook's own outputs): what it shows, the notebook that
regenerates it, the files it writes (relative to ``results/<profile>/``) and its status in each profile:

* ``reproduced``: regenerated in full (for the workbook's own artifacts: written in that profile);
* ``partly: <why>``: regenerated with gaps (budget, absent datasets, comparators not implemented, ...);
* ``not run: <why>``: nothing can be computed in that profile (e.g. the dataset is not present); a notebook may
  still write a table with the reported rows and ``not run`` cells;
* ``not reproducible: <why>``: nothing to compute at all (architecture diagrams, user studies); no outputs.

Statuses of ``smoke`` and ``quick`` assume the CI data (``LLIE_DATA_ROOT=../shared/data``: LOL v1 eval15 and 202
training pairs, DICM, LIME, 8 FiveK pairs, 14 SICE photos); ``paper`` assumes a GPU and every public dataset under
``LLIE_DATA_ROOT``. The smoke end-to-end test asserts ``missing_outputs(results, "smoke") == []``.

Output names follow the workbook conventions (``<method>_table<N>``, ``<method>_fig<N>_<slug>``,
``<method>_runs|scores|vs_baselines|qualitative|training_curves``, ``<method>_<slug>``); ``90_tables`` writes one
``compare_<table id>`` per table that has reported numbers.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from llie_core.core.methods import METHOD_NOTEBOOKS, display_name
from llie_core.core.profiles import PROFILE_NAMES as PROFILES

KINDS: tuple[str, ...] = ("table", "figure")
PAPERS: tuple[str, ...] = (*METHOD_NOTEBOOKS, "workbook")  # the reproduced papers, then the workbook's own outputs
# Notebooks being written; the catalogue test accepts them before they exist. Empty this once they are merged.
PENDING_NOTEBOOKS: frozenset[str] = frozenset()
STATES: tuple[str, ...] = ("reproduced", "partly", "not run", "not reproducible")


@dataclass(frozen=True)
class Status:
    """The status of an artifact in each profile (see the module docstring for the vocabulary): one field per
    profile of :data:`llie_core.core.profiles.PROFILE_NAMES`."""

    smoke: str
    quick: str
    paper: str

    def of(self, profile: str) -> str:
        if profile not in PROFILES:
            raise KeyError(f"unknown profile {profile!r}; profiles: {list(PROFILES)}")
        return getattr(self, profile)


@dataclass(frozen=True)
class Artifact:
    """One table or figure. ``outputs`` are paths relative to ``results/<profile>/``; ``ledger`` names the
    ``(paper, table)`` keys of ``results/paper/reported`` it is compared with; ``ablation`` marks tables whose
    full-model row is the equal-budget ``ablation_budget`` run."""

    id: str
    paper: str
    kind: str
    label: str
    shows: str
    notebook: str | None
    outputs: tuple[str, ...]
    status: Status
    ledger: tuple[tuple[str, str], ...] = ()
    source: str = ""
    ablation: bool = False


# ------------------------------------------------------------------------------------------------ statuses
SMOKE_BUDGET = "smoke budget (a few iterations, 64-px patches, 256-px test crops: the numbers mean nothing)"
QUICK_BUDGET = "quick budget (minutes of CPU training: trends, not the paper's numbers)"
REPRODUCED = Status("reproduced", "reproduced", "reproduced")


def _partly(reasons: tuple[str, ...]) -> str:
    return "partly: " + "; ".join(reasons) if reasons else "reproduced"


def trained(here: tuple[str, ...] = (), always: tuple[str, ...] = (), budget: bool = True) -> Status:
    """Status of an artifact computed from trained models: the CPU profiles add their budget, ``here`` lists gaps
    on the CI data (smoke and quick), ``always`` gaps in every profile."""
    cpu = lambda b: ((b,) if budget else ()) + here + always  # noqa: E731
    return Status(_partly(cpu(SMOKE_BUDGET)), _partly(cpu(QUICK_BUDGET)), _partly(always))


def absent_here(reason: str, always: tuple[str, ...] = ()) -> Status:
    """Not computable on the CI data (``reason``); regenerated in the paper profile (with ``always`` gaps)."""
    return Status(f"not run: {reason}", f"not run: {reason}", _partly(always))


def never_run(reason: str) -> Status:
    return Status(f"not run: {reason}", f"not run: {reason}", f"not run: {reason}")


def not_reproducible(reason: str) -> Status:
    return Status(f"not reproducible: {reason}", f"not reproducible: {reason}", f"not reproducible: {reason}")


def in_profiles(profiles: tuple[str, ...], reason: str, smoke_budget: bool = False) -> Status:
    """A workbook artifact written only in ``profiles``; ``reason`` says why not in the others."""
    def one(p: str) -> str:
        if p not in profiles:
            return f"not run: {reason}"
        return f"partly: {SMOKE_BUDGET}" if (smoke_budget and p == "smoke") else "reproduced"
    return Status(**{p: one(p) for p in PROFILES})


def _t(name: str) -> str:
    return f"tables/{name}.csv"


def _f(name: str) -> str:
    return f"figures/{name}.png"


ARCHITECTURE = "architecture diagram"
# reasons shared by several entries
NO_MEF_NPE = "MEF and NPE are not present (not run)"
NO_EXDARK_MEF_NPE_VV = "ExDark, MEF, NPE and VV are not present (not run); DICM and LIME are"
NO_COCO = "COCO low-light is not present (not run)"
MIT_SAMPLES = "MIT = 8 FiveK sample pairs here (the full FiveK test split is not present)"
LOL_SPLIT = "LOL = eval15 (the paper's own 100-pair test split is not published; its images were resized to 384x384)"
JCRNET_SMALL = "JCRNet in a small configuration (quick: about 1/12 of the paper's parameters)"
TOYS = "the Toys flash-light set (dataset toys_flash) has no public source and is not present"
SOD = "the saliency model [67] and the three low-light SOD sets are not available"
PHONES = "the four phones' video frames [63] are not available (not registered in data_prep)"
VE_LOL = "VE-LOL is not present"
LOLV2 = "LOL v2 (real, synthetic) is not present (not run)"
USER_STUDY = "panel (c) is a user study (20 evaluators), not reproducible"
# 11_jcrnet trains no `released_code` run in any profile (its VARIANTS list); 13_iclr trains the two one-MAFM
# DIEM variants only in `paper` (PAPER_ONLY_VARIANTS)
JCRNET_MINDSPORE = ("the 'JCRNet (MindSpore)' row (config variant released_code) is not trained: 11_jcrnet trains "
                    "no released_code run in any profile, CPU or paper (reported row only)")
ICLR_PAPER_ONLY = ("the w/o 1st / w/o 2nd MAFM of DIEM and the paper-text reading run only in the paper profile "
                   "(not run here: outside the CPU budget)")
DATA_NOTE = "statuses assume the CI data (../shared/data)"


def _competitors(implemented: str, total: int, names: str) -> str:
    return f"{names} not implemented ({implemented} of {total} methods reproduced; the others: reported rows only)"


# ------------------------------------------------------------------------------------------------ FRLIE
FRLIE_SRC = "seeds/frlie_2022_paper.txt"
FRLIE: tuple[Artifact, ...] = (
    Artifact("frlie_table1", "frlie", "table", "Table 1",
             "LOL eval15 PSNR / SSIM / NIQE of 14 methods, incl. the 'w/o FR' ablation; classical baselines added",
             "10_frlie", (_t("frlie_table1"),),
             trained(always=(_competitors("FRLIE, FRLIE w/o FR, LIME", 14,
                                          "BIMEF, CRM, Dong, MF, RRM, DUPE, SRIE, Retinex-Net, NPE, GLAD, KinD"),)),
             ledger=(("frlie", "Table 1"),), source=FRLIE_SRC),
    Artifact("frlie_table2", "frlie", "table", "Table 2",
             "NIQE on the unpaired LIME, NPE, MEF and DICM sets",
             "10_frlie", (_t("frlie_table2"),),
             trained(here=(NO_MEF_NPE,), always=(_competitors("FRLIE, LIME", 12,
                                                               "CRM, Dong, MF, RRM, SRIE, Retinex-Net, NPE, GLAD, "
                                                               "DUPE, KinD"),)),
             ledger=(("frlie", "Table 2"),), source=FRLIE_SRC),
    Artifact("frlie_fig1", "frlie", "figure", "Fig. 1",
             "visual comparison with Retinex-based methods (low input, Retinex results, FRLIE)",
             "10_frlie", (_f("frlie_qualitative"),),
             trained(always=("Retinex-Net and KinD are not implemented: the classical baselines stand in",)),
             source=FRLIE_SRC),
    Artifact("frlie_fig2", "frlie", "figure", "Fig. 2",
             "per-channel min-max normalised encoder features of a low and a normal-light image (and restored)",
             "10_frlie", (_f("frlie_fig2_features"),), trained(), source=FRLIE_SRC),
    Artifact("frlie_fig3", "frlie", "figure", "Fig. 3", "architecture of FRLIE (encoder, FRNet, decoder)",
             None, (), not_reproducible(ARCHITECTURE), source=FRLIE_SRC),
    Artifact("frlie_fig4", "frlie", "figure", "Fig. 4",
             "visual comparison on an MEF image with state-of-the-art methods",
             "95_figures", (_f("qualitative_dicm"),),
             trained(here=("MEF is not present: the same comparison on DICM",),
                     always=("competitors replaced by the workbook's methods and baselines",)),
             source=FRLIE_SRC),
    Artifact("frlie_fig5", "frlie", "figure", "Fig. 5",
             "results with and without feature restoration (zoomed), with error maps",
             "10_frlie", (_f("frlie_fig5_with_without_fr"),), trained(), source=FRLIE_SRC),
)

# ------------------------------------------------------------------------------------------------ JCRNet
JCR_SRC = "seeds/jcrnet_2023_paper.txt"
JCR_T1_COMP = _competitors("JCRNet, HE, CLAHE, Zero-DCE, LLFlow", 23,
                           "LDR, LRS, JED, SDD, DLN, EnGAN, MIRNet, KinD, SCI, RUAS, URetinex, IAT, SNR, CSDNet, "
                           "KinD++, FLW, DDNet")
JCRNET: tuple[Artifact, ...] = (
    Artifact("jcrnet_table1", "jcrnet", "table", "Table I",
             "LOL / COCO / MIT: PSNR, SSIM, BRISQUE, NIQE, LPIPS of 23 methods",
             "11_jcrnet", (_t("jcrnet_table1"),),
             trained(here=(NO_COCO, MIT_SAMPLES, JCRNET_SMALL), always=(LOL_SPLIT, JCR_T1_COMP, JCRNET_MINDSPORE)),
             ledger=(("jcrnet", "Table I"),), source=JCR_SRC),
    Artifact("jcrnet_table2", "jcrnet", "table", "Table II",
             "BRISQUE / NIQE on ExDark, DICM, LIME, MEF, NPE, VV",
             "11_jcrnet", (_t("jcrnet_table2"),),
             trained(here=(NO_EXDARK_MEF_NPE_VV, JCRNET_SMALL),
                     always=(_competitors("JCRNet, HE, CLAHE, Zero-DCE, LLFlow", 20, "the other 14 methods"),
                             JCRNET_MINDSPORE)),
             ledger=(("jcrnet", "Table II"),), source=JCR_SRC),
    Artifact("jcrnet_table3", "jcrnet", "table", "Table III",
             "stage ablation (w/o FES, JRS, IAS) on the six no-reference sets (BRISQUE, NIQE)",
             "11_jcrnet", (_t("jcrnet_table3"),), trained(here=(NO_EXDARK_MEF_NPE_VV, JCRNET_SMALL)),
             ledger=(("jcrnet", "Table III"),), source=JCR_SRC, ablation=True),
    Artifact("jcrnet_table4", "jcrnet", "table", "Table IV",
             "stage ablation on LOL and COCO (PSNR, SSIM, BRISQUE, NIQE)",
             "11_jcrnet", (_t("jcrnet_table4"),), trained(here=(NO_COCO, JCRNET_SMALL), always=(LOL_SPLIT,)),
             ledger=(("jcrnet", "Table IV"),), source=JCR_SRC, ablation=True),
    Artifact("jcrnet_table5", "jcrnet", "table", "Table V",
             "FES components on LOL (w/o E-D, CAB, SSB) and w/o JRS on the Toys flash set",
             "11_jcrnet", (_t("jcrnet_table5"),), trained(here=(JCRNET_SMALL,), always=(TOYS, LOL_SPLIT)),
             ledger=(("jcrnet", "Table V"),), source=JCR_SRC, ablation=True),
    Artifact("jcrnet_table6", "jcrnet", "table", "Table VI",
             "JRS colour-space (l_rgb) and modulation (l_m) ablation on LOL",
             "11_jcrnet", (_t("jcrnet_table6"),), trained(here=(JCRNET_SMALL,), always=(LOL_SPLIT,)),
             ledger=(("jcrnet", "Table VI"),), source=JCR_SRC, ablation=True),
    Artifact("jcrnet_table7", "jcrnet", "table", "Table VII",
             "parameters, FLOPs and FPS at 384x384 of six models",
             "11_jcrnet", (_t("jcrnet_table7"),),
             trained(here=("FPS measured on this 2-core CPU (the paper's hardware is not stated)",),
                     always=(_competitors("JCRNet", 6, "KinD, EnlightenGAN, URetinex, DDNet, FLW"),), budget=False),
             ledger=(("jcrnet", "Table VII"),), source=JCR_SRC),
    Artifact("jcrnet_table8", "jcrnet", "table", "Table VIII",
             "NIQE / BRISQUE on real video frames of four phones", "11_jcrnet", (_t("jcrnet_table8"),),
             never_run(PHONES), ledger=(("jcrnet", "Table VIII"),), source=JCR_SRC),
    Artifact("jcrnet_table9", "jcrnet", "table", "Table IX",
             "salient object detection on enhanced low-light images (MAE, F-measures, S/E-measure)",
             "11_jcrnet", (_t("jcrnet_table9"),), never_run(SOD), ledger=(("jcrnet", "Table IX"),), source=JCR_SRC),
    Artifact("jcrnet_fig1", "jcrnet", "figure", "Fig. 1",
             "teaser: enhanced results of several methods with zoomed regions (and a metric line chart)",
             "11_jcrnet", (_f("jcrnet_qualitative"),),
             trained(always=("DLN, RUAS, DDNet are not implemented: the classical baselines stand in",)),
             source=JCR_SRC),
    Artifact("jcrnet_fig2", "jcrnet", "figure", "Fig. 2", "JCRNet framework (FES, JRS, IAS)", None, (),
             not_reproducible(ARCHITECTURE), source=JCR_SRC),
    Artifact("jcrnet_fig3", "jcrnet", "figure", "Fig. 3", "details of the JCRNet architecture", None, (),
             not_reproducible(ARCHITECTURE), source=JCR_SRC),
    Artifact("jcrnet_fig4", "jcrnet", "figure", "Fig. 4", "visual results on LOL with magnified parts",
             "95_figures", (_f("qualitative_lol_v1"),),
             trained(always=("comparators: the workbook's methods and baselines",)), source=JCR_SRC),
    Artifact("jcrnet_fig5", "jcrnet", "figure", "Fig. 5", "visual results on COCO with error images",
             "95_figures", (_f("qualitative_coco_lowlight"),),
             absent_here("COCO low-light is not present", ("comparators: the workbook's methods and baselines",)),
             source=JCR_SRC),
    Artifact("jcrnet_fig6", "jcrnet", "figure", "Fig. 6", "visual results on NPE with magnified parts",
             "95_figures", (_f("qualitative_npe"),), absent_here("NPE is not present"), source=JCR_SRC),
    Artifact("jcrnet_fig7", "jcrnet", "figure", "Fig. 7", "visual results on VV (indoor) with magnified parts",
             "95_figures", (_f("qualitative_vv"),), absent_here("VV is not present"), source=JCR_SRC),
    Artifact("jcrnet_fig8", "jcrnet", "figure", "Fig. 8", "visual results on ExDark with magnified parts",
             "95_figures", (_f("qualitative_exdark"),), absent_here("ExDark is not present"), source=JCR_SRC),
    Artifact("jcrnet_fig9", "jcrnet", "figure", "Fig. 9", "visual results on MEF with magnified parts",
             "95_figures", (_f("qualitative_mef"),), absent_here("MEF is not present"), source=JCR_SRC),
    Artifact("jcrnet_fig10", "jcrnet", "figure", "Fig. 10", "visual results on DICM with magnified parts",
             "95_figures", (_f("qualitative_dicm"),),
             trained(always=("comparators: the workbook's methods and baselines",)), source=JCR_SRC),
    Artifact("jcrnet_fig11", "jcrnet", "figure", "Fig. 11",
             "colour distribution histograms of enhanced images of several methods",
             "11_jcrnet", (_f("jcrnet_fig11_colour_histograms"),),
             trained(always=("comparators: the classical baselines",)), source=JCR_SRC),
    Artifact("jcrnet_fig12", "jcrnet", "figure", "Fig. 12",
             "(a) BRISQUE and (b) NIQE distributions of several methods over 8 datasets, (c) user study scores",
             "11_jcrnet", (_f("jcrnet_fig12_metric_distributions"),),
             trained(here=("the datasets present (not all 8)",), always=(USER_STUDY,)), source=JCR_SRC),
    Artifact("jcrnet_fig13", "jcrnet", "figure", "Fig. 13",
             "stage ablation (Base, w/o FES, w/o JRS, w/o IAS, full) with NIQE / BRISQUE per image",
             "11_jcrnet", (_f("jcrnet_fig13_stage_ablation"),), trained(), source=JCR_SRC),
    Artifact("jcrnet_fig14", "jcrnet", "figure", "Fig. 14",
             "JRS ablation on the Toys flash set and IAS ablation on ExDark",
             "11_jcrnet", (_f("jcrnet_fig14_jrs_ias_ablation"),),
             trained(here=("ExDark is not present: shown on DICM",), always=(TOYS + ": shown on LOL",)),
             source=JCR_SRC),
    Artifact("jcrnet_fig15", "jcrnet", "figure", "Fig. 15",
             "spatial LPIPS heatmaps to the ground truth without and with the JRS",
             "11_jcrnet", (_f("jcrnet_fig15_lpips_heatmaps"),), trained(), source=JCR_SRC),
    Artifact("jcrnet_fig16", "jcrnet", "figure", "Fig. 16",
             "FES components (w/o E-D, CAB, SSB): enhanced images and residual maps to the ground truth",
             "11_jcrnet", (_f("jcrnet_fig16_fes_components"),), trained(), source=JCR_SRC),
    Artifact("jcrnet_fig17", "jcrnet", "figure", "Fig. 17", "failure cases (extreme darkness, little semantics)",
             "95_figures", (_f("failure_cases"),),
             trained(always=("the main-set images with the lowest mean PSNR over the trained methods, every "
                             "method shown",)), source=JCR_SRC),
    Artifact("jcrnet_fig18", "jcrnet", "figure", "Fig. 18", "salient object detection on enhanced images",
             None, (), never_run(SOD), source=JCR_SRC),
    Artifact("jcrnet_fig11_histogram_emd", "jcrnet", "table", "Fig. 11 (numbers)",
             "earth mover's distance of each method's colour histograms to the reference's (behind Fig. 11)",
             "11_jcrnet", (_t("jcrnet_fig11_histogram_emd"),),
             trained(always=("comparators: the classical baselines",)), source=JCR_SRC),
    Artifact("jcrnet_params_by_stage", "jcrnet", "table", "Table VII (by stage)",
             "parameters and FLOPs of the paper configuration per stage (FES, JRS, IAS)",
             "11_jcrnet", (_t("jcrnet_params_by_stage"),), REPRODUCED, source=JCR_SRC),
    Artifact("jcrnet_saliency_enhancement", "jcrnet", "table", "Table IX / Fig. 18 (step 1)",
             "the saliency pipeline's first step: low-light images enhanced and saved for a saliency model",
             "11_jcrnet", (_t("jcrnet_saliency_enhancement"),),
             trained(always=("enhancement step only: " + SOD + " (images of an unpaired test set instead)",)),
             source=JCR_SRC),
)

# ------------------------------------------------------------------------------------------------ LLFlow
LLF_SRC = "seeds/llflow_2022_review.txt"
LLFLOW: tuple[Artifact, ...] = (
    Artifact("llflow_lol_table", "llflow", "table", "LOL table",
             "LOL PSNR / SSIM / LPIPS of LLFlow and six methods",
             "12_llflow", (_t("llflow_lol_table"),),
             trained(always=(_competitors("LLFlow, Zero-DCE", 7,
                                          "KinD++, KinD, Lv et al., DRBN, EnlightenGAN"),
                             "the review states no protocol (LLFlow's row is GT-mean with gray SSIM)")),
             ledger=(("llflow", "LOL table"),), source=LLF_SRC),
    Artifact("llflow_gtmean_table", "llflow", "table", "methods.md §5.6",
             "LLFlow's README / PapersWithCode figures under the GT-mean protocol (gray and colour SSIM); "
             "12_llflow writes them in its LOL table, next to its protocol grid",
             "12_llflow", (_t("llflow_lol_table"),),
             trained(here=(VE_LOL + " (its LOL-v2 row: not run)",)),
             ledger=(("llflow", "methods.md §5.6"),), source="specs/methods.md §5.6"),
    Artifact("llflow_velol_cross", "llflow", "table", "VE-LOL cross",
             "trained on LOL, tested on VE-LOL: PSNR / SSIM / LPIPS", "12_llflow", (_t("llflow_velol_cross"),),
             absent_here(VE_LOL), ledger=(("llflow", "VE-LOL cross"),), source=LLF_SRC),
    Artifact("llflow_velol_intra", "llflow", "table", "VE-LOL intra",
             "re-trained and tested on VE-LOL: PSNR / SSIM / LPIPS", "12_llflow", (_t("llflow_velol_intra"),),
             absent_here(VE_LOL + " (and the intra-dataset run trains on VE-LOL)"),
             ledger=(("llflow", "VE-LOL intra"),), source=LLF_SRC),
    Artifact("llflow_ablation", "llflow", "table", "ablation",
             "NLL vs L1 training and the illumination-invariant colour-map prior",
             "12_llflow", (_t("llflow_ablation"),),
             trained(always=("the paper's ablation numbers are not available (reproduced column only)",)),
             source=LLF_SRC, ablation=True),
    Artifact("llflow_fig_ablation", "llflow", "figure", "ablation figure",
             "outputs of the NLL model, the L1-trained model and the model without the colour-map prior",
             "12_llflow", (_f("llflow_ablation_examples"),), trained(), source=LLF_SRC),
    Artifact("llflow_fig_sampling", "llflow", "figure", "sampling figure",
             "brightness of the output as the latent z moves away from the prior mean (monotonic)",
             "12_llflow", (_f("llflow_sampling_brightness"),), trained(), source=LLF_SRC),
    Artifact("llflow_sampling", "llflow", "table", "sampling (numbers)",
             "mean output brightness per latent shift (the numbers behind the sampling figure)",
             "12_llflow", (_t("llflow_sampling"),), trained(), source=LLF_SRC),
    Artifact("llflow_fig_gradient_maps", "llflow", "figure", "gradient activation maps",
             "gradient activation maps locating artifact-prone regions", None, (),
             never_run("not implemented: the review does not say how the maps are computed"), source=LLF_SRC),
)

# ------------------------------------------------------------------------------------------------ ICLR
ICLR_SRC = "seeds/iclr_2025_abstract.txt"
ICLR: tuple[Artifact, ...] = (
    Artifact("iclr_main_table", "iclr", "table", "main table (methods.md §2.4)",
             "LOLv1 PSNR / SSIM / LPIPS and LOLv2-real / -synthetic PSNR of ICLR, CIDNet, URWKV (GT-mean)",
             "13_iclr", (_t("iclr_main_table"),),
             trained(here=(LOLV2,), always=("URWKV is not implemented (reported rows only)",)),
             ledger=(("iclr", "methods.md §2.4"),), source="specs/methods.md §2.4"),
    Artifact("iclr_ablation", "iclr", "table", "ablation (methods.md §2.4)",
             "w/o MAFM, CDEM -> plain cross-attention, CCL -> L1 / L2, w/o 1st / 2nd MAFM of the DIEM (LOLv1)",
             "13_iclr", (_t("iclr_ablation"),), trained(here=(ICLR_PAPER_ONLY,)),
             ledger=(("iclr", "methods.md §2.4 ablation"),), source="specs/methods.md §2.4", ablation=True),
    Artifact("iclr_covariance_analysis", "iclr", "table", "covariance analysis (methods.md §2.4)",
             "share of test images with HV covariance <= 0.01 and their share of the CCL's PSNR gain",
             "13_iclr", (_t("iclr_covariance_analysis"),),
             trained(always=("the reported figures (63 %, ~90 %) are prose, not in the ledger",)),
             source="specs/methods.md §2.4"),
    Artifact("iclr_covariance_per_image", "iclr", "table", "covariance analysis (per image)",
             "per test image: HV covariance and the PSNR of the CCL and L1/L2 models (behind the analysis)",
             "13_iclr", (_t("iclr_covariance_per_image"),), trained(), source="specs/methods.md §2.4"),
    Artifact("iclr_fig_covariance", "iclr", "figure", "covariance figure",
             "per-image PSNR gain of CCL over L1 against the image's HV covariance",
             "13_iclr", (_f("iclr_covariance_gain"),), trained(), source="specs/methods.md §2.4"),
    Artifact("iclr_params", "iclr", "table", "parameters (methods.md §2.1)",
             "parameters of ICLR, CIDNet and URWKV", "13_iclr", (_t("iclr_params"),),
             trained(always=("URWKV is not implemented",), budget=False),
             ledger=(("iclr", "methods.md §2.1"),), source="specs/methods.md §2.1"),
    Artifact("iclr_niqe_unpaired", "iclr", "table", "NIQE on unpaired sets",
             "NIQE of ICLR on five unpaired sets (the abstract's 'multiple datasets')",
             "13_iclr", (_t("iclr_niqe_unpaired"),),
             trained(here=("MEF, NPE, VV are not present (not run)",),
                     always=("the reported numbers were not found (reproduced column only)",)),
             source=ICLR_SRC),
    Artifact("cidnet_weights_table", "iclr", "table", "CIDNet per weight (methods.md §1.5)",
             "CIDNet README figures per released weight / setting (ICLR's base model and comparator)",
             "13_iclr", (_t("cidnet_weights_table"),),
             trained(here=(LOLV2,), always=("the released weights are not available offline: CIDNet retrained",)),
             ledger=(("cidnet", "methods.md §1.5"),), source="specs/methods.md §1.5"),
    Artifact("cidnet_params", "iclr", "table", "CIDNet size (methods.md §1.2)", "parameters and FLOPs of CIDNet",
             "13_iclr", (_t("cidnet_params"),), REPRODUCED,
             ledger=(("cidnet", "methods.md §1.2"),), source="specs/methods.md §1.2"),
)

# ------------------------------------------------------------------------------------------------ IRLE
IRLE_SRC = "seeds/irle_2026_summary.txt"
IRLE: tuple[Artifact, ...] = (
    Artifact("irle_main_table", "irle", "table", "benchmark results (project page Table 1)",
             "self-supervised LLIE benchmark: the page's Table 1 (LOLv1 / LOLv2-real / LOLv2-syn, Normal and GT-Mean "
             "PSNR / SSIM, IRLE and 14 unsupervised methods) and the aggregator's LOLv1 NIQE",
             "14_irle", (_t("irle_main_table"), _t("irle_table1_comparison")),
             trained(here=(LOLV2 + "; LSRW is not present",),
                     always=("the page does not name its GT-mean variant or SSIM implementation",)),
             ledger=(("irle", "methods.md §4"), ("irle", "Table 1")), source="specs/irle_project_page.md Table 1"),
    Artifact("irle_cost", "irle", "table", "project page Table 2 (cost)",
             "parameters (M = 10^6) and G MACs at 400x600 of stage 1 and the whole network, counted by torch's "
             "FLOP counter, against the page's Table 2 (runtime and FPS on an RTX 3090 not reproduced)",
             "14_irle", (_t("irle_cost"),), REPRODUCED,
             ledger=(("irle", "Table 2"),), source="specs/irle_project_page.md Table 2"),
    Artifact("irle_ablation", "irle", "table", "component ablation",
             "w/o pseudo-GT, w/o IAP, w/o SISC, SISC -> spatial sub-sampling, w/o GAFM, no denoiser",
             "14_irle", (_t("irle_ablation"),),
             trained(always=("no reported numbers (reproduced column only)",)), source=IRLE_SRC, ablation=True),
    Artifact("irle_fig_internal_references", "irle", "figure", "internal references",
             "self-estimated illumination, gain prior, local exposure-simulated pseudo-GT, stage-1 and final output",
             "14_irle", (_f("irle_internal_references"),), trained(), source=IRLE_SRC),
    Artifact("irle_fig_sisc_vs_spatial", "irle", "figure", "SISC vs spatial sub-sampling",
             "zoomed outputs with the spectral (SISC) and the spatial sub-sampling loss (blur, fine structure)",
             "14_irle", (_f("irle_sisc_vs_spatial"),), trained(), source=IRLE_SRC),
    Artifact("irle_fig_gafm_regions", "irle", "figure", "GAFM by brightness",
             "error of the output by input-brightness bin with and without GAFM (dark vs bright regions)",
             "14_irle", (_f("irle_gafm_regions"),), trained(), source=IRLE_SRC),
    Artifact("irle_noise_by_brightness", "irle", "table", "GAFM by brightness (numbers)",
             "residual noise and error per local-brightness bin with / without GAFM (behind the GAFM figure)",
             "14_irle", (_t("irle_noise_by_brightness"),), trained(), source=IRLE_SRC),
)


# ------------------------------------------------------------------------------------------------ workbook
EXTRA_METHOD_FIGURES: tuple[Artifact, ...] = (
    Artifact("jcrnet_qualitative_unpaired", "workbook", "figure", "", "JCRNet next to the classical baselines on "
             "unpaired images", "11_jcrnet", (_f("jcrnet_qualitative_unpaired"),), trained()),
)


def _method_outputs(method: str) -> tuple[Artifact, ...]:
    nb, name = METHOD_NOTEBOOKS[method], display_name(method)
    return (
        Artifact(f"{method}_runs", "workbook", "table", "", f"{name} training runs: iterations, stop reason, "
                 "best validation score per stage", nb, (_t(f"{method}_runs"),), REPRODUCED),
        Artifact(f"{method}_scores", "workbook", "table", "", f"every evaluate_suite row of the {name} notebook "
                 "(main run, ablations, baselines; 'not run' rows for absent sets)", nb, (_t(f"{method}_scores"),),
                 REPRODUCED),
        Artifact(f"{method}_vs_baselines", "workbook", "table", "", f"does {name} beat every classical baseline "
                 "on PSNR (main paired set)?", nb, (_t(f"{method}_vs_baselines"),), REPRODUCED),
        Artifact(f"{method}_qualitative", "workbook", "figure", "", f"{name} next to the classical baselines",
                 nb, (_f(f"{method}_qualitative"),), trained()),
        Artifact(f"{method}_training_curves", "workbook", "figure", "", f"{name} training loss and validation "
                 "score per stage", nb, (_f(f"{method}_training_curves"),), REPRODUCED),
    )


# test sets of each profile (profiles/*.yaml) and whether the CI data holds them
_PAIRED = {"lol_v1": "SQP", "fivek": "SQP", "synthetic": "SQ", "lol_v2_real": "P", "lol_v2_synthetic": "P",
           "coco_lowlight": "P", "lsrw": "P", "ve_lol": "P"}
_UNPAIRED = {"dicm": "SQP", "lime": "SQP", "sice": "QP", "mef": "SQP", "npe": "SQP", "vv": "SQP", "exdark": "P"}
_CI_DATA = frozenset({"lol_v1", "fivek", "synthetic", "dicm", "lime", "sice"})
_SMOKE_GRIDS = frozenset({"lol_v1", "dicm"})  # smoke: main paired + first unpaired set (workbook_figures.grid_datasets)


def _dataset_status(dataset: str, profiles: str) -> Status:
    def one(profile: str) -> str:
        if profile[0].upper() not in profiles:
            return f"not run: {dataset} is not a test set of the {profile} profile"
        if profile != "paper" and dataset not in _CI_DATA:
            return f"not run: {dataset} is not present"
        if profile == "smoke" and dataset not in _SMOKE_GRIDS:
            return "not run: smoke draws the main paired and the first unpaired set only (time budget)"
        return f"partly: {SMOKE_BUDGET}" if profile == "smoke" else "reproduced"
    return Status(**{p: one(p) for p in PROFILES})


QUALITATIVE_PREFIX = "qualitative_"  # figures/qualitative_<dataset>.png: one grid per test set (95_figures)


def output_dataset(output: str) -> str | None:
    """The test set an output is drawn from when its name says so (``figures/qualitative_dicm.png`` -> ``dicm``),
    else ``None``: such an output exists only where that set is on disk."""
    stem = output_stem(output)
    return stem.removeprefix(QUALITATIVE_PREFIX) if stem.startswith(QUALITATIVE_PREFIX) else None


def _qualitative(dataset: str, profiles: str, paired: bool) -> Artifact:
    extra = " and residual maps to the reference" if paired else ""
    return Artifact(f"{QUALITATIVE_PREFIX}{dataset}", "workbook", "figure", "",
                    f"every method and baseline on the same {dataset} images, with zoomed insets{extra}",
                    "95_figures", (_f(f"{QUALITATIVE_PREFIX}{dataset}"),), _dataset_status(dataset, profiles))


WORKBOOK: tuple[Artifact, ...] = (
    Artifact("data_inventory", "workbook", "table", "", "every dataset of the papers: found / partial / missing",
             "00_data_prep", (_t("data_inventory"),), REPRODUCED),
    Artifact("data_samples", "workbook", "figure", "", "sample low / normal pairs (LOL and the embedded set)",
             "00_data_prep", (_f("data_samples"),), REPRODUCED),
    Artifact("data_histograms", "workbook", "figure", "", "intensity histograms of low and normal images",
             "00_data_prep", (_f("data_histograms"),), REPRODUCED),
    Artifact("baselines", "workbook", "table", "", "input, HE, CLAHE, LIME, Zero-DCE on every test set",
             "05_baselines", (_t("baselines"),), REPRODUCED),
    Artifact("baselines_lol_psnr", "workbook", "figure", "", "PSNR of the baselines on the main paired set",
             "05_baselines", (_f("baselines_lol_psnr"),), REPRODUCED),
    Artifact("baselines_qualitative", "workbook", "figure", "", "the baselines on three main-set images",
             "05_baselines", (_f("baselines_qualitative"),), REPRODUCED),
    *(a for m in METHOD_NOTEBOOKS for a in _method_outputs(m)),
    *EXTRA_METHOD_FIGURES,
    Artifact("cross_method", "workbook", "table", "", "all five methods and the baselines under one protocol on "
             "every test set (mean and std over seeds)", "90_tables",
             (_t("cross_method"), "tables/cross_method.md", "tables/cross_method.tex"), trained()),
    Artifact("compare_summary", "workbook", "table", "", "per paper table: reported cells, reproduced cells, "
             "cells not run and median delta", "90_tables", (_t("compare_summary"),), REPRODUCED),
    Artifact("table_index", "workbook", "table", "", "every registered table: status in this profile and "
             "whether its files exist", "90_tables", (_t("table_index"),), REPRODUCED),
    Artifact("claims", "workbook", "table", "", "every claim of the five papers (results/paper/claims.csv) with "
             "this run's verdict: paired bootstrap CI of the difference over test images (also CLAIMS.md at the top "
             "of the results folder)", "90_tables", (_t("claims"), "tables/claims.md"), trained()),
    *(_qualitative(d, p, True) for d, p in _PAIRED.items()),
    *(_qualitative(d, p, False) for d, p in _UNPAIRED.items()),
    Artifact("cross_colour_histograms", "workbook", "figure", "", "RGB histograms of every method's outputs on the "
             "main paired set, with the 1-D Wasserstein distance to the reference", "95_figures",
             (_f("cross_colour_histograms"),), trained()),
    Artifact("cross_metric_distributions", "workbook", "figure", "", "per-image PSNR / SSIM / LPIPS on the main "
             "paired set and NIQE on the unpaired sets, every method", "95_figures",
             (_f("cross_metric_distributions"),), trained()),
    Artifact("cross_metric_heatmap", "workbook", "figure", "", "methods x test sets heatmaps of PSNR and NIQE",
             "95_figures", (_f("cross_metric_heatmap"),), trained()),
    Artifact("training_curves_all", "workbook", "figure", "", "learning curves of every training run "
             "(runs/**/log.csv): loss and validation score", "95_figures", (_f("training_curves_all"),),
             REPRODUCED),
    Artifact("enhanced_images", "workbook", "table", "", "every trained method's main run on the main paired set: "
             "the enhanced test images as full-size 8-bit PNGs, one row per file (enhanced/<method>/<dataset>/"
             "<image>.png, linked from enhanced/INDEX.md)", "95_figures",
             (_t("enhanced_images"), "tables/enhanced_images.md"), trained()),
    Artifact("figure_index", "workbook", "table", "", "every registered figure: status in this profile and "
             "whether its file exists", "95_figures", (_t("figure_index"),), REPRODUCED),
    Artifact("explore_snapshot", "workbook", "figure", "", "static snapshot of the explorer (headless run)",
             "99_explore", (_f("explore_snapshot"),), REPRODUCED),
)

PAPER_ARTIFACTS: tuple[Artifact, ...] = FRLIE + JCRNET + LLFLOW + ICLR + IRLE


def comparison_name(artifact: Artifact) -> str:
    """``compare_<id>``: the 90_tables output that puts an artifact's reported and reproduced values side by side."""
    return f"compare_{artifact.id}"


def _comparisons(paper_artifacts: tuple[Artifact, ...]) -> tuple[Artifact, ...]:
    out = []
    for a in paper_artifacts:
        if a.kind == "table" and a.ledger:
            name = comparison_name(a)
            out.append(Artifact(name, "workbook", "table", "", f"{a.paper} {a.label}: reported vs reproduced "
                                f"values with deltas; cells without a reproduction say why", "90_tables",
                                (_t(name), f"tables/{name}.md", f"tables/{name}.tex"), REPRODUCED,
                                ledger=a.ledger, ablation=a.ablation))
    return tuple(out)


ARTIFACTS: tuple[Artifact, ...] = PAPER_ARTIFACTS + WORKBOOK + _comparisons(PAPER_ARTIFACTS)


# ------------------------------------------------------------------------------------------------ queries
def state(status: str) -> str:
    """``reproduced`` | ``partly`` | ``not run`` | ``not reproducible`` of a status string."""
    for s in STATES:
        if status == s or status.startswith(f"{s}:"):
            return s
    raise ValueError(f"status {status!r} does not start with one of {list(STATES)}")


def find(paper: str | None = None, kind: str | None = None, notebook: str | None = None,
         artifacts: tuple[Artifact, ...] = ARTIFACTS) -> tuple[Artifact, ...]:
    """Artifacts filtered by paper, kind and/or notebook."""
    return tuple(a for a in artifacts if (paper is None or a.paper == paper) and (kind is None or a.kind == kind)
                 and (notebook is None or a.notebook == notebook))


def get(artifact_id: str) -> Artifact:
    for a in ARTIFACTS:
        if a.id == artifact_id:
            return a
    raise KeyError(f"no artifact {artifact_id!r}; ids: {[a.id for a in ARTIFACTS]}")


def by_ledger_table(paper: str, table: str, artifacts: tuple[Artifact, ...] = PAPER_ARTIFACTS) -> Artifact:
    """The paper artifact compared with the ledger's ``(paper, table)``."""
    for a in artifacts:
        if (paper, table) in a.ledger:
            return a
    raise KeyError(f"no registered artifact compares ledger table ({paper!r}, {table!r})")


def expected_outputs(profile: str, notebooks: set[str] | None = None,
                     artifacts: tuple[Artifact, ...] = ARTIFACTS) -> list[str]:
    """Output files (relative to ``results/<profile>``) that ``profile`` must produce: those of every artifact
    whose status there is ``reproduced`` or ``partly`` (optionally only of ``notebooks``)."""
    files: dict[str, None] = {}
    for a in artifacts:
        if a.notebook is None or (notebooks is not None and a.notebook not in notebooks):
            continue
        if state(a.status.of(profile)) in ("reproduced", "partly"):
            files.update(dict.fromkeys(a.outputs))
    return list(files)


def missing_outputs(results_dir: str | os.PathLike, profile: str, notebooks: set[str] | None = None,
                    artifacts: tuple[Artifact, ...] = ARTIFACTS) -> list[str]:
    """Expected outputs of ``profile`` that are absent or empty under ``results_dir`` (``results/<profile>``)."""
    root = Path(results_dir)
    return [rel for rel in expected_outputs(profile, notebooks, artifacts)
            if not (root / rel).is_file() or (root / rel).stat().st_size == 0]


def unregistered_outputs(results_dir: str | os.PathLike, artifacts: tuple[Artifact, ...] = ARTIFACTS) -> list[str]:
    """Tables (``tables/<name>.csv``) and figures (``figures/<name>.png``) under ``results_dir`` that no artifact
    lists: names to add to the catalogue or to align with the conventions."""
    root = Path(results_dir)
    known = {(Path(o).parent.name, output_stem(o)) for a in artifacts for o in a.outputs}
    found = [f"tables/{p.name}" for p in sorted(root.glob("tables/*.csv"))] + \
            [f"figures/{p.name}" for p in sorted(root.glob("figures/*.png"))]
    return [f for f in found if (Path(f).parent.name, output_stem(f)) not in known]


def output_stem(path: str) -> str:
    """``tables/frlie_table1.csv`` -> ``frlie_table1``."""
    return Path(path).stem


def registry_frame(profile: str | None = None, results_dir: str | os.PathLike | None = None,
                   artifacts: tuple[Artifact, ...] = ARTIFACTS):
    """The catalogue as a DataFrame (one row per artifact); with ``profile`` a ``status`` column, and with
    ``results_dir`` a ``files_present`` column (``k/n`` of its outputs exist)."""
    rows = []
    for a in artifacts:
        row = {"id": a.id, "paper": a.paper, "kind": a.kind, "label": a.label, "shows": a.shows,
               "notebook": a.notebook or "", "outputs": " ".join(a.outputs), "source": a.source}
        if profile is not None:
            row["status"] = a.status.of(profile)
        else:
            row.update({f"status_{p}": a.status.of(p) for p in PROFILES})
        if results_dir is not None:
            present = sum((Path(results_dir) / o).is_file() for o in a.outputs)
            row["files_present"] = f"{present}/{len(a.outputs)}"
        rows.append(row)
    return pd.DataFrame(rows)


ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10}
OUTPUT_PATTERN = re.compile(r"^(tables/[a-z0-9_]+\.(csv|md|tex)|figures/[a-z0-9_]+\.png)$")


def label_number(label: str) -> int | None:
    """``'Table VII'`` -> 7, ``'Fig. 11'`` -> 11, ``'LOL table'`` -> None."""
    match = re.fullmatch(r"(?:Table|Fig\.)\s+([0-9]+|[IVX]+)", label)
    if not match:
        return None
    token = match.group(1)
    return int(token) if token.isdigit() else ROMAN[token]
