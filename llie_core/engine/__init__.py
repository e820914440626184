"""The training engine: config-driven loop with exact resume, NaN guard, EMA, AMP (CUDA) and DDP.

Entry points: :func:`train` (in-process), ``python -m llie_core.engine.launch`` (torchrun / multi-GPU).
"""
from llie_core.engine.checkpoint import CheckpointUnreadable, load_checkpoint, previous_path, save_checkpoint
from llie_core.engine.config import EngineConfig, OptimConfig, SchedulerConfig, TrainSettings, load_config
from llie_core.engine.distributed import DistContext, cleanup_distributed, current_context, init_distributed
from llie_core.engine.ema import build_ema
from llie_core.engine.optim import build_optimizer, build_scheduler, lr_factor
from llie_core.engine.registry import TASKS
from llie_core.engine.sampler import ResumableSampler
from llie_core.engine.seed import deterministic_mode, rng_state, seed_everything, set_rng_state
from llie_core.engine.task import SelfSupervisedTask, StageTask, SupervisedTask, as_output_dict, build_task, call_model
from llie_core.engine.trainer import NonFiniteLossError, TrainResult, psnr, train

__all__ = [
    "train", "TrainResult", "NonFiniteLossError", "psnr", "EngineConfig", "OptimConfig", "SchedulerConfig",
    "TrainSettings", "load_config", "TASKS", "SupervisedTask", "SelfSupervisedTask", "StageTask", "call_model",
    "as_output_dict", "build_task", "build_optimizer", "build_scheduler", "lr_factor", "build_ema", "ResumableSampler",
    "save_checkpoint", "load_checkpoint", "CheckpointUnreadable", "previous_path", "seed_everything",
    "deterministic_mode", "rng_state", "set_rng_state",
    "DistContext", "init_distributed", "cleanup_distributed", "current_context",
]
