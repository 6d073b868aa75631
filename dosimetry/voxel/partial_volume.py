"""Region-based partial-volume correction: the geometric transfer matrix (GTM).

Rousset, Ma and Evans, "Correction for partial volume effects in PET: principle and validation",
J Nucl Med 39:904-911, 1998. The image is modelled as regions of uniform concentration ``c_i``
blurred by the camera's point-spread function (PSF); the mean of the image over the ROI of region
j is then

    t_j = sum_i w_ij c_i,     w_ij = sum_v f_j(v) RSF_i(v) / sum_v f_j(v),   RSF_i = PSF (*) f_i

(Rousset 1998, eqs. 3-5: ``RSF_i`` is region i's "regional spread function", ``w_ij`` the
fraction of it seen in ROI j). Solving the small linear system ``W c = t`` gives every region's
corrected mean concentration in one pass over the regions (one blur per region). ``f_i`` are the
ROIs' partial-volume fractions on the image grid, so the box of each voxel (the image's voxels
hold volume averages) is part of the model: with no blur (FWHM 0) ``w_ij = sum f_i f_j / sum f_j``
and the GTM undoes voxel sampling alone (:func:`dosimetry.voxel.sampling_recovery` is its
one-region diagonal).

Assumptions (docs/partial-volume.md): uniform concentration in each region; a known, spatially
invariant Gaussian PSF of the stated FWHM; regions that hold all the activity (the rest of the
field of view is a region of its own); registration of ROIs and image.

The beta self-absorption of a tumour (:func:`self_absorbed_fraction`) turns a corrected
concentration into a kernel-consistent mean dose: the mean over the tumour of the point kernel's
energy from its own uniform activity, computed on the tumour's shape at about 1.5 mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pint
import scipy.fft
from scipy import ndimage

from ..errors import InputError
from ..isotope import LIVER_DENSITY
from ..units import Q_, quantity
from .geometry import Volume
from .kernel import absorbed_fraction_kernel

__all__ = ["PVC_METHODS", "check_partial_volume", "MAX_CONDITION", "REST", "GTMResult", "psf_sigma_voxels", "transfer_matrix", "gtm_correct", "self_absorbed_fraction"]

#: Partial-volume correction methods by name (``--partial-volume``, ``imaging.partial_volume``).
PVC_METHODS = {"gtm": "geometric transfer matrix (Rousset, Ma and Evans, J Nucl Med 39:904, 1998), Gaussian PSF"}

#: Largest condition number (2-norm) of the transfer matrix accepted. The relative error of the
#: corrected means is bounded by cond(W) times that of the ROI means (any linear system,
#: e.g. Golub and Van Loan, Matrix Computations, 4th ed., sec. 2.6); with ROI means known to about
#: 1 % (counts, registration) 100 lets a corrected mean be wrong by the size of the figure itself.
#: A project limit, not a published one.
MAX_CONDITION = 100.0

#: Name of the region that holds the rest of the field of view (1 - the sum of the ROI fractions).
REST = "(rest of the field of view)"

#: FWHM = 2 sqrt(2 ln 2) sigma for a Gaussian.
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True)
class GTMResult:
    """Corrected mean concentration per region (Rousset et al. 1998).

    Attributes
    ----------
    names : tuple of str
        The regions, in the order of the matrix (the rest of the field of view last, when present).
    matrix : numpy.ndarray
        ``matrix[j, i]`` = w_ij, the mean over ROI j of region i's blurred fractions.
    observed : pint.Quantity
        Mean of the image over each ROI (fraction-weighted), in the image's unit per voxel.
    corrected : pint.Quantity
        The GTM solution, same unit.
    condition : float
        2-norm condition number of ``matrix``.
    fwhm : pint.Quantity
        PSF FWHM [mm].
    """

    names: tuple
    matrix: np.ndarray
    observed: pint.Quantity
    corrected: pint.Quantity
    condition: float
    fwhm: pint.Quantity

    def index(self, name: str) -> int:
        return self.names.index(name)

    def corrected_mean(self, name: str) -> pint.Quantity:
        return self.corrected[self.index(name)]

    def observed_mean(self, name: str) -> pint.Quantity:
        return self.observed[self.index(name)]

    def recovery(self, name: str) -> float | None:
        """Observed / corrected mean (the recovery coefficient); None when the corrected mean is 0."""
        i = self.index(name)
        c = float(self.corrected[i].magnitude)
        return float(self.observed[i].magnitude) / c if c != 0 else None


def check_partial_volume(partial_volume, fwhm, field: str = "imaging") -> tuple:
    """(method or None, FWHM [mm] or None), validated: a method needs a FWHM > 0 (the image states none)."""
    if partial_volume is None:
        if fwhm is not None:
            raise InputError(f"{field}.fwhm", "a FWHM is used only with a partial-volume correction; give partial_volume = \"gtm\" too")
        return None, None
    if isinstance(partial_volume, str) and partial_volume.strip().lower() in PVC_METHODS:
        partial_volume = partial_volume.strip().lower()
    if partial_volume not in PVC_METHODS:
        raise InputError(f"{field}.partial_volume", f"{str(partial_volume)[:40]!r} is not a method; choose one of {', '.join(PVC_METHODS)}", allowed=", ".join(PVC_METHODS))
    if fwhm is None:
        raise InputError(
            f"{field}.fwhm",
            "a partial-volume correction needs the camera's FWHM (e.g. \"10 mm\"): it is never guessed, and no DICOM attribute states "
            "the FWHM of a reconstructed image (Spatial Resolution (0018,1050) is the equipment's limiting resolution)",
            allowed="(0, 30] mm",
        )
    # (0, 30] mm: clinical Tc-99m and Y-90 SPECT and Y-90 PET lie within it (about 5-20 mm); beyond it is a cm/mm slip
    f = quantity(fwhm, "mm", f"{field}.fwhm", minimum=0, include_minimum=False, maximum=30)
    return partial_volume, f.to("mm")


def psf_sigma_voxels(fwhm, spacing_mm) -> tuple:
    """Gaussian sigma per array axis in voxels: FWHM / (2 sqrt(2 ln 2)) / spacing."""
    f = quantity(fwhm, "mm", "fwhm", minimum=0).to("mm").magnitude
    return tuple(f / _FWHM_PER_SIGMA / float(s) for s in spacing_mm)


def _weights(masks: dict, like: Volume) -> dict:
    """Validated fractions (float64) of each mask on ``like``'s grid."""
    out = {}
    for name, m in masks.items():
        if not isinstance(m, Volume) or not m.same_grid(like):
            raise ValueError(f"masks: {name!r} is not a mask on the image grid")
        w = np.asarray(m.array, dtype=np.float64)
        if not np.all(np.isfinite(w)) or w.min() < 0 or w.max() > 1:
            raise ValueError(f"masks: {name!r} must hold booleans or fractions in [0, 1]")
        if not np.any(w > 0):
            raise ValueError(f"masks: {name!r} is empty")
        out[name] = w
    total = sum(out.values())
    if np.any(total > 1.0 + 1e-4):
        raise ValueError("masks: the regions overlap (fractions sum to more than 1); give disjoint regions, e.g. normal liver = liver - tumours")
    return out


