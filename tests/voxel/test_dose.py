"""Dose maps: local deposition and kernel convolution against hand calculations and physics."""

import math

import numpy as np
import pytest
import scipy.ndimage
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dosimetry.units import Q_
from dosimetry.voxel import (
    Volume,
    absorbed_fraction_kernel,
    convolve_dose,
    density_from_hu,
    dose_voxel_kernel,
    local_deposition,
)

MEV_J = 1.602176634e-13
TAU_S = 64.1 * 3600 / math.log(2)  # Y-90 mean life [s]
# Complete-decay energy per Bq of initial activity [J]: tau * E_mean
ENERGY_PER_BQ_J = TAU_S * 0.9331 * MEV_J
SP = (4.07, 4.07, 3.27)  # a PET-like anisotropic spacing [mm]
VOXEL_ML = 4.07 * 4.07 * 3.27 / 1000.0


def test_local_deposition_hand_value():
    # 1 MBq in one voxel of 1.03 g/mL: D = 1e6 Bq * tau * E / (1.03 g/mL * V mL / 1000 kg/g)
    a = np.zeros((3, 3, 3))
    a[1, 1, 1] = 1.0
    d = local_deposition(Volume(a, SP, unit="MBq"))
    expected = 1e6 * ENERGY_PER_BQ_J / (1.03 * VOXEL_ML / 1000.0)
    assert d.unit == Q_(1, "Gy").units
    assert d.array[1, 1, 1] == pytest.approx(expected, rel=1e-9)
    assert d.array.sum() == pytest.approx(expected, rel=1e-9)


def test_concentration_and_per_voxel_units_agree():
    rng = np.random.default_rng(1)
    conc = rng.random((5, 6, 7))  # MBq/mL
    d1 = local_deposition(Volume(conc, SP, unit="MBq/mL"))
    d2 = local_deposition(Volume(conc * VOXEL_ML, SP, unit="MBq"))
    d3 = local_deposition(Volume(conc * VOXEL_ML * 1e6 / 3.7e7, SP, unit="mCi"))
    np.testing.assert_allclose(d1.array, d2.array, rtol=1e-12)
    np.testing.assert_allclose(d1.array, d3.array, rtol=1e-9)
    # 1 MBq/mL at 1.03 g/mL: 1e6 * tau * E / 1.03e-3 kg = 48.32 Gy (K = 49.77 Gy kg/GBq)
    uniform = local_deposition(Volume(np.ones((2, 2, 2)), SP, unit="MBq/mL"))
    assert uniform.array[0, 0, 0] == pytest.approx(1e6 * ENERGY_PER_BQ_J / 1.03e-3, rel=1e-9)
    assert uniform.array[0, 0, 0] == pytest.approx(48.32, abs=0.01)


