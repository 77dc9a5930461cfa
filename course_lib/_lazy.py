"""A module imported on first use, for the costly imports most users of a module never need.

``scipy.stats`` takes about 0.6 s of CPU to import (measured in a grading kernel), more than the
rest of the course library, NumPy and matplotlib's ``pyplot`` together, and most notebooks and
grading kernels use none of it. The modules that need it hold
``stats = lazy_module("scipy.stats")``: the first attribute read (``stats.binom``) imports it,
and every later one finds it imported.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class LazyModule:
    """Stands for the module ``name``; imports it when one of its attributes is first read."""

    def __init__(self, name: str):
        self._name = name

    def _module(self) -> ModuleType:
        return importlib.import_module(self._name)  # after the first call, a dictionary lookup

    def __getattr__(self, attribute: str):
        return getattr(self._module(), attribute)

    def __dir__(self) -> list[str]:
        return dir(self._module())

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_module(name: str) -> LazyModule:
    """A stand-in for ``importlib.import_module(name)`` that imports it on first use."""
    return LazyModule(name)
