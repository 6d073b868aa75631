"""Dose metrics per region: cumulative DVH, mean / min / max, D_x, V_x, BED, EUD, T/N ratio.

Conventions (volumes are voxel counts, or the sum of mask weights for fractional masks):

* Cumulative DVH: ``V(d)`` = fraction of the region's volume receiving a dose >= ``d``.
  It is a step function evaluated exactly on the voxel doses; :meth:`DVH.curve` only samples
  it for display.
* ``V_x`` (e.g. V100, V205): ``V(x Gy)``, a fraction in [0, 1].
* ``D_x`` (e.g. D70, D95): the minimum dose received by the hottest ``x`` % of the volume, i.e.
  sort the voxels by decreasing dose and take the dose of the first voxel at which the
  cumulative volume reaches ``x`` % (the largest ``d`` with ``V(d) >= x / 100``).
  D_100 is the minimum dose, D_0 the maximum.
* BED for a decaying source with mono-exponential repair (Dale, Br J Radiol 58:515-528, 1985):
  ``BED = D (1 + D T_rep / ((T_rep + T_phys) (alpha/beta)))``, with T_rep the repair
  half-time and T_phys the physical half-life (Y-90: 64.1 h). Per-region mean BED is the mean of
  the voxel BED map (not the BED of the mean dose).
* EUD (O'Donoghue, J Nucl Med 40:1337-1341, 1999): ``EUD = -(1/alpha) ln( mean_i exp(-alpha D_i) )``,
  the uniform dose giving the same expected surviving fraction, alpha the radiosensitivity
  [1/Gy].
* Tumour-to-normal ratio: mean activity concentration in the tumour mask over that in the
  normal-tissue mask (e.g. from Tc-99m MAA SPECT counts).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pint

from ..isotope import Y90
from ..units import Q_, quantity
from .geometry import Volume

__all__ = [
    "DVH",
    "RegionStats",
    "dvh",
    "region_stats",
    "D_PERCENT",
    "V_DOSE_GY",
    "bed",
    "mean_bed",
    "eud",
    "tumour_to_normal_ratio",
    "sampling_recovery",
    "sampled_mean_fraction",
]

#: A tumour whose voxel mean dose, by voxel sampling alone, is expected to read this much or more
#: below its true mean gets a warning (issue #11).
SAMPLING_WARNING = 0.05


def _mask_weights(mask, like: Volume, name: str = "mask") -> np.ndarray:
    """Validated mask weights in [0, 1] on ``like``'s grid (bool masks give 0/1)."""
    if not isinstance(mask, Volume):
        raise ValueError(f"{name}: expected a Volume (boolean or fractional mask), got {type(mask).__name__}")
    if not mask.same_grid(like):
        raise ValueError(f"{name}: grid (shape, spacing, origin or direction) differs from the dose/activity grid; resample it first")
    m = np.asarray(mask.array)
    if m.dtype == bool:
        w = m.astype(np.float64)
    else:
        w = np.asarray(m, dtype=np.float64)
        if not np.all(np.isfinite(w)) or w.min() < 0 or w.max() > 1:
            raise ValueError(f"{name}: mask values must be booleans or fractions in [0, 1]")
    if not np.any(w > 0):
        raise ValueError(f"{name}: mask is empty")
    return w


def _mask_voxels(mask, like: Volume, name: str = "mask") -> tuple:
    """(voxels with a weight > 0 (bool array), their weights as float64): :func:`_mask_weights`'s
    checks and values without a float64 copy of the whole mask (issue 22; float32 fractions and
    booleans convert exactly, so the checks and the selection are the same)."""
    if isinstance(mask, Volume) and mask.same_grid(like) and np.asarray(mask.array).dtype in (np.dtype(bool), np.dtype(np.float32), np.dtype(np.float64)):
        m = np.asarray(mask.array)
        if m.dtype == bool:
            if not m.any():
                raise ValueError(f"{name}: mask is empty")
            return m, np.ones(int(np.count_nonzero(m)), dtype=np.float64)
        if not np.all(np.isfinite(m)) or m.min() < 0 or m.max() > 1:
            raise ValueError(f"{name}: mask values must be booleans or fractions in [0, 1]")
        sel = m > 0
        if not sel.any():
            raise ValueError(f"{name}: mask is empty")
        return sel, m[sel].astype(np.float64)
    w = _mask_weights(mask, like, name)  # every other case, and the refusals of a wrong type or grid
    sel = w > 0
    return sel, w[sel]


