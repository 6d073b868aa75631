"""Digital phantom patients for Y-90 radioembolization with known ground truth.

A phantom is an analytic anatomy (body, liver with tumours, two lungs, spine) with a Y-90
activity distribution set by a lung shunt fraction and tumour-to-normal uptake ratios. It is
written as real DICOM (CT series, NM multi-frame SPECT or PT series, RT Structure Set) plus a
``truth.json`` by :func:`make_patient`, or returned as arrays by :func:`make_arrays`.
See docs/phantoms.md.
"""

from .anatomy import Anatomy, Ellipsoid, EllipticCylinder
from .patient import PhantomArrays, make_arrays, make_patient
from .spec import CONTRAST_HU, DEFAULT_DENSITY, DEFAULT_HU, DEFAULT_TUMOURS, PRESET_TUMOURS, PhantomSpec, Tumour, make_spec
from .truth import GridInfo, RegionTruth, Truth

__all__ = [
    "make_patient",
    "make_arrays",
    "make_spec",
    "Tumour",
    "PhantomSpec",
    "PhantomArrays",
    "Truth",
    "RegionTruth",
    "GridInfo",
    "Anatomy",
    "Ellipsoid",
    "EllipticCylinder",
    "DEFAULT_TUMOURS",
    "PRESET_TUMOURS",
    "DEFAULT_HU",
    "CONTRAST_HU",
    "DEFAULT_DENSITY",
]
