"""Issue 18, defect 4, in the report layer: a seed whose score is undefined (NaN, e.g. the NIQE of flat outputs)
is never dropped from the cross-method mean; the row states how many seeds and images it averages."""
from __future__ import annotations

import math

import pandas as pd

from llie_core.core.profiles import load_profile
from llie_core.report import compare as P


def test_a_nan_seed_makes_the_cross_method_mean_nan_not_better():
    smoke = load_profile("smoke", overrides={"data": {"root": None}})
    base = {"kind": "paired", "images": 3, "status": "ok"}
    scores = pd.DataFrame([{**base, **r} for r in (
        {"method": "frlie[seed0]", "dataset": "lol_v1", "psnr": 10.0, "niqe": 4.0},
        {"method": "frlie[seed1]", "dataset": "lol_v1", "psnr": 14.0, "niqe": float("nan")})])
    row = P.cross_method_table(scores, smoke.data).set_index(["label", "dataset"]).loc[("frlie", "lol_v1")]
    assert row.psnr == 12.0 and (row.seeds, row.images) == (2, 3)
    assert math.isnan(row.niqe)  # pandas' mean would have given 4.0 from one seed while claiming two
