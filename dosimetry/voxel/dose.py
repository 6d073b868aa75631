"""Absorbed-dose maps from an activity map: local deposition and dose-voxel-kernel convolution.

Convention: every dose returned here is the absorbed dose in Gy for *complete decay* of the
activity in the map, which is read as the activity present at the reference time (administration)
and decaying physically thereafter (no biological clearance, as for Y-90 microspheres):

    energy released in voxel j = A_j * (T1/2 / ln 2) * E_mean          (MIRD primer)
    local deposition:    D_i = A_i * (T1/2 / ln 2) * E_mean / (rho_i * V)
    kernel convolution:  D_i = (T1/2 / ln 2) * E_mean / (rho_i * V) * sum_j phi(i - j) A_j

with ``phi`` the absorbed-fraction kernel (:mod:`dosimetry.voxel.kernel`, Monte Carlo point kernel
integrated over source and target voxels), ``V`` the voxel volume and ``rho_i`` the local density.
Dividing the deposited energy by the *local* mass is the first-order density correction for
non-water tissue. Lungs have two named methods (:data:`LUNG_METHODS`, :func:`lung_kernel_dose`):
this density-divided soft-tissue kernel, or a kernel range-scaled to the lung density for the
activity in the lungs; both are off by up to about +/-30 % against Monte Carlo in lung (Mikell et
al. 2015; d'Andrea et al. 2024). CT numbers become densities through :data:`HU_DENSITY_CURVE`, whose
soft-tissue plateau makes the liver density independent of iodinated contrast.

Accepted activity units (``Volume.unit``): an activity per voxel (Bq, MBq, GBq, mCi, ...) or an
activity concentration (Bq/mL, kBq/mL, ...; multiplied by the voxel volume). Detector counts
(``cts``, ``cts/s``) and anything else are refused: calibrate the image first.
"""

from __future__ import annotations


import numpy as np
import pint
import scipy.fft

from ..isotope import LIVER_DENSITY, Y90
from ..units import Q_
from .geometry import Volume
from .kernel import _density_g_ml, _spacing_mm, absorbed_fraction_kernel

__all__ = [
    "HU_DENSITY_CURVE",
    "DENSITY_METHODS",
    "LUNG_METHODS",
    "density_from_hu",
    "checked_hu_curve",
    "hu_to_density",
    "with_nominal_density",
    "lung_kernel_dose",
    "activity_per_voxel",
    "local_deposition",
    "convolve_dose",
]

#: Default CT-number-to-density curve, (HU, g/mL) points joined linearly and held constant
#: beyond the ends.
#:
#: * -1000..0 HU: the definition of the Hounsfield scale, HU = 1000 (mu - mu_water) / mu_water,
#:   which for air-water mixtures makes density linear in HU from air (0.0012 g/mL) to water
#:   (1.0 g/mL): lung (inflated lung -740 HU -> 0.26 g/mL, ICRU Report 46).
#: * 20..300 HU: a **soft-tissue plateau at 1.03 g/mL**, the liver density convention of the plan
#:   (glass IFU, EANM 2022; dosimetry.isotope.LIVER_DENSITY), reached from water over 0..20 HU.
#:   Unenhanced liver (40-70 HU), muscle, blood and contrast-enhanced liver and tumours (100-150 HU
#:   portal venous, up to about 300 HU arterial) all get 1.03 g/mL: iodinated contrast raises the CT
#:   number by ~25-30 HU per mg I/mL while adding only ~0.1 % density per mg I/mL, so the CT number
#:   must not be read as density there (issue #11: the water slope 1 + HU/1000 put contrast-enhanced
#:   liver at 1.10-1.15 g/mL and its dose 6-11 % low). Project choice, documented in docs/voxel.md.
#: * 300..1500 HU: a line to cortical bone, 1.92 g/mL (ICRU Report 44/46 cortical bone), held above.
#:   Approximate for bone (Schneider, Bortfeld and Schlegel, Phys Med Biol 45:459, 2000, give
#:   scanner-specific curves): pass the scanner's own calibration when bone matters.
#: Fat (-100 HU) gets 0.90 g/mL against about 0.95 g/mL real (5 % low), outside the treated regions.
HU_DENSITY_CURVE = ((-1000.0, 0.0012), (0.0, 1.0), (20.0, 1.03), (300.0, 1.03), (1500.0, 1.92))

