"""Every dataset the workbook knows: accepted folder layouts, expected counts, citation, where to get it.

Layout paths are relative to the data root (``$LLIE_DATA_ROOT``); each path component is matched
case-insensitively (``lol/eval15`` finds ``LOLv1``-style trees written in any case). A split lists several
layout *variants* (the names used by the official releases and by the common repositories, e.g. Retinexformer's
``LOLv1/Test/input``); the first variant present on disk is used. ``{group}`` in a layout path is expanded over
``FolderLayout.groups`` (LSRW cameras, ExDark classes) and the group becomes part of the item name.

Expected counts are the full official releases. A folder flagged ``subset=True`` (the shared ``our485_subset``)
or holding fewer files is reported as *partial*, never as invalid.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from types import MappingProxyType
from typing import Mapping

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
LOW_PREFIXES = ("low",)
HIGH_PREFIXES = ("normal", "high", "gt")


@dataclass(frozen=True)
class FolderLayout:
    """One accepted on-disk layout of a split: a low folder, an optional high folder and file patterns."""

    low: str
    high: str | None = None
    low_glob: str = "*"
    high_glob: str = "*"
    groups: tuple[str, ...] = ()
    subset: bool = False  # a deliberately partial copy of the release (counts are expected to be lower)
    note: str = ""

    def describe(self) -> str:
        def side(folder: str, pattern: str) -> str:
            return folder if pattern == "*" else f"{folder}/{pattern}"

        text = side(self.low, self.low_glob)
        if self.high is not None:
            text += f" + {side(self.high, self.high_glob)}"
        return text + (f" (groups: {', '.join(self.groups)})" if self.groups else "")


@dataclass(frozen=True)
class SplitLayout:
    """The accepted layout variants of one split, most canonical first."""

    variants: tuple[FolderLayout, ...]

    def describe(self) -> str:
        return " | ".join(v.describe() for v in self.variants)


@dataclass(frozen=True)
class DatasetSpec:
    """What the workbook knows about one dataset (see the module docstring)."""

    name: str
    title: str
    paired: bool
    splits: Mapping[str, SplitLayout]
    expected_count: Mapping[str, int | None]
    citation: str
    url: str  # where to obtain it (a landing page, not necessarily a direct file)
    licence: str
    notes: str = ""
    has_direct_download: bool = False
    download_url: str | None = None
    download_sha256: str | None = None
    location: str = "data_root"  # 'data_root' (real data) or 'cache' (built by the workbook)
    used_by: tuple[str, ...] = field(default_factory=tuple)
    public: bool = True  # False: no public release; ``url`` says whom to ask

    def __post_init__(self) -> None:
        if set(self.splits) != set(self.expected_count):
            raise ValueError(f"dataset {self.name!r}: splits {sorted(self.splits)} and expected_count "
                             f"{sorted(self.expected_count)} name different splits")
        if self.has_direct_download and not (self.download_url and self.download_sha256):
            raise ValueError(f"dataset {self.name!r}: has_direct_download needs download_url and download_sha256")
        object.__setattr__(self, "splits", MappingProxyType(dict(self.splits)))
        object.__setattr__(self, "expected_count", MappingProxyType(dict(self.expected_count)))


def _paired(bases: tuple[str, ...], split_dirs: tuple[str, ...], folder_pairs: tuple[tuple[str, str], ...],
            **kwargs) -> tuple[FolderLayout, ...]:
    """Every combination ``base/split_dir/{low,high}`` as paired layouts."""
    return tuple(FolderLayout(f"{b}/{s}/{lo}", f"{b}/{s}/{hi}", **kwargs)
                 for b, s, (lo, hi) in product(bases, split_dirs, folder_pairs))


def _unpaired(*folders: str) -> SplitLayout:
    return SplitLayout(tuple(FolderLayout(f) for f in folders))


_LOL1 = ("LOLv1", "LOL", "LOL-v1", "LOLdataset", "LOL_v1")
_LOW_HIGH = (("low", "high"), ("low", "normal"), ("input", "target"))


def _lol_v2(part: str, split_dir: str) -> SplitLayout:
    bases = tuple(f"{b}/{part}" for b in ("LOL-v2", "LOLv2", "LOL_v2"))
    same_folder = tuple(FolderLayout(f"{b}/{split_dir}", f"{b}/{split_dir}", low_glob="low*", high_glob="normal*")
                        for b in bases)
    return SplitLayout(_paired(bases, (split_dir,), (("Low", "Normal"), ("low", "high"))) + same_folder)


_EXDARK_CLASSES = ("Bicycle", "Boat", "Bottle", "Bus", "Car", "Cat", "Chair", "Cup", "Dog", "Motorbike",
                   "People", "Table")
_NO_LICENCE = "no explicit licence; distributed by the authors for research use"
_ZERO_DCE = "https://github.com/Li-Chongyi/Zero-DCE (Zero-DCE_code/data/test_data)"
_JCRNET = ("N. Yu, H. Shi, Y. Han. Joint Correcting and Refinement for Balanced Low-Light Image Enhancement. "
           "IEEE Transactions on Multimedia, 2023 (JCRNet; arXiv:2309.16128), Sec. IV-D, Table V.")
_TOYS = ("Toys", "Toys_flash")

_SPECS = (
    DatasetSpec(
        name="lol_v1", title="LOL (v1)", paired=True,
        splits={
            "train": SplitLayout(_paired(_LOL1, ("our485",), _LOW_HIGH)
                                 + _paired(_LOL1, ("Train", "train"), (("input", "target"), ("low", "high")))
                                 + _paired(_LOL1, ("our485_subset",), _LOW_HIGH, subset=True,
                                           note="partial copy of our485 (the shared data holds 202 of 485)")),
            "test": SplitLayout(_paired(_LOL1, ("eval15",), _LOW_HIGH)
                                + _paired(_LOL1, ("Test", "test"), (("input", "target"), ("low", "high")))),
        },
        expected_count={"train": 485, "test": 15},
        citation="C. Wei, W. Wang, W. Yang, J. Liu. Deep Retinex Decomposition for Low-Light Enhancement. BMVC 2018.",
        url="https://daooshee.github.io/BMVC2018website/",
        licence=_NO_LICENCE,
        notes="400x600 PNG pairs. our485 contains the LOL-v2-real test inputs low00690-low00789 (train/test leak "
              "across versions); our485/79.png is known to be mispaired (RetinexNet#9).",
        used_by=("FRLIE", "LLFlow", "JCRNet", "ICLR", "IRLE"),
    ),
    DatasetSpec(
        name="lol_v2_real", title="LOL-v2 Real_captured", paired=True,
        splits={"train": _lol_v2("Real_captured", "Train"), "test": _lol_v2("Real_captured", "Test")},
        expected_count={"train": 689, "test": 100},
        citation="W. Yang, W. Wang, H. Huang, S. Wang, J. Liu. Sparse Gradient Regularized Deep Retinex Network "
                 "for Robust Low-Light Image Enhancement. IEEE TIP 30, 2021.",
        url="https://github.com/flyywh/SGM-Low-Light",
        licence=_NO_LICENCE,
        notes="files low00690.png <-> normal00690.png; test inputs overlap LOL-v1 our485/eval15 (see MANIFEST).",
        used_by=("LLFlow", "IRLE"),
    ),
    DatasetSpec(
        name="lol_v2_synthetic", title="LOL-v2 Synthetic", paired=True,
        splits={"train": _lol_v2("Synthetic", "Train"), "test": _lol_v2("Synthetic", "Test")},
        expected_count={"train": 900, "test": 100},
        citation="W. Yang, W. Wang, H. Huang, S. Wang, J. Liu. Sparse Gradient Regularized Deep Retinex Network "
                 "for Robust Low-Light Image Enhancement. IEEE TIP 30, 2021.",
        url="https://github.com/flyywh/SGM-Low-Light",
        licence=_NO_LICENCE + " (synthesised from RAISE raw images)",
        notes="Low/Normal folders with identical names, or low*/normal* file prefixes.",
        used_by=("LLFlow", "IRLE"),
    ),
    DatasetSpec(
        name="fivek", title="MIT-Adobe FiveK (expert C, sRGB)", paired=True,
        splits={
            "train": SplitLayout(_paired(("FiveK", "fivek", "MIT-Adobe-FiveK"), ("train",), _LOW_HIGH
                                         + (("input", "expertC"),))),
            "test": SplitLayout(_paired(("FiveK", "fivek", "MIT-Adobe-FiveK"), ("test",), _LOW_HIGH
                                        + (("input", "expertC"),))
                                + tuple(FolderLayout(f"{b}/input", f"{b}/target", subset=True,
                                                     note="8 DPE sample pairs (input -> expert C)")
                                        for b in ("FiveK_samples", "FiveK_DPE_samples"))),
        },
        expected_count={"train": 4500, "test": 500},
        citation="V. Bychkovsky, S. Paris, E. Chan, F. Durand. Learning Photographic Global Tonal Adjustment with "
                 "a Database of Input/Output Image Pairs. CVPR 2011.",
        url="https://data.csail.mit.edu/graphics/fivek/",
        licence="MIT-Adobe FiveK licence: research use only (Adobe licence per image)",
        notes="Expert C retouches exported to 8-bit sRGB (DPE/Retinexformer recipe, 4500/500 split). The shared "
              "FiveK_samples pairs are RGBA with alpha 255 (alpha dropped on read).",
        used_by=("IRLE",),
    ),
    DatasetSpec(
        name="coco_lowlight", title="COCO (low-light)", paired=True,
        splits={"test": SplitLayout(_paired(("COCO_lowlight", "COCO-lowlight", "coco_low_light", "COCO"),
                                            ("test",), _LOW_HIGH))},
        expected_count={"test": 959},
        citation="T.-Y. Lin et al. Microsoft COCO: Common Objects in Context. ECCV 2014; Y. Sasagawa, H. Nagahara. "
                 "YOLO in the Dark. ECCV 2020 (cited together by JCRNet as [40, 46]).",
        url="no public release known (ask the JCRNet authors, IEEE TMM 2023, for their 959 test pairs)",
        licence="COCO images: Flickr terms of use per image; annotations CC BY 4.0",
        notes="JCRNet (Sec. IV-A) uses 959 pairs as its test set. Folder layout is an assumption.",
        used_by=("JCRNet",),
        public=False,
    ),
    DatasetSpec(
        name="toys_flash", title="Toys (low light under flash light)", paired=True,
        splits={"test": SplitLayout(
            tuple(FolderLayout(f"{b}/{lo}", f"{b}/{hi}") for b in _TOYS for lo, hi in _LOW_HIGH)
            + _paired(_TOYS, ("test", "eval"), _LOW_HIGH))},
        expected_count={"test": None},
        citation=_JCRNET,
        url="no public release (ask the JCRNet authors: https://github.com/woshiyll/JCRNet)",
        licence="unknown (not publicly released)",
        notes="Low-light photos of toys taken under flash light (slightly greenish), paired with references; only "
              "JCRNet's JRS ablation (Table V, Fig. 14) uses it. Image count and folder layout are not published: "
              "any count is accepted, LOL-like low/high folders are assumed. Ledger id: toys_flash.",
        used_by=("JCRNet",),
        public=False,
    ),
    DatasetSpec(
        name="lsrw", title="LSRW (Huawei + Nikon)", paired=True,
        splits={
            "train": SplitLayout((FolderLayout("LSRW/Training data/{group}/low", "LSRW/Training data/{group}/high",
                                               groups=("Huawei", "Nikon")),
                                  FolderLayout("LSRW/train/{group}/low", "LSRW/train/{group}/high",
                                               groups=("Huawei", "Nikon")))),
            "test": SplitLayout((FolderLayout("LSRW/Eval/{group}/low", "LSRW/Eval/{group}/high",
                                              groups=("Huawei", "Nikon")),
                                 FolderLayout("LSRW/test/{group}/low", "LSRW/test/{group}/high",
                                              groups=("Huawei", "Nikon")))),
        },
        expected_count={"train": 5600, "test": 50},
        citation="J. Hai, Z. Xuan, R. Yang, Y. Hao, F. Zou, F. Lin, S. Han. R2RNet: Low-light Image Enhancement "
                 "via Real-low to Real-normal Network. JVCIR 90, 2023.",
        url="https://github.com/JianghaiSCU/R2RNet",
        licence=_NO_LICENCE,
        notes="Test = 20 Huawei + 30 Nikon pairs; item names carry the camera (Huawei/1).",
    ),
    DatasetSpec(
        name="ve_lol", title="VE-LOL-L (captured + synthetic)", paired=True,
        splits={
            split: SplitLayout((FolderLayout(f"VE-LOL-L/{{group}}/{split}/low", f"VE-LOL-L/{{group}}/{split}/high",
                                             groups=("VE-LOL-L-Cap-Full", "VE-LOL-L-Syn-Full")),
                                FolderLayout(f"VE-LOL/{{group}}/{split}/low", f"VE-LOL/{{group}}/{split}/high",
                                             groups=("VE-LOL-L-Cap-Full", "VE-LOL-L-Syn-Full"))))
            for split in ("train", "test")
        },
        expected_count={"train": 1300, "test": 200},
        citation="J. Liu, D. Xu, W. Yang, M. Fan, H. Huang. Benchmarking Low-Light Image Enhancement and Beyond. "
                 "IJCV 129, 2021.",
        url="https://flyywh.github.io/IJCV2021LowLight_VELOL/",
        licence=_NO_LICENCE,
        notes="Cap 400/100 + Syn 900/100 pairs; LLFlow's cross-dataset and intra-dataset VE-LOL results.",
        used_by=("LLFlow",),
    ),
    DatasetSpec(
        name="sice", title="SICE (test samples, unpaired here)", paired=False,
        splits={"test": _unpaired("SICE_samples", "SICE_test_samples", "SICE/test", "SICE")},
        expected_count={"test": None},
        citation="J. Cai, S. Gu, L. Zhang. Learning a Deep Single Image Contrast Enhancer from Multi-Exposure "
                 "Images. IEEE TIP 27, 2018.",
        url="https://github.com/csjcai/SICE",
        licence=_NO_LICENCE,
        notes="Used without references (no-reference metrics only); full camera resolution, evaluate with tiling.",
    ),
    DatasetSpec(
        name="exdark", title="ExDark", paired=False,
        splits={"test": SplitLayout((FolderLayout("ExDark/{group}", groups=_EXDARK_CLASSES),
                                     FolderLayout("Exdark/ExDark/{group}", groups=_EXDARK_CLASSES)))},
        expected_count={"test": 7363},
        citation="Y. P. Loh, C. S. Chan. Getting to Know Low-light Images with the Exclusively Dark Dataset. "
                 "CVIU 178, 2019.",
        url="https://github.com/cs-chan/Exclusively-Dark-Image-Dataset",
        licence="research use; see the repository's licence",
        notes="12 class folders; JCRNet (Sec. IV-A) evaluates on it with no-reference metrics.",
        used_by=("JCRNet",),
    ),
    DatasetSpec(
        name="dicm", title="DICM", paired=False,
        splits={"test": _unpaired("DICM", "test_data/DICM", "Unpaired/DICM")},
        expected_count={"test": 69},
        citation="C. Lee, C. Lee, C.-S. Kim. Contrast Enhancement Based on Layered Difference Representation of "
                 "2D Histograms. IEEE TIP 22, 2013.",
        url=_ZERO_DCE,
        licence=_NO_LICENCE,
        notes="The shared copy (Zero-DCE) holds 64 of 69 (23, 24, 51, 59, 68 missing): reported as partial.",
        used_by=("FRLIE", "JCRNet", "ICLR"),
    ),
    DatasetSpec(
        name="lime", title="LIME", paired=False,
        splits={"test": _unpaired("LIME", "test_data/LIME", "Unpaired/LIME")},
        expected_count={"test": 10},
        citation="X. Guo, Y. Li, H. Ling. LIME: Low-Light Image Enhancement via Illumination Map Estimation. "
                 "IEEE TIP 26, 2017.",
        url=_ZERO_DCE,
        licence=_NO_LICENCE,
        notes="The shared copy holds 9 of 10 (5.bmp is over 4 MiB and absent from every snapshot).",
        used_by=("FRLIE", "JCRNet", "ICLR"),
    ),
    DatasetSpec(
        name="mef", title="MEF", paired=False,
        splits={"test": _unpaired("MEF", "test_data/MEF", "Unpaired/MEF")},
        expected_count={"test": 17},
        citation="K. Ma, K. Zeng, Z. Wang. Perceptual Quality Assessment for Multi-Exposure Image Fusion. "
                 "IEEE TIP 24, 2015.",
        url="https://ece.uwaterloo.ca/~k29ma/ (MEF database; the LLIE test copy is in most Zero-DCE-style repos)",
        licence=_NO_LICENCE,
        used_by=("FRLIE", "JCRNet"),
    ),
    DatasetSpec(
        name="npe", title="NPE", paired=False,
        splits={"test": _unpaired("NPE", "test_data/NPE", "Unpaired/NPE")},
        expected_count={"test": 8},
        citation="S. Wang, J. Zheng, H.-M. Hu, B. Li. Naturalness Preserved Enhancement Algorithm for "
                 "Non-Uniform Illumination Images. IEEE TIP 22, 2013.",
        url="the authors' NPE page (no stable direct link known); copies in LLIE test-data repositories",
        licence=_NO_LICENCE,
        notes="8 images in the common LLIE test copy; JCRNet's text describes a 42-image NPE set.",
        used_by=("FRLIE", "JCRNet"),
    ),
    DatasetSpec(
        name="vv", title="VV", paired=False,
        splits={"test": _unpaired("VV", "test_data/VV", "Unpaired/VV")},
        expected_count={"test": 24},
        citation="V. Vonikakis, R. Kouskouridas, A. Gasteratos. On the Evaluation of Illumination Compensation "
                 "Algorithms. Multimedia Tools and Applications 77, 2018.",
        url="https://sites.google.com/site/vonikakis/datasets",
        licence=_NO_LICENCE,
        notes="24 images in the common LLIE test copy; JCRNet's text says 26.",
        used_by=("JCRNet",),
    ),
    DatasetSpec(
        name="synthetic", title="Embedded synthetic low-light set", paired=True,
        splits={"train": SplitLayout((FolderLayout("train/low", "train/high"),)),
                "test": SplitLayout((FolderLayout("test/low", "test/high"),))},
        expected_count={"train": None, "test": None},
        citation="This workbook: data_prep/synthetic.py (clean photos shipped in scikit-image and matplotlib, "
                 "degraded by a Poisson-Gaussian low-light model).",
        url="built locally: python -m data_prep build-synthetic",
        licence="source photos public domain / CC0 (scikit-image, matplotlib sample data)",
        notes="Lives in <cache>/synthetic/<hash>; split by source photo; every parameter in params.json.",
        location="cache",
    ),
)

DATASETS: Mapping[str, DatasetSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})


def get_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` called ``name``; unknown names raise ``KeyError`` listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None
