"""Speed and memory of the voxel dose convolution against scipy baselines run alongside.

Run after ``pip install .``: ``python benchmarks/voxel.py``. Prints, for 128^3 and 256^3 activity grids (4 mm voxels,
Y-90 kernel 9 x 9 x 9):

* ``convolve_dose`` (float32 default and float64), best of 3 runs, kernel already cached;
* ``scipy.signal.fftconvolve(activity, kernel, mode="same")`` in float64 on the same arrays;
* ``scipy.ndimage.convolve`` (direct summation, float64), 128^3 only;
* the speed-up ratios, the largest difference from the baseline, and the peak traced memory of
  ``convolve_dose`` (tracemalloc) relative to the bytes of the input activity array;
* and a CT-sized 160 x 512 x 512 grid (slab processing), time and peak memory;
* the build time of the Monte Carlo dose-voxel kernel (uncached) at common spacings and in lung.
Targets (issue 4): 256^3 under 0.5 s, at least 3x faster than fftconvolve, peak memory under 6x.
"""

from __future__ import annotations

import os
import platform
import time
import tracemalloc

import numpy as np
import scipy
import scipy.ndimage
import scipy.signal

from dosimetry.units import Q_
from dosimetry.voxel import Volume, absorbed_fraction_kernel, convolve_dose
from dosimetry.voxel.kernel import _fractions

SPACING = (4.0, 4.0, 4.0)


def best_of(fn, repeats=3):
    best = float("inf")
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_memory(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main():
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, cpus {os.cpu_count()}")
    phi = absorbed_fraction_kernel(Q_(SPACING, "mm"))
    print(f"kernel {phi.shape} at {SPACING} mm")
    rng = np.random.default_rng(0)
    for n in (128, 256):
        a32 = rng.random((n, n, n), dtype=np.float32)
        a64 = a32.astype(np.float64)
        vol32 = Volume(a32, SPACING, unit="MBq")
        vol64 = Volume(a64, SPACING, unit="MBq")
        # dose = factor * (phi * A): compare the convolution itself with the baselines
        factor = float(convolve_dose(Volume(np.pad(np.ones((1, 1, 1)), 4), SPACING, unit="MBq"), dtype=np.float64).array[4, 4, 4] / phi[4, 4, 4])

        t32, d32 = best_of(lambda: convolve_dose(vol32))
        t64, d64 = best_of(lambda: convolve_dose(vol64, dtype=np.float64))
        tfft, ref = best_of(lambda: scipy.signal.fftconvolve(a64, phi, mode="same"), repeats=2 if n == 256 else 3)
        ref *= factor
        err32 = float(np.abs(d32.array - ref).max() / ref.max())
        err64 = float(np.abs(d64.array - ref).max() / ref.max())
        print(f"\n{n}^3 grid ({a32.nbytes / 2**20:.0f} MiB float32 input)")
        print(f"  convolve_dose float32        {t32:8.3f} s   max rel. diff vs fftconvolve {err32:.1e}")
        print(f"  convolve_dose float64        {t64:8.3f} s   max rel. diff vs fftconvolve {err64:.1e}")
        print(f"  scipy.signal.fftconvolve f64 {tfft:8.3f} s   -> speed-up float32 {tfft / t32:5.1f}x, float64 {tfft / t64:5.1f}x")
        if n == 128:
            tnd, nd = best_of(lambda: scipy.ndimage.convolve(a64, phi, mode="constant", cval=0.0), repeats=1)
            errnd = float(np.abs(d64.array - nd * factor).max() / ref.max())
            print(f"  scipy.ndimage.convolve f64   {tnd:8.3f} s   -> speed-up float32 {tnd / t32:5.1f}x (max rel. diff {errnd:.1e})")
        del d32, d64, ref
        p32 = peak_memory(lambda: convolve_dose(vol32))
        print(f"  peak traced memory float32   {p32 / 2**20:8.1f} MiB = {p32 / a32.nbytes:.2f} x input bytes")
        p64 = peak_memory(lambda: convolve_dose(vol64, dtype=np.float64))
        print(f"  peak traced memory float64   {p64 / 2**20:8.1f} MiB = {p64 / a64.nbytes:.2f} x input bytes")
        target = "met" if (n != 256 or (t32 < 0.5 and tfft / t32 >= 3 and p32 < 6 * a32.nbytes)) else "NOT met"
        if n == 256:
            print(f"  targets (< 0.5 s, >= 3x fftconvolve, < 6x memory): {target}")

    # a CT-sized grid: processed in slabs along axis 0, memory bounded by max_chunk_voxels
    ct_spacing = (2.5, 0.98, 0.98)
    t0 = time.perf_counter()
    absorbed_fraction_kernel(Q_(ct_spacing, "mm"))
    tk = time.perf_counter() - t0
    a = rng.random((160, 512, 512), dtype=np.float32)
    vol = Volume(a, ct_spacing, unit="MBq")
    tct, _ = best_of(lambda: convolve_dose(vol), repeats=2)
    pct = peak_memory(lambda: convolve_dose(vol))
    print(f"\n160 x 512 x 512 grid at {ct_spacing} mm ({a.nbytes / 2**20:.0f} MiB float32; kernel "
          f"{absorbed_fraction_kernel(Q_(ct_spacing, 'mm')).shape} built in {tk:.2f} s)")
    print(f"  convolve_dose float32 (slabs) {tct:7.3f} s   peak traced memory {pct / 2**20:.0f} MiB = {pct / a.nbytes:.2f} x input bytes")

    print("\nkernel build (uncached, Monte Carlo point kernel; cached afterwards)")
    for sp, rho in (((4.42, 4.42, 4.42), 1.03), ((4.0, 4.0, 4.0), 1.03), ((4.07, 4.07, 3.27), 1.03), (ct_spacing, 1.03), ((4.42, 4.42, 4.42), 0.26)):
        t0 = time.perf_counter()
        phi = _fractions(sp, rho)
        print(f"  {str(sp):22s} {rho:4.2f} g/mL  {str(phi.shape):14s} {time.perf_counter() - t0:6.2f} s")


if __name__ == "__main__":
    main()
