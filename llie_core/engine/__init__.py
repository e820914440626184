"""The training engine: config-driven loop with exact resume, NaN guard, EMA, AMP (CUDA) and DDP.

Entry points: :func:`train` (in-process), ``python -m llie_core.engine.launch`` (torchrun / multi-GPU).
"""
from .checkpoint import load_checkpoint, save_checkpoint
from .config import EngineConfig, OptimConfig, SchedulerConfig, TrainSettings, load_config
from .distributed import DistContext, cleanup_distributed, current_context, init_distributed
from .ema import build_ema
from .optim import build_optimizer, build_scheduler, lr_factor
from .sampler import ResumableSampler
from .seed import deterministic_mode, rng_state, seed_everything, set_rng_state
from .task import TASKS, SelfSupervisedTask, SupervisedTask, as_output_dict, build_task
from .trainer import NonFiniteLossError, TrainResult, psnr, train

__all__ = [
    "train", "TrainResult", "NonFiniteLossError", "psnr", "EngineConfig", "OptimConfig", "SchedulerConfig",
    "TrainSettings", "load_config", "TASKS", "SupervisedTask", "SelfSupervisedTask", "as_output_dict",
    "build_task", "build_optimizer", "build_scheduler", "lr_factor", "build_ema", "ResumableSampler",
    "save_checkpoint", "load_checkpoint", "seed_everything", "deterministic_mode", "rng_state", "set_rng_state",
    "DistContext", "init_distributed", "cleanup_distributed", "current_context",
]
