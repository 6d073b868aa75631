"""The axis-by-axis shortcuts of voxel/resample.py give scipy's own arrays, bit for bit (issue 22).

``sample_nearest`` stands for ``scipy.ndimage.affine_transform(..., order=0, mode="constant")`` and
``covered_by`` for ``resample_to(ones, reference, kind="linear") >= 0.5`` (the CT's coverage of the
activity grid); both take the shortcut only for a diagonal index map. The reference here is always
scipy's three-dimensional call on the same inputs.
"""

import numpy as np
import pytest
import scipy.ndimage
from hypothesis import given, settings
from hypothesis import strategies as st

from dosimetry.voxel import Volume, resample_to
from dosimetry.voxel.resample import covered_by, sample_nearest

# scales and offsets that put sample points exactly on voxel centres, on half-voxels, just off the
# edges (127.00000000000001 is what inv(A) @ mirror @ A gives on the demo's 128-voxel axes) and anywhere
SCALES = st.sampled_from([1.0, -1.0, 0.884, 1.2628571428571429, -1.2628571428571429, 0.5, 2.0, 0.3333333333333333, -0.75])
OFFSETS = st.one_of(
    st.sampled_from([0.0, -0.5, 0.5, 127.00000000000001, 6.999999999999999, 7.0, -3.418, -16.691428571428574, 3.5, -1e-12]),
    st.floats(-12, 12, allow_nan=False),
)


def _scipy_nearest(arr, matrix, offset, shape, cval):
    return scipy.ndimage.affine_transform(arr, matrix, offset=offset, output_shape=shape, order=0, mode="constant", cval=cval)


def _same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@settings(max_examples=300, deadline=None)
@given(
    shape=st.tuples(*[st.integers(1, 9)] * 3),
    out=st.tuples(*[st.integers(1, 9)] * 3),
    scales=st.tuples(SCALES, SCALES, SCALES),
    offsets=st.tuples(OFFSETS, OFFSETS, OFFSETS),
    dtype=st.sampled_from(["float64", "float32", "int16", "uint8"]),
    cval=st.sampled_from([0.0, -1000.0, 2.5, -1.0]),
    seed=st.integers(0, 2**16),
)
def test_nearest_is_scipys_affine_transform(shape, out, scales, offsets, dtype, cval, seed):
    rng = np.random.default_rng(seed)
    arr = (rng.normal(size=shape) * 50).astype(dtype)
    if dtype.startswith("float"):
        arr.flat[0] = -0.0  # scipy's sum turns -0.0 into 0.0
        arr.flat[-1] = np.nan
    matrix = np.diag(scales)
    before = arr.copy()
    _same_bits(sample_nearest(arr, matrix, offsets, out, cval=cval), _scipy_nearest(arr, matrix, offsets, out, cval))
    _same_bits(arr, before)  # the input is never written (a view of it is copied first)


def test_nearest_off_diagonal_or_inexact_fill_goes_to_scipy():
    arr = np.arange(60.0).reshape(3, 4, 5)
    rot = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1e-17, 1.0]])
    _same_bits(sample_nearest(arr, rot, (0.2, 0.1, -0.3), (3, 5, 5), cval=0.0), _scipy_nearest(arr, rot, (0.2, 0.1, -0.3), (3, 5, 5), 0.0))
    ints = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    _same_bits(sample_nearest(ints, np.eye(3), (0.5, -1, 0), (3, 4, 5), cval=2.5), _scipy_nearest(ints, np.eye(3), (0.5, -1, 0), (3, 4, 5), 2.5))
    bools = ints > 20
    _same_bits(sample_nearest(bools, np.eye(3), (0.5, -1, 0), (3, 4, 5), cval=0.0), _scipy_nearest(bools, np.eye(3), (0.5, -1, 0), (3, 4, 5), 0.0))


def _volume(shape, spacing, origin, signs, order):
    axes = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])[:, list(order)] * np.asarray(signs)[None, :]
    return Volume(np.zeros(shape, np.float32), spacing, origin, axes)


@settings(max_examples=200, deadline=None)
@given(
    src_shape=st.tuples(*[st.integers(1, 8)] * 3),
    ref_shape=st.tuples(*[st.integers(1, 8)] * 3),
    src_sp=st.tuples(*[st.sampled_from([1.0, 2.0, 3.5, 4.42, 5.0])] * 3),
    ref_sp=st.tuples(*[st.sampled_from([1.0, 2.0, 3.5, 4.0, 4.42])] * 3),
    src_o=st.tuples(*[st.sampled_from([0.0, -7.5, 3.0, -222.25, 1.75])] * 3),
    ref_o=st.tuples(*[st.sampled_from([0.0, -8.0, 2.21, -280.67, 1.75])] * 3),
    signs=st.tuples(*[st.sampled_from([1.0, -1.0])] * 3),
    permuted=st.booleans(),
)
def test_coverage_is_scipys_resampled_ones(src_shape, ref_shape, src_sp, ref_sp, src_o, ref_o, signs, permuted):
    src = _volume(src_shape, src_sp, src_o, (1, 1, 1), (0, 1, 2))
    ref = _volume(ref_shape, ref_sp, ref_o, signs, (1, 0, 2) if permuted else (0, 1, 2))  # a permutation is not diagonal: scipy
    ones = src.with_array(np.broadcast_to(np.float32(1.0), src.shape))
    expected = np.asarray(resample_to(ones, ref, kind="linear", fill=0.0).array) >= 0.5
    got = covered_by(src, ref)
    assert got.dtype == bool and np.array_equal(got, expected)


def test_coverage_on_the_same_grid_is_everywhere():
    v = _volume((3, 4, 5), (2, 2, 2), (0, 0, 0), (1, 1, 1), (0, 1, 2))
    assert covered_by(v, v).all() and covered_by(v, v).shape == (3, 4, 5)


@pytest.mark.parametrize("inside", [True, False])
def test_coverage_of_an_oblique_grid_goes_to_scipy(inside):
    src = _volume((6, 6, 6), (2, 2, 2), (0, 0, 0), (1, 1, 1), (0, 1, 2))
    c, s = np.cos(0.3), np.sin(0.3)
    ref = Volume(np.zeros((5, 5, 5)), (2, 2, 2), (1, 1, 1) if inside else (-6, -6, -6),
                 np.array([[0.0, -s, c], [0.0, c, s], [1.0, 0.0, 0.0]]))
    ones = src.with_array(np.broadcast_to(np.float32(1.0), src.shape))
    assert np.array_equal(covered_by(src, ref), np.asarray(resample_to(ones, ref, kind="linear").array) >= 0.5)