def _support(w: np.ndarray, margin=(0, 0, 0)) -> tuple:
    """Slices of the bounding box of ``w != 0``, widened by ``margin`` voxels per axis (clipped to the grid)."""
    out = []
    for ax in range(w.ndim):
        nz = np.flatnonzero(np.any(w != 0, axis=tuple(a for a in range(w.ndim) if a != ax)))
        out.append(slice(max(0, int(nz[0]) - margin[ax]), min(w.shape[ax], int(nz[-1]) + 1 + margin[ax])))
    return tuple(out)


def _overlap(a: tuple, b: tuple) -> tuple | None:
    """Intersection of two boxes of slices (None if empty)."""
    s = tuple(slice(max(x.start, y.start), min(x.stop, y.stop)) for x, y in zip(a, b))
    return None if any(t.start >= t.stop for t in s) else s


def _shift(box: tuple, origin: tuple) -> tuple:
    return tuple(slice(b.start - o.start, b.stop - o.start) for b, o in zip(box, origin))


def _blurred_ones(shape, sigma) -> np.ndarray:
    """``gaussian_filter`` of an all-ones grid (zero outside): the outer product of its 1D filters."""
    out = np.ones(shape)
    for ax, (n, sd) in enumerate(zip(shape, sigma)):
        line = ndimage.gaussian_filter1d(np.ones(n), sd, mode="constant", cval=0.0, truncate=4.0) if sd > 0 else np.ones(n)
        out = out * line.reshape([-1 if a == ax else 1 for a in range(len(shape))])
    return out


