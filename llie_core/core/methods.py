"""The workbook's methods, kept once: every table's rows, their display names and which are baselines.

:data:`METHODS` lists them in table order (the order of every table and figure that shows several methods):

* ``baseline``: a classical comparator that needs no training (built by name by
  :mod:`llie_core.evaluation.baselines`); the first rows of every table;
* ``paper``: a method whose paper the workbook reproduces, with its own notebook (``notebook``);
* ``comparator``: a trained method reproduced as another paper's comparator, without a notebook of its own
  (CIDNet, trained in ``13_iclr``).

Trained methods (``paper`` and ``comparator``) are the folders of ``llie_core/configs`` and the papers of the ledger
(``results/paper/reported``). Every other module reads the names from here: :data:`BASELINES`,
:data:`PAPER_METHODS`, :data:`TRAINED_METHODS`, :data:`METHOD_ORDER`, :func:`display_name`.
"""
from __future__ import annotations

from dataclasses import dataclass

KINDS: tuple[str, ...] = ("baseline", "paper", "comparator")


@dataclass(frozen=True)
class Method:
    """One method: its key (run labels, config folder, ledger paper), its name in tables and figures, its kind
    (:data:`KINDS`) and, for a ``paper`` method, the notebook that reproduces it."""

    key: str
    display: str
    kind: str
    notebook: str | None = None


METHODS: tuple[Method, ...] = (
    Method("input", "Input", "baseline"),
    Method("he", "HE", "baseline"),
    Method("clahe", "CLAHE", "baseline"),
    Method("lime", "LIME", "baseline"),
    Method("zero_dce", "Zero-DCE", "baseline"),
    Method("frlie", "FRLIE", "paper", "10_frlie"),
    Method("llflow", "LLFlow", "paper", "12_llflow"),
    Method("jcrnet", "JCRNet", "paper", "11_jcrnet"),
    Method("iclr", "ICLR", "paper", "13_iclr"),
    Method("irle", "IRLE", "paper", "14_irle"),
    Method("cidnet", "CIDNet", "comparator"),
)
# display names of the config variants (run label ``method[variant]``), every variant of every profile's config
# (tests/core/test_methods.py checks it); where the ledger names a variant (its config's ``ledger_method``), the
# display name is that name, so one run has one name in tables, figures and CLAIMS.md
VARIANT_DISPLAY_NAMES: dict[str, str] = {
    "frlie[wo_fr]": "FRLIE w/o FR", "frlie[released_code]": "FRLIE (released code)",
    "llflow[l1_training]": "LLFlow (L1 training)", "llflow[wo_color_map_prior]": "LLFlow w/o colour-map prior",
    "llflow[wo_color_map_input]": "LLFlow w/o colour-map input", "llflow[released_code]": "LLFlow (released code)",
    "jcrnet[wo_fes]": "JCRNet w/o FES", "jcrnet[wo_jrs]": "JCRNet w/o JRS", "jcrnet[wo_ias]": "JCRNet w/o IAS",
    "jcrnet[wo_ed]": "JCRNet w/o E-D", "jcrnet[wo_cab]": "JCRNet w/o CAB", "jcrnet[wo_ssb]": "JCRNet w/o SSB",
    "jcrnet[wo_lrgb]": "JCRNet w/o ℓ_{rgb}", "jcrnet[wo_lm]": "JCRNet w/o ℓ_m",
    "jcrnet[per_channel_branches]": "JCRNet (per-channel JRS branches)", "jcrnet[base]": "JCRNet base",
    "jcrnet[released_code]": "JCRNet (MindSpore)",
    "iclr[wo_mafm]": "ICLR w/o MAFM", "iclr[cdem_to_tca]": "ICLR CDEM->plain cross-attn",
    "iclr[ccl_to_l1]": "ICLR CCL->L1", "iclr[ccl_to_l2]": "ICLR CCL->L2",
    "iclr[wo_first_mafm]": "ICLR w/o 1st MAFM of DIEM", "iclr[wo_second_mafm]": "ICLR w/o 2nd MAFM of DIEM",
    "iclr[paper_text]": "ICLR (paper-text reading)",
    "irle[wo_pseudo_gt]": "IRLE w/o pseudo-GT", "irle[wo_iap]": "IRLE w/o IAP", "irle[wo_sisc]": "IRLE w/o SISC",
    "irle[sisc_to_spatial]": "IRLE SISC->spatial", "irle[wo_gafm]": "IRLE w/o GAFM",
    "irle[no_denoiser]": "IRLE (no denoiser)",
    "cidnet[wo_perc]": "CIDNet (w/o perc)",
}

METHOD_ORDER: tuple[str, ...] = tuple(m.key for m in METHODS)  # rows of the cross-method table
BASELINES: tuple[str, ...] = tuple(m.key for m in METHODS if m.kind == "baseline")
PAPER_METHODS: tuple[str, ...] = tuple(m.key for m in METHODS if m.kind == "paper")
TRAINED_METHODS: tuple[str, ...] = tuple(m.key for m in METHODS if m.kind != "baseline")
# paper methods -> their notebook, in notebook order
METHOD_NOTEBOOKS: dict[str, str] = {m.key: m.notebook for m in sorted((m for m in METHODS if m.kind == "paper"),
                                                                      key=lambda m: str(m.notebook))}
DISPLAY_NAMES: dict[str, str] = {**{m.key: m.display for m in METHODS}, **VARIANT_DISPLAY_NAMES}


def display_name(method: str) -> str:
    """The name tables and figures show for ``method`` (a key or a ``method[variant]`` run label); unknown names
    are returned as they are."""
    return DISPLAY_NAMES.get(method, method)
