"""Transport ground truth: sampled mean doses against the analytic sphere absorbed fraction."""

import numpy as np
import pytest

from dosimetry.isotope import Y90
from dosimetry.units import Q_
from dosimetry.voxel.kernel import y90_point_kernel
from phantoms import make_arrays
from phantoms.anatomy import Ellipsoid, default_anatomy
from phantoms.transport import transport_mean_doses

K = Y90.dose_coefficient.to("Gy*kg/GBq")
RHO = Q_(1.03, "g/mL")


def sphere_self_fraction(radius_mm: float) -> float:
    """Absorbed fraction of a uniform sphere for its own emissions, from the point-kernel table:
    sum over shells of energy fraction x P(s), P(s) = 1 - 3s/(4R) + s^3/(16R^3) for s <= 2R the
    probability that a point at distance s from a uniform point of the sphere lies in it
    (Berger, MIRD Pamphlet 7, 1971), averaged over each 0.05 mm shell by 8-point Gauss-Legendre."""
    pk = y90_point_kernel()
    r0, r1 = pk.r_inner.to("mm").magnitude, pk.r_outer.to("mm").magnitude
    x, w = np.polynomial.legendre.leggauss(8)
    s = 0.5 * (r1 - r0)[:, None] * x[None, :] + 0.5 * (r1 + r0)[:, None]
    p = np.where(s <= 2 * radius_mm, 1 - 3 * s / (4 * radius_mm) + s**3 / (16 * radius_mm**3), 0.0)
    return float((pk.energy_fraction * (p * w).sum(axis=1) / 2.0).sum())


def _anatomy(radius):
    return default_anatomy((Ellipsoid((-55.0, -5.0, 0.0), (radius,) * 3),), -160.0, 320.0)


@pytest.mark.parametrize("radius", [8.0, 12.0, 20.0])
def test_isolated_sphere_matches_the_analytic_absorbed_fraction(radius):
    # tumour active, everything else cold: mean dose = K c / rho x phi_self(R)
    conc = {"Tumour 1": 1.0, "Normal Liver": 0.0, "Lung L": 0.0, "Lung R": 0.0}
    (dose, rel), = transport_mean_doses(_anatomy(radius), conc, RHO, K, ["Tumour 1"], n=400_000).values()
    ldm = (K * Q_(1.0, "GBq/mL") / RHO).to("Gy")
    phi = sphere_self_fraction(radius)
    assert 0.75 < phi < 0.95
    assert (dose / ldm).to("").magnitude == pytest.approx(phi, abs=4 * rel * phi + 1e-4)


def test_uniform_liver_keeps_the_deposited_fraction():
    # tumour at the normal-liver concentration, deep in the liver: nothing escapes but the
    # bremsstrahlung energy beyond 12 mm (the table's 0.99614)
    conc = {"Tumour 1": 0.2, "Normal Liver": 0.2, "Lung L": 0.0, "Lung R": 0.0}
    (dose, _), = transport_mean_doses(_anatomy(12.0), conc, RHO, K, ["Tumour 1"], n=50_000).values()
    assert (dose / (K * Q_(0.2, "GBq/mL") / RHO)).to("").magnitude == pytest.approx(0.99614, abs=5e-6)


def test_phantom_tumour_truth_is_linear_in_the_uptake_ratio():
    # D_T = K/rho [c_N F + (c_T - c_N) phi]: the 12 mm sphere (preset tumour 3, T/N 3) from phi
    a = make_arrays(fwhm_mm=0, tumours=3)
    t = a.truth.regions["Tumour 3"]
    c_n = a.truth.regions["Normal Liver"].concentration
    c_t = t.concentration
    phi = sphere_self_fraction(12.0)
    expected = (K / RHO * (c_n * 0.99614 + (c_t - c_n) * phi)).to("Gy")
    assert t.mean_dose_transport.to("Gy").magnitude == pytest.approx(expected.magnitude, rel=5 * t.mean_dose_transport_uncertainty)
    # 11 % below the local-deposition truth
    assert (t.mean_dose_transport / t.mean_dose).to("").magnitude == pytest.approx(0.888, abs=0.003)


def test_density_scales_the_range():
    # at 0.6 g/mL the kernel's radii stretch by 1.03 / 0.6: the isolated sphere of radius R then
    # absorbs what a sphere of radius R x 0.6 / 1.03 absorbs at 1.03 g/mL
    conc = {"Tumour 1": 1.0, "Normal Liver": 0.0, "Lung L": 0.0, "Lung R": 0.0}
    rho = Q_(0.6, "g/mL")
    (dose, rel), = transport_mean_doses(_anatomy(12.0), conc, rho, K, ["Tumour 1"], n=400_000).values()
    ldm = (K * Q_(1.0, "GBq/mL") / rho).to("Gy")
    phi = sphere_self_fraction(12.0 * 0.6 / 1.03)
    assert (dose / ldm).to("").magnitude == pytest.approx(phi, abs=4 * rel * phi + 1e-4)


def test_no_transport_truth_when_tumours_are_denser_than_liver():
    a = make_arrays(fwhm_mm=0, tumours=1, density={"tumour": "1.2 g/mL"})
    assert a.truth.regions["Tumour 1"].mean_dose_transport is None
    assert a.truth.regions["Tumour 1"].mean_dose is not None


def test_row_norms_are_numpys_bit_for_bit():
    from phantoms.transport import _norms

    rng = np.random.default_rng(22)
    d = rng.normal(size=(100_003, 3)) * 10.0 ** rng.integers(-3, 4, (100_003, 3))
    assert _norms(d).tobytes() == np.linalg.norm(d, axis=1).tobytes()