def _dose_values(dose: Volume) -> np.ndarray:
    if not isinstance(dose, Volume):
        raise ValueError(f"dose: expected a Volume, got {type(dose).__name__}")
    if Q_(1, dose.unit).dimensionality != Q_(1, "Gy").dimensionality:
        raise ValueError(f"dose: expected an absorbed dose map (Gy), got unit {dose.unit:~P}")
    d = np.asarray(dose.array, dtype=np.float64) * float(Q_(1, dose.unit).to("Gy").magnitude)
    if not np.all(np.isfinite(d)):
        raise ValueError("dose: contains non-finite values")
    return d


@dataclass(frozen=True)
class DVH:
    """Cumulative dose-volume histogram of one region, exact on the voxel doses.

    Attributes
    ----------
    doses : numpy.ndarray
        Voxel doses in the region [Gy], sorted by decreasing dose.
    weights : numpy.ndarray
        Volume weight of each voxel (1 for boolean masks), same order.
    voxel_volume : pint.Quantity
        Volume of one voxel [mL].
    """

    doses: np.ndarray
    weights: np.ndarray
    voxel_volume: pint.Quantity

    @property
    def volume(self) -> pint.Quantity:
        """Region volume [mL] (sum of weights times voxel volume)."""
        return (float(self.weights.sum()) * self.voxel_volume).to("mL")

    @property
    def mean(self) -> pint.Quantity:
        """Volume-weighted mean dose [Gy]."""
        return Q_(float(np.dot(self.doses, self.weights) / self.weights.sum()), "Gy")

    @property
    def min(self) -> pint.Quantity:
        """Minimum voxel dose [Gy]."""
        return Q_(float(self.doses[-1]), "Gy")

    @property
    def max(self) -> pint.Quantity:
        """Maximum voxel dose [Gy]."""
        return Q_(float(self.doses[0]), "Gy")

    @functools.cached_property
    def _cumulative(self) -> tuple:
        """(cumulative volume fraction with a leading 0, the same without it), computed once per DVH
        (region_stats asks for 5 D_x and 3 V_x; issue 22)."""
        return (np.concatenate([[0.0], np.cumsum(self.weights)]) / self.weights.sum(),
                np.cumsum(self.weights) / self.weights.sum())

    def volume_fraction(self, dose) -> np.ndarray | float:
        """V(d): fraction of the volume receiving at least ``dose`` (array or scalar) [Gy]."""
        d = quantity(dose, "Gy", "dose").magnitude
        cum = self._cumulative[0]
        # number of voxels with dose >= d: doses are sorted decreasing
        count = np.searchsorted(-self.doses, -np.asarray(d, dtype=float), side="right")
        out = cum[count]
        return float(out) if np.ndim(out) == 0 else out

    def dose_at(self, percent) -> pint.Quantity:
        """D_x: minimum dose to the hottest ``percent`` % of the volume [Gy], 0 <= x <= 100."""
        x = np.asarray(percent, dtype=float)
        if not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x > 100):
            raise ValueError(f"percent: expected values in [0, 100] %, got {percent!r}")
        cum = self._cumulative[1]
        # first voxel at which the cumulative volume reaches x % (tolerate float round-off)
        idx = np.searchsorted(cum, x / 100.0 - 1e-12, side="left")
        idx = np.clip(idx, 0, self.doses.size - 1)
        out = self.doses[idx]
        return Q_(float(out) if np.ndim(out) == 0 else out, "Gy")

    def curve(self, n_points: int = 200):
        """(dose [Gy], V(dose)) sampled on ``n_points`` doses from 0 to the maximum, for plotting."""
        grid = np.linspace(0.0, float(self.doses[0]), int(n_points))
        return Q_(grid, "Gy"), self.volume_fraction(Q_(grid, "Gy"))


