"""A package's public names loaded from their submodules on first use (PEP 562 module ``__getattr__``).

Issue 22: importing ``dosimetry``, ``dosimetry.voxel`` or ``dosimetry.workflow`` must not import what
only some commands need (pydicom, scipy.fft, scipy.ndimage, matplotlib). Each package lists its
names and the submodule that holds each; :func:`lazy_names` gives the package's ``__getattr__`` and
``__dir__``. Packages bind them under ``if not TYPE_CHECKING`` and import the same names for type
checkers, so a misspelt name is still refused by mypy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping

__all__ = ["lazy_names"]


def lazy_names(package: str, names: Mapping[str, str], namespace: MutableMapping) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: each key of ``names`` is imported on first use from the
    submodule ``package.<names[key]>`` and kept in ``namespace`` (the package's ``globals()``), so the
    next use is an ordinary attribute. Any other name raises AttributeError."""

    def __getattr__(name: str):
        if name in names:
            value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted({*namespace, *names})

    return __getattr__, __dir__
