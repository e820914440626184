"""evaluate(): per-image CSV with a mean row, resume, unpaired FR handling, padding, progress switch."""
from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from llie_core.evaluation import loop
from llie_core.evaluation.loop import Enhancer, as_enhancer, evaluate, progress_enabled
from llie_core.evaluation.tiling import TileConfig

INFOS = {"mae": {"kind": "FR", "lower_better": True}, "brightness": {"kind": "NR", "lower_better": False}}


def metrics() -> dict:
    return {"mae": lambda out, ref: (out - ref).abs().mean(dim=(1, 2, 3)),
            "brightness": lambda out: float(out.mean())}


def paired(n: int = 3, h: int = 10, w: int = 12) -> list[dict]:
    torch.manual_seed(0)
    items = []
    for i in range(n):
        low = torch.rand(3, h, w) * 0.2
        items.append({"low": low, "high": (low * 2).clamp(0, 1), "name": f"img{i}.png", "size": (h, w)})
    return items


class CountingDouble:
    """Doubles the input and counts calls."""

    name, pad_multiple = "double", 1

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, low: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return (low * 2).clamp(0, 1)


def test_per_image_rows_and_mean(tmp_path):
    csv_path = tmp_path / "scores.csv"
    enhancer = CountingDouble()
    frame = evaluate(enhancer, paired(), metrics(), csv_path, metric_infos=INFOS, progress=False)
    assert list(frame["image"]) == ["img0.png", "img1.png", "img2.png", "mean"]
    assert list(frame.columns) == ["image", "mae", "brightness", "height", "width", "seconds", "skipped", "images"]
    assert list(frame["images"]) == [1, 1, 1, 3]  # how many images each row's scores average
    assert frame["mae"].iloc[:3].abs().max() < 1e-6
    assert frame.iloc[-1]["brightness"] == pytest.approx(frame["brightness"].iloc[:3].mean())
    on_disk = pd.read_csv(csv_path)
    assert len(on_disk) == 4 and on_disk["image"].iloc[-1] == "mean"
    assert (on_disk["height"].iloc[:3] == 10).all() and (on_disk["seconds"] >= 0).all()


def test_resume_skips_scored_images_and_keeps_rows(tmp_path):
    csv_path = tmp_path / "scores.csv"
    data = paired(4)
    first = CountingDouble()
    evaluate(first, data[:2], metrics(), csv_path, metric_infos=INFOS, progress=False)
    assert first.calls == 2
    second = CountingDouble()
    frame = evaluate(second, data, metrics(), csv_path, metric_infos=INFOS, progress=False)
    assert second.calls == 2
    assert list(frame["image"]) == ["img0.png", "img1.png", "img2.png", "img3.png", "mean"]
    assert (pd.read_csv(csv_path)["image"] == "mean").sum() == 1


def test_resume_refuses_csv_with_other_columns(tmp_path):
    csv_path = tmp_path / "scores.csv"
    evaluate(CountingDouble(), paired(1), {"brightness": metrics()["brightness"]}, csv_path,
             metric_infos=INFOS, progress=False)
    with pytest.raises(ValueError, match=r"scores\.csv.*delete the file"):
        evaluate(CountingDouble(), paired(1), metrics(), csv_path, metric_infos=INFOS, progress=False)


def test_fr_metric_on_unpaired_is_recorded_not_applicable(tmp_path):
    unpaired = [{"low": item["low"], "name": item["name"]} for item in paired(2)]
    with pytest.warns(UserWarning, match="mae"):
        frame = evaluate(CountingDouble(), unpaired, metrics(), tmp_path / "u.csv", metric_infos=INFOS,
                         progress=False)
    assert frame["mae"].isna().all()
    assert frame["brightness"].notna().all()
    assert all("mae: not applicable" in s for s in frame["skipped"])
    assert "mae" in frame.attrs["skipped"]


def test_metric_kind_required(tmp_path):
    with pytest.raises(KeyError, match="unknown_metric"):
        evaluate(CountingDouble(), paired(1), {"unknown_metric": lambda x: 0.0}, tmp_path / "x.csv",
                 progress=False)


def test_as_enhancer_pads_odd_sizes_and_crops_back():
    seen = []

    class Net(torch.nn.Module):
        def forward(self, x):
            seen.append((tuple(x.shape[-2:]), self.training, torch.is_grad_enabled()))
            return x * 3

    enhancer = as_enhancer(Net().train(), "net", pad_multiple=8)
    assert isinstance(enhancer, Enhancer)
    low = torch.rand(1, 3, 13, 21) * 0.3
    out = enhancer(low)
    assert out.shape == low.shape
    assert seen == [((16, 24), False, False)]
    torch.testing.assert_close(out, (low * 3).clamp(0, 1))
    with pytest.raises(ValueError, match=r"\(N,3,H,W\)"):
        enhancer(torch.rand(3, 8, 8))