def dvh(dose: Volume, mask: Volume) -> DVH:
    """Cumulative DVH of ``dose`` inside ``mask``.

    Parameters
    ----------
    dose : Volume
        Absorbed dose [Gy-like].
    mask : Volume
        Boolean or fractional (weights in [0, 1]) mask on the same grid.

    Returns
    -------
    DVH
    """
    d = _dose_values(dose)
    sel, wts = _mask_voxels(mask, dose)
    vals = d[sel]
    order = np.argsort(-vals, kind="stable")
    return DVH(vals[order], wts[order], dose.voxel_volume)


@dataclass(frozen=True)
class RegionStats:
    """Summary of a region's dose (all [Gy] except the V_x fractions and the volume [mL])."""

    volume: pint.Quantity
    mean: pint.Quantity
    min: pint.Quantity
    max: pint.Quantity
    d: dict  # {x (percent): D_x [Gy]}
    v: dict  # {dose [Gy] value: V_x fraction}


#: The D_x (volume percentages) and V_x (doses [Gy]) of every region's figures by default (the
#: report's region table and the cohort's regions.csv show these).
D_PERCENT = (2, 50, 70, 95, 98)
V_DOSE_GY = (100, 150, 205)


def region_stats(dose: Volume, mask: Volume, *, d_percent=D_PERCENT, v_dose=V_DOSE_GY) -> RegionStats:
    """Mean, min, max, D_x and V_x of a region.

    Parameters
    ----------
    dose : Volume
        Absorbed dose [Gy].
    mask : Volume
        Region mask on the same grid.
    d_percent : sequence of float
        Volume percentages x for D_x [%].
    v_dose : sequence of float
        Doses for V_x [Gy].
    """
    h = dvh(dose, mask)
    return RegionStats(
        volume=h.volume,
        mean=h.mean,
        min=h.min,
        max=h.max,
        d={x: h.dose_at(x) for x in d_percent},
        v={x: h.volume_fraction(Q_(x, "Gy")) for x in v_dose},
    )


def bed(dose, alpha_beta, repair_half_time, half_life=None):
    """Biologically effective dose for a decaying source (Dale's formula).

    Parameters
    ----------
    dose : pint.Quantity or Volume
        Absorbed dose for complete decay [Gy]; array or map.
    alpha_beta : pint.Quantity
        alpha/beta ratio [Gy] (liver 2.5 Gy, tumour 10 Gy typical), > 0.
    repair_half_time : pint.Quantity
        Sub-lethal damage repair half-time [time] (liver 2.5 h, tumour 1.5 h typical), > 0.
    half_life : pint.Quantity, optional
        Physical half-life [time]; default Y-90, 64.1 h.

    Returns
    -------
    pint.Quantity or Volume
        BED [Gy], same shape / grid as ``dose``.
    """
    ab = quantity(alpha_beta, "Gy", "alpha_beta", minimum=0, include_minimum=False).magnitude
    trep = quantity(repair_half_time, "h", "repair_half_time", minimum=0, include_minimum=False).magnitude
    tphys = quantity(Y90.half_life if half_life is None else half_life, "h", "half_life", minimum=0, include_minimum=False).magnitude
    g = trep / ((trep + tphys) * ab)  # 1/Gy
    if isinstance(dose, Volume):
        d = _dose_values(dose)
        return dose.with_array(d * (1.0 + d * g), "Gy")
    d = quantity(dose, "Gy", "dose").magnitude
    return Q_(d * (1.0 + d * g), "Gy")


def mean_bed(dose: Volume, mask: Volume, alpha_beta, repair_half_time, half_life=None) -> pint.Quantity:
    """Mean of the voxel BED map over a region [Gy] (see :func:`bed` for the parameters)."""
    b = bed(dose, alpha_beta, repair_half_time, half_life)
    w = _mask_weights(mask, dose)
    return Q_(float(np.dot(b.array.ravel(), w.ravel()) / w.sum()), "Gy")


