"""The interactive explorer of ``99_explore``: pick a dataset, an image and methods; compare side by side or with
a before/after slider, all panels sharing one zoom window; sort the per-image scores; enhance your own image.

Dataset images are centre-cropped to the profile's ``max_side`` (a quick view); uploaded images are kept at their
full size (any size), and every image is enhanced through :func:`llie_core.evaluation.tiling.enhance_tiled`
(methods that may be tiled run in overlapping tiles of :data:`UPLOAD_TILE`, global ones on the whole image).

Everything the widgets do goes through plain methods (:meth:`Explorer.render`, :meth:`Explorer.metrics_table`,
:meth:`Explorer.add_upload`, ...), so the notebook runs headless under papermill (it renders a snapshot) and the
tests drive the callbacks without a browser.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from data_prep.catalogue import get_spec
from data_prep.datasets import center_crop, resolve_paired, resolve_unpaired, unique_names
from data_prep.image_io import ImageReadError, read_image
from data_prep.settings import DataSettings
from data_prep.validate import DatasetError
from llie_core.analysis.cross_method import baseline_enhancers, per_image_scores, trained_enhancers
from llie_core.core.methods import TRAINED_METHODS, display_name
from llie_core.core.profiles import Profile
from llie_core.evaluation.tiling import TileConfig, enhance_tiled
from llie_core.report.figures import to_hwc
from llie_core.training.shipped import SHIPPED_PROFILE, shipped_runs_dir

SIDE_BY_SIDE, BEFORE_AFTER = "side by side", "before / after"
UPLOADS = "your images"
DEFAULT_MAX_SIDE = 512
PANELS_PER_ROW = 4
UPLOAD_TILE = TileConfig(tile_size=1024, overlap=64)  # as ``python -m llie_core.enhance``: large uploads fit memory
Item = dict[str, Any]


# ------------------------------------------------------------------------------------------------ images
@dataclass
class ImageCatalog:
    """The images of one dataset, loaded on demand: ``names`` and ``load(name) -> {'low', 'high'?, 'name'}``
    (tensors (3, H, W) in [0, 1])."""

    names: list[str]
    loader: Callable[[str], Item]
    cache: dict[str, Item] = field(default_factory=dict)

    def load(self, name: str) -> Item:
        if name not in self.cache:
            self.cache[name] = self.loader(name)
        return self.cache[name]

    @classmethod
    def from_items(cls, items: Sequence[Item]) -> "ImageCatalog":
        by_name = {str(item["name"]): item for item in items}
        return cls(list(by_name), by_name.__getitem__)

    def add(self, item: Item) -> None:
        name = str(item["name"])
        if name not in self.names:
            self.names.append(name)
        self.cache[name] = item


def catalog_from_dataset(dataset: str, data: DataSettings, max_side: int = DEFAULT_MAX_SIDE) -> ImageCatalog:
    """The test images of ``dataset`` under ``data`` (``Profile.data``; center-cropped to ``max_side``); raises
    when the set is absent."""
    if get_spec(dataset).paired:
        pairs = resolve_paired(dataset, data, "test")
        files = {n: p for n, p in zip(unique_names([lo for lo, _ in pairs]), pairs)}
    else:
        lows = resolve_unpaired(dataset, data, "test")
        files = {n: (p, None) for n, p in zip(unique_names(lows), lows)}

    def load(name: str) -> Item:
        low, high = files[name]
        item: Item = {"name": name, "low": torch.from_numpy(center_crop(read_image(low), max_side).copy())}
        if high is not None:
            item["high"] = torch.from_numpy(center_crop(read_image(high), max_side).copy())
        return item

    return ImageCatalog(list(files), load)


def decode_upload(name: str, content: bytes, max_side: int | None = None) -> Item:
    """An uploaded file as an item (EXIF, 16-bit, gray and alpha handled by ``read_image``), at full size unless
    ``max_side`` is given (then centre-cropped); raises ``ImageReadError`` naming the file when it is not a readable
    image."""
    suffix = Path(name).suffix or ".png"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(bytes(content))
        try:
            chw = read_image(path)
        except Exception as exc:
            raise type(exc)(str(exc).replace(str(path), name)) from exc
    return {"name": name, "low": torch.from_numpy(center_crop(chw, max_side).copy())}


# ------------------------------------------------------------------------------------------------ geometry
def zoom_window(height: int, width: int, zoom: float, center_x: float, center_y: float) -> tuple[slice, slice]:
    """Rows and columns of the window ``1/zoom`` of the image around the relative centre (clamped inside)."""
    zoom = max(1.0, float(zoom))
    h, w = max(1, int(round(height / zoom))), max(1, int(round(width / zoom)))
    top = int(round(center_y * height - h / 2))
    left = int(round(center_x * width - w / 2))
    top, left = min(max(0, top), height - h), min(max(0, left), width - w)
    return slice(top, top + h), slice(left, left + w)


def before_after(before: np.ndarray, after: np.ndarray, split: float) -> np.ndarray:
    """HWC composite: ``before`` left of ``split`` (fraction of the width), ``after`` right of it."""
    if before.shape != after.shape:
        raise ValueError(f"before/after shapes differ: {before.shape} vs {after.shape}")
    out = before.copy()
    column = int(round(np.clip(split, 0.0, 1.0) * before.shape[1]))
    out[:, column:] = after[:, column:]
    return out


# ------------------------------------------------------------------------------------------------ the explorer
class Explorer:
    """Widgets and their logic. ``catalogs``: dataset -> :class:`ImageCatalog`; ``enhancers``: name -> callable
    on (1, 3, H, W) tensors; ``scores``: per-image scores (``method, dataset, image, <metrics>``, method = run
    label) for the sortable table; ``names``: run label -> display name."""

    def __init__(self, catalogs: Mapping[str, ImageCatalog], enhancers: Mapping[str, Callable[[Tensor], Tensor]],
                 scores: pd.DataFrame | None = None, names: Callable[[str], str] | None = None,
                 max_side: int = DEFAULT_MAX_SIDE) -> None:
        import ipywidgets as w  # the notebook front end: imported when an explorer is built, not with the module

        if not catalogs:
            raise ValueError("the explorer needs at least one dataset (or upload your own image)")
        self.catalogs = dict(catalogs)
        self.enhancers = dict(enhancers)
        self.scores = scores if scores is not None else pd.DataFrame(columns=["method", "dataset", "image"])
        self.names = names or (lambda label: label)
        self.max_side = max_side
        self.outputs: dict[tuple[str, str, str], Tensor] = {}
        self.last_figure: plt.Figure | None = None
        self._quiet = False  # set while several controls change together: one refresh at the end
        first = next(iter(self.catalogs))
        self.dataset = w.Dropdown(options=list(self.catalogs), value=first, description="dataset")
        self.image = w.Dropdown(options=self.catalogs[first].names, description="image")
        methods = list(self.enhancers)
        self.methods = w.SelectMultiple(options=methods, value=tuple(methods[:3]), description="methods", rows=6)
        self.mode = w.ToggleButtons(options=[SIDE_BY_SIDE, BEFORE_AFTER], value=SIDE_BY_SIDE)
        self.split = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.01, description="before|after")
        self.zoom = w.FloatSlider(value=1.0, min=1.0, max=8.0, step=0.25, description="zoom")
        self.center_x = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.01, description="centre x")
        self.center_y = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.01, description="centre y")
        metrics = self.metric_names()
        self.metric = w.Dropdown(options=metrics or ["(none)"], value=(metrics or ["(none)"])[0], description="metric")
        self.sort_by = w.Dropdown(options=["image"], value="image", description="sort by")
        self.ascending = w.Checkbox(value=False, description="ascending")
        self.upload = w.FileUpload(accept="image/*", multiple=True, description="your image")
        self.message = w.HTML()
        self.figure_out, self.table_out = w.Output(), w.Output()
        self._wire()
        self._update_sort_options()
        self.widget = w.VBox([
            w.HBox([self.dataset, self.image, self.upload]),
            w.HBox([self.methods, w.VBox([self.mode, self.split, self.zoom, self.center_x, self.center_y])]),
            self.message, self.figure_out,
            w.HBox([self.metric, self.sort_by, self.ascending]), self.table_out])

    # -------------------------------------------------------------------------------------------- callbacks
    def _wire(self) -> None:
        self.dataset.observe(self._on_dataset, names="value")
        for control in (self.image, self.methods, self.mode, self.split, self.zoom, self.center_x, self.center_y):
            control.observe(lambda _change: None if self._quiet else self.refresh(), names="value")
        for control in (self.metric, self.sort_by, self.ascending):
            control.observe(lambda _change: None if self._quiet else self.refresh_table(), names="value")
        self.upload.observe(self._on_upload, names="value")

    def _on_dataset(self, change: Mapping[str, Any]) -> None:
        if self._quiet:
            return
        names = self.catalogs[change["new"]].names
        self._quiet = True
        try:
            self.image.options = names
            self.image.value = names[0] if names else None
            self._update_sort_options()
        finally:
            self._quiet = False
        self.refresh()

    def _on_upload(self, change: Mapping[str, Any]) -> None:
        for entry in change["new"] or ():
            self.add_upload(entry["name"], entry["content"])

    def add_upload(self, name: str, content: bytes) -> bool:
        """Add an uploaded image, at its full size, to the ``your images`` set and show it; a bad file sets
        :attr:`message`."""
        try:
            item = decode_upload(name, content)
        except ImageReadError as exc:
            self.message.value = f"<b style='color:#b00'>cannot use {name}:</b> {exc}"
            return False
        self.catalogs.setdefault(UPLOADS, ImageCatalog([], lambda n: {}))
        self.catalogs[UPLOADS].add(item)
        self.outputs = {k: v for k, v in self.outputs.items() if k[:2] != (UPLOADS, name)}  # a re-upload
        self._quiet = True
        try:
            self.dataset.options = list(self.catalogs)
            self.dataset.value = UPLOADS
            self.image.options = self.catalogs[UPLOADS].names
            self.image.value = name
            self._update_sort_options()
        finally:
            self._quiet = False
        self.message.value = f"{name}: {item['low'].shape[-1]}x{item['low'].shape[-2]} px (full size)"
        self.refresh()
        return True

    # -------------------------------------------------------------------------------------------- computing
    def current_item(self) -> Item:
        return self.catalogs[self.dataset.value].load(self.image.value)

    def enhanced(self, method: str) -> Tensor:
        """The (cached) output of ``method`` on the current image, (3, H, W); large images tiled when the method
        may be tiled (:data:`UPLOAD_TILE`), whole otherwise."""
        key = (self.dataset.value, self.image.value, method)
        if key not in self.outputs:
            low = self.current_item()["low"][None]
            enhancer = self.enhancers[method]
            with torch.no_grad():
                out = enhance_tiled(enhancer, low, UPLOAD_TILE, int(getattr(enhancer, "pad_multiple", 1) or 1))
            self.outputs[key] = out[0].clamp(0, 1).cpu()
        return self.outputs[key]

    def panels(self) -> dict[str, np.ndarray]:
        """Title -> HWC image of every panel, already cut to the shared zoom window."""
        item = self.current_item()
        images = {"input": to_hwc(item["low"])}
        images.update({m: to_hwc(self.enhanced(m)) for m in self.methods.value})
        if "high" in item:
            images["reference"] = to_hwc(item["high"])
        h, w = images["input"].shape[:2]
        rows, cols = zoom_window(h, w, self.zoom.value, self.center_x.value, self.center_y.value)
        if self.mode.value == BEFORE_AFTER:
            before = images.pop("input")
            reference = images.pop("reference", None)
            images = {f"input | {m}": before_after(before, img, self.split.value) for m, img in images.items()}
            if not images:
                images = {"input": before}
            if reference is not None:
                images["reference"] = reference
        return {title: img[rows, cols] for title, img in images.items()}

    def render(self, cell: float = 3.2) -> plt.Figure:
        """The current view as a matplotlib figure (kept in :attr:`last_figure`), at most
        :data:`PANELS_PER_ROW` panels per row."""
        panels = self.panels()
        n_cols = min(PANELS_PER_ROW, len(panels))
        n_rows = -(-len(panels) // n_cols)
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell * n_cols, cell * 0.8 * n_rows), squeeze=False)
        for ax in axes.ravel()[len(panels):]:
            ax.axis("off")
        for ax, (title, image) in zip(axes.ravel(), panels.items()):
            ax.imshow(image)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
            if self.mode.value == BEFORE_AFTER and " | " in title:
                h, w = self.current_item()["low"].shape[-2:]
                rows, cols = zoom_window(h, w, self.zoom.value, self.center_x.value, self.center_y.value)
                x = self.split.value * w - cols.start
                if 0 <= x <= image.shape[1]:
                    ax.axvline(x - 0.5, color="white", linewidth=1.0)
        fig.suptitle(f"{self.dataset.value} / {self.image.value} (zoom x{self.zoom.value:g})", fontsize=9)
        fig.tight_layout()
        if self.last_figure is not None:
            plt.close(self.last_figure)
        self.last_figure = fig
        return fig

    def metric_names(self) -> list[str]:
        skip = {"method", "dataset", "image", "height", "width", "seconds", "skipped", "images"}
        return [c for c in self.scores.columns if c not in skip and self.scores[c].notna().any()]

    def metrics_table(self) -> pd.DataFrame:
        """Images x methods table of the chosen metric on the current dataset, sorted as the controls say."""
        metric = self.metric.value
        rows = self.scores[self.scores["dataset"] == self.dataset.value] if len(self.scores) else self.scores
        if rows.empty or metric not in rows:
            return pd.DataFrame(columns=["image"])
        table = rows.assign(method=rows["method"].map(self.names)).pivot_table(
            index="image", columns="method", values=metric, sort=False).reset_index()
        table.columns.name = None
        by = self.sort_by.value if self.sort_by.value in table else "image"
        return table.sort_values(by, ascending=bool(self.ascending.value), kind="stable").reset_index(drop=True)

    def _update_sort_options(self) -> None:
        rows = self.scores[self.scores["dataset"] == self.dataset.value] if len(self.scores) else self.scores
        methods = sorted({self.names(m) for m in rows["method"]}) if len(rows) else []
        self.sort_by.options = ["image", *methods]
        self.sort_by.value = "image"

    # -------------------------------------------------------------------------------------------- display
    def refresh(self) -> None:
        from IPython.display import display

        with self.figure_out:
            self.figure_out.clear_output(wait=True)
            fig = self.render()
            display(fig)
            plt.close(fig)
        self.refresh_table()

    def refresh_table(self) -> None:
        from IPython.display import HTML, display

        table = self.metrics_table()
        with self.table_out:
            self.table_out.clear_output(wait=True)
            if table.empty:
                display(HTML(f"<i>no per-image {self.metric.value} scores for {self.dataset.value}</i>"))
            else:
                display(HTML(_highlight(table, self.image.value)))

    def save_snapshot(self, path: str | os.PathLike) -> Path:
        """Render the current view and save it (the headless run's evidence)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig = self.render()
        fig.savefig(path, dpi=100, bbox_inches="tight")
        return path


def _highlight(table: pd.DataFrame, image: str) -> str:
    """HTML of ``table`` with the current image's row in bold (pandas Styler when jinja2 is available)."""
    try:
        styler = table.style.format(precision=3).apply(
            lambda row: ["font-weight: bold" if row["image"] == image else "" for _ in row], axis=1)
        return styler.hide(axis="index").to_html()
    except ImportError:
        return table.to_html(index=False, float_format=lambda v: f"{v:.3f}")


def build_explorer(profile: Profile, results_dir: str | os.PathLike, datasets: Sequence[str] | None = None,
                   max_side: int | None = None) -> tuple[Explorer, dict[str, str]]:
    """The explorer over the profile's test sets that are present, the baselines and every trained method
    whose run exists (every method of ``TRAINED_METHODS``, CIDNet included), else the model shipped in
    ``checkpoints/quick`` (images center-cropped to ``max_side``, default the profile's ``notebooks: 99_explore:
    max_side``);
    returns it and ``{what: why skipped}``."""
    max_side = max_side or profile.notebook("99_explore").get("max_side", DEFAULT_MAX_SIDE)
    data = profile.data
    wanted = list(datasets) if datasets is not None else [*data.eval_paired, *data.eval_unpaired]
    catalogs, skipped = {}, {}
    for name in wanted:
        try:
            catalogs[name] = catalog_from_dataset(name, data, max_side)
        except (DatasetError, FileNotFoundError) as exc:
            skipped[name] = str(exc)
    trained, missing = trained_enhancers(profile.name, Path(results_dir) / "runs", TRAINED_METHODS)
    if missing:  # no run of this profile here (e.g. a fresh clone): the models shipped with the repository
        shipped, _ = trained_enhancers(SHIPPED_PROFILE, shipped_runs_dir(SHIPPED_PROFILE), list(missing))
        trained.update(shipped)
        missing = {m: why for m, why in missing.items() if display_name(m) not in shipped}
    skipped.update(missing)
    enhancers = {**baseline_enhancers(weights_root=data.weights_root), **trained}
    explorer = Explorer(catalogs, enhancers, per_image_scores(results_dir), names=display_name, max_side=max_side)
    return explorer, skipped