def test_padded_dataset_items_are_cropped_to_size_before_scoring(tmp_path):
    item = paired(1, 8, 8)[0]
    padded = {**item, "low": torch.nn.functional.pad(item["low"][None], (0, 3, 0, 2), mode="reflect")[0],
              "high": torch.nn.functional.pad(item["high"][None], (0, 3, 0, 2), value=1.0)[0], "size": (8, 8)}
    frame = evaluate(CountingDouble(), [padded], metrics(), tmp_path / "p.csv", metric_infos=INFOS,
                     progress=False)
    assert frame["height"].iloc[0] == 8 and frame["width"].iloc[0] == 8
    assert frame["mae"].iloc[0] < 1e-6


def test_tiled_evaluation_and_saved_images(tmp_path, monkeypatch):
    written = {}

    def fake_write(path, chw):
        written[path.name] = chw.shape

    monkeypatch.setattr(loop, "write_image", fake_write)
    frame = evaluate(CountingDouble(), paired(2, 40, 50), metrics(), tmp_path / "t.csv", metric_infos=INFOS,
                     tile=TileConfig(tile_size=24, overlap=6), save_dir=tmp_path / "out", progress=False)
    assert frame["mae"].iloc[:2].max() < 1e-6
    assert written == {"img0.png": (3, 40, 50), "img1.png": (3, 40, 50)}


def test_size_changing_enhancer_is_an_error(tmp_path):
    shrink = as_enhancer(lambda x: x[..., :-1, :], "shrink")
    with pytest.raises(ValueError, match="changed the size"):
        evaluate(shrink, paired(1), metrics(), tmp_path / "s.csv", metric_infos=INFOS, progress=False)


def test_progress_enabled_respects_env(monkeypatch):
    monkeypatch.setenv("LLIE_NO_PROGRESS", "1")
    assert progress_enabled() is False
    monkeypatch.delenv("LLIE_NO_PROGRESS")

    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    monkeypatch.setattr("sys.stderr", Stream(True))
    assert progress_enabled() is True
    monkeypatch.setenv("PAPERMILL_EXECUTION", "1")  # no longer a switch: the runner sets LLIE_NO_PROGRESS instead
    assert progress_enabled() is True
    monkeypatch.setenv("LLIE_NO_PROGRESS", "1")
    assert progress_enabled() is False
    monkeypatch.delenv("LLIE_NO_PROGRESS")
    monkeypatch.setattr("sys.stderr", Stream(False))
    assert progress_enabled() is False


def test_nan_mean_when_metric_never_applies(tmp_path):
    unpaired = [{"low": paired(1)[0]["low"], "name": "a"}]
    with pytest.warns(UserWarning):
        frame = evaluate(CountingDouble(), unpaired, {"mae": metrics()["mae"]}, tmp_path / "n.csv",
                         metric_infos=INFOS, progress=False)
    assert math.isnan(frame.iloc[-1]["mae"])


def test_iterable_dataset_without_len(tmp_path):
    frame = evaluate(CountingDouble(), (item for item in paired(2)), metrics(), tmp_path / "g.csv",
                     metric_infos=INFOS, progress=False)
    assert list(frame["image"]) == ["img0.png", "img1.png", "mean"]


def test_an_undefined_score_is_never_dropped_from_the_mean(tmp_path):
    """Issue 18, defect 4: a metric that is NaN on one image (NIQE of a flat output) makes the mean NaN, the mean
    row's ``skipped`` says so, and the mean row states how many images it averages; pandas would have skipped it
    silently and the method would have looked better. The image row itself is not marked skipped (its other
    metrics stay usable)."""
    def niqe_like(out):
        return float("nan") if float(out.max() - out.min()) == 0 else float(out.mean())

    items = paired(3)
    items[1]["low"] = torch.full_like(items[1]["low"], 0.1)  # a flat image
    frame = evaluate(CountingDouble(), items, {"niqe_like": niqe_like}, tmp_path / "s.csv",
                     metric_infos={"niqe_like": {"kind": "NR"}}, progress=False)
    mean = frame.iloc[-1]
    assert mean["image"] == "mean" and math.isnan(mean["niqe_like"]) and mean["images"] == 3
    assert "niqe_like: undefined (NaN) on 1 of 3 image(s), e.g. img1.png" in mean["skipped"]
    assert not any(frame["skipped"].iloc[:3])
    on_disk = pd.read_csv(tmp_path / "s.csv")
    assert math.isnan(on_disk["niqe_like"].iloc[-1]) and on_disk["images"].iloc[-1] == 3


def test_a_csv_of_an_earlier_version_without_the_images_column_resumes(tmp_path):
    csv_path = tmp_path / "old.csv"
    evaluate(CountingDouble(), paired(2), metrics(), csv_path, metric_infos=INFOS, progress=False)
    old = pd.read_csv(csv_path).drop(columns=["images"])
    old[old["image"] != "mean"].to_csv(csv_path, index=False)
    again = CountingDouble()
    frame = evaluate(again, paired(3), metrics(), csv_path, metric_infos=INFOS, progress=False)
    assert again.calls == 1 and list(frame["images"]) == [1, 1, 1, 3]
