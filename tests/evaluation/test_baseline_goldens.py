"""Golden scores of the reference enhancers on real data, measured THROUGH the evaluation suite.

Protocol: :func:`llie_core.evaluation.suite.evaluate_suite` with the ``quick`` profile pointed at the real data root
(``LLIE_DATA_ROOT``): LOLv1 eval15 (the 15 test pairs, full 600x400 images: ``eval_max_side`` and
``max_eval_images`` are null in that profile), no tiling below 1024 px, metrics on 8-bit quantised outputs (the
registry's default). Each golden is the 15-image mean the suite reports, pinned at 4 decimals (``abs=5e-5``):
the numbers were measured once with this code and must not move under a refactor; a deliberate protocol change
has to update them here, with the reason.

LPIPS-VGG is left out (about 2 s per 600x400 pair on the 2-core CPU); LPIPS-alex is pinned for Zero-DCE only.
Zero-DCE uses the released ``Epoch99.pth`` found through ``LLIE_DATA_ROOT``'s parent (``../shared/weights``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from llie_core.core.profiles import Profile, load_profile
from llie_core.evaluation.baselines import build_enhancer
from llie_core.evaluation.baselines.zero_dce import default_weights_path
from llie_core.evaluation.suite import evaluate_suite
from llie_core.report.ledger import reported_value
from tests.helpers import skip_or_fail

pytestmark = [pytest.mark.real_data, pytest.mark.usefixtures("one_thread")]  # 2 threads are slower on a busy CPU

EVAL15 = {"1", "22", "23", "55", "79", "111", "146", "179", "493", "547", "665", "669", "748", "778", "780"}
CHEAP = ("psnr", "ssim", "psnr_gtmean")
ZERO_DCE_METRICS = (*CHEAP, "ssim_gray", "ssim_gtmean", "lpips_alex", "lpips_alex_gtmean")

# LOLv1 eval15 means, measured once with this suite (per-image scores in <out>/<method>/lol_v1.csv).
LOL_EVAL15 = {
    "input": {"psnr": 7.7733, "ssim": 0.1952, "psnr_gtmean": 18.7858},
    "he": {"psnr": 15.6190, "ssim": 0.3875, "psnr_gtmean": 17.3881},
    "clahe": {"psnr": 12.0799, "ssim": 0.4215, "psnr_gtmean": 17.2197},
    "lime": {"psnr": 16.7054, "ssim": 0.4377, "psnr_gtmean": 19.1200},
    "zero_dce": {"psnr": 14.8607, "ssim": 0.5588, "psnr_gtmean": 21.0567, "ssim_gray": 0.6661,
                 "ssim_gtmean": 0.5351, "lpips_alex": 0.3352, "lpips_alex_gtmean": 0.3532},
}
# NIQE / BRISQUE of the unenhanced DICM images through the suite's unpaired path (quick profile with
# max_unpaired_images=3: 01.jpg 640x480, 35.jpg 480x733, 69.jpg 480x800 centre-cropped to 480x768).
DICM_INPUT = {"01": (3.2271, 10.1963), "35": (3.2642, 4.9240), "69": (4.8445, 41.6412)}
DICM_INPUT_MEAN = {"niqe": 3.7786, "brisque": 18.9205}


@pytest.fixture(scope="module")
def quick_profile(real_data_root: Path) -> Profile:
    profile = load_profile("quick", data_root=real_data_root)
    assert profile.data.eval_max_side is None and profile.data.max_eval_images is None
    if not (real_data_root / "LOLv1" / "eval15").is_dir():
        skip_or_fail(f"{real_data_root}/LOLv1/eval15 absent")
    return profile


@pytest.fixture
def zero_dce_from_data_root(shared_root: Path, quick_profile: Profile):
    """``build_enhancer('zero_dce')`` with no path: the weights come from the profile's weights root, by default
    ``<data root>/../weights``."""
    expected = shared_root / "weights" / "zero_dce" / "Epoch99.pth"
    if not expected.is_file():
        skip_or_fail(f"{expected} absent")
    assert default_weights_path(quick_profile.data.weights_root) == expected.resolve()
    return build_enhancer("zero_dce", weights_root=quick_profile.data.weights_root)


def score_lol_eval15(enhancer, profile: Profile, out_dir: Path, metrics: tuple[str, ...]) -> pd.Series:
    """The suite's LOLv1 summary row, after checking it scored the 15 full-size eval pairs."""
    table = evaluate_suite(enhancer, profile, out_dir, paired=["lol_v1"], unpaired=[], paired_metrics=metrics)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["dataset"], row["kind"], row["status"], row["images"]) == ("lol_v1", "paired", "ok", 15)
    per_image = pd.read_csv(out_dir / enhancer.name / "lol_v1.csv", dtype={"image": str})
    images = per_image[per_image["image"] != "mean"]
    assert set(images["image"]) == EVAL15
    assert (images["height"] == 400).all() and (images["width"] == 600).all()
    return row


