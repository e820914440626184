"""The one registration mechanism of the project (BasicSR style): configs say ``type: Name``, a registry builds it.

Protocol (every registry follows it; "registry" means only :class:`Registry` and its instances):

* a registry is declared once, in its package's ``registry.py``, naming that package:
  ``MODELS = Registry("model", "llie_core.models")``;
* an entry registers itself in its own file with the decorator ``@MODELS.register()`` (name: its ``__name__``)
  or ``@MODELS.register("name")``; a second, different object under a taken name is rejected;
* the first lookup (``get``, ``build``, ``names``, ``in``, iteration, ``len``) imports every non-private
  submodule of the package (``_name.py`` files are skipped), once; an import error propagates and the next
  lookup tries again, so a registry never answers from a silently partial set of entries;
* package ``__init__.py`` files import nothing for its side effects: no entry depends on import order.

A lookup made by a submodule while the registry is discovering its package (at import time) sees the entries
registered so far; such a module imports what it needs explicitly (see ``llie_core.metrics.gt_mean``).
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable, Iterator

PENDING, RUNNING, DONE = "pending", "running", "done"


class Registry:
    """Maps unique names to classes or functions; with ``package``, discovers that package's entries lazily.

    >>> THINGS = Registry("thing")
    >>> @THINGS.register()
    ... class Identity: ...
    >>> THINGS.build({"type": "Identity"})  # doctest: +ELLIPSIS
    <...Identity object at ...>
    """

    def __init__(self, kind: str, package: str | None = None) -> None:
        self.kind = kind
        self.package = package
        self._items: dict[str, Any] = {}
        self._discovery = PENDING if package else DONE
        self.discovered_modules: list[str] = []

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.package!r}: {len(self._items)} registered, discovery {self._discovery})"

    def register(self, name: str | None = None) -> Callable[[Any], Any]:
        """Decorator registering ``obj`` under ``name`` (default: its ``__name__``)."""

        def deco(obj: Any) -> Any:
            key = name or obj.__name__
            if key in self._items and self._items[key] is not obj:
                raise KeyError(f"{self.kind} {key!r} is already registered by {self._items[key]!r}")
            self._items[key] = obj
            return obj

        return deco

    def discover(self) -> list[str]:
        """Import every non-private submodule of ``package`` (once); returns the modules imported."""
        if self._discovery != PENDING:
            return self.discovered_modules
        self._discovery = RUNNING
        try:
            pkg = importlib.import_module(self.package)
            names = [f"{self.package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
                     if not m.name.startswith("_")]
            for module in names:
                importlib.import_module(module)
        except BaseException:
            self._discovery = PENDING  # the next lookup re-raises instead of answering from a partial registry
            raise
        self._discovery = DONE
        self.discovered_modules = names
        return names

    def get(self, name: str) -> Any:
        self.discover()
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
        self.discover()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self.discover()
        return len(self._items)
