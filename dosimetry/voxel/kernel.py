"""Y-90 dose-voxel kernel at the exact (possibly anisotropic) voxel spacing, from a Monte Carlo point kernel.

Point kernel (default, ``point_kernel="monte_carlo"``)
-----------------------------------------------------
The radial dose point kernel is the Monte Carlo table shipped as package data,
``dosimetry/voxel/data/y90_dpk_soft_tissue.txt`` (header kept intact): fraction of the mean emitted
Y-90 beta energy deposited in 0.05 mm spherical shells around an isotropic point source, 0-12 mm,
in ICRP soft tissue (G4_TISSUE_SOFT_ICRP, 1.03 g/cm^3), 2 x 10^6 decays of the ICRP Publication 107
beta spectrum, opengate 10.1.1 / Geant4 11.4.2, standard EM physics (project run of 2026-11-30,
recipe and limits in the project's ``shared/data/mc/README.md``; provenance in docs/formulas.md).
Shells beyond the Y-90 maximum beta range (11 mm at 1.03 g/mL, IFUs) hold 1.7e-5 of the energy
(bremsstrahlung photons) and are dropped, so the kernel extent stays range plus one voxel;
0.39 % of the energy (photons depositing beyond 12 mm or escaping) is not in the table and is
treated as leaving the region (energy closure 0.996).

Density scaling (range scaling, O'Connor and Cross; e.g. Cross et al., Phys Med Biol 37:1499, 1992):
for a homogeneous medium of density ``rho`` the kernel keeps the table's energy fractions at radii
scaled by ``rho_table / rho``, so a kernel for lung (0.26 g/mL) reaches four times farther.

Named alternative (comparison only, ``point_kernel="loevinger"``): Loevinger's analytic beta
point-source function (Radiology 66:55, 1956; ICRU Report 56), nu = 18.6 (E0 - 0.036)^-1.37 cm^2/g,
c = 1 for E0 = 2.2801 MeV; it is histogrammed on the same 0.05 mm shells from its closed-form
cumulative fraction F(u) = u/3 (u < 1), 1/3 + (2 - (u + 1) e^(1 - u)) / 3 (u >= 1), u = nu rho r,
cut at 11 mm and renormalised. It gives self-voxel S-values 3-6 % below Monte Carlo and too much
energy beyond 7 mm (issue #11); do not use it for dosimetry.

Voxel integration
-----------------
For a decay uniformly distributed in a source voxel, the fraction of the emitted energy absorbed
in the voxel displaced by ``Delta`` (index offset times spacing ``s``) is

    phi(Delta) = integral p(u) prod_a max(0, 1 - |u_a - Delta_a| / s_a) d^3u ,

``p`` the point kernel as an energy-fraction density over displacements ``u``: the product is the
overlap of the target voxel with the source voxel shifted by ``u`` over the voxel volume (the
triangle distribution of the difference of two uniform points in boxes, so source *and* target
voxels are integrated exactly). It equals the trilinear interpolation weight of ``u`` on the voxel
grid. The radial integral is taken shell by shell (Gauss-Legendre nodes inside each 0.05 mm shell,
where the tabulated energy density is constant) and the angular one with a Fibonacci lattice of
directions on each sphere (spacing at most ``0.15 s_min``, rotated from shell to shell); each node's
energy is splatted trilinearly, which conserves energy node by node. The result is symmetrised
over the three axis reflections (the point kernel is isotropic). tests/voxel/test_kernel.py shows
the quadrature converged to < 0.3 % on every voxel holding 1e-4 of the energy or more.

Units and convention
--------------------
:func:`dose_voxel_kernel` returns voxel S-values, the absorbed dose in the target voxel per decay
in the source voxel (per unit *cumulated* activity, mGy / (MBq s), as in MIRD Pamphlet 17 and
Lanconelli et al. 2012), or, with ``per="administered"``, the dose for complete decay per unit
administered activity (Gy / GBq), the first times the mean life T1/2 / ln 2.
S = phi * E_mean / (rho * V_voxel), E_mean from the nuclide (ICRP-107 0.9331 MeV; the table's
fractions are relative to its own sampled mean, 0.93424 MeV, +0.12 %).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pint

from ..isotope import LIVER_DENSITY, Y90, Y90_MAX_RANGE_TISSUE
from ..units import Q_

__all__ = [
    "POINT_KERNELS",
    "Y90_MAX_BETA_ENERGY",
    "PointKernel",
    "y90_point_kernel",
    "loevinger_parameters",
    "loevinger_energy_density",
    "absorbed_fraction_kernel",
    "dose_voxel_kernel",
    "kernel_half_width",
]

#: Point kernels the voxel kernel can be built from; the first is the default.
POINT_KERNELS = ("monte_carlo", "loevinger")

#: Y-90 beta end-point energy, 2.2801 MeV (ENSDF evaluation; ICRP Publication 107, 2008).
Y90_MAX_BETA_ENERGY = Q_(2.2801, "MeV")

_DPK_FILE = "y90_dpk_soft_tissue.txt"


@dataclass(frozen=True)
class PointKernel:
    """A radial point kernel as energy fractions in spherical shells.

    Attributes
    ----------
    r_inner, r_outer : pint.Quantity
        Shell radii [mm] at ``density``.
    energy_fraction : numpy.ndarray
        Fraction of the mean emitted energy deposited in each shell.
    relative_uncertainty : numpy.ndarray
        Statistical 1 s.d. relative uncertainty of each fraction (0 for analytic kernels).
    density : pint.Quantity
        Density of the medium [g/mL].
    source : str
        Where the numbers come from.
    """

    r_inner: pint.Quantity
    r_outer: pint.Quantity
    energy_fraction: np.ndarray
    relative_uncertainty: np.ndarray
    density: pint.Quantity
    source: str


@functools.lru_cache(maxsize=1)
def _mc_table() -> tuple[np.ndarray, float]:
    text = resources.files("dosimetry.voxel").joinpath("data", _DPK_FILE).read_text(encoding="utf-8")
    rho = None
    for line in text.splitlines():
        if line.startswith("#") and "density" in line and "g/cm3" in line:
            rho = float(line.split("density")[1].split("g/cm3")[0].strip())
            break
    if rho is None:
        raise RuntimeError(f"{_DPK_FILE}: header does not state the density")
    data = np.loadtxt(text.splitlines(), comments="#")
    data.setflags(write=False)
    return data, rho


def y90_point_kernel() -> PointKernel:
    """The Monte Carlo Y-90 point kernel in ICRP soft tissue (1.03 g/mL) shipped as package data.

    Returns
    -------
    PointKernel
        240 shells of 0.05 mm from 0 to 12 mm (module docstring for provenance).
    """
    data, rho = _mc_table()
    return PointKernel(
        r_inner=Q_(data[:, 0], "mm"),
        r_outer=Q_(data[:, 1], "mm"),
        energy_fraction=data[:, 2],
        relative_uncertainty=data[:, 4],
        density=Q_(rho, "g/mL"),
        source=f"Monte Carlo (opengate 10.1.1 / Geant4 11.4.2), dosimetry/voxel/data/{_DPK_FILE}",
    )


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
    """Fraction of the emitted energy absorbed per mm of radius at ``r_mm`` (Loevinger, untruncated).

    This is ``4 pi r^2 rho J(r) / E_mean`` for Loevinger's function; its integral over ``r`` from 0
    to infinity is 1.

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
    norm = 3.0 * c * c - (c * c - 1.0) * math.e
    return p * scale / norm


