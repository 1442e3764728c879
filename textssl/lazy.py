"""Lazy public names for a package (PEP 562): each loads from its defining module on first use.

``textssl``, ``textssl.finetuning`` and ``textssl.hub`` re-export their public names this way, so that
``import textssl`` loads no torch and importing one module of a package does not load the rest.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` for ``package``, whose public name ``n`` lives in the module
    ``exports[n]``; ``namespace`` is the package's ``globals()`` (a loaded name is cached there, so later lookups
    skip ``__getattr__``)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
