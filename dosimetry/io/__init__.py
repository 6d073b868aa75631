"""File input and output: DICOM series, structure sets and RT Dose (see :mod:`.dicom`)."""

from .dicom import *  # noqa: F401,F403  (the public names, listed once in dicom.__all__)
from .dicom import __all__  # noqa: F401
