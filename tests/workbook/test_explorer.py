"""The explorer's widgets, driven programmatically: dataset/image/method changes, before/after, shared zoom,
the sortable per-image table, uploads (good and corrupt), and the headless snapshot."""
from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from llie_core.workbook import explorer as E

matplotlib.use("Agg")


def _item(name: str, value: float, paired: bool = True) -> dict:
    ramp = torch.linspace(0, 1, 40).repeat(30, 1)  # (30, 40) horizontal ramp
    low = torch.stack([ramp * value] * 3)
    item = {"name": name, "low": low}
    if paired:
        item["high"] = torch.stack([ramp] * 3)
    return item


@pytest.fixture()
def explorer():
    catalogs = {"set_a": E.ImageCatalog.from_items([_item("a1", 0.2), _item("a2", 0.4)]),
                "set_b": E.ImageCatalog.from_items([_item("b1", 0.3, paired=False)])}
    calls = []

    def double(x):
        calls.append(tuple(x.shape))
        return (x * 2).clamp(0, 1)

    enhancers = {"double": double, "invert": lambda x: 1 - x}
    scores = pd.DataFrame({"method": ["double", "double", "invert", "invert"], "dataset": "set_a",
                           "image": ["a1", "a2", "a1", "a2"], "psnr": [10.0, 20.0, 15.0, 5.0]})
    ex = E.Explorer(catalogs, enhancers, scores, names=str.upper)
    ex.calls = calls
    return ex


def test_side_by_side_panels_follow_the_method_selection(explorer):
    explorer.methods.value = ("double",)
    panels = explorer.panels()
    assert list(panels) == ["input", "double", "reference"]
    np.testing.assert_allclose(panels["double"], np.clip(panels["input"] * 2, 0, 1), atol=1e-6)
    explorer.methods.value = ("double", "invert")
    assert list(explorer.panels()) == ["input", "double", "invert", "reference"]


def test_outputs_are_cached_per_image_and_method(explorer):
    explorer.methods.value = ("double",)
    explorer.panels()
    explorer.panels()
    assert len(explorer.calls) == 1
    explorer.image.value = "a2"  # the observer re-renders the new image
    assert len(explorer.calls) == 2 and explorer.last_figure is not None


def test_zoom_window_is_shared_by_all_panels(explorer):
    explorer.methods.value = ("double", "invert")
    explorer.zoom.value = 4.0
    explorer.center_x.value, explorer.center_y.value = 1.0, 0.0
    panels = explorer.panels()
    shapes = {p.shape for p in panels.values()}
    assert shapes == {(8, 10, 3)}  # 30/4 ~ 8 rows, 40/4 = 10 columns
    # clamped to the top-right corner: the ramp's brightest columns
    np.testing.assert_allclose(panels["reference"][0, :, 0], np.linspace(0, 1, 40)[30:], atol=1e-6)


def test_zoom_window_geometry():
    rows, cols = E.zoom_window(100, 200, 2.0, 0.5, 0.5)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (25, 75, 50, 150)
    rows, cols = E.zoom_window(100, 200, 1.0, 0.9, 0.1)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (0, 100, 0, 200)


def test_before_after_composite_splits_at_the_slider(explorer):
    explorer.methods.value = ("invert",)
    explorer.mode.value = E.BEFORE_AFTER
    explorer.split.value = 0.25
    panels = explorer.panels()
    assert list(panels) == ["input | invert", "reference"]
    composite, item = panels["input | invert"], explorer.current_item()
    np.testing.assert_allclose(composite[:, :10], item["low"].permute(1, 2, 0).numpy()[:, :10], atol=1e-6)
    np.testing.assert_allclose(composite[:, 10:], 1 - item["low"].permute(1, 2, 0).numpy()[:, 10:], atol=1e-6)
    with pytest.raises(ValueError, match="shapes differ"):
        E.before_after(np.zeros((2, 2, 3)), np.zeros((2, 3, 3)), 0.5)


