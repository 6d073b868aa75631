"""The kernel-spectrum memory of convolve_dose (issue 22) never gives another input's dose.

Each dose computed after others (the memory filled) is compared with the same dose computed
with the memory empty, and with the independent local-deposition limit where it applies.
"""

import numpy as np
import pytest

import dosimetry.voxel.dose as dose_mod
from dosimetry.units import Q_
from dosimetry.voxel import Volume, convolve_dose


def _fresh(vol, **kw):
    dose_mod._SPECTRA.clear()
    return np.array(convolve_dose(vol, **kw).array)


def _point(spacing, shape=(21, 21, 21), unit="MBq"):
    a = np.zeros(shape, np.float32)
    a[10, 10, 10] = 1.0
    return Volume(a, spacing, unit=unit)


def test_two_spacings_give_two_kernels():
    # 4 and 5 mm voxels: kernels of the same size (9^3) and the same grid, different values
    small, large = _point((4.0, 4.0, 4.0)), _point((5.0, 5.0, 5.0))
    d_small, d_large = _fresh(small), _fresh(large)
    # with the memory holding the other spacing's spectrum, each gives its own dose
    convolve_dose(small)
    again_large = np.array(convolve_dose(large).array)
    again_small = np.array(convolve_dose(small).array)
    assert np.array_equal(again_large, d_large) and np.array_equal(again_small, d_small)
    # and they differ: the centre voxel keeps more of the energy in a larger voxel
    assert d_large[10, 10, 10] / d_large.sum() > d_small[10, 10, 10] / d_small.sum()


def test_same_kernel_other_scale_density_unit_or_dtype():
    vol = _point((4.0, 4.0, 4.0))
    base = _fresh(vol)
    for kw, factor in (({"density": Q_(2.06, "g/mL")}, 0.5), ({}, 1.0)):
        got = np.array(convolve_dose(vol, **kw).array)
        assert got.sum() == pytest.approx(base.sum() * factor, rel=1e-5)
    kbq = Volume(np.array(vol.array), vol.spacing_mm, unit="kBq")
    assert np.array(convolve_dose(kbq).array).sum() == pytest.approx(base.sum() / 1000, rel=1e-5)
    f64 = np.array(convolve_dose(vol, dtype=np.float64).array)
    assert f64.dtype == np.float64 and f64.sum() == pytest.approx(base.sum(), rel=1e-5)
    assert np.array_equal(np.array(convolve_dose(vol).array), base)  # the first entry is still right


def test_other_grid_shape_same_spacing():
    a, b = _point((4.0, 4.0, 4.0)), _point((4.0, 4.0, 4.0), shape=(21, 25, 31))
    da, db = _fresh(a), _fresh(b)
    convolve_dose(a)
    assert np.array_equal(np.array(convolve_dose(b).array), db)
    assert da.sum() == pytest.approx(db.sum(), rel=1e-4)  # the same point source, all energy inside


def test_memory_is_bounded_and_read_only():
    dose_mod._SPECTRA.clear()
    for s in (2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0):
        convolve_dose(_point((s, s, s), shape=(40, 40, 40)))
    assert sum(v.nbytes for v in dose_mod._SPECTRA.values()) <= dose_mod._SPECTRA_MAX_BYTES
    assert all(not v.flags.writeable for v in dose_mod._SPECTRA.values())
