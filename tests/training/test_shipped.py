"""llie_core.training.shipped: a main run copied into checkpoints/<profile>/<method> loads as a run of its own,
with fp16 storage only where it keeps the test PSNR within tolerance, a model card, and no silent overwrite."""
from __future__ import annotations

import json

import pytest
import torch

from llie_core.models import build_model
from llie_core.training import shipped as S
from llie_core.training import trained as T
from llie_core.training.recipes import load_method_config


def _run(root):
    """A finished frlie run folder (recipe with config, a stage-2 run record and best checkpoint)."""
    cfg = load_method_config("frlie", "smoke")
    torch.manual_seed(1)
    model = build_model(dict(cfg["model"])).eval()
    run = root / "runs" / "frlie"
    (run / "stage2" / "checkpoints").mkdir(parents=True)
    torch.save({"model": model.state_dict()}, run / "stage2" / "checkpoints" / "best.pt")
    (run / "stage2" / "run.json").write_text(json.dumps({"precision": "fp32", "threads": 2, "result": {
        "iterations_done": 6, "stopped_reason": "completed", "best_iteration": 6}}))
    (run / T.RECIPE).write_text(json.dumps({"method": "frlie", "variant": None, "tag": None, "profile": "smoke",
                                            "seed": 0, "budget_scale": 1.0, "training_data": "synthetic",
                                            "data_checksums": {"train": "abc"}, "config": cfg}))
    return run, model


class Pairs:
    """Two small paired items (a map-style test set)."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.items = [{"low": torch.rand(3, 32, 48, generator=g) * 0.3, "name": f"p{i}"} for i in range(2)]
        for item in self.items:
            item["high"] = (item["low"] * 3).clamp(0, 1)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_a_shipped_run_loads_like_the_run_and_says_what_it_is(tmp_path):
    run, model = _run(tmp_path)
    out = S.ship_run("frlie", "smoke", tmp_path / "runs", tmp_path / "checkpoints" / "smoke", Pairs())
    assert out == tmp_path / "checkpoints" / "smoke" / "frlie"
    loaded = T.load_trained("frlie", "smoke", tmp_path / "checkpoints" / "smoke")
    stored = torch.load(out / "stage2" / "checkpoints" / "best.pt", weights_only=True)
    x = torch.rand(1, 3, 24, 32)
    with torch.no_grad():
        reference, shipped = model(x), loaded.model(x)
    if stored["stored_dtype"] == "float16":
        assert all(v.dtype == torch.float16 for v in stored["model"].values() if v.is_floating_point())
        assert (shipped - reference).abs().max() < 1e-2
    else:
        assert torch.equal(shipped, reference)
    card = (out / S.CARD).read_text()
    assert "| stage2 | 6 | completed | fp32 | 2 | 6 |" in card and "commit" in card and "2 images" in card
    assert not (out.parent / "frlie.partial").exists()
    with pytest.raises(FileExistsError, match="--overwrite"):
        S.ship_run("frlie", "smoke", tmp_path / "runs", tmp_path / "checkpoints" / "smoke")
    S.ship_run("frlie", "smoke", tmp_path / "runs", tmp_path / "checkpoints" / "smoke", overwrite=True)
    stored = torch.load(out / "stage2" / "checkpoints" / "best.pt", weights_only=True)
    assert stored["stored_dtype"] == "float32"   # no test set: fp16 is never assumed harmless


def test_fp16_storage_is_refused_when_it_moves_the_psnr(tmp_path, monkeypatch):
    _run(tmp_path)
    calls = iter([30.0, 29.9])      # fp32 then fp16 PSNR: a 0.1 dB change, over the 0.01 dB tolerance
    monkeypatch.setattr(S, "_mean_psnr", lambda enhancer, dataset: next(calls))
    out = S.ship_run("frlie", "smoke", tmp_path / "runs", tmp_path / "out", Pairs())
    assert torch.load(out / "stage2" / "checkpoints" / "best.pt", weights_only=True)["stored_dtype"] == "float32"
    assert "-0.1000 dB" in (out / S.CARD).read_text()
