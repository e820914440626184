"""The training-task registry: engine configs name a task with ``task: {type: Name, ...}``.

Tasks register with ``@TASKS.register()``; the first lookup imports every module of ``llie_core.engine`` (see
:class:`llie_core.core.registry.Registry`). Every task lives in ``llie_core.engine.task``, the recipes' ``StageTask``
included: the engine sits below ``llie_core.training`` and must build every task a config can name without
importing that layer.
"""
from __future__ import annotations

from llie_core.core.registry import Registry

TASKS = Registry("training task", "llie_core.engine")
