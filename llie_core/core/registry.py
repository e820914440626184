"""A small name -> object registry (BasicSR style): configs say ``type: Name`` and the registry builds it."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable, Iterator


class Registry:
    """Maps unique names to classes or functions.

    >>> MODELS = Registry("model")
    >>> @MODELS.register()
    ... class Identity: ...
    >>> MODELS.build({"type": "Identity"})  # doctest: +ELLIPSIS
    <...Identity object at ...>
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Any] = {}

    def register(self, name: str | None = None) -> Callable[[Any], Any]:
        """Decorator registering ``obj`` under ``name`` (default: its ``__name__``)."""

        def deco(obj: Any) -> Any:
            key = name or obj.__name__
            if key in self._items and self._items[key] is not obj:
                raise KeyError(f"{self.kind} {key!r} is already registered by {self._items[key]!r}")
            self._items[key] = obj
            return obj

        return deco

    def get(self, name: str) -> Any:
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "(none)"
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}")
        return self._items[name]

    def build(self, config: dict[str, Any], **extra: Any) -> Any:
        """Instantiate ``config['type']`` with the remaining keys (plus ``extra``) as keyword arguments."""
        if "type" not in config:
            raise KeyError(f"{self.kind} config needs a 'type' key, got keys {sorted(config)}")
        kwargs = {k: v for k, v in config.items() if k != "type"}
        kwargs.update(extra)
        return self.get(config["type"])(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


def import_submodules(package: str) -> list[str]:
    """Import all non-private modules of ``package``; import errors propagate (nothing is skipped silently)."""
    pkg = importlib.import_module(package)
    names = [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
    for name in names:
        importlib.import_module(name)
    return names
