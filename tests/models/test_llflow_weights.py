"""LLFlow weight compatibility: a state dict built from the official key listings (``shared/specs/state_dict_keys/
llflow_*``, generated from the released classes) loads with ``strict=True``; parameter counts and FLOPs equal the
official measurements (``shared/specs/official_measurements.md``). No official checkpoint is available offline.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from llie_core.models.llflow import LLFlow
from tests.helpers import skip_or_fail

SMALL = {"nf": 32, "nb": 4, "K": 4, "stack_blocks": [1]}
CONFIGS = {  # listing -> (constructor kwargs, parameters, GFLOPs at 1x3x400x600 from official_measurements.md)
    "llflow_LOL-pc_state_dict.txt": ({}, 38_859_481, 2919.0),
    "llflow_LOL_smallNet_state_dict.txt": (SMALL, 5_429_849, 295.3),
}


def _listing(path: Path) -> dict[str, tuple[int, ...]]:
    """``key<TAB>(shape)`` rows -> {key: shape}."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            key, shape = line.split("\t")
            out[key] = tuple(int(s) for s in shape.strip("(),").split(",") if s.strip())
    return out


@pytest.fixture(scope="module")
def listings(shared_root: Path) -> dict[str, dict[str, tuple[int, ...]]]:
    folder = shared_root / "specs" / "state_dict_keys"
    missing = [name for name in CONFIGS if not (folder / name).is_file()]
    if missing:
        skip_or_fail(f"official key listings {missing} absent from {folder}")
    return {name: _listing(folder / name) for name in CONFIGS}


@pytest.fixture(scope="module")
def meta_models() -> dict[str, LLFlow]:
    """Both released configurations on the meta device (shapes only, no memory, built once)."""
    with torch.device("meta"):
        return {name: LLFlow(**kwargs).eval() for name, (kwargs, _, _) in CONFIGS.items()}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_keys_shapes_and_order_equal_the_official_listing(listings, meta_models, name):
    model = meta_models[name]
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert list(ours.items()) == list(listings[name].items())
    assert sum(p.numel() for p in model.parameters()) == CONFIGS[name][1]
    state = {k: torch.empty(shape, device="meta") for k, shape in listings[name].items()}
    model.load_state_dict(state, strict=True, assign=True)


def test_strict_load_of_a_state_dict_built_from_the_small_listing(listings, tmp_path):
    gen = torch.Generator().manual_seed(0)
    state = {f"module.{k}": 0.01 * torch.randn(shape, generator=gen)
             for k, shape in listings["llflow_LOL_smallNet_state_dict.txt"].items()}
    torch.save(state, tmp_path / "LOL_smallNet.pth")
    model = LLFlow(**SMALL, color_map_norm="sum")
    model.load_official(tmp_path / "LOL_smallNet.pth")          # DataParallel prefix stripped, strict
    for key, value in state.items():
        torch.testing.assert_close(model.state_dict()[key.removeprefix("module.")], value)
    assert all(m.initialized for m in model.modules() if hasattr(m, "initialized"))   # no data-dependent re-init
    with pytest.raises(FileNotFoundError, match="Google-Drive"):
        model.load_official(tmp_path / "missing.pth")
    with torch.device("meta"):
        wrong_k = LLFlow(nf=32, nb=4, K=2, stack_blocks=[1], color_map_norm="sum")
        paper_norm = LLFlow(**SMALL)
    with pytest.raises(RuntimeError, match="nf=32, nb=4, K=4"):
        wrong_k.load_official({k: v.to("meta") for k, v in state.items()})
    with pytest.raises(ValueError, match="color_map_norm='sum'"):
        paper_norm.load_official(state)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_flops_at_400x600_equal_the_official_count(meta_models, name):
    with torch.device("meta"), torch.no_grad(), FlopCounterMode(display=False) as counter:
        meta_models[name](torch.rand(1, 3, 400, 600))
    assert abs(counter.get_total_flops() / 1e9 - CONFIGS[name][2]) < 0.05
