"""Tight pins of this implementation's own metric scores on the five TID2013 calibration pairs
(``../shared/reference/iqa_calibration``: score of ``dist/IXX.png`` against ``ref/IXX.png``; NR metrics score
``dist/IXX.png`` alone). They were measured once and exist to prove that a refactor changed nothing; agreement
with the OFFICIAL implementations is tested in ``test_metrics.py`` (LPIPS-VGG there against the ``lpips``
package itself, to 1e-5).

Tolerances: 1e-9 for the float64 pipelines (PSNR, the SSIMs, GT-mean), 1e-6 for LPIPS (float32 networks: the
values moved by < 1e-7 with ATen/oneDNN restricted to SSE4.1) and for NIQE / BRISQUE (float32 NSS arithmetic; the
values were bit-identical with numpy's AVX2 dispatch disabled). NIQE and BRISQUE of I08 / I19 depend on round-off
in flat regions (``llie_core.metrics.nss.ROUNDOFF_NOTE``): a change of arithmetic order there moves them by up to
0.35 / 10, which is exactly what these pins are meant to catch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llie_core.metrics import create_metric
from tests.helpers import require_assets

pytestmark = pytest.mark.usefixtures("one_thread")  # two threads are slower on the shared 2-core CPU

IMAGES = ("I03", "I04", "I06", "I08", "I19")
F64, F32 = 1e-9, 1e-6

# name, create_metric options, scores of I03, I04, I06, I08, I19, absolute tolerance, asset needed
OWN_SCORES = [
    ("psnr", {}, (21.113633882191788, 20.98719620266173, 27.013871006782427, 23.300255466926437,
                  21.618650020066923), F64, None),
    ("ssim", {}, (0.673172873136043, 0.9325185560500079, 0.9896346361030576, 0.9674282565375902,
                  0.6307289955872641), F64, None),
    ("ssim_matlab_gray", {}, (0.6993365268369747, 0.997753328836904, 0.9989080188109922, 0.9669008736284298,
                              0.6518770002933869), F64, None),
    ("ssim_gray", {}, (0.6652245912377796, 0.9978623593841865, 0.998908447848279, 0.9678494930067071,
                       0.6504157190476465), F64, None),
    ("ssim_frlie", {}, (0.6012778028701696, 0.9967097641914957, 0.999615474072972, 0.9590161559821748,
                        0.8311093261198318), F64, None),
    ("psnr_gtmean", {}, (21.112641038665245, 20.986319701484945, 27.001102763575034, 23.297136765284023,
                         21.62406483966646), F64, None),
    ("ssim_gtmean", {}, (0.6732839458069902, 0.9323719027066941, 0.9896186137511519, 0.9672249630419766,
                         0.6308060684534785), F64, None),
    ("lpips_alex", {}, (0.7236979603767395, 0.2571551501750946, 0.05078713595867157, 0.052054230123758316,
                        0.4253230690956116), F32, "lpips/alex_backbone.pth"),
    ("lpips_alex_gtmean", {}, (0.7237900495529175, 0.2571975290775299, 0.05078361928462982, 0.05218666046857834,
                               0.4252263903617859), F32, "lpips/alex_backbone.pth"),
    ("niqe", {}, (15.749772078898598, 3.6549843946654823, 3.2343102780758017, 3.202021605286377,
                  8.668633605599615), F32, "niqe/niqe_pris_params.npz"),
    ("niqe", {"color": "ycbcr_y"}, (15.565381981885714, 3.793160547471671, 3.1882384908910155, 3.1399240121313405,
                                    8.684618187019952), F32, "niqe/niqe_pris_params.npz"),
    ("niqe", {"precision": "float64"}, (15.762597431537833, 3.654921523537946, 3.2357145494795856,
                                        3.2025271744294197, 9.022014736900276), F32, "niqe/niqe_pris_params.npz"),
    ("brisque", {}, (94.64122025989263, -0.10654824835012278, 0.9900199891177408, 5.9038218935939994,
                     74.92379881915917), F32, "brisque/live_svm.npz"),
    ("brisque", {"precision": "float64"}, (94.64681408504373, -0.10717606306229754, 1.0958060120864275,
                                           5.323405557041042, 64.17706924950073), F32, "brisque/live_svm.npz"),
]


@pytest.fixture(scope="module")
def pairs(shared_root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    folder = shared_root / "reference" / "iqa_calibration"
    load = lambda p: np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255.0  # noqa: E731
    return {i: (load(folder / "dist" / f"{i}.png"), load(folder / "ref" / f"{i}.png")) for i in IMAGES}


@pytest.mark.parametrize("name, options, expected, tol, asset", OWN_SCORES,
                         ids=[f"{n}{'-' + '-'.join(map(str, o.values())) if o else ''}" for n, o, *_ in OWN_SCORES])
def test_scores_are_unchanged(pairs, name, options, expected, tol, asset):
    if asset is not None:
        require_assets(asset)
    metric = create_metric(name, **options)
    if metric.info.kind == "FR":
        got = [metric(*pairs[i]) for i in IMAGES]
    else:
        got = [metric(pairs[i][0]) for i in IMAGES]
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol, err_msg=f"{name} {options}: got {got!r}")