def transfer_matrix(masks: dict, fwhm, spacing_mm, *, rest: bool = False) -> tuple:
    """(names, W) for disjoint fractional masks (dict of name to array) and a Gaussian PSF.

    One ``scipy.ndimage.gaussian_filter`` per region (zero outside the grid, truncated at 4 sigma,
    as a camera's blur of an image that holds the whole body); FWHM 0 is no blur. Each region is
    blurred on its bounding box widened by the filter's radius (exact: the filter is zero beyond
    it). With ``rest`` the rest of the field of view, ``1 - sum f``, is the last region
    (:data:`REST`); its blur is the blurred all-ones grid less the regions' blurs (the filter is
    linear), so it costs no 3D filter.
    """
    names = tuple(masks)
    sigma = psf_sigma_voxels(fwhm, spacing_mm)
    radius = tuple(int(4.0 * sd + 0.5) for sd in sigma)  # scipy's radius for truncate = 4
    sums = np.array([masks[n].sum() for n in names])
    boxes = {n: _support(masks[n]) for n in names}
    n = len(names)
    w = np.zeros((n + 1, n + 1)) if rest else np.zeros((n, n))
    rsf_sums = np.empty(n)
    for i, ni in enumerate(names):
        box = _support(masks[ni], radius)
        sub = masks[ni][box]
        rsf = ndimage.gaussian_filter(sub, sigma=sigma, mode="constant", cval=0.0, truncate=4.0) if max(sigma) > 0 else sub
        rsf_sums[i] = rsf.sum()
        for j, nj in enumerate(names):
            both = _overlap(box, boxes[nj])
            if both is not None:
                w[j, i] = float(np.vdot(masks[nj][both], rsf[_shift(both, box)])) / sums[j]
    if not rest:
        return names, w
    shape = next(iter(masks.values())).shape
    ones = _blurred_ones(shape, sigma)
    s_rest = float(np.prod(shape)) - sums.sum()
    for j, nj in enumerate(names):  # ROI j sees the rest: sum f_j (G1 - sum_i RSF_i) / S_j
        w[j, n] = float(np.vdot(masks[nj][boxes[nj]], ones[boxes[nj]])) / sums[j] - w[j, :n].sum()
    w[n, :n] = (rsf_sums - sums @ w[:n, :n]) / s_rest  # the rest sees region i: sum (1 - sum_k f_k) RSF_i
    w[n, n] = (ones.sum() - rsf_sums.sum() - sums @ w[:n, n]) / s_rest
    return names + (REST,), w


