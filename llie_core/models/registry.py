"""The model registry (BasicSR style): configs name entries with ``type:``."""
from llie_core.core.registry import Registry

MODELS = Registry("model")
