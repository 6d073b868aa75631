"""Issue 22: the plan-input measurements count boolean masks on the CT grid; they never copy a mask
or the image to float64 (a 512 x 512 x 300 report peaked at 4.2 GB, 21 such copies).

Measured with tracemalloc (numpy reports its arrays to it): on main the call peaked at 48 bytes per
voxel of the grid (float64 copies of the image and of each mask, the HU-to-density curve over the
whole CT); counted, it stays under 4 (a boolean temporary and the ROI voxels' values)."""

import tracemalloc

import numpy as np
import pytest

from dosimetry.voxel import Volume
from dosimetry.voxel.dose import HU_DENSITY_CURVE
from dosimetry.voxel.measure import measure_plan_inputs

SHAPE = (40, 128, 128)
SPACING = (2.0, 1.0, 1.0)  # mm: a voxel of 2 uL


def _case():
    k, j, i = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]

    def ell(c, r):
        return ((k - c[0]) / r[0]) ** 2 + ((j - c[1]) / r[1]) ** 2 + ((i - c[2]) / r[2]) ** 2 <= 1

    liver, tumour, lung = ell((12, 64, 50), (8, 30, 30)), ell((12, 64, 45), (3, 8, 8)), ell((32, 64, 90), (6, 25, 25))
    image = np.random.default_rng(0).random(SHAPE, dtype=np.float32)
    image[liver] += 1.0
    image[tumour] += 3.0
    ct = np.full(SHAPE, 40, np.int16)
    ct[lung] = -800
    return image, ct, liver, tumour, lung


def test_measurements_on_boolean_masks_take_no_float_copies():
    image, ct, liver, tumour, lung = _case()

    def vol(a, unit="dimensionless"):
        return Volume(a, SPACING, unit=unit)

    args = dict(liver_mask=vol(liver), lung_mask=vol(lung), tumour_masks={"T": vol(tumour)}, ct=vol(ct),
                ct_masks={"liver": vol(liver), "lungs": vol(lung), "tumours": {"T": vol(tumour)}})
    measure_plan_inputs(vol(image, "cts"), **args)  # imports and caches first
    tracemalloc.start()
    try:
        m = measure_plan_inputs(vol(image, "cts"), **args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / image.size < 4.0
    # the figures, by hand on the same arrays (float64 sums)
    a = image.astype(np.float64)
    cl, cv = a[lung].sum(), a[liver].sum()
    assert m.lung_shunt_fraction.magnitude == pytest.approx(cl / (cl + cv), rel=1e-12)
    normal = liver & ~tumour
    assert m.tumour_to_normal["T"].magnitude == pytest.approx(a[tumour].mean() / a[normal].mean(), rel=1e-12)
    assert m.normal_liver_volume.to("mL").magnitude == pytest.approx(np.count_nonzero(normal) * 0.002, rel=1e-12)
    # -800 HU on the air-water line of the curve: 0.0012 + (1 - 0.0012) * 0.2 g/mL
    (h0, r0), (h1, r1) = HU_DENSITY_CURVE[0], HU_DENSITY_CURVE[1]
    rho = r0 + (r1 - r0) * (-800 - h0) / (h1 - h0)
    assert m.lung_mass.to("g").magnitude == pytest.approx(rho * np.count_nonzero(lung) * 0.002, rel=1e-6)
