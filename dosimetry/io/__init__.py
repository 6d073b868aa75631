"""File input and output: DICOM series, structure sets and RT Dose (see :mod:`.dicom`).

The public names are :mod:`.dicom`'s (listed once in ``dicom.__all__``), loaded on first use, so that
importing one light module of the package (``dosimetry.io.patient``, ``dosimetry.io.files``) does not
import pydicom, scipy and the voxel layer (issue 22: start-up of the commands that read no image).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names as type checkers see them; __getattr__ loads them at run time
    from .dicom import *  # noqa: F401,F403
    from .dicom import __all__  # noqa: F401


if not TYPE_CHECKING:  # type checkers see the imports above, and refuse a misspelt name

    def __getattr__(name: str):
        if name.startswith("__") and name != "__all__":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:  # a submodule (``from dosimetry.io import files``)
            return importlib.import_module(f"{__name__}.{name}")
        dicom = importlib.import_module(f"{__name__}.dicom")
        if name == "__all__" or name in dicom.__all__:
            value = getattr(dicom, name)
            globals()[name] = value
            return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__():
        return sorted({*globals(), *importlib.import_module(f"{__name__}.dicom").__all__})
