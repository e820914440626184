"""Import every module of a package so their ``@REGISTRY.register()`` decorators run (BasicSR style)."""
from __future__ import annotations

import importlib
import pkgutil


def import_submodules(package: str) -> list[str]:
    """Import all non-private modules of ``package``; import errors propagate (nothing is skipped silently)."""
    pkg = importlib.import_module(package)
    names = [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
    for name in names:
        importlib.import_module(name)
    return names
