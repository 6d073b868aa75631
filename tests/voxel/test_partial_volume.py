"""Geometric transfer matrix (Rousset, Ma and Evans, J Nucl Med 39:904, 1998) against hand-computed cases."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosimetry.errors import InputError
from dosimetry.units import Q_
from dosimetry.voxel import Volume
from dosimetry.voxel.partial_volume import MAX_CONDITION, REST, gtm_correct, psf_sigma_voxels, self_absorbed_fraction, transfer_matrix


def _line(values, spacing=(1e6, 1e6, 1.0)):
    """A 1 x 1 x N grid: voxels 1 mm along the last axis, so wide across that any PSF blurs along it only."""
    return Volume(np.asarray(values, dtype=np.float64).reshape(1, 1, -1), spacing, (0.0, 0.0, 0.0))


def test_two_regions_without_blur_by_hand():
    # A = [1, 0.5, 0, 0], B = [0, 0.5, 1, 1]: w_AA = (1 + 0.25) / 1.5 = 5/6, w_AB = 0.25 / 1.5 = 1/6,
    # w_BA = 0.25 / 2.5 = 0.1, w_BB = (0.25 + 1 + 1) / 2.5 = 0.9. Image of c_A = 10, c_B = 2 holds
    # [10, 6, 2, 2]: plain means 13 / 1.5 = 8.667 and 7 / 2.5 = 2.8; the GTM gives back 10 and 2.
    fa, fb = [1, 0.5, 0, 0], [0, 0.5, 1, 1]
    masks = {"A": _line(fa), "B": _line(fb)}
    r = gtm_correct(_line([10, 6, 2, 2]), masks, "0 mm")
    assert r.names == ("A", "B")  # fractions sum to 1 everywhere: no rest of the field of view
    np.testing.assert_allclose(r.matrix, [[5 / 6, 1 / 6], [0.1, 0.9]], rtol=1e-12)
    np.testing.assert_allclose(r.observed.magnitude, [13 / 1.5, 2.8], rtol=1e-12)
    np.testing.assert_allclose(r.corrected.magnitude, [10, 2], rtol=1e-12)
    assert r.recovery("A") == pytest.approx((13 / 1.5) / 10)


def _phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def test_two_regions_blurred_against_the_error_function():
    # A = voxels 60-99, B = 100-139 of a 200-voxel line (1 mm), rest elsewhere; Gaussian PSF of
    # FWHM 8 mm (sigma 3.397 mm). Region i blurred at voxel centre x: Phi((x - lo)/s) - Phi((x - hi)/s)
    # with its edges lo, hi (continuous blur of the box; the sampled kernel differs by < 1e-3).
    n, fwhm = 200, 8.0
    s = fwhm / (2 * math.sqrt(2 * math.log(2)))
    x = np.arange(n) + 0.5
    edges = {"A": (60.0, 100.0), "B": (100.0, 140.0)}
    f = {k: ((x > lo) & (x < hi)).astype(float) for k, (lo, hi) in edges.items()}
    rsf = {k: np.array([_phi((xi - lo) / s) - _phi((xi - hi) / s) for xi in x]) for k, (lo, hi) in edges.items()}
    w = np.array([[np.dot(f[j], rsf[i]) / f[j].sum() for i in "AB"] for j in "AB"])
    assert w[0, 0] == pytest.approx(1 - 2 * s / math.sqrt(2 * math.pi) / 40, abs=1e-3)  # two edges, each losing s / sqrt(2 pi)
    image = 7.0 * rsf["A"] + 1.5 * rsf["B"]
    r = gtm_correct(_line(image), {"A": _line(f["A"]), "B": _line(f["B"])}, Q_(fwhm, "mm"))
    assert r.names == ("A", "B", REST)
    np.testing.assert_allclose(r.matrix[:2, :2], w, atol=1e-3)
    np.testing.assert_allclose(r.corrected.magnitude[:2], [7.0, 1.5], rtol=3e-3)
    assert r.corrected.magnitude[2] == pytest.approx(0.0, abs=0.02)
    assert r.observed.magnitude[0] < 6.9  # the plain mean is low: spill-out at both edges


def test_sigma_per_axis_from_spacing():
    assert psf_sigma_voxels(Q_(10, "mm"), (5.0, 2.5, 2.5)) == pytest.approx((10 / 2.35482 / 5, 10 / 2.35482 / 2.5, 10 / 2.35482 / 2.5), rel=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 4), st.integers(0, 2**31 - 1), st.sampled_from(["0 mm", "0.001 mm"]))
def test_without_blur_boolean_regions_give_the_plain_means(n_regions, seed, fwhm):
    # FWHM -> 0 and whole-voxel regions: W is the identity and the GTM returns the plain means,
    # whatever the image (not only uniform regions)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_regions, size=(5, 6, 7))
    image = Volume(rng.uniform(0, 100, size=labels.shape), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0), unit="MBq")
    masks = {f"R{k}": image.with_array(labels == k) for k in range(n_regions) if np.any(labels == k)}
    r = gtm_correct(image, masks, fwhm)
    plain = [image.array[labels == k].mean() for k in range(n_regions) if np.any(labels == k)]
    np.testing.assert_allclose(r.corrected.to("MBq").magnitude, plain, rtol=1e-9)
    np.testing.assert_allclose(r.matrix, np.eye(len(plain)), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_without_blur_uniform_regions_with_fractions_are_recovered(seed):
    # volume-averaged voxels (image = sum c_i f_i) with fractional regions: exact concentrations
    rng = np.random.default_rng(seed)
    raw = rng.uniform(0, 1, size=(3, 4, 5, 6))
    raw[:, raw.sum(0) == 0] = 1
    f = raw / raw.sum(0)
    c = rng.uniform(0.1, 10, size=3)
    image = Volume(np.tensordot(c, f, axes=1), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0))
    try:
        r = gtm_correct(image, {f"R{k}": image.with_array(f[k]) for k in range(3)}, "0 mm")
    except InputError:
        return  # random mixtures may be ill-conditioned: refused, never a wrong figure
    np.testing.assert_allclose(r.corrected.magnitude, c, rtol=1e-6)


def test_ill_conditioned_matrix_is_refused():
    # a 1-voxel region beside a large one under a 20 mm FWHM on 4 mm voxels keeps almost nothing of its counts
    f = np.zeros((9, 9, 9))
    f[4, 4, 4] = 1
    grid = Volume(np.ones((9, 9, 9)), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0))
    with pytest.raises(InputError) as e:
        gtm_correct(grid, {"small": grid.with_array(f), "big": grid.with_array(1 - f)}, "20 mm")
    assert e.value.field == "partial_volume" and "condition number" in e.value.message and f"{MAX_CONDITION:g}" in e.value.allowed


def test_overlapping_regions_and_bad_fwhm_are_refused():
    grid = Volume(np.ones((4, 4, 4)), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="overlap"):
        gtm_correct(grid, {"a": grid.with_array(np.ones((4, 4, 4))), "b": grid.with_array(np.full((4, 4, 4), 0.5))}, "5 mm")
    with pytest.raises(InputError):
        gtm_correct(grid, {"a": grid.with_array(np.ones((4, 4, 4)))}, "5")  # a bare number
    with pytest.raises(InputError):
        gtm_correct(grid, {"a": grid.with_array(np.ones((4, 4, 4)))}, "-1 mm")


def test_transfer_matrix_rows_of_a_closed_partition_sum_to_the_kept_fraction():
    # regions tiling the grid with the rest: each row sums to the share of a uniform image's
    # counts kept inside the grid (1 far from the edges)
    rng = np.random.default_rng(1)
    lab = rng.integers(0, 3, size=(20, 20, 20))
    lab[:5] = lab[-5:] = 0
    lab[:, :5] = lab[:, -5:] = 0
    lab[:, :, :5] = lab[:, :, -5:] = 0
    masks = {k: (lab == k).astype(float) for k in range(3)}
    _, w = transfer_matrix(masks, Q_(6, "mm"), (2.0, 2.0, 2.0))
    assert w[1].sum() == pytest.approx(1.0, abs=1e-6) and w[2].sum() == pytest.approx(1.0, abs=1e-6)


def test_self_absorbed_fraction_of_a_sphere_against_the_transport_truth():
    # The phantom's transport truth of a 12 mm sphere at T/N 3 is 0.888 of the local-deposition
    # truth (docs/phantoms.md, Monte Carlo over the continuous shape): 0.888 = F / 3 + (2 / 3) phi
    # with F = 0.996125 gives phi = 0.834. Fractions of a 12 mm sphere on 4 mm voxels (8^3 sub-samples):
    s, n, sub = 4.0, 16, 8
    c = (np.indices((n * sub,) * 3) + 0.5) / sub * s
    inside = (((c - (n * s / 2 + 0.3)) ** 2).sum(0) <= 144.0)
    f = inside.reshape(n, sub, n, sub, n, sub).mean((1, 3, 5))
    phi = self_absorbed_fraction(Volume(f, (s, s, s), (0.0, 0.0, 0.0)))
    assert phi == pytest.approx((0.888 - 0.996125 / 3) * 1.5, abs=0.015)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.0, 3.0, 9.0]))
def test_matrix_equals_the_full_grid_definition(seed, fwhm):
    # the cropped blurs and the rest of the field of view by linearity give Rousset's w_ij computed
    # the plain way: every region (the rest too) blurred on the whole grid, every ROI mean over it
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    shape = (12, 14, 16)
    f = {}
    for k in range(3):
        box = np.zeros(shape)
        lo = rng.integers(0, 8, size=3)
        box[lo[0]:lo[0] + 4, lo[1]:lo[1] + 5, lo[2]:lo[2] + 6] = rng.uniform(0.05, 1.0 / 3, size=(4, 5, 6))
        f[f"R{k}"] = box
    rest = 1 - sum(f.values())
    full = {**f, REST: rest}
    sigma = psf_sigma_voxels(Q_(fwhm, "mm"), (4.0, 3.0, 2.5))
    blur = {n: ndimage.gaussian_filter(m, sigma, mode="constant", cval=0.0, truncate=4.0) if fwhm else m for n, m in full.items()}
    expected = np.array([[np.vdot(full[j], blur[i]) / full[j].sum() for i in full] for j in full])
    names, w = transfer_matrix(f, Q_(fwhm, "mm"), (4.0, 3.0, 2.5), rest=True)
    assert names == tuple(full)
    np.testing.assert_allclose(w, expected, rtol=1e-9, atol=1e-12)