#: How the density of liver and tumour voxels is obtained, by name (the report prints the text).
DENSITY_METHODS = {
    "ct_curve": "CT numbers through the HU-to-density curve (soft tissue 20-300 HU at 1.03 g/mL, contrast-independent)",
    "liver_nominal": "nominal 1.03 g/mL inside the liver and tumour ROIs, CT curve elsewhere",
}

#: How energy is transported in lung, by name (the report prints the text). Published comparisons
#: with Monte Carlo find the soft-tissue kernel divided by the local density off by up to about
#: +/-30 % in lung, with no fixed sign (Mikell et al., EJNMMI Phys 2:16, 2015; d'Andrea et al., Appl
#: Sci 14:7684, 2024); neither kernel method models the lung-liver interface exactly.
LUNG_METHODS = {
    "density_divided": "soft-tissue kernel, energy divided by the local density "
    "(published error in lung up to about +/-30 % against Monte Carlo)",
    "density_scaled": "kernel range-scaled to the mean lung density for activity in the lungs, "
    "soft-tissue kernel elsewhere, energy divided by the local density "
    "(published error in lung up to about +/-30 % against Monte Carlo)",
}

_ACTIVITY = Q_(1, "Bq").dimensionality
_CONCENTRATION = Q_(1, "Bq/mL").dimensionality


def _check_volume(v, name: str) -> Volume:
    if not isinstance(v, Volume):
        raise ValueError(f"{name}: expected a dosimetry.voxel.Volume, got {type(v).__name__}")
    return v


def density_from_hu(ct: Volume, curve=HU_DENSITY_CURVE) -> Volume:
    """Mass-density map from a CT in Hounsfield units through a piecewise-linear curve.

    Parameters
    ----------
    ct : Volume
        CT values in HU (unit dimensionless), finite.
    curve : sequence of (HU, g/mL) pairs
        Calibration points, HU strictly increasing, densities > 0 [g/mL]; default
        :data:`HU_DENSITY_CURVE`. Values beyond the ends are held at the end densities.

    Returns
    -------
    Volume
        Density [g/mL] on the CT grid (float32).
    """
    pts = checked_hu_curve(ct, curve)
    return ct.with_array(hu_to_density(ct.array, pts), "g/mL")