def _loevinger_shells(rho: float, cutoff_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Loevinger's Y-90 (c = 1) energy fractions in 220 shells from 0 to ``cutoff_mm`` at density ``rho``."""
    nu, c = loevinger_parameters(Y90_MAX_BETA_ENERGY)
    edges = np.linspace(0.0, cutoff_mm, 221)
    u = edges * nu * rho / 10.0
    cdf = np.where(u < 1.0, u / 3.0, 1.0 / 3.0 + (2.0 - (u + 1.0) * np.exp(1.0 - u)) / 3.0)  # c = 1
    frac = np.diff(cdf)
    return edges, frac / frac.sum()


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
    return float(vals[0]), float(vals[1]), float(vals[2])


def _density_g_ml(density) -> float:
    d = Q_(density) if not isinstance(density, pint.Quantity) else density
    if d.dimensionality != Q_(1, "g/mL").dimensionality:
        raise ValueError(f"density: expected a mass density such as 1.03 g/mL, got {d}")
    val = float(d.to("g/mL").magnitude)
    if not math.isfinite(val) or val <= 0:
        raise ValueError(f"density: expected a finite mass density > 0 g/mL, got {val} g/mL")
    return val


def _check_point_kernel(point_kernel: str) -> str:
    if point_kernel not in POINT_KERNELS:
        raise ValueError(f"point_kernel: expected one of {', '.join(POINT_KERNELS)}, got {point_kernel!r}")
    return point_kernel


def kernel_half_width(spacing_mm, cutoff_mm: float) -> tuple[int, int, int]:
    """Kernel half-width per axis in voxels: ceil(cutoff / spacing) + 1 (range plus one voxel)."""
    hz, hy, hx = (int(math.ceil(cutoff_mm / s - 1e-9)) + 1 for s in spacing_mm)
    return hz, hy, hx


def _shells(point_kernel: str, rho: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Shell edges [mm] at density ``rho``, energy fractions, and the cut-off radius [mm]."""
    range_1p03 = float(Y90_MAX_RANGE_TISSUE.to("mm").magnitude)  # 11 mm at 1.03 g/mL
    ref = float(LIVER_DENSITY.to("g/mL").magnitude)
    if point_kernel == "monte_carlo":
        data, table_rho = _mc_table()
        keep = data[:, 1] <= range_1p03 * ref / table_rho + 1e-9
        edges = np.append(data[keep, 0], data[keep, 1][-1]) * (table_rho / rho)
        return edges, data[keep, 2], range_1p03 * ref / rho
    edges, frac = _loevinger_shells(rho, range_1p03 * ref / rho)
    return edges, frac, range_1p03 * ref / rho


def _integrate(spacing: np.ndarray, edges: np.ndarray, frac: np.ndarray, cutoff: float, radial_nodes: int, direction_step: float) -> np.ndarray:
    """phi on the kernel grid: per-shell Gauss-Legendre radii x Fibonacci directions, trilinear splat."""
    half = kernel_half_width(spacing, cutoff)
    shape = tuple(2 * h + 1 for h in half)
    gx, gw = np.polynomial.legendre.leggauss(radial_nodes)
    mids = 0.5 * (edges[1:] + edges[:-1])
    hw = 0.5 * (edges[1:] - edges[:-1])
    r_nodes = (mids[:, None] + hw[:, None] * gx[None, :]).ravel()
    w_nodes = (frac[:, None] * (gw[None, :] / 2.0)).ravel()  # constant density inside each shell
    delta = float(spacing.min()) * direction_step
    acc = np.zeros(int(np.prod(shape)), dtype=float)
    s0, s1 = shape[1] * shape[2], shape[2]
    golden = math.pi * (3.0 - math.sqrt(5.0))
    centre = half[0] * s0 + half[1] * s1 + half[2]
    # per node: n nearly uniform unit vectors (Fibonacci lattice), rotated about z by n_idx x the golden
    # angle, times r / spacing, one coordinate at a time (no n x 3 array); the flat index in integers;
    # each corner's weight (a * b) * c, the products of the first two axes shared by two corners. The
    # same floats as the plain n x 3 form (tests/voxel/test_kernel_quadrature_form.py; issue 22)
    for n_idx, (r, w) in enumerate(zip(r_nodes, w_nodes)):
        if w == 0.0:
            continue
        n_dir = max(26, int(math.ceil(4.0 * math.pi * r * r / (delta * delta))))
        i = np.arange(n_dir, dtype=float)
        z = 1.0 - (2.0 * i + 1.0) / n_dir
        rho = np.sqrt(np.maximum(0.0, 1.0 - z * z))
        ang = i * golden + n_idx * golden
        q = r / spacing
        cells, fracs = [], []
        for a, u in enumerate((z, rho * np.sin(ang), rho * np.cos(ang))):
            t = u * q[a]
            base = np.floor(t)
            f = t - base
            cells.append(base.astype(np.int64))
            fracs.append((1.0 - f, f))
        flat0 = cells[0] * s0 + cells[1] * s1 + cells[2] + centre
        scale = w / n_dir
        for b0 in (0, 1):
            for b1 in (0, 1):
                ab = fracs[0][b0] * fracs[1][b1]
                for b2 in (0, 1):
                    acc += np.bincount(flat0 + (b0 * s0 + b1 * s1 + b2), weights=ab * fracs[2][b2], minlength=acc.size) * scale
    phi = acc.reshape(shape)
    phi = (phi + phi[::-1]) / 2.0
    phi = (phi + phi[:, ::-1]) / 2.0
    return (phi + phi[:, :, ::-1]) / 2.0


def _fractions(spacing_mm, density_g_ml: float, point_kernel: str = "monte_carlo", *, radial_nodes: int = 1, direction_step: float = 0.15) -> np.ndarray:
    """Uncached absorbed-fraction kernel with explicit quadrature settings (for convergence tests)."""
    spacing = np.asarray(spacing_mm, dtype=float)
    edges, frac, cutoff = _shells(point_kernel, density_g_ml)
    return _integrate(spacing, edges, frac, cutoff, radial_nodes, direction_step)


@functools.lru_cache(maxsize=32)
def _fractions_cached(spacing_key: tuple, density_key: float, point_kernel: str) -> np.ndarray:
    phi = _fractions(spacing_key, density_key, point_kernel)
    phi.setflags(write=False)
    return phi


def absorbed_fraction_kernel(spacing, *, density=LIVER_DENSITY, point_kernel: str = "monte_carlo") -> np.ndarray:
    """Fraction of the energy of a decay in the central voxel absorbed in each kernel voxel.

    Parameters
    ----------
    spacing : pint.Quantity or Volume
        Voxel spacing [length], one value (cubic) or three values along array axes (k, j, i);
        or a :class:`~dosimetry.voxel.geometry.Volume` whose spacing is used.
    density : pint.Quantity
        Density of the homogeneous medium [g/mL]; default 1.03 g/mL (soft tissue / liver).
        The point kernel's radii are scaled by 1.03 g/mL / density.
    point_kernel : {"monte_carlo", "loevinger"}
        Source of the radial point kernel: the shipped Monte Carlo table (default) or
        Loevinger's analytic function (named alternative for comparison only).

    Returns
    -------
    numpy.ndarray
        Read-only float64 array of shape ``2 * half + 1`` per axis, half = ceil(R / s) + 1 with
        R = 11 mm x 1.03 g/mL / density, centred on the source voxel, summing to the energy
        fraction deposited within R (0.9961 for the Monte Carlo table, 1 for Loevinger).
        Cached by spacing (rounded to 1e-6 mm), density and point kernel.
    """
    sp = _spacing_mm(spacing)
    rho = _density_g_ml(density)
    return _fractions_cached(tuple(round(s, 6) for s in sp), round(rho, 6), _check_point_kernel(point_kernel))


def dose_voxel_kernel(
    spacing,
    *,
    density=LIVER_DENSITY,
    per: str = "cumulated",
    nuclide=Y90,
    point_kernel: str = "monte_carlo",
) -> pint.Quantity:
    """Y-90 voxel S-values at the given (possibly anisotropic) spacing, in a homogeneous medium.

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
    point_kernel : {"monte_carlo", "loevinger"}
        See :func:`absorbed_fraction_kernel`.

    Returns
    -------
    pint.Quantity
        Read-only array, shape (2 h_k + 1, 2 h_j + 1, 2 h_i + 1), centre = self-dose voxel.
        ``sum(S) * voxel mass = mean beta energy x deposited fraction`` for ``per="cumulated"``.
    """
    sp = _spacing_mm(spacing)
    rho = _density_g_ml(density)
    phi = absorbed_fraction_kernel(Q_(sp, "mm"), density=Q_(rho, "g/mL"), point_kernel=point_kernel)
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
