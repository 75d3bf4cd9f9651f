"""Package faces whose names are imported on first use (``biotrainer --help`` must stay fast).

A package lists ``name → submodule`` and gets a module ``__getattr__``/``__dir__`` (PEP 562)::

    _WHERE = {"compare_sessions": "compare", ...}
    __all__ = sorted(_WHERE)
    __getattr__, __dir__ = lazy_face(__name__, _WHERE, globals())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_face(package: str, where: Mapping[str, str],
              namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``where[name]`` is the submodule defining ``name``; a name is
    imported on first use and then kept in ``namespace`` (the package's globals)."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
