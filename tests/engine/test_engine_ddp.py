"""DistributedDataParallel on CPU (gloo): two processes train a tiny model on a tiny in-memory dataset."""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn
from torch.utils.data import Dataset

from llie_core.engine import cleanup_distributed, init_distributed, train
from llie_core.engine.launch import main as launch_main

WORLD = 2


class FixedPairs(Dataset):
    def __init__(self, n: int = 6, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.low = torch.rand(n, 3, 8, 8, generator=g)
        self.high = self.low.sqrt()

    def __len__(self) -> int:
        return len(self.low)

    def __getitem__(self, i: int) -> dict:
        return {"low": self.low[i], "high": self.high[i], "name": f"p{i}"}


def tiny_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 1))


def config(batch_size: int) -> dict:
    return {"model": {"type": "given"}, "losses": [{"type": "L1Loss"}], "optim": {"type": "Adam", "lr": 1e-2},
            "scheduler": {"type": "cosine", "warmup_iters": 1},
            "train": {"iterations": 4, "batch_size": batch_size, "val_every": 2, "log_every": 1, "seed": 7,
                      "grad_clip": 1.0}}


def tiny_setup(_config: dict) -> dict:
    """The ``--setup`` callable of ``llie_core.engine.launch`` used below."""
    return {"train_dataset": FixedPairs(), "val_dataset": FixedPairs(2, seed=1), "model": tiny_model}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(worker, out: Path) -> None:
    context = mp.spawn(worker, args=(_free_port(), str(out)), nprocs=WORLD, join=False)
    deadline = time.monotonic() + 120
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for p in context.processes:
                p.kill()
            pytest.fail("DDP workers did not finish within 120 s")


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD),
                      LOCAL_RANK=str(rank), LLIE_NO_PROGRESS="1")
    torch.set_num_threads(1)
    ctx = init_distributed()
    try:
        torch.manual_seed(rank)  # different initial weights per rank: DDP must broadcast rank 0's
        model = tiny_model()
        result = train(config(batch_size=1), FixedPairs(), FixedPairs(2, seed=1), Path(out) / f"run{rank}",
                       model=model)
        torch.save({"params": model.state_dict(), "world": ctx.world_size, "reason": result.stopped_reason},
                   Path(out) / f"rank{rank}.pt")
    finally:
        cleanup_distributed()


@pytest.mark.slow
def test_two_gloo_ranks_end_identical_and_only_rank0_writes(tmp_path):
    _spawn(_worker, tmp_path)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    assert all(r["world"] == WORLD and r["reason"] == "completed" for r in ranks)
    for key, value in ranks[0]["params"].items():
        assert torch.equal(value, ranks[1]["params"][key]), key
    run0 = tmp_path / "run0"
    assert (run0 / "checkpoints" / "last.pt").is_file() and (run0 / "log.csv").is_file()
    assert json.loads((run0 / "run.json").read_text())["world_size"] == WORLD
    assert not (tmp_path / "run1").exists()                 # rank 1 wrote nothing

    # two ranks x batch 1 == one process x batch 2 (shards interleave one permutation; gradients are averaged)
    torch.manual_seed(0)
    single = tiny_model()
    train(config(batch_size=2), FixedPairs(), FixedPairs(2, seed=1), tmp_path / "single",
          model=lambda: single)
    for key, value in single.state_dict().items():
        assert torch.allclose(value, ranks[0]["params"][key], atol=1e-5), key


class WithUnusedParameter(nn.Module):
    """A conv whose ``spare`` layer never takes part in the loss (like LLFlow's released unused layers)."""

    def __init__(self) -> None:
        super().__init__()
        self.body, self.spare = nn.Conv2d(3, 3, 3, padding=1), nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.body(x)


def _run_and_catch(cfg: dict, out: Path) -> dict:
    try:
        result = train(cfg, FixedPairs(), None, out, model=WithUnusedParameter)
        return {"iterations": result.iterations_done, "error": None}
    except RuntimeError as error:
        return {"iterations": None, "error": str(error)}


def _unused_parameter_worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD),
                      LOCAL_RANK=str(rank), LLIE_NO_PROGRESS="1")
    torch.set_num_threads(1)
    init_distributed()
    try:
        outcome = {}
        for key in (True, False):
            cfg = config(batch_size=1)
            cfg["train"].update(iterations=3, val_every=None, find_unused_parameters=key)
            outcome[str(key)] = _run_and_catch(cfg, Path(out) / f"unused_{key}")
        (Path(out) / f"rank{rank}.json").write_text(json.dumps(outcome))
    finally:
        cleanup_distributed()


@pytest.mark.slow
def test_unused_parameters_need_the_find_unused_parameters_key(tmp_path):
    _spawn(_unused_parameter_worker, tmp_path)
    for rank in range(WORLD):
        outcome = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert outcome["True"] == {"iterations": 3, "error": None}
        assert outcome["False"]["error"] and "Expected to have finished reduction" in outcome["False"]["error"]


def test_launch_entry_point_trains_in_a_single_process(tmp_path, monkeypatch, capsys):
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(json.dumps(config(batch_size=2)))   # JSON is valid YAML
    monkeypatch.setenv("LLIE_NO_PROGRESS", "1")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert launch_main(["--config", str(cfg_path), "--run-dir", str(tmp_path / "run"),
                        "--setup", f"{__name__}:tiny_setup"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["iterations"] == 4
    with pytest.raises(ValueError, match="module:function"):
        launch_main(["--config", str(cfg_path), "--run-dir", str(tmp_path / "r2"), "--setup", "nocolon"])
