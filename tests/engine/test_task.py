"""Training tasks (llie_core.engine.task): the recipes' StageTask, DDP-safe method calls, the TASKS entries."""
from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from torch import nn

from llie_core.engine.registry import TASKS
from llie_core.engine.task import SelfSupervisedTask, StageTask, SupervisedTask, build_task, call_model


class _Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x * self.scale

    def pair(self, low, high):
        return {"output": low * self.scale, "gap": (high - low).abs().mean()}


def test_stage_task_calls_the_named_method_and_hides_high_when_self_supervised():
    batch = {"low": torch.rand(1, 3, 4, 4), "high": torch.rand(1, 3, 4, 4)}
    task = StageTask(method="pair", forward_inputs=["low", "high"])
    out = task.forward(_Toy(), batch)
    assert set(out) == {"output", "gap"}
    ssl = StageTask(self_supervised=True)
    assert "high" not in ssl.loss_inputs(batch, ssl.forward(_Toy(), batch))
    assert "high" in task.loss_inputs(batch, out)
    with pytest.raises(ValueError, match="self-supervised"):
        StageTask(forward_inputs=["low", "high"], self_supervised=True)
    with pytest.raises(KeyError, match="high"):
        task.forward(_Toy(), {"low": batch["low"]})


def test_call_model_goes_through_ddp_forward(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        inner = _Toy()
        ddp = nn.parallel.DistributedDataParallel(inner)
        low, high = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
        out = call_model(ddp, "pair", low, high)
        out["output"].sum().backward()
        assert inner.scale.grad is not None and torch.allclose(inner.scale.grad, low.sum().reshape(1))
        assert "forward" not in vars(inner)  # the class forward is back
        assert torch.equal(call_model(ddp, "forward", low), low)
    finally:
        dist.destroy_process_group()


def test_build_task_builds_every_registered_task_by_name():
    assert TASKS.names() == ["SelfSupervisedTask", "StageTask", "SupervisedTask"]
    assert type(build_task(None)) is SupervisedTask
    assert type(build_task({"type": "SelfSupervisedTask"})) is SelfSupervisedTask
    stage = build_task({"type": "StageTask", "method": "pair", "forward_inputs": ["low", "high"]})
    assert isinstance(stage, StageTask) and stage.forward_inputs == ["low", "high"]
    with pytest.raises(KeyError, match="known: SelfSupervisedTask, StageTask, SupervisedTask"):
        build_task({"type": "RecipeTask"})