def checked_hu_curve(ct: Volume, curve=HU_DENSITY_CURVE) -> np.ndarray:
    """The curve as an (n, 2) array after the checks of :func:`density_from_hu` on it and on ``ct``
    (a Volume in HU, every value finite), without converting the CT.

    Raises
    ------
    ValueError
        Naming ``curve`` or ``ct``.
    """
    _check_volume(ct, "ct")
    if not ct.unit.dimensionless:
        raise ValueError(f"ct: expected Hounsfield units (dimensionless), got unit {ct.unit:~P}")
    pts = np.asarray(curve, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 2:
        raise ValueError("curve: expected at least two (HU, g/mL) pairs")
    if np.any(np.diff(pts[:, 0]) <= 0) or np.any(pts[:, 1] <= 0) or not np.all(np.isfinite(pts)):
        raise ValueError("curve: HU must increase strictly and densities must be finite and > 0 g/mL")
    arr = np.asarray(ct.array)
    # the extremes as float32, the type the curve is applied in (a float64 beyond its range is not finite there)
    if arr.size and arr.dtype.kind == "f" and not (np.isfinite(np.float32(arr.min())) and np.isfinite(np.float32(arr.max()))):
        raise ValueError("ct: contains non-finite values")
    return pts


def hu_to_density(hu, pts: np.ndarray) -> np.ndarray:
    """Densities [g/mL] (float32) of CT numbers ``hu`` (any shape) through a checked curve
    (:func:`checked_hu_curve`): HU taken as float32, interpolated linearly, ends held. Elementwise,
    so converting a subset of the voxels gives those voxels' densities of the whole map."""
    return np.interp(np.asarray(hu, dtype=np.float32), pts[:, 0], pts[:, 1]).astype(np.float32)


def _mask_fractions(mask, like: Volume, name: str) -> np.ndarray:
    if not isinstance(mask, Volume) or not mask.same_grid(like):
        raise ValueError(f"{name}: expected a mask Volume on the same grid as the {'density' if name == 'mask' else 'activity'}")
    w = np.asarray(mask.array, dtype=np.float64)
    if not np.all(np.isfinite(w)) or w.min() < 0 or w.max() > 1:
        raise ValueError(f"{name}: mask values must be booleans or fractions in [0, 1]")
    return w


def with_nominal_density(density: Volume, mask: Volume, value=LIVER_DENSITY) -> Volume:
    """Density map with the nominal ``value`` inside ``mask`` (the "liver_nominal" density method).

    Parameters
    ----------
    density : Volume
        Density map [g/mL] (e.g. from :func:`density_from_hu`).
    mask : Volume
        Boolean or fractional mask (e.g. liver and tumours) on the same grid; a voxel with
        fraction ``f`` gets ``f * value + (1 - f) * density``.
    value : pint.Quantity
        Nominal density [g/mL]; default 1.03 g/mL (liver convention of the plan, glass IFU and
        EANM 2022).

    Returns
    -------
    Volume
        Density [g/mL] (float32) on the same grid.
    """
    _check_volume(density, "density")
    rho = np.asarray(density.array, dtype=np.float64) * float(Q_(1, density.unit).to("g/mL").magnitude)
    w = _mask_fractions(mask, density, "mask")
    nominal = _density_g_ml(value)
    return density.with_array((w * nominal + (1.0 - w) * rho).astype(np.float32), "g/mL")


def _activity_scale_bq(activity: Volume) -> float:
    """Factor turning the activity array into Bq per voxel; refuses counts and other units."""
    unit = activity.unit
    dims = Q_(1, unit).dimensionality
    if "[detected_counts]" in dims:
        raise ValueError(
            f"activity: unit {unit:~P} is detector counts, not activity; calibrate the image "
            "(Bq per voxel or Bq/mL) before computing dose"
        )
    if dims == _ACTIVITY:
        return float(Q_(1, unit).to("Bq").magnitude)
    if dims == _CONCENTRATION:
        return float((Q_(1, unit) * activity.voxel_volume).to("Bq").magnitude)
    raise ValueError(
        f"activity: unit {unit:~P} is neither an activity per voxel (e.g. Bq, MBq) nor an "
        "activity concentration (e.g. Bq/mL)"
    )


def _check_activity_values(arr: np.ndarray) -> None:
    if arr.size == 0:
        raise ValueError("activity: empty array")
    lo, hi = arr.min(), arr.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("activity: contains non-finite values (NaN or infinity)")
    if lo < 0:
        raise ValueError(f"activity: contains negative values (minimum {lo}); activity must be >= 0")


def activity_per_voxel(activity: Volume) -> pint.Quantity:
    """Activity in each voxel [Bq], after unit checks.

    Parameters
    ----------
    activity : Volume
        Activity per voxel [activity] or activity concentration [activity/volume], finite, >= 0.

    Returns
    -------
    pint.Quantity
        Float64 array [Bq], same shape.
    """
    _check_volume(activity, "activity")
    scale = _activity_scale_bq(activity)
    arr = np.asarray(activity.array)
    _check_activity_values(arr)
    return Q_(arr.astype(np.float64) * scale, "Bq")


def _density_array(density, activity: Volume):
    """Density as a float (g/mL) or an array on the activity grid (g/mL)."""
    if isinstance(density, Volume):
        if not density.same_grid(activity):
            raise ValueError(
                "density: grid (shape, spacing, origin or direction) differs from the activity's; "
                "resample it first (dosimetry.voxel.resample_to)"
            )
        if density.unit.dimensionless:
            raise ValueError("density: got a dimensionless map (HU?); convert it with density_from_hu")
        dims = Q_(1, density.unit).dimensionality
        if dims != Q_(1, "g/mL").dimensionality:
            raise ValueError(f"density: expected a mass density map (g/mL), got unit {density.unit:~P}")
        factor = float(Q_(1, density.unit).to("g/mL").magnitude)
        arr = np.asarray(density.array)
        if factor != 1.0:
            arr = arr * factor
        lo, hi = arr.min(), arr.max()
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0:
            raise ValueError("density: values must be finite and > 0 g/mL (air is about 0.0012 g/mL)")
        return arr
    try:
        return _density_g_ml(density)
    except (pint.errors.PintError, TypeError, AttributeError) as exc:  # unparsable input
        raise ValueError(f"density: expected a mass density such as 1.03 g/mL or a Volume, got {density!r}") from exc


def _energy_factor(activity: Volume, nuclide) -> float:
    """(T1/2/ln 2) * E_mean / V, in Gy * (g/mL) per Bq: dose = factor * A[Bq] / rho[g/mL]."""
    f = nuclide.mean_life * nuclide.mean_beta_energy / (activity.voxel_volume * Q_(1, "g/mL"))
    return float((f * Q_(1, "Bq")).to("Gy").magnitude)  # Gy per Bq at unit density


def local_deposition(activity: Volume, density=LIVER_DENSITY, *, nuclide=Y90, dtype=np.float64) -> Volume:
    """Dose map by local energy deposition, D_i = K * A_i / m_i (complete decay).

    Parameters
    ----------
    activity : Volume
        Activity per voxel [Bq-like] or concentration [Bq/mL-like] at the reference time;
        finite and >= 0.
    density : pint.Quantity or Volume
        Constant density [g/mL] (default 1.03 g/mL) or a density map [g/mL] on the same grid
        (see :func:`density_from_hu`).
    nuclide : dosimetry.isotope.Radionuclide
        Half-life and mean beta energy; default Y-90 (K = 49.77 Gy kg/GBq).
    dtype : numpy dtype
        Output precision (float64 default, float32 allowed).

    Returns
    -------
    Volume
        Absorbed dose [Gy] on the activity grid.
    """
    _check_volume(activity, "activity")
    scale = _activity_scale_bq(activity)
    arr = np.asarray(activity.array)
    _check_activity_values(arr)
    rho = _density_array(density, activity)
    f = _energy_factor(activity, nuclide) * scale
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype: expected float32 or float64, got {dtype}")
    dose = np.multiply(arr, f, dtype=dtype)
    dose /= np.asarray(rho, dtype=dtype) if np.ndim(rho) else dtype.type(rho)
    return activity.with_array(dose, "Gy")


def _kernel_fractions(kernel, activity: Volume, kernel_density: float, nuclide) -> np.ndarray:
    """Absorbed-fraction kernel from None, a spacing, or a dose-voxel kernel Quantity."""
    sp = activity.spacing_mm
    if kernel is None:
        return absorbed_fraction_kernel(Q_(sp, "mm"), density=Q_(kernel_density, "g/mL"))
    if isinstance(kernel, Volume) or (
        isinstance(kernel, pint.Quantity) and kernel.dimensionality == Q_(1, "mm").dimensionality
    ):
        ks = _spacing_mm(kernel)
        if not np.allclose(ks, sp, atol=1e-3):
            raise ValueError(f"kernel: spacing {ks} mm differs from the activity spacing {sp} mm")
        return absorbed_fraction_kernel(Q_(sp, "mm"), density=Q_(kernel_density, "g/mL"))
    if isinstance(kernel, pint.Quantity):
        arr = np.asarray(kernel.magnitude, dtype=float)
        if arr.ndim != 3 or any(n % 2 == 0 for n in arr.shape):
            raise ValueError(f"kernel: expected a 3-D array with odd sizes, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)) or arr.min() < 0:
            raise ValueError("kernel: values must be finite and >= 0")
        mass = Q_(kernel_density * float(np.prod(sp)) / 1000.0, "g")
        if kernel.dimensionality == Q_(1, "Gy").dimensionality:  # per unit cumulated activity
            unit_dose = nuclide.mean_beta_energy / mass / Q_(1, "Bq * s")
        elif kernel.dimensionality == Q_(1, "Gy/GBq").dimensionality:  # per administered activity
            unit_dose = nuclide.mean_beta_energy * nuclide.mean_life / mass
        else:
            raise ValueError(f"kernel: expected S-values in mGy/(MBq s) or Gy/GBq, got {kernel.units:~P}")
        phi = (kernel / unit_dose).to("dimensionless").magnitude
        if not all(np.allclose(phi, np.flip(phi, axis=a), rtol=1e-6, atol=1e-12 * phi.max()) for a in range(3)):
            raise ValueError("kernel: must be symmetric under reflection of each axis")
        return np.asarray(phi, dtype=float)
    raise ValueError(
        f"kernel: expected None, a spacing Quantity, or a dose-voxel kernel Quantity, got {type(kernel).__name__}"
    )


def _cos_matrix(n_fft: int, half: int, n_freq: int, dtype) -> np.ndarray:
    """cos(2 pi f d / n_fft) for f = 0..n_freq-1 and d = -half..half."""
    f = np.arange(n_freq, dtype=np.float64)[:, None]
    d = np.arange(-half, half + 1, dtype=np.float64)[None, :]
    return np.cos(2.0 * np.pi * f * d / n_fft).astype(dtype)


def _kernel_spectrum(phi: np.ndarray, n_fft: tuple, dtype) -> np.ndarray:
    """Real DFT (rfftn layout) of the reflection-symmetric kernel centred at index 0.

    Symmetry under each axis reflection makes the transform real:
    K(f) = sum_d phi(d) prod_a cos(2 pi f_a d_a / N_a); evaluated separably by three small
    matrix products instead of a full-size FFT of a mostly-zero array.
    """
    h = [(s - 1) // 2 for s in phi.shape]
    c2 = _cos_matrix(n_fft[2], h[2], n_fft[2] // 2 + 1, np.float64)
    c1 = _cos_matrix(n_fft[1], h[1], n_fft[1], np.float64)
    c0 = _cos_matrix(n_fft[0], h[0], n_fft[0], dtype)
    t = phi @ c2.T  # (k0, k1, m2)
    t = np.einsum("fb,abm->afm", c1, t)  # (k0, n1, m2)
    k0 = t.shape[0]
    out = c0 @ t.reshape(k0, -1).astype(dtype)  # (n0, n1 * m2)
    return out.reshape(n_fft[0], n_fft[1], n_fft[2] // 2 + 1)


#: Kernel spectra of small grids, by (kernel array bytes, shape, FFT size, dtype): a run convolves
#: the same kernel on the same grid several times (dose, lungs, uncertainty samples) and at 64^3
#: the spectrum cost as much as the FFTs (issue 22). Keyed on the scaled kernel itself, so another
#: spacing, density, unit or nuclide is another entry; large spectra are not kept (memory).
_SPECTRA: dict = {}
_SPECTRA_MAX_BYTES = 2**25  # 32 MiB in all; a 128^3 grid's spectrum is about 8 MiB in float32
_SPECTRUM_CACHED_MAX = 2**24  # 16 MiB: spectra above this are recomputed


def _remembered_spectrum(phi: np.ndarray, n_fft: tuple, dtype) -> np.ndarray:
    """:func:`_kernel_spectrum`, remembered for small grids (read-only array; see :data:`_SPECTRA`)."""
    dtype = np.dtype(dtype)
    size = n_fft[0] * n_fft[1] * (n_fft[2] // 2 + 1) * dtype.itemsize
    if size > _SPECTRUM_CACHED_MAX:
        return _kernel_spectrum(phi, n_fft, dtype)
    phi = np.ascontiguousarray(phi)
    key = (phi.tobytes(), phi.dtype.str, phi.shape, tuple(n_fft), dtype.str)
    spec = _SPECTRA.get(key)
    if spec is None:
        spec = _kernel_spectrum(phi, n_fft, dtype)
        spec.flags.writeable = False
        while _SPECTRA and sum(v.nbytes for v in _SPECTRA.values()) + spec.nbytes > _SPECTRA_MAX_BYTES:
            _SPECTRA.pop(next(iter(_SPECTRA)))  # the oldest first
        _SPECTRA[key] = spec
    return spec


def convolve_dose(
    activity: Volume,
    kernel=None,
    *,
    density=LIVER_DENSITY,
    kernel_density=LIVER_DENSITY,
    nuclide=Y90,
    dtype=np.float32,
    workers: int = -1,
    max_chunk_voxels: int = 2**25,
) -> Volume:
    """Dose map by convolution of the activity with the Y-90 dose-voxel kernel (complete decay).

    Parameters
    ----------
    activity : Volume
        Activity per voxel [Bq-like] or concentration [Bq/mL-like] at the reference time;
        finite and >= 0.
    kernel : None, pint.Quantity or Volume, optional
        ``None`` (default) or a spacing [length] equal to the activity's: the kernel of
        :func:`~dosimetry.voxel.kernel.dose_voxel_kernel` at the activity spacing. Or an
        S-value array (odd sizes, reflection-symmetric) built at this spacing, in
        mGy/(MBq s)-like units (per cumulated activity) or Gy/GBq-like (per administered
        activity, complete decay), for a medium of density ``kernel_density``.
    density : pint.Quantity or Volume
        Constant density [g/mL] (default 1.03 g/mL) or a density map [g/mL] on the same grid;
        the deposited energy is divided by the local mass.
    kernel_density : pint.Quantity
        Density of the medium the kernel is built for [g/mL]; default 1.03 g/mL.
    nuclide : dosimetry.isotope.Radionuclide
        Half-life and mean beta energy; default Y-90.
    dtype : numpy dtype
        ``numpy.float32`` (default; relative error ~1e-6 of the maximum) or ``numpy.float64``.
    workers : int
        Threads for scipy.fft (-1: all cores).
    max_chunk_voxels : int
        Largest padded FFT block [voxels]; bigger grids are processed in slabs along axis 0
        (overlap-save), which bounds memory for CT-sized grids.

    Returns
    -------
    Volume
        Absorbed dose [Gy] on the activity grid. Energy carried beyond the grid is lost
        (zero activity assumed outside). Negative FFT round-off is clipped to 0. The array
        may be a (non-contiguous) view of the padded FFT result, to save a copy.
    """
    _check_volume(activity, "activity")
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype: expected float32 or float64, got {dtype}")
    scale = _activity_scale_bq(activity)
    arr = np.asarray(activity.array)
    _check_activity_values(arr)
    rho = _density_array(density, activity)
    kd = _density_g_ml(kernel_density)
    phi = _kernel_fractions(kernel, activity, kd, nuclide)
    f = _energy_factor(activity, nuclide)  # Gy (g/mL) / Bq

    return activity.with_array(_overlap_save(arr, phi, scale, f, rho, dtype, workers, max_chunk_voxels), "Gy")


def _overlap_save(arr, phi, scale: float, f: float, rho, dtype, workers: int, max_chunk_voxels: int) -> np.ndarray:
    """The dose array of :func:`convolve_dose`: ``arr`` convolved with the kernel fractions ``phi``
    by FFT, in slabs along axis 0 (overlap-save) when the padded grid exceeds ``max_chunk_voxels``;
    ``scale`` [Bq per unit], ``f`` [Gy (g/mL) / Bq] and the density ``rho`` (a constant folded into
    the kernel, or an array dividing each slab)."""
    n = arr.shape
    h = tuple((s - 1) // 2 for s in phi.shape)
    n1 = scipy.fft.next_fast_len(n[1] + h[1], real=True)
    n2 = scipy.fft.next_fast_len(n[2] + h[2], real=True)
    plane = n1 * n2
    # slab thickness (output slices per block) so that the padded block fits max_chunk_voxels
    full0 = scipy.fft.next_fast_len(n[0] + h[0], real=True)
    if full0 * plane <= max_chunk_voxels:
        t = n[0]
    else:  # as few slabs as fit, of equal thickness: a thin last slab would cost a whole padded block (issue 22)
        t_max = max(1, max_chunk_voxels // plane - 3 * h[0])
        slabs = -(-n[0] // t_max)
        t = -(-n[0] // slabs)
    n0 = scipy.fft.next_fast_len(min(n[0], t + 2 * h[0]) + h[0], real=True)
    nfft = (n0, n1, n2)

    single = t >= n[0]
    out = None if single else np.empty(n, dtype=dtype)
    spec = None
    for z0 in range(0, n[0], t):
        z1 = min(n[0], z0 + t)
        a, b = max(0, z0 - h[0]), min(n[0], z1 + h[0])
        buf = np.zeros(nfft, dtype=dtype)
        np.copyto(buf[: b - a, : n[1], : n[2]], arr[a:b], casting="unsafe")
        spectrum = scipy.fft.rfftn(buf, workers=workers, overwrite_x=True)
        del buf
        if spec is None:
            # fold the unit scale, K / V and a constant density into the kernel (tiny array)
            spec = _remembered_spectrum(phi * (scale * (f if np.ndim(rho) else f / rho)), nfft, dtype)
        spectrum *= spec
        if single:  # free the kernel spectrum before the inverse transform
            spec = None
        # inverse: complex transforms along axes 0 and 1 in place, then the real inverse along
        # axis 2 for the needed rows only (faster than irfftn over all three axes)
        spectrum = scipy.fft.ifftn(spectrum, axes=(0, 1), workers=workers, overwrite_x=True)
        energy = scipy.fft.irfft(spectrum[z0 - a : z1 - a, : n[1]], n=n2, axis=2, workers=workers)
        del spectrum
        block = energy[:, :, : n[2]]
        if single:
            dst = block  # return a view of the padded result (saves a full copy)
        else:
            assert out is not None  # allocated when there are several slabs
            dst = out[z0:z1]
            np.copyto(dst, block, casting="unsafe")
        if np.ndim(rho):
            dst /= rho[z0:z1]
        np.maximum(dst, 0, out=dst)
        del energy, block
        if single:
            out = dst
    assert out is not None  # the last slab's view, or the array of every slab
    return out


def lung_kernel_dose(
    activity: Volume,
    lung_mask: Volume,
    *,
    density,
    method: str = "density_divided",
    lung_density=None,
    nuclide=Y90,
    dtype=np.float32,
) -> tuple[Volume, pint.Quantity | None]:
    """Kernel dose with a named treatment of the lungs (:data:`LUNG_METHODS`).

    ``"density_divided"``: :func:`convolve_dose` with the soft-tissue (1.03 g/mL) kernel; the energy
    is divided by the local density. ``"density_scaled"``: the activity inside the lungs (weighted
    by the mask fraction) is convolved with the kernel range-scaled to the lung density
    (:func:`~dosimetry.voxel.kernel.absorbed_fraction_kernel` at that density), the rest with the
    soft-tissue kernel; the energy is divided by the local density. In a homogeneous lung of the
    scaling density this is exact up to the point kernel itself (range scaling, Cross et al. 1992).

    Parameters
    ----------
    activity : Volume
        Activity per voxel or concentration at the reference time; finite, >= 0.
    lung_mask : Volume
        Both lungs, boolean or fractional, on the activity grid.
    density : pint.Quantity or Volume
        Constant density or density map [g/mL] on the activity grid.
    method : {"density_divided", "density_scaled"}
        Lung method.
    lung_density : pint.Quantity, optional
        Density for the range scaling [g/mL], 0.01-1.2 g/mL; default the mean of ``density`` over
        the voxels at least half inside the lungs.
    nuclide, dtype
        As for :func:`convolve_dose`.

    Returns
    -------
    tuple
        (dose [Gy] Volume, the lung density used for the scaling [g/mL] or None).
    """
    if method not in LUNG_METHODS:
        raise ValueError(f"lung_method: expected one of {', '.join(LUNG_METHODS)}, got {method!r}")
    if method == "density_divided":
        return convolve_dose(activity, density=density, nuclide=nuclide, dtype=dtype), None
    _check_volume(activity, "activity")
    w = _mask_fractions(lung_mask, activity, "lung_mask")
    if not np.any(w > 0):
        raise ValueError("lung_mask: mask is empty")
    if lung_density is None:
        rho = _density_array(density, activity)
        # mean over voxels at least half inside the lungs (partial boundary voxels are mostly
        # chest wall or diaphragm and would raise the mean)
        core = w >= 0.5 if np.any(w >= 0.5) else w > 0
        rho_l = float(np.mean(rho[core])) if np.ndim(rho) else float(rho)
    else:
        rho_l = _density_g_ml(lung_density)
    if not 0.01 <= rho_l <= 1.2:
        raise ValueError(f"lung_density: {rho_l:.4g} g/mL is outside the allowed 0.01-1.2 g/mL")
    a = np.asarray(activity.array, dtype=np.float64)
    rest = convolve_dose(activity.with_array(a * (1.0 - w)), density=density, nuclide=nuclide, dtype=dtype)
    lung = convolve_dose(
        activity.with_array(a * w), density=density, kernel_density=Q_(rho_l, "g/mL"), nuclide=nuclide, dtype=dtype
    )
    total = np.asarray(rest.array) + np.asarray(lung.array)
    return activity.with_array(total.astype(dtype, copy=False), "Gy"), Q_(rho_l, "g/mL")