def gtm_correct(image: Volume, masks: dict, fwhm) -> GTMResult:
    """Corrected mean of ``image`` over each region by the geometric transfer matrix.

    Parameters
    ----------
    image : Volume
        Activity (per voxel), activity concentration or counts; finite, any sign (noise).
    masks : dict of str to Volume
        Disjoint regions on the image grid (booleans or partial-volume fractions); the rest of the
        field of view is added as the region :data:`REST`.
    fwhm : pint.Quantity or str
        FWHM of the camera's PSF [length], >= 0 (0: voxel sampling only).

    Raises
    ------
    InputError
        ``fwhm`` not a length >= 0; a transfer matrix whose condition number exceeds
        :data:`MAX_CONDITION` (field ``partial_volume``: regions too small or too close for the
        PSF to tell apart).
    ValueError
        Masks not on the image grid, empty or overlapping.
    """
    if not isinstance(image, Volume):
        raise ValueError(f"image: expected a Volume, got {type(image).__name__}")
    a = np.asarray(image.array, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("image: values must be finite")
    fw = quantity(fwhm, "mm", "fwhm", minimum=0)
    weights = _weights(masks, image)
    sums = np.array([weights[n].sum() for n in weights])
    s_rest = float(a.size) - sums.sum()
    rest = s_rest > 1e-6 * a.size
    names, w = transfer_matrix(weights, fw, image.spacing_mm, rest=rest)
    observed = np.array([float(np.vdot(weights[n], a)) / weights[n].sum() for n in weights])
    if rest:  # the rest's mean: what the regions' weights leave of the image
        observed = np.append(observed, (a.sum() - sums @ observed) / s_rest)
    cond = float(np.linalg.cond(w))
    if not cond <= MAX_CONDITION:
        worst = names[int(np.argmin(np.diag(w)))]
        raise InputError(
            "partial_volume",
            f"the geometric transfer matrix is ill-conditioned (condition number {cond:.3g}, limit {MAX_CONDITION:g}) for a "
            f"{fw.to('mm').magnitude:g} mm FWHM: {worst!r} keeps only {np.diag(w).min():.0%} of its own counts, so its corrected "
            "mean would amplify noise and registration error; merge or drop the smallest regions, or do without the correction",
            allowed=f"condition number <= {MAX_CONDITION:g}",
        )
    corrected = np.linalg.solve(w, observed)
    unit = image.unit
    return GTMResult(names=names, matrix=w, observed=Q_(observed, unit), corrected=Q_(corrected, unit), condition=cond, fwhm=fw.to("mm"))


def self_absorbed_fraction(mask: Volume, *, density=LIVER_DENSITY, fine_mm: float = 1.5) -> float:
    """Mean over a region of the fraction of Y-90 beta energy from its own uniform activity that it keeps.

    The region's shape is recovered on a grid about ``fine_mm`` fine that tiles the mask's voxels:
    the fractions are interpolated (trilinear) at the fine voxel centres and the region taken as
    the fine voxels above the level that gives it the mask's volume (``sum f`` voxels). The fine
    grid is convolved with the absorbed-fraction kernel at its spacing
    (:func:`dosimetry.voxel.absorbed_fraction_kernel`, the project's Monte Carlo point kernel);
    the mean over the region's fine voxels is the self-absorbed fraction phi. A uniform
    infinite medium gives the kernel's sum (0.9961). Used with the transport model
    ``D_T = (K / rho) [F c_S + phi (c_T - c_S)]`` for a region inside surroundings of
    concentration ``c_S`` (reciprocity in a homogeneous medium, as the phantom's transport truth).
    """
    w = np.asarray(mask.array, dtype=np.float64)
    sp = np.asarray(mask.spacing_mm, dtype=float)
    n = np.maximum(1, np.ceil(sp / fine_mm).astype(int))
    fine = sp / n
    kernel = absorbed_fraction_kernel(Q_(tuple(fine), "mm"), density=density)
    margin = [int(np.ceil(k // 2 / m)) + 1 for k, m in zip(kernel.shape, n)]
    idx = np.nonzero(w > 0)
    lo = [max(0, int(i.min()) - 1) for i in idx]
    hi = [min(s, int(i.max()) + 2) for i, s in zip(idx, w.shape)]
    box = w[tuple(slice(a, b) for a, b in zip(lo, hi))]
    axes = [(np.arange(box.shape[d] * n[d]) + 0.5) / n[d] - 0.5 for d in range(3)]
    pts = np.meshgrid(*axes, indexing="ij")
    up = ndimage.map_coordinates(box, pts, order=1, mode="constant", cval=0.0)
    count = int(round(box.sum() * int(np.prod(n))))
    if count < 1:
        raise ValueError("mask: too small to resolve on the fine grid")
    level = np.partition(up.ravel(), up.size - count)[up.size - count]
    region = np.pad(up >= level, [(m * k, m * k) for m, k in zip(margin, n)]).astype(np.float64)
    absorbed = convolve_same(region, kernel)
    return float(absorbed[region > 0].mean())


def convolve_same(array: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Linear convolution of ``array`` with ``kernel`` by real FFTs, cropped to ``array``'s shape and centre.

    The arithmetic of ``scipy.signal.fftconvolve(array, kernel, mode="same")`` (full length
    ``n + k - 1`` per axis rounded up to a fast FFT length, centred crop), done with ``scipy.fft``
    alone: importing ``scipy.signal`` costs about 1.5 s at the start of every command (issue 22).
    """
    full = [a + k - 1 for a, k in zip(array.shape, kernel.shape)]
    fast = [scipy.fft.next_fast_len(n, real=True) for n in full]
    axes = tuple(range(array.ndim))
    spectrum = scipy.fft.rfftn(array, fast, axes=axes) * scipy.fft.rfftn(kernel, fast, axes=axes)
    out = scipy.fft.irfftn(spectrum, fast, axes=axes)
    start = [(n - a) // 2 for n, a in zip(full, array.shape)]
    return out[tuple(slice(s, s + a) for s, a in zip(start, array.shape))]
