"""Y-90 dose-voxel kernel in soft tissue at the exact (possibly anisotropic) voxel spacing.

Point kernel
------------
The dose point kernel is Loevinger's beta point-source function (R. Loevinger, "The dosimetry of
beta sources in tissue. The point-source function", Radiology 66:55-62, 1956; reproduced in
ICRU Report 56, 1997, and in Cember, *Introduction to Health Physics*). With ``x`` the distance
from the source and ``u = nu * rho * x``, the absorbed dose per decay is

    J(x) = k / u**2 * { c [1 - (u/c) exp(1 - u/c)] + u exp(1 - u) }     for u < c
    J(x) = k / u**2 * u exp(1 - u)                                        for u >= c

with, for soft tissue (water-like, rho in g/cm^3),

    nu = 18.6 (E0 - 0.036)**-1.37  cm^2/g   (E0 = beta end-point energy in MeV)
    c  = 2 (0.17 <= E0 < 0.5 MeV), 1.5 (0.5 <= E0 < 1.5 MeV), 1 (1.5 <= E0 < 3 MeV)

and k fixed by energy conservation: the integral of rho * J over all space equals the mean beta
energy per decay (Loevinger's normalisation, k proportional to 1 / (3 c**2 - (c**2 - 1) e)).
For Y-90, E0 = 2.2801 MeV (ENSDF / ICRP Publication 107), so c = 1 and nu = 6.146 cm^2/g.
The function has an exponential tail; it is cut at the maximum range of Y-90 betas in soft
tissue (11 mm, TheraSphere / SIR-Spheres instructions for use, scaled by 1.03 g/mL / rho) and
renormalised inside it (the tail beyond 11 mm holds 0.8 % of the energy and is an artefact of
the fit: the CSDA range of a 2.28 MeV electron in water is about 11 mm).

Voxel integration
-----------------
For a decay uniformly distributed in a source voxel, the fraction of the emitted energy
absorbed in the voxel displaced by ``Delta`` (index offset times spacing) is

    phi(Delta) = integral  p(u) * prod_a max(0, 1 - |u_a - Delta_a| / s_a)  d^3u ,

where ``p`` is the point kernel as an energy-fraction density over displacements ``u`` and the
product is the overlap of the target voxel with the source voxel shifted by ``u``, divided by
the voxel volume (the triangle distribution of the source-to-target point difference, exact for
box voxels of sides ``s_a``). The product is exactly the trilinear interpolation weight of the
point ``u`` on the voxel grid, so ``phi`` is obtained by integrating the point kernel over
displacements (Gauss-Legendre in radius, a Fibonacci lattice of directions on each sphere) and
splatting each node's energy fraction trilinearly onto the neighbouring kernel voxels. This is
exact in the anisotropic case and conserves energy node by node; the result is symmetrised over
the three axis reflections (the point kernel is isotropic).

Units and convention
--------------------
:func:`dose_voxel_kernel` returns voxel S-values, the absorbed dose in the target voxel per
decay in the source voxel (per unit *cumulated* activity, mGy / (MBq s), as in MIRD Pamphlet 17
and Lanconelli et al. 2012), or, with ``per="administered"``, the dose for complete decay per
unit administered activity (Gy / GBq), which is the first times the mean life T1/2 / ln 2.
The kernel is built for a homogeneous medium of density ``density`` (default 1.03 g/mL, soft
tissue / liver); the point kernel is scaled from unit density by range scaling
(distances times 1 / rho), and S = phi * E_mean / (rho * V_voxel).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pint

from ..isotope import LIVER_DENSITY, Y90, Y90_MAX_RANGE_TISSUE
from ..units import Q_

__all__ = [
    "Y90_MAX_BETA_ENERGY",
    "loevinger_parameters",
    "loevinger_energy_density",
    "absorbed_fraction_kernel",
    "dose_voxel_kernel",
    "kernel_half_width",
]

#: Y-90 beta end-point energy, 2.2801 MeV (ENSDF evaluation; ICRP Publication 107, 2008).
Y90_MAX_BETA_ENERGY = Q_(2.2801, "MeV")

_E_CONST = math.e


def loevinger_parameters(max_energy=Y90_MAX_BETA_ENERGY) -> tuple[float, float]:
    """Loevinger (1956) soft-tissue parameters ``(nu [cm^2/g], c)`` for a beta end-point energy.

    Parameters
    ----------
    max_energy : pint.Quantity
        Beta end-point energy [energy], 0.17 to 3 MeV (the range of Loevinger's fit).

    Returns
    -------
    tuple of float
        ``nu`` in cm^2/g, ``nu = 18.6 (E0 - 0.036)**-1.37``, and the dimensionless ``c``.
    """
    e0 = float(Q_(max_energy).to("MeV").magnitude)
    if not 0.17 <= e0 < 3.0:
        raise ValueError(f"max_energy: Loevinger's point function covers 0.17 to 3 MeV, got {e0} MeV")
    nu = 18.6 * (e0 - 0.036) ** -1.37  # Loevinger 1956, soft tissue
    c = 2.0 if e0 < 0.5 else (1.5 if e0 < 1.5 else 1.0)
    return nu, c


def loevinger_energy_density(r_mm, density_g_ml: float = 1.03, max_energy=Y90_MAX_BETA_ENERGY) -> np.ndarray:
    """Fraction of the emitted energy absorbed per mm of radius at ``r_mm`` (untruncated).

    This is ``4 pi r^2 rho J(r) / E_mean`` for Loevinger's function, so its integral over
    ``r`` from 0 to infinity is 1.

    Parameters
    ----------
    r_mm : array_like
        Distance from the point source [mm], >= 0.
    density_g_ml : float
        Density of the medium [g/mL].
    max_energy : pint.Quantity
        Beta end-point energy [energy].

    Returns
    -------
    numpy.ndarray
        Energy fraction per unit radius [1/mm].
    """
    nu, c = loevinger_parameters(max_energy)
    scale = nu * density_g_ml / 10.0  # u per mm: nu [cm^2/g] * rho [g/cm^3] * r [cm]
    u = np.asarray(r_mm, dtype=float) * scale
    tail = u * np.exp(1.0 - u)
    inner = c * (1.0 - (u / c) * np.exp(1.0 - u / c)) + tail
    p = np.where(u < c, inner, tail)
    norm = 3.0 * c * c - (c * c - 1.0) * _E_CONST
    return p * scale / norm


def _spacing_mm(spacing) -> tuple[float, float, float]:
    """Validate a voxel spacing: a length Quantity (1 or 3 values) or a Volume."""
    sp = getattr(spacing, "spacing_mm", None)
    if sp is not None:
        vals = np.asarray(sp, dtype=float)
    elif isinstance(spacing, pint.Quantity):
        if spacing.dimensionality != Q_(1, "mm").dimensionality:
            raise ValueError(f"spacing: expected a length, got {spacing:~P}")
        vals = np.asarray(spacing.to("mm").magnitude, dtype=float).ravel()
    else:
        raise ValueError(
            "spacing: expected a length Quantity such as Q_((4.07, 4.07, 3.27), 'mm') or a Volume, "
            f"got {type(spacing).__name__}"
        )
    if vals.size == 1:
        vals = np.repeat(vals, 3)
    if vals.size != 3 or not np.all(np.isfinite(vals)) or np.any(vals <= 0):
        raise ValueError(f"spacing: expected 1 or 3 finite lengths > 0 mm, got {vals.tolist()} mm")
    return tuple(float(v) for v in vals)


def _density_g_ml(density) -> float:
    d = Q_(density) if not isinstance(density, pint.Quantity) else density
    if d.dimensionality != Q_(1, "g/mL").dimensionality:
        raise ValueError(f"density: expected a mass density such as 1.03 g/mL, got {d}")
    val = float(d.to("g/mL").magnitude)
    if not math.isfinite(val) or val <= 0:
        raise ValueError(f"density: expected a finite mass density > 0 g/mL, got {val} g/mL")
    return val


def kernel_half_width(spacing_mm, cutoff_mm: float) -> tuple[int, int, int]:
    """Kernel half-width per axis in voxels: ceil(cutoff / spacing) + 1 (range plus one voxel)."""
    return tuple(int(math.ceil(cutoff_mm / s - 1e-9)) + 1 for s in spacing_mm)


def _fibonacci_directions(n: int, twist: float) -> np.ndarray:
    """``n`` nearly uniform unit vectors (Fibonacci lattice), rotated by ``twist`` about z."""
    i = np.arange(n, dtype=float)
    z = 1.0 - (2.0 * i + 1.0) / n
    rho = np.sqrt(np.maximum(0.0, 1.0 - z * z))
    phi = i * (math.pi * (3.0 - math.sqrt(5.0))) + twist
    return np.stack([z, rho * np.sin(phi), rho * np.cos(phi)], axis=1)


@functools.lru_cache(maxsize=32)
def _fractions_cached(spacing_key: tuple, density_key: float, e0_key: float) -> np.ndarray:
    spacing = np.asarray(spacing_key, dtype=float)
    rho = density_key
    max_energy = Q_(e0_key, "MeV")
    nu, c = loevinger_parameters(max_energy)
    # Cut-off: 11 mm in soft tissue of 1.03 g/mL, range-scaled to the kernel density.
    cutoff = float(Y90_MAX_RANGE_TISSUE.to("mm").magnitude) * float(LIVER_DENSITY.to("g/mL").magnitude) / rho
    half = kernel_half_width(spacing, cutoff)
    shape = tuple(2 * h + 1 for h in half)
    s_min = float(spacing.min())

    # Radial Gauss-Legendre nodes on [0, cutoff], with a break at the kink u = c.
    r_kink = c / (nu * rho / 10.0)
    step = min(0.25, s_min / 6.0)
    edges = np.unique(np.concatenate([np.linspace(0.0, cutoff, int(math.ceil(cutoff / step)) + 1), [min(r_kink, cutoff)]]))
    gx, gw = np.polynomial.legendre.leggauss(4)
    mids = 0.5 * (edges[1:] + edges[:-1])
    halfw = 0.5 * (edges[1:] - edges[:-1])
    r_nodes = (mids[:, None] + halfw[:, None] * gx[None, :]).ravel()
    w_nodes = (halfw[:, None] * gw[None, :]).ravel() * loevinger_energy_density(r_nodes, rho, max_energy)
    w_nodes /= w_nodes.sum()  # renormalise inside the cut-off (module docstring)

    # Direction lattice fine enough that neighbouring points on a sphere are < s_min / 5 apart.
    delta = s_min / 5.0
    acc = np.zeros(int(np.prod(shape)), dtype=float)
    strides = np.array([shape[1] * shape[2], shape[2], 1])
    golden = math.pi * (3.0 - math.sqrt(5.0))
    for n_idx, (r, w) in enumerate(zip(r_nodes, w_nodes)):
        n_dir = max(26, int(math.ceil(4.0 * math.pi * r * r / (delta * delta))))
        d = _fibonacci_directions(n_dir, twist=n_idx * golden)
        t = d * (r / spacing)[None, :]  # displacement in voxel units
        base = np.floor(t)
        f = t - base
        base = base.astype(np.int64) + np.asarray(half)[None, :]
        flat0 = base @ strides
        for corner in range(8):
            bits = ((corner >> 2) & 1, (corner >> 1) & 1, corner & 1)
            wt = np.ones(n_dir)
            for a, b in enumerate(bits):
                wt *= f[:, a] if b else (1.0 - f[:, a])
            flat = flat0 + int(np.dot(bits, strides))
            acc += np.bincount(flat, weights=wt, minlength=acc.size) * (w / n_dir)
    phi = acc.reshape(shape)
    phi = (phi + phi[::-1]) / 2.0
    phi = (phi + phi[:, ::-1]) / 2.0
    phi = (phi + phi[:, :, ::-1]) / 2.0
    phi.setflags(write=False)
    return phi


def absorbed_fraction_kernel(spacing, *, density=LIVER_DENSITY, max_energy=Y90_MAX_BETA_ENERGY) -> np.ndarray:
    """Fraction of the energy of a decay in the central voxel absorbed in each kernel voxel.

    Parameters
    ----------
    spacing : pint.Quantity or Volume
        Voxel spacing [length], one value (cubic) or three values along array axes (k, j, i);
        or a :class:`~dosimetry.voxel.geometry.Volume` whose spacing is used.
    density : pint.Quantity
        Density of the homogeneous medium [g/mL]; default 1.03 g/mL (soft tissue / liver).
    max_energy : pint.Quantity
        Beta end-point energy [MeV]; default Y-90, 2.2801 MeV.

    Returns
    -------
    numpy.ndarray
        Read-only float64 array of shape ``2 * half + 1`` per axis, half = ceil(11 mm / s) + 1,
        centred on the source voxel, summing to 1 (up to quadrature rounding, < 1e-9).
        Cached by spacing (rounded to 1e-6 mm) and density.
    """
    sp = _spacing_mm(spacing)
    rho = _density_g_ml(density)
    e0 = float(Q_(max_energy).to("MeV").magnitude)
    return _fractions_cached(tuple(round(s, 6) for s in sp), round(rho, 6), round(e0, 6))


def dose_voxel_kernel(
    spacing,
    *,
    density=LIVER_DENSITY,
    per: str = "cumulated",
    nuclide=Y90,
    max_energy=Y90_MAX_BETA_ENERGY,
) -> pint.Quantity:
    """Y-90 voxel S-values in soft tissue at the given (possibly anisotropic) spacing.

    Parameters
    ----------
    spacing : pint.Quantity or Volume
        Voxel spacing [length], 1 or 3 values along array axes (k, j, i), all > 0.
    density : pint.Quantity
        Density of the homogeneous medium [g/mL]; default 1.03 g/mL.
    per : {"cumulated", "administered"}
        ``"cumulated"``: dose per decay, i.e. per unit cumulated activity [mGy/(MBq s)]
        (the MIRD voxel S-value). ``"administered"``: dose for complete decay per unit
        administered activity [Gy/GBq] = the former times T1/2 / ln 2.
    nuclide : dosimetry.isotope.Radionuclide
        Supplies the mean beta energy and half-life; default :data:`dosimetry.isotope.Y90`.
    max_energy : pint.Quantity
        Beta end-point energy [MeV] for Loevinger's parameters; default 2.2801 MeV.

    Returns
    -------
    pint.Quantity
        Read-only array, shape (2 h_k + 1, 2 h_j + 1, 2 h_i + 1), centre = self-dose voxel.
        ``sum(S) * voxel mass = mean beta energy`` for ``per="cumulated"``.
    """
    sp = _spacing_mm(spacing)
    rho = _density_g_ml(density)
    phi = absorbed_fraction_kernel(Q_(sp, "mm"), density=Q_(rho, "g/mL"), max_energy=max_energy)
    mass = Q_(rho * float(np.prod(sp)) / 1000.0, "g")  # rho [g/mL] * V [mL]
    if per == "cumulated":
        # one decay = 1 Bq s of cumulated activity
        factor = (nuclide.mean_beta_energy / mass / Q_(1, "Bq * s")).to("mGy / (MBq * s)")
    elif per == "administered":
        factor = (nuclide.mean_beta_energy * nuclide.mean_life / mass).to("Gy / GBq")
    else:
        raise ValueError(f"per: expected 'cumulated' or 'administered', got {per!r}")
    arr = phi * float(factor.magnitude)
    arr.setflags(write=False)
    return Q_(arr, factor.units)
