"""Package exports resolved on first use, so importing a package costs only what a caller touches.

    __getattr__ = lazy_exports(__name__, {"Name": "module", ...})

in a package's `__init__` makes `package.Name` import `package.module` the first time it is read
(`from package import Name` included); later reads find it in the package's namespace.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, home: Mapping[str, str]) -> Callable[[str], Any]:
    """The module `__getattr__` of `package` for names exported from its modules (`home`: name -> module)."""

    def __getattr__(name: str) -> Any:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{home[name]}"), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    return __getattr__