def test_point_source_reproduces_kernel():
    a = np.zeros((25, 24, 27))
    a[12, 11, 13] = 2.0  # GBq
    k = dose_voxel_kernel(Q_(SP, "mm"), per="administered").to("Gy/GBq").magnitude
    h = [n // 2 for n in k.shape]
    for dtype, tol in ((np.float64, 1e-9), (np.float32, 1e-5)):
        d = convolve_dose(Volume(a, SP, unit="GBq"), dtype=dtype).array
        win = d[12 - h[0] : 12 + h[0] + 1, 11 - h[1] : 11 + h[1] + 1, 13 - h[2] : 13 + h[2] + 1]
        np.testing.assert_allclose(win, 2.0 * k, rtol=0, atol=tol * 2.0 * k.max())
        outside = d.copy()
        outside[12 - h[0] : 12 + h[0] + 1, 11 - h[1] : 11 + h[1] + 1, 13 - h[2] : 13 + h[2] + 1] = 0
        assert np.abs(outside).max() <= tol * 2.0 * k.max()


def test_uniform_interior_equals_local_deposition():
    v = Volume(np.full((30, 30, 36), 0.5), SP, unit="MBq/mL")
    kd = convolve_dose(v)
    ld = local_deposition(v)
    # interior: farther than 11 mm + 1 voxel from every face
    inner = (slice(5, -5), slice(5, -5), slice(6, -6))
    np.testing.assert_allclose(kd.array[inner], ld.array[inner], rtol=0.01)
    # on the first slice only sources with k >= 0 exist: dose = LD * sum of phi over offsets
    # (target - source) <= 0 along axis 0, i.e. the kernel's first h0 + 1 planes
    phi = absorbed_fraction_kernel(Q_(SP, "mm"))
    h0 = phi.shape[0] // 2
    assert kd.array[0, 15, 18] == pytest.approx(ld.array[0, 15, 18] * phi[: h0 + 1].sum(), rel=1e-5)
    assert kd.array[0, 15, 18] < 0.9 * ld.array[0, 15, 18]


def test_matches_direct_convolution():
    rng = np.random.default_rng(3)
    a = rng.random((14, 15, 16))
    phi = absorbed_fraction_kernel(Q_(SP, "mm"))
    direct = scipy.ndimage.convolve(a, phi, mode="constant", cval=0.0)
    expected = direct * 1e6 * ENERGY_PER_BQ_J / (1.03 * VOXEL_ML / 1000.0)  # a in MBq
    d = convolve_dose(Volume(a, SP, unit="MBq"), dtype=np.float64).array
    np.testing.assert_allclose(d, expected, rtol=1e-9, atol=1e-9 * expected.max())


def test_energy_conservation():
    # Sum of dose * mass = energy released when the whole kernel fits in the grid
    a = np.zeros((20, 20, 24))
    a[8:12, 9:11, 10:14] = np.arange(32).reshape(4, 2, 4)  # kBq
    d = convolve_dose(Volume(a, SP, unit="kBq"), dtype=np.float64)
    deposited = (d.array * 1.03 * VOXEL_ML / 1000.0).sum()  # J
    released = a.sum() * 1e3 * ENERGY_PER_BQ_J
    # the Monte Carlo kernel deposits 0.996125 of the emitted energy within the 11 mm beta range
    # (cumulative column of dosimetry/voxel/data/y90_dpk_soft_tissue.txt at 11.00 mm)
    assert deposited == pytest.approx(released * 0.996125, rel=1e-6)
    # activity in a corner voxel keeps only the kernel octant that lies inside the grid
    b = np.zeros_like(a)
    b[0, 0, 0] = 1.0
    lost = convolve_dose(Volume(b, SP, unit="kBq"), dtype=np.float64)
    phi = absorbed_fraction_kernel(Q_(SP, "mm"))
    h = [n // 2 for n in phi.shape]
    kept = phi[h[0] :, h[1] :, h[2] :].sum()
    assert (lost.array * 1.03 * VOXEL_ML / 1000.0).sum() == pytest.approx(kept * 1e3 * ENERGY_PER_BQ_J, rel=1e-9)
    assert kept < 0.7


@settings(max_examples=20, deadline=None)
@given(
    arrays(np.float64, (6, 7, 8), elements=st.floats(0, 1e3)),
    arrays(np.float64, (6, 7, 8), elements=st.floats(0, 1e3)),
    st.floats(0, 10),
    st.floats(0, 10),
)
def test_linear_in_activity(a1, a2, s, t):
    f = lambda a: convolve_dose(Volume(a, SP, unit="Bq"), dtype=np.float64).array  # noqa: E731
    combined = f(s * a1 + t * a2)
    np.testing.assert_allclose(combined, s * f(a1) + t * f(a2), rtol=1e-9, atol=1e-9 * max(combined.max(), 1e-300))


def test_density_divides_energy_by_local_mass():
    rng = np.random.default_rng(5)
    a = rng.random((12, 12, 12))
    rho = np.full(a.shape, 1.03)
    rho[:, :, 6:] = 0.3  # lung
    act = Volume(a, SP, unit="MBq")
    dens = act.with_array(rho, "g/mL")
    for fn in (local_deposition, convolve_dose):
        ref = fn(act).array
        got = fn(act, density=dens).array
        np.testing.assert_allclose(got[:, :, :6], ref[:, :, :6], rtol=1e-5)
        np.testing.assert_allclose(got[:, :, 6:], ref[:, :, 6:] * 1.03 / 0.3, rtol=1e-5)
    const = local_deposition(act, density=Q_(0.3, "g/mL")).array
    np.testing.assert_allclose(const, local_deposition(act).array * 1.03 / 0.3, rtol=1e-12)


def test_density_from_hu():
    hu = [-2000.0, -1000.0, -500.0, -740.0, 0.0, 10.0, 60.0, 120.0, 150.0, 300.0, 500.0, 2000.0]
    ct = Volume(np.array(hu).reshape(1, 1, -1), (1, 1, 1))
    rho = density_from_hu(ct)
    assert rho.unit == Q_(1, "g/mL").units
    # air-water line below 0 HU: rho = 0.0012 + (1 - 0.0012) (1 + HU/1000), held below -1000 HU
    # (-500 HU -> 0.5006, inflated lung -740 HU -> 0.0012 + 0.9988 * 0.26 = 0.260888); water -> soft tissue 1.03 over 0..20 HU
    # (10 HU -> 1.015); plateau 1.03 g/mL at 20..300 HU: unenhanced (60 HU) and contrast-enhanced
    # (120, 150 HU) liver alike (issue #11); then to cortical bone 1.92 at 1500 HU:
    # 500 HU -> 1.03 + 200/1200 * 0.89 = 1.178333; held above.
    expected = [0.0012, 0.0012, 0.5006, 0.260888, 1.0, 1.015, 1.03, 1.03, 1.03, 1.03, 1.178333, 1.92]
    np.testing.assert_allclose(rho.array.ravel(), expected, rtol=1e-4)
    custom = density_from_hu(ct, curve=((-1000, 0.001), (0, 1.0), (1000, 1.6)))
    assert custom.array[0, 0, 10] == pytest.approx(1.3)  # 500 HU on the custom line


def test_chunked_equals_single_block():
    rng = np.random.default_rng(9)
    a = rng.random((40, 20, 22))
    v = Volume(a, SP, unit="MBq")
    whole = convolve_dose(v, dtype=np.float64).array
    slabs = convolve_dose(v, dtype=np.float64, max_chunk_voxels=24 * 24 * 30).array
    np.testing.assert_allclose(slabs, whole, rtol=1e-9, atol=1e-12 * whole.max())


def test_float32_close_to_float64():
    rng = np.random.default_rng(11)
    v = Volume(rng.random((32, 32, 32)).astype(np.float32), SP, unit="MBq")
    d32 = convolve_dose(v).array
    d64 = convolve_dose(v, dtype=np.float64).array
    assert d32.dtype == np.float32
    assert np.abs(d32 - d64).max() < 1e-5 * d64.max()


def test_explicit_kernel_quantity_and_spacing():
    rng = np.random.default_rng(2)
    v = Volume(rng.random((10, 11, 12)), SP, unit="MBq")
    ref = convolve_dose(v, dtype=np.float64).array
    for k in (
        dose_voxel_kernel(Q_(SP, "mm")),
        dose_voxel_kernel(Q_(SP, "mm"), per="administered"),
        Q_(SP, "mm"),
    ):
        np.testing.assert_allclose(convolve_dose(v, k, dtype=np.float64).array, ref, rtol=1e-9)


@pytest.mark.parametrize(
    "array, unit, field",
    [
        (np.full((3, 3, 3), np.nan), "MBq", "activity"),
        (np.full((3, 3, 3), np.inf), "MBq", "activity"),
        (-np.ones((3, 3, 3)), "MBq", "activity"),
        (np.ones((3, 3, 3)), "cts", "activity"),
        (np.ones((3, 3, 3)), "cts/s", "activity"),
        (np.ones((3, 3, 3)), "dimensionless", "activity"),
        (np.ones((3, 3, 3)), "Gy", "activity"),
    ],
)
def test_bad_activity_refused(array, unit, field):
    v = Volume(array, SP, unit=unit)
    for fn in (local_deposition, convolve_dose):
        with pytest.raises(ValueError, match=f"^{field}: "):
            fn(v)


def test_mismatched_grids_and_kernels_refused():
    v = Volume(np.ones((4, 4, 4)), SP, unit="MBq")
    other = Volume(np.ones((4, 4, 5)), SP, unit="g/mL")
    with pytest.raises(ValueError, match="^density: "):
        convolve_dose(v, density=other)
    with pytest.raises(ValueError, match="^density: "):
        local_deposition(v, density=Volume(np.ones((4, 4, 4)), SP, origin_mm=(0, 0, 5), unit="g/mL"))
    with pytest.raises(ValueError, match="^density: "):
        local_deposition(v, density=v.with_array(np.zeros((4, 4, 4)), "g/mL"))
    with pytest.raises(ValueError, match="^density: "):
        local_deposition(v, density=v.with_array(np.zeros((4, 4, 4)), "dimensionless"))
    with pytest.raises(ValueError, match="^density: "):
        local_deposition(v, density=1.03)
    with pytest.raises(ValueError, match="^kernel: "):
        convolve_dose(v, Q_((4.0, 4.0, 4.0), "mm"))
    with pytest.raises(ValueError, match="^spacing: "):
        convolve_dose(v, Q_((4.0, 0.0, 4.0), "mm"))
    with pytest.raises(ValueError, match="^kernel: "):
        convolve_dose(v, Q_(np.ones((4, 3, 3)), "mGy/(MBq*s)"))


def test_slab_processing_bounds_memory_and_handles_density_maps():
    import tracemalloc

    rng = np.random.default_rng(12)

    def run(n0, **kw):
        a = rng.random((n0, 40, 40)).astype(np.float32)
        v = Volume(a, SP, unit="MBq")
        rho = v.with_array(rng.uniform(0.2, 1.2, a.shape).astype(np.float32), "g/mL")
        tracemalloc.start()
        out = convolve_dose(v, density=rho, **kw).array
        extra = tracemalloc.get_traced_memory()[1] - out.nbytes  # working memory beyond the result
        tracemalloc.stop()
        return v, rho, out, extra

    chunk = dict(max_chunk_voxels=20 * 48 * 48)
    v, rho, slabs, extra48 = run(48, **chunk)
    whole = convolve_dose(v, density=rho).array
    np.testing.assert_allclose(slabs, whole, rtol=1e-5, atol=1e-6 * whole.max())
    # working memory of slab processing does not grow with the number of slices ...
    extra192 = run(192, **chunk)[3]
    assert extra192 < 1.2 * extra48
    # ... while a single block does
    assert run(192)[3] > 2.5 * run(48)[3]


def test_bad_dtype_refused():
    v = Volume(np.ones((3, 3, 3)), SP, unit="MBq")
    with pytest.raises(ValueError, match="^dtype: "):
        convolve_dose(v, dtype=np.int32)
    with pytest.raises(ValueError, match="^dtype: "):
        local_deposition(v, dtype=np.float16)
