"""Named density and lung methods: nominal liver density, density-scaled lung kernel."""

import numpy as np
import pytest

from dosimetry.units import Q_
from dosimetry.voxel import Volume, convolve_dose, lung_kernel_dose, with_nominal_density

MEV_J = 1.602176634e-13
TAU_S = 64.1 * 3600 / np.log(2)  # Y-90 mean life [s]
E_MEAN_J = 0.9331 * MEV_J


def test_nominal_density_inside_mask_blends_partial_voxels():
    rho = Volume(np.full((1, 1, 3), 1.10, np.float32), (4, 4, 4), unit="g/mL")
    mask = rho.with_array(np.array([[[0.0, 0.5, 1.0]]], np.float32), "dimensionless")
    out = with_nominal_density(rho, mask)
    # 1.10 outside; 0.5 * 1.03 + 0.5 * 1.10 = 1.065; 1.03 inside
    np.testing.assert_allclose(out.array.ravel(), [1.10, 1.065, 1.03], rtol=1e-6)
    bool_mask = rho.with_array(np.array([[[False, True, False]]]), "dimensionless")
    assert with_nominal_density(rho, bool_mask, Q_(1.0, "g/mL")).array[0, 0, 1] == pytest.approx(1.0)


def _lung(spacing, rho=0.26, n=41):
    a = np.zeros((n, n, n))
    a[n // 2, n // 2, n // 2] = 1.0  # 1 MBq point-like source
    act = Volume(a, spacing, unit="MBq")
    dens = act.with_array(np.full(a.shape, rho, np.float32), "g/mL")
    mask = act.with_array(np.ones(a.shape, bool), "dimensionless")
    return act, dens, mask


def test_density_scaled_lung_equals_soft_tissue_at_scaled_geometry():
    # Homogeneous lung of 0.26 g/mL, voxels of 4.42 mm. Range scaling: the same energy fractions
    # as soft tissue (1.03 g/mL) on voxels of 4.42 * 0.26 / 1.03 mm. Dose = E phi / (rho V), so
    # D_lung = D_soft(scaled voxels) * (1.03 V_scaled) / (0.26 V) = D_soft * (0.26 / 1.03)^2.
    act, dens, mask = _lung((4.42, 4.42, 4.42))
    d_lung, rho_used = lung_kernel_dose(act, mask, density=dens, method="density_scaled", dtype=np.float64)
    assert rho_used.to("g/mL").magnitude == pytest.approx(0.26, rel=1e-6)
    s = 4.42 * 0.26 / 1.03
    act_s = Volume(np.asarray(act.array), (s, s, s), unit="MBq")
    d_soft = convolve_dose(act_s, dtype=np.float64)
    c = 20
    for o in ((0, 0, 0), (0, 0, 1), (0, 1, 1), (1, 1, 1), (0, 0, 2)):
        got = d_lung.array[c + o[0], c + o[1], c + o[2]]
        ref = d_soft.array[c + o[0], c + o[1], c + o[2]] * (0.26 / 1.03) ** 2
        assert got == pytest.approx(ref, rel=5e-3), o


def test_both_lung_methods_conserve_energy_and_differ_in_spread():
    act, dens, mask = _lung((4.42, 4.42, 4.42))
    released = 1e6 * TAU_S * E_MEAN_J  # 1 MBq, complete decay [J]
    out = {}
    for m in ("density_divided", "density_scaled"):
        d, _ = lung_kernel_dose(act, mask, density=dens, method=m, dtype=np.float64)
        deposited = float(np.sum(d.array)) * 0.26 * 4.42**3 / 1e6  # Gy * g/mL * mm^3 -> J (kg = g/1000, mL = 1000 mm^3)
        # the scaled kernel (range 44 mm) fits the 41-voxel grid; 0.996125 within the beta range
        assert deposited == pytest.approx(released * 0.996125, rel=1e-4), m
        out[m] = d.array[20, 20, 20]
    # in lung the betas travel 4x farther: the self-voxel keeps much less energy
    assert out["density_scaled"] < 0.6 * out["density_divided"]


def test_lung_density_defaults_to_mask_weighted_mean_and_is_checked():
    act, dens, mask = _lung((4.0, 4.0, 4.0), n=21)
    d = np.full(act.shape, 1.03, np.float32)
    d[:10] = 0.2
    d[10:] = 0.3
    m = np.zeros(act.shape, np.float32)
    m[8:12] = 1.0  # two planes at 0.2, two at 0.3 -> mean 0.25
    m[7] = 0.4  # a partial plane (< half inside) does not count
    _, rho = lung_kernel_dose(act, act.with_array(m, "dimensionless"), density=act.with_array(d, "g/mL"), method="density_scaled")
    assert rho.to("g/mL").magnitude == pytest.approx(0.25, rel=1e-6)
    with pytest.raises(ValueError, match="^lung_method: "):
        lung_kernel_dose(act, mask, density=dens, method="monte_carlo")
    with pytest.raises(ValueError, match="^lung_density: "):
        lung_kernel_dose(act, mask, density=dens, method="density_scaled", lung_density=Q_(2.0, "g/mL"))
    d0, rho0 = lung_kernel_dose(act, mask, density=dens)
    assert rho0 is None
    np.testing.assert_allclose(d0.array, convolve_dose(act, density=dens).array)