def assert_golden(row: pd.Series, golden: dict[str, float]) -> None:
    got = {m: float(row[m]) for m in golden}
    bad = {m: (round(got[m], 6), v) for m, v in golden.items() if abs(got[m] - v) > 5e-5}
    assert not bad, f"{row['method']}: (measured, golden) {bad}; all measured: {got}"


@pytest.mark.slow  # 15 images x 3 metrics: input ~8 s, HE/CLAHE ~12 s, LIME ~90 s on a busy 2-core CPU
@pytest.mark.parametrize("name", ["input", "he", "clahe", "lime"])
def test_classical_baselines_on_lol_eval15(quick_profile, tmp_path, name):
    row = score_lol_eval15(build_enhancer(name), quick_profile, tmp_path, CHEAP)
    assert row["method"] == name
    assert_golden(row, LOL_EVAL15[name])


@pytest.mark.slow  # ~45 s: Zero-DCE at 600x400 is ~2 s per image on one core, plus LPIPS-alex
def test_zero_dce_released_weights_on_lol_eval15(quick_profile, tmp_path, zero_dce_from_data_root):
    row = score_lol_eval15(zero_dce_from_data_root, quick_profile, tmp_path, ZERO_DCE_METRICS)
    assert row["method"] == "zero_dce"
    assert_golden(row, LOL_EVAL15["zero_dce"])
    # the same PSNR protocol reproduces the Zero-DCE row of LLFlow's LOL table (printed at 2 decimals)
    assert round(float(row["psnr"]), 2) == reported_value("llflow", "LOL table", "Zero-DCE", "lol_v1", "psnr")


def test_input_niqe_and_brisque_on_dicm(real_data_root, tmp_path):
    # the goldens were measured on 768-px centre crops (the quick profile's unpaired crop side is a budget that may
    # change; the golden's protocol does not)
    profile = load_profile("quick", overrides={"data": {"max_unpaired_images": 3, "eval_unpaired_max_side": 768}},
                           data_root=real_data_root)
    if not (real_data_root / "DICM").is_dir():
        skip_or_fail(f"{real_data_root}/DICM absent")
    table = evaluate_suite(build_enhancer("input"), profile, tmp_path, paired=[], unpaired=["dicm"])
    row = table.iloc[0]
    assert (row["dataset"], row["kind"], row["status"], row["images"]) == ("dicm", "unpaired", "ok", 3)
    assert_golden(row, DICM_INPUT_MEAN)
    per_image = pd.read_csv(tmp_path / "input" / "dicm.csv", dtype={"image": str}).set_index("image")
    assert list(per_image.index) == [*DICM_INPUT, "mean"]
    for image, (niqe, brisque) in DICM_INPUT.items():
        assert per_image.loc[image, "niqe"] == pytest.approx(niqe, abs=5e-5), image
        assert per_image.loc[image, "brisque"] == pytest.approx(brisque, abs=5e-5), image
    assert per_image.loc["69", ["height", "width"]].tolist() == [480, 768]