def eud(dose: Volume, mask: Volume, alpha) -> pint.Quantity:
    """Equivalent uniform dose of a region (O'Donoghue 1999), EUD = -ln(mean exp(-alpha D)) / alpha.

    Parameters
    ----------
    dose : Volume
        Absorbed dose [Gy].
    mask : Volume
        Region mask (weights in [0, 1]) on the same grid.
    alpha : pint.Quantity
        Radiosensitivity [1/Gy], > 0.

    Returns
    -------
    pint.Quantity
        EUD [Gy]; lies between the minimum and the mean dose.
    """
    a = quantity(alpha, "1/Gy", "alpha", minimum=0, include_minimum=False).magnitude
    h = dvh(dose, mask)
    dmin = h.doses[-1]
    # shift by the minimum for numerical stability: exp(-a d) = exp(-a dmin) exp(-a (d - dmin))
    s = np.dot(np.exp(-a * (h.doses - dmin)), h.weights) / h.weights.sum()
    return Q_(float(dmin - np.log(s) / a), "Gy")


def tumour_to_normal_ratio(activity: Volume, tumour_mask: Volume, normal_mask: Volume) -> float:
    """Mean activity (or count) concentration in the tumour over that in normal tissue.

    Parameters
    ----------
    activity : Volume
        Activity, activity concentration or detector counts (e.g. MAA SPECT), finite, >= 0.
    tumour_mask, normal_mask : Volume
        Non-overlapping masks on the same grid (weights in [0, 1]; a shared voxel must have fractions summing to <= 1).

    Returns
    -------
    float
        Dimensionless ratio T/N.
    """
    if not isinstance(activity, Volume):
        raise ValueError(f"activity: expected a Volume, got {type(activity).__name__}")
    a = np.asarray(activity.array, dtype=np.float64)
    if not np.all(np.isfinite(a)) or a.min() < 0:
        raise ValueError("activity: values must be finite and >= 0")
    wt = _mask_weights(tumour_mask, activity, "tumour_mask")
    wn = _mask_weights(normal_mask, activity, "normal_mask")
    if np.any(wt + wn > 1.0 + 1e-6):  # fractional masks may share a boundary voxel
        raise ValueError("normal_mask: overlaps tumour_mask; use normal tissue = organ minus tumours")
    ct = np.dot(a.ravel(), wt.ravel()) / wt.sum()
    cn = np.dot(a.ravel(), wn.ravel()) / wn.sum()
    if cn <= 0:
        raise ValueError("normal_mask: mean activity in normal tissue is 0; the ratio is undefined")
    return float(ct / cn)


def sampling_recovery(mask: Volume) -> float:
    """Occupancy-weighted mean occupancy ``s = sum f_i^2 / sum f_i`` of a fractional ROI mask.

    On an unblurred image whose voxels hold the volume average of the activity, a region of
    uniform concentration ``c_T`` in a uniform surrounding ``c_N`` has voxels
    ``a_i = f_i c_T + (1 - f_i) c_N``, so its occupancy-weighted mean is
    ``c_N + (c_T - c_N) s``: ``s`` is the region's recovery coefficient for voxel sampling alone
    (the geometric transfer of Rousset et al., J Nucl Med 39:904-911, 1998, with a box-shaped
    point-spread function). 1 for a boolean mask or a region made of whole voxels.
    """
    w = _mask_weights(mask, mask)
    return float((w * w).sum() / w.sum())


def sampled_mean_fraction(recovery: float, ratio: float) -> float:
    """Expected (occupancy-weighted voxel mean) / (true mean) for a uniform region with
    concentration ratio ``ratio`` to its surroundings and sampling recovery ``recovery``
    (:func:`sampling_recovery`): ``(1 + (ratio - 1) recovery) / ratio``."""
    if ratio <= 0:
        raise ValueError(f"ratio: must be > 0, got {ratio!r}")
    return (1.0 + (ratio - 1.0) * recovery) / ratio
