"""Digital phantom patients for Y-90 radioembolization with known ground truth.

A phantom is an analytic anatomy (body, liver with tumours, two lungs, spine) with a Y-90
activity distribution set by a lung shunt fraction and tumour-to-normal uptake ratios. It is
written as real DICOM (CT series, NM multi-frame SPECT or PT series, RT Structure Set) plus a
``truth.json`` by :func:`make_patient`, or returned as arrays by :func:`make_arrays`. Each
emission voxel holds the volume average of the activity over the voxel (:mod:`phantoms.emission`).
The post-treatment study of the same patient (Y-90 PET or bremsstrahlung SPECT of the delivered
distribution, moved by a known rigid transform, in its own frame of reference) is written by
:func:`make_post_treatment` or returned by :func:`make_post_arrays`. See docs/phantoms.md.
"""

from .anatomy import Anatomy, Ellipsoid, EllipticCylinder
from .emission import Occupancy, region_occupancy, shape_occupancy
from .patient import PhantomArrays, make_arrays, make_patient
from .pose import DEFAULT_POST_TRANSFORM, RigidTransform
from .post import PostTreatment, make_post_arrays, make_post_treatment, post_treatment_spec
from .spec import CONTRAST_HU, DEFAULT_DENSITY, DEFAULT_HU, DEFAULT_TUMOURS, PRESET_TUMOURS, PhantomSpec, Tumour, make_spec
from .truth import GridInfo, PostTreatmentTruth, RegionTruth, Truth

__all__ = [
    "make_patient",
    "make_arrays",
    "make_spec",
    "make_post_treatment",
    "make_post_arrays",
    "post_treatment_spec",
    "PostTreatment",
    "PostTreatmentTruth",
    "RigidTransform",
    "DEFAULT_POST_TRANSFORM",
    "Occupancy",
    "shape_occupancy",
    "region_occupancy",
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
