"""Y-90 dose-voxel kernel: energy closure, published voxel S-values, quadrature convergence, brute force."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosimetry.units import Q_
from dosimetry.voxel import absorbed_fraction_kernel, dose_voxel_kernel
from dosimetry.voxel.kernel import _fractions, y90_point_kernel

MEV_J = 1.602176634e-13  # J per MeV (CODATA exact)
E_MEAN_J = 0.9331 * MEV_J  # Y-90 mean beta energy per decay (ICRP 107, project default)
# Fraction of the emitted energy the Monte Carlo table deposits within 11 mm (its cumulative
# column at 11.00 mm: 0.996125); the rest is bremsstrahlung energy deposited far away or escaping.
DEPOSITED_11MM = 0.996125


def centre(a):
    return tuple(n // 2 for n in a.shape)


@pytest.mark.parametrize(
    "spacing",
    [(3.0, 3.0, 3.0), (4.42, 4.42, 4.42), (4.8, 4.8, 4.8), (2.0, 2.0, 2.0), (4.07, 4.07, 3.27), (5.0, 2.5, 3.5)],
)
def test_energy_closure(spacing):
    # sum over voxels of S [Gy per decay] * voxel mass [kg] = mean beta energy [J] x deposited fraction
    s = dose_voxel_kernel(Q_(spacing, "mm")).to("mGy/(MBq*s)").magnitude
    gy_per_decay = s * 1e-3 / 1e6  # mGy -> Gy, per MBq s (1e6 decays) -> per decay
    mass_kg = 1.03 * np.prod(spacing) / 1000.0 / 1000.0  # g/mL * mL -> g -> kg
    assert gy_per_decay.sum() * mass_kg == pytest.approx(E_MEAN_J * DEPOSITED_11MM, rel=1e-4)
    assert gy_per_decay.sum() * mass_kg == pytest.approx(E_MEAN_J, rel=0.01)  # closure within 1 %


def test_point_kernel_table_is_the_shipped_monte_carlo():
    pk = y90_point_kernel()
    assert pk.energy_fraction.size == 240
    assert pk.r_outer[-1].to("mm").magnitude == pytest.approx(12.0)
    assert pk.density == Q_(1.03, "g/mL")
    # header: cumulative fraction r < 12 mm = 0.99614; first shell 1.189341e-02 (table rows)
    assert pk.energy_fraction.sum() == pytest.approx(0.99614, abs=2e-5)
    assert pk.energy_fraction[0] == pytest.approx(1.189341e-02, rel=1e-9)


def test_extent_is_range_plus_one_voxel():
    # 11 mm: ceil(11 / 4.07) + 1 = 4, ceil(11 / 3.27) + 1 = 5 voxels each side
    k = dose_voxel_kernel(Q_((4.07, 4.07, 3.27), "mm"))
    assert k.shape == (9, 9, 11)
    assert dose_voxel_kernel(Q_(3.0, "mm")).shape == (11, 11, 11)  # ceil(11/3) + 1 = 5
    # range scaling: at 0.26 g/mL the range is 11 * 1.03 / 0.26 = 43.6 mm -> ceil(43.6 / 4.42) + 1 = 11
    assert absorbed_fraction_kernel(Q_(4.42, "mm"), density=Q_(0.26, "g/mL")).shape == (23, 23, 23)


# Lanconelli N. et al., "A free database of radionuclide voxel S values for the dosimetry of
# nonuniform activity distributions", Phys Med Biol 57:517-533 (2012), Y-90 in soft tissue
# (ICRP, 1.04 g/cm^3), S in mGy/(MBq s), offsets (i, j, k) from the source voxel, all 13 published
# sizes. Transcribed from the database files 90Y<size>mmsoft.txt as redistributed in
# github.com/MGHPhysicsResearch/MIRDCalculation: 2.33, 3, 4, 4.42, 4.8, 6 and 9.28 mm from
# MIRD/VoxelSValues/ (commit d7cf198); 2.21, 2.4, 3.59, 3.9, 5 and 6.8 mm from VoxelSValues/
# (commit a2a2fc7; the 3 and 6 mm files there hold the same values as MIRD/VoxelSValues/).
# Test oracle only: the kernel is built from the project's Monte Carlo table.
LANCONELLI_Y90_SOFT = {
    2.21: {(0, 0, 0): 3.00, (0, 0, 1): 5.70e-1, (0, 1, 1): 2.26e-1, (1, 1, 1): 1.20e-1,
           (0, 0, 2): 7.00e-2, (0, 1, 2): 4.58e-2, (1, 1, 2): 3.08e-2, (0, 2, 2): 1.46e-2, (1, 2, 2): 1.02e-2, (2, 2, 2): 3.50e-3},
    2.4: {(0, 0, 0): 2.53, (0, 0, 1): 4.71e-1, (0, 1, 1): 1.81e-1, (1, 1, 1): 9.29e-2,
          (0, 0, 2): 5.21e-2, (0, 1, 2): 3.28e-2, (1, 1, 2): 2.12e-2, (0, 2, 2): 9.11e-3, (1, 2, 2): 6.04e-3, (2, 2, 2): 1.71e-3},
    3.59: {(0, 0, 0): 1.08, (0, 0, 1): 1.73e-1, (0, 1, 1): 5.31e-2, (1, 1, 1): 2.08e-2,
           (0, 0, 2): 8.10e-3, (0, 1, 2): 3.69e-3, (1, 1, 2): 1.67e-3, (0, 2, 2): 3.07e-4, (1, 2, 2): 1.31e-4, (2, 2, 2): 9.07e-6},
    3.9: {(0, 0, 0): 9.06e-1, (0, 0, 1): 1.38e-1, (0, 1, 1): 3.97e-2, (1, 1, 1): 1.43e-2,
          (0, 0, 2): 4.92e-3, (0, 1, 2): 2.03e-3, (1, 1, 2): 8.30e-4, (0, 2, 2): 1.16e-4, (1, 2, 2): 4.42e-5, (2, 2, 2): 2.89e-6},
    5.0: {(0, 0, 0): 5.22e-1, (0, 0, 1): 6.75e-2, (0, 1, 1): 1.51e-2, (1, 1, 1): 4.07e-3,
          (0, 0, 2): 7.89e-4, (0, 1, 2): 2.30e-4, (1, 1, 2): 6.57e-5, (0, 2, 2): 3.77e-6, (1, 2, 2): 1.73e-6, (2, 2, 2): 8.30e-7},
    6.8: {(0, 0, 0): 2.54e-1, (0, 0, 1): 2.52e-2, (0, 1, 1): 3.91e-3, (1, 1, 1): 7.02e-4,
          (0, 0, 2): 2.84e-5, (0, 1, 2): 5.68e-6, (1, 1, 2): 1.66e-6, (0, 2, 2): 6.57e-7, (1, 2, 2): 5.73e-7, (2, 2, 2): 4.11e-7},
    2.33: {(0, 0, 0): 2.69, (0, 0, 1): 5.05e-1, (0, 1, 1): 1.97e-1, (1, 1, 1): 1.02e-1,
           (0, 0, 2): 5.80e-2, (0, 1, 2): 3.71e-2, (1, 1, 2): 2.43e-2, (0, 2, 2): 1.09e-2, (1, 2, 2): 7.36e-3, (2, 2, 2): 2.24e-3},
    3.0: {(0, 0, 0): 1.59, (0, 0, 1): 2.75e-1, (0, 1, 1): 9.50e-2, (1, 1, 1): 4.29e-2,
          (0, 0, 2): 2.05e-2, (0, 1, 2): 1.11e-2, (1, 1, 2): 6.11e-3, (0, 2, 2): 1.79e-3, (1, 2, 2): 8.99e-4, (2, 2, 2): 1.33e-4},
    4.0: {(0, 0, 0): 8.58e-1, (0, 0, 1): 1.29e-1, (0, 1, 1): 3.62e-2, (1, 1, 1): 1.27e-2,
          (0, 0, 2): 4.18e-3, (0, 1, 2): 1.67e-3, (1, 1, 2): 6.61e-4, (0, 2, 2): 8.41e-5, (1, 2, 2): 3.11e-5, (2, 2, 2): 2.21e-6},
    4.42: {(0, 0, 0): 6.89e-1, (0, 0, 1): 9.73e-2, (0, 1, 1): 2.48e-2, (1, 1, 1): 7.78e-3,
           (0, 0, 2): 2.10e-3, (0, 1, 2): 7.34e-4, (1, 1, 2): 2.51e-4, (0, 2, 2): 2.17e-5, (1, 2, 2): 7.48e-6, (2, 2, 2): 1.17e-6},
    4.8: {(0, 0, 0): 5.73e-1, (0, 0, 1): 7.63e-2, (0, 1, 1): 1.78e-2, (1, 1, 1): 5.07e-3,
          (0, 0, 2): 1.11e-3, (0, 1, 2): 3.44e-4, (1, 1, 2): 1.04e-4, (0, 2, 2): 6.61e-6, (1, 2, 2): 2.58e-6, (2, 2, 2): 9.16e-7},
    6.0: {(0, 0, 0): 3.42e-1, (0, 0, 1): 3.80e-2, (0, 1, 1): 6.86e-3, (1, 1, 1): 1.45e-3,
          (0, 0, 2): 1.31e-4, (0, 1, 2): 2.87e-5, (1, 1, 2): 6.77e-6, (0, 2, 2): 9.07e-7, (1, 2, 2): 7.67e-7, (2, 2, 2): 5.43e-7},
    9.28: {(0, 0, 0): 1.17e-1, (0, 0, 1): 8.53e-3, (0, 1, 1): 9.09e-4, (1, 1, 1): 1.10e-4,
           (0, 0, 2): 7.70e-7, (0, 1, 2): 5.68e-7, (1, 1, 2): 4.56e-7, (0, 2, 2): 3.26e-7, (1, 2, 2): 2.85e-7, (2, 2, 2): 2.06e-7},
}
FIRST_RING = ((0, 0, 0), (0, 0, 1), (0, 1, 1), (1, 1, 1))
SECOND_RING = ((0, 0, 2), (0, 1, 2), (1, 1, 2), (0, 2, 2), (1, 2, 2), (2, 2, 2))


def _s_at_1p04(side):
    return dose_voxel_kernel(Q_(side, "mm"), density=Q_(1.04, "g/mL")).to("mGy/(MBq*s)").magnitude


@pytest.mark.parametrize("side", sorted(LANCONELLI_Y90_SOFT))
def test_self_face_edge_within_2_percent_of_lanconelli(side):
    k = _s_at_1p04(side)
    c = np.asarray(centre(k))
    for o in FIRST_RING[:3]:
        for p in set(itertools.permutations(o)):  # every symmetric copy of the offset
            assert k[tuple(c + p)] == pytest.approx(LANCONELLI_Y90_SOFT[side][o], rel=0.02), (side, p)


@pytest.mark.parametrize("side", sorted(LANCONELLI_Y90_SOFT))
def test_corner_against_lanconelli(side):
    # within 2 % up to 4.8 mm; 5-9.28 mm voxels reach +3.2 % (6 mm): the corner of a large voxel
    # is fed by the end of the beta range, where this kernel reaches about 1 % farther than
    # Lanconelli's (their table matches ours at 1.05 g/mL within 2.5 %); see docs/voxel.md.
    k = _s_at_1p04(side)
    c = centre(k)
    tol = 0.02 if side < 5.0 else 0.035
    assert k[c[0] + 1, c[1] + 1, c[2] + 1] == pytest.approx(LANCONELLI_Y90_SOFT[side][(1, 1, 1)], rel=tol)


@pytest.mark.parametrize("side", sorted(LANCONELLI_Y90_SOFT))
def test_second_ring_against_lanconelli(side):
    # Second-ring voxels holding at least 1e-3 of the self-voxel S-value (below that Lanconelli's
    # values are bremsstrahlung background the beta table does not hold): within 5 % at 2.33 mm,
    # within 6 % beyond (up to +5.7 %: the range-end offset of the corner test, amplified at 2 voxels).
    k = _s_at_1p04(side)
    c = np.asarray(centre(k))
    ref = LANCONELLI_Y90_SOFT[side]
    tol = 0.05 if side < 3.0 else 0.06
    tested = 0
    for o in SECOND_RING:
        if ref[o] >= 1e-3 * ref[(0, 0, 0)]:
            assert k[tuple(c + o)] == pytest.approx(ref[o], rel=tol), (side, o)
            tested += 1
    assert tested >= (1 if side < 6 else 0)


def test_loevinger_alternative_is_the_worse_one():
    # the named analytic alternative is kept for comparison: its self-voxel value is 4-6 % low
    # (issue #11: -5.0 % at 3 mm, -4.2 % at 4.42 mm)
    for side, lo, hi in ((3.0, -0.06, -0.04), (4.42, -0.05, -0.035)):
        k = dose_voxel_kernel(Q_(side, "mm"), density=Q_(1.04, "g/mL"), point_kernel="loevinger").to("mGy/(MBq*s)").magnitude
        assert lo < k[centre(k)] / LANCONELLI_Y90_SOFT[side][(0, 0, 0)] - 1 < hi


@pytest.mark.parametrize("spacing", [(4.42, 4.42, 4.42), (4.07, 4.07, 3.27), (2.0, 2.0, 2.0)])
def test_quadrature_converged(spacing):
    # halving the direction-lattice step and doubling the radial nodes per shell changes every
    # voxel holding >= 1e-4 of the energy by < 0.3 %: the kernel, not the quadrature, sets the error
    base = _fractions(spacing, 1.03)
    fine = _fractions(spacing, 1.03, radial_nodes=2, direction_step=0.0625)
    big = fine >= 1e-4
    np.testing.assert_allclose(base[big], fine[big], rtol=3e-3)
    # and a deliberately coarse quadrature is visibly off (the test can fail)
    coarse = _fractions(spacing, 1.03, direction_step=1.0)
    assert np.max(np.abs(coarse[big] / fine[big] - 1)) > 3e-3


def _brute_force(spacing, offsets, n=2_000_000, seed=7):
    """Absorbed fractions by direct sampling of the tabulated point kernel (independent of the quadrature).

    Decay point uniform in the source voxel, radius sampled from the table's shells (uniform inside a
    shell), isotropic direction; count the deposits landing in each target voxel.
    """
    rng = np.random.default_rng(seed)
    pk = y90_point_kernel()
    keep = pk.r_outer.to("mm").magnitude <= 11.0 + 1e-9
    frac = pk.energy_fraction[keep]
    shell = rng.choice(frac.size, size=n, p=frac / frac.sum())
    r = (pk.r_inner.to("mm").magnitude[keep][shell] + rng.random(n) * 0.05)  # mm at 1.03 g/mL
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    s = np.asarray(spacing)
    start = (rng.random((n, 3)) - 0.5) * s
    idx = np.rint((start + d * r[:, None]) / s).astype(int)
    return [frac.sum() * np.mean(np.all(idx == np.asarray(o), axis=1)) for o in offsets]


@pytest.mark.parametrize("spacing", [(3.0, 3.0, 3.0), (4.07, 4.07, 3.27), (5.0, 2.5, 3.5)])
def test_fractions_match_brute_force_integration(spacing):
    offsets = [(0, 0, 0), (1, 0, 0), (0, 0, 1), (0, 1, 0), (1, 1, 0), (1, 1, 1), (0, 0, 2), (2, 0, 0)]
    n = 2_000_000
    mc = _brute_force(spacing, offsets, n=n)
    phi = absorbed_fraction_kernel(Q_(spacing, "mm"))
    c = np.asarray(centre(phi))
    for o, ref in zip(offsets, mc):
        sigma = math.sqrt(ref * (1 - ref) / n)
        assert abs(phi[tuple(c + o)] - ref) < 5 * sigma + 2e-5, o


def test_cubic_kernel_is_isotropic_through_anisotropic_path():
    # the integration treats the three axes separately; a cubic kernel must be invariant under
    # axis permutations (up to the direction-lattice quadrature, < 0.5 %)
    k = absorbed_fraction_kernel(Q_(3.0, "mm"))
    for perm in itertools.permutations(range(3)):
        np.testing.assert_allclose(np.transpose(k, perm), k, rtol=5e-3, atol=1e-5 * k.max())


def test_axis_order_follows_spacing():
    a = absorbed_fraction_kernel(Q_((4.07, 4.07, 3.27), "mm"))
    b = absorbed_fraction_kernel(Q_((3.27, 4.07, 4.07), "mm"))
    np.testing.assert_allclose(np.transpose(b, (2, 1, 0)), a, rtol=5e-3, atol=1e-5 * a.max())
    c = centre(a)
    # neighbour along the short (3.27 mm) axis is closer, hence gets more energy
    assert a[c[0], c[1], c[2] + 1] > 1.2 * a[c[0] + 1, c[1], c[2]]


def test_density_scaling_is_range_scaling():
    # a kernel at density rho and spacing s equals the 1.03 g/mL kernel at spacing s * rho / 1.03
    # (same geometry in mass-thickness), voxel by voxel
    a = absorbed_fraction_kernel(Q_(4.0, "mm"), density=Q_(0.515, "g/mL"))
    b = absorbed_fraction_kernel(Q_(2.0, "mm"))
    np.testing.assert_allclose(a, b, rtol=3e-3, atol=1e-6)


def test_per_administered_is_per_cumulated_times_mean_life():
    cum = dose_voxel_kernel(Q_(4.0, "mm")).to("mGy/(MBq*s)").magnitude
    adm = dose_voxel_kernel(Q_(4.0, "mm"), per="administered").to("Gy/GBq").magnitude
    tau_s = 64.1 * 3600 / math.log(2)  # 332 917 s
    # mGy/(MBq s) * tau [s] = mGy/MBq = Gy/GBq
    np.testing.assert_allclose(adm, cum * tau_s, rtol=1e-12)


def test_cached_and_read_only():
    a = absorbed_fraction_kernel(Q_(4.0, "mm"))
    b = absorbed_fraction_kernel(Q_((4.0, 4.0, 4.0), "mm"))
    assert a is b
    with pytest.raises(ValueError):
        a[0, 0, 0] = 1.0
    k = dose_voxel_kernel(Q_(4.0, "mm"))
    with pytest.raises(ValueError):
        k.magnitude[0, 0, 0] = 1.0


@pytest.mark.parametrize(
    "spacing",
    [Q_((4.0, 0.0, 4.0), "mm"), Q_((4.0, -1.0, 4.0), "mm"), Q_((4.0, 4.0), "mm"), Q_(4.0, "s"), (4.0, 4.0, 4.0), 4.0],
)
def test_bad_spacing_refused(spacing):
    with pytest.raises(ValueError, match="^spacing: "):
        dose_voxel_kernel(spacing)


def test_bad_per_density_and_point_kernel_refused():
    with pytest.raises(ValueError, match="^per: "):
        dose_voxel_kernel(Q_(4.0, "mm"), per="total")
    with pytest.raises(ValueError, match="^density: "):
        dose_voxel_kernel(Q_(4.0, "mm"), density=Q_(0.0, "g/mL"))
    with pytest.raises(ValueError, match="^point_kernel: "):
        dose_voxel_kernel(Q_(4.0, "mm"), point_kernel="egs")


@settings(max_examples=6, deadline=None)
@given(st.tuples(*[st.floats(1.5, 6.0)] * 3))
def test_energy_closure_any_spacing(spacing):
    s = dose_voxel_kernel(Q_(spacing, "mm")).to("mGy/(MBq*s)").magnitude
    mass_kg = 1.03 * np.prod(spacing) / 1e6
    assert s.sum() * 1e-9 * mass_kg == pytest.approx(E_MEAN_J * DEPOSITED_11MM, rel=1e-4)