def test_dataset_change_updates_images_and_unpaired_sets_have_no_reference(explorer):
    explorer.dataset.value = "set_b"
    assert explorer.image.options == ("b1",) and explorer.image.value == "b1"
    assert "reference" not in explorer.panels()
    assert explorer.metrics_table().empty


def test_metrics_table_is_sortable(explorer):
    explorer.metric.value = "psnr"
    table = explorer.metrics_table()
    assert list(table.columns) == ["image", "DOUBLE", "INVERT"]
    assert explorer.sort_by.options == ("image", "DOUBLE", "INVERT")
    explorer.sort_by.value = "INVERT"
    explorer.ascending.value = True
    assert list(explorer.metrics_table()["image"]) == ["a2", "a1"]
    explorer.ascending.value = False
    explorer.sort_by.value = "DOUBLE"
    assert list(explorer.metrics_table()["image"]) == ["a2", "a1"]
    assert "font-weight: bold" in E._highlight(explorer.metrics_table(), "a1")


def _png_bytes(size=(24, 16), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=(40, 20, 10) if mode == "RGB" else 90).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_adds_your_image_and_shows_it(explorer):
    explorer.methods.value = ("double",)
    assert explorer.add_upload("mine.png", _png_bytes())
    assert explorer.dataset.value == E.UPLOADS and explorer.image.value == "mine.png"
    panels = explorer.panels()
    assert list(panels) == ["input", "double"] and panels["input"].shape == (16, 24, 3)
    assert explorer.add_upload("gray.png", _png_bytes(mode="L"))  # gray -> 3 channels
    assert explorer.image.options == ("mine.png", "gray.png") and explorer.panels()["input"].shape[2] == 3


def test_corrupt_upload_gives_a_clear_message_and_keeps_the_view(explorer):
    before = (explorer.dataset.value, explorer.image.value)
    assert not explorer.add_upload("broken.png", b"\x89PNG\r\n\x1a\n not really")
    assert "broken.png" in explorer.message.value and "cannot" in explorer.message.value
    assert (explorer.dataset.value, explorer.image.value) == before and E.UPLOADS not in explorer.catalogs


def test_upload_widget_callback(explorer):
    explorer._on_upload({"new": ({"name": "cb.png", "content": memoryview(_png_bytes())},)})
    assert explorer.image.value == "cb.png"


def test_snapshot_is_written(explorer, tmp_path):
    path = explorer.save_snapshot(tmp_path / "figures" / "snap.png")
    assert path.is_file() and path.stat().st_size > 1000
    assert len(explorer.last_figure.axes) == 1 + len(explorer.methods.value) + 1


def test_explorer_needs_a_dataset():
    with pytest.raises(ValueError, match="at least one dataset"):
        E.Explorer({}, {"x": lambda t: t})


def test_an_uploaded_image_keeps_its_size(explorer):
    """Issue 18, defect 9: the notebook says uploads may have any size; they are enhanced and shown whole, never
    centre-cropped to the datasets' ``max_side`` (128 px in smoke)."""
    explorer.max_side = 128
    explorer.methods.value = ("double",)
    assert explorer.add_upload("big.png", _png_bytes(size=(700, 520)))
    panels = explorer.panels()
    assert panels["input"].shape == (520, 700, 3) and panels["double"].shape == (520, 700, 3)
    assert "700x520" in explorer.message.value


def test_a_large_upload_is_enhanced_whole_by_a_global_method(explorer):
    """A method that may not be tiled (whole-image statistics) sees the whole upload in one call."""
    seen = []

    def global_method(x):
        seen.append(tuple(x.shape[-2:]))
        return x / x.max()

    global_method.tileable = False
    explorer.enhancers["global"] = global_method
    explorer.methods.options = tuple(explorer.enhancers)
    explorer.methods.value = ("global",)
    seen.clear()
    assert explorer.add_upload("huge.png", _png_bytes(size=(1300, 300)))
    explorer.panels()
    assert seen == [(300, 1300)]  # one call on the whole image (larger than a 1024 px tile), cached
