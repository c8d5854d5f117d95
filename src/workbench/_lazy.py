"""Package namespaces whose names live in private submodules and are imported on first use (PEP 562).

`workbench --help` and commands such as `workbench notify` import a package only to register or reach a few names;
the implementations behind the others pull in pandas, scikit-learn, SQLAlchemy … which those commands never need.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, where: dict[str, str], namespace: dict) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``where`` maps each exported name to its submodule; a name is
    imported when first used and then kept in ``namespace`` (the package's ``globals()``)."""

    def __getattr__(name: str):
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace.get("__all__", ()), *where})

    return __getattr__, __dir__
