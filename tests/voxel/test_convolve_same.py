"""Issue 22: the self-absorbed fraction convolves with scipy.fft alone (scipy.signal costs about 1.5 s to
import at the start of a command); the convolution is the same arithmetic as scipy.signal.fftconvolve."""

import subprocess
import sys

import numpy as np
import pytest

from dosimetry.voxel.partial_volume import convolve_same


def test_a_hand_computed_one_dimensional_case():
    # full convolution of [1, 2, 3] with [0, 1, 0.5] is [0, 1, 2.5, 4, 1.5]; "same" keeps its centre 3
    out = convolve_same(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    np.testing.assert_allclose(out, [1.0, 2.5, 4.0], atol=1e-12)


def test_a_centred_delta_kernel_returns_the_array():
    a = np.random.default_rng(0).random((6, 7, 8))
    delta = np.zeros((5, 5, 5))
    delta[2, 2, 2] = 1.0
    np.testing.assert_allclose(convolve_same(a, delta), a, atol=1e-12)


@pytest.mark.parametrize(
    "shape, kshape",
    [((20, 17, 33), (7, 9, 5)), ((5, 6, 7), (11, 11, 11)), ((31, 30, 29), (21, 21, 21))],
)
def test_the_same_numbers_as_scipy_signal_fftconvolve(shape, kshape):
    from scipy import signal

    rng = np.random.default_rng(sum(shape))
    a, k = rng.random(shape), rng.random(kshape)
    np.testing.assert_allclose(convolve_same(a, k), signal.fftconvolve(a, k, mode="same"), rtol=1e-12, atol=1e-12)


def test_the_self_absorbed_fraction_does_not_import_scipy_signal():
    probe = (
        "import sys, numpy as np\n"
        "from dosimetry.voxel import Volume\n"
        "from dosimetry.voxel.partial_volume import self_absorbed_fraction\n"
        "m = np.zeros((10, 10, 10)); m[3:7, 3:7, 3:7] = 1\n"
        "phi = self_absorbed_fraction(Volume(m, spacing_mm=(1.5, 1.5, 1.5)))\n"
        "print(0.0 < phi < 1.0, 'scipy.signal' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["True", "False"]  # main: True True
