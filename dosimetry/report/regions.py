"""Per-region dose figures as JSON, CSV and text (``y90 dose``, ``y90 dvh``, the report)."""

from __future__ import annotations

import io

import numpy as np

from ..units import Q_, to_json
from ..voxel import DVH, RegionStats

__all__ = ["region_json", "corrected_json", "partial_volume_json", "regions_text", "dvh_csv"]


def region_json(stats: RegionStats, **extra) -> dict:
    """One region's figures: ``volume`` [mL], ``mean``/``min``/``max`` [Gy], ``D2``... [Gy], ``V100``... (fraction).

    Extra keyword quantities (e.g. ``activity``, ``mean_bed``) are added as ``{"value", "unit"}``.
    """
    out = {
        "volume": to_json(stats.volume.to("mL")),
        "mean": to_json(stats.mean.to("Gy")),
        "min": to_json(stats.min.to("Gy")),
        "max": to_json(stats.max.to("Gy")),
    }
    for x, d in stats.d.items():
        out[f"D{x:g}"] = to_json(d.to("Gy"))
    for x, v in stats.v.items():
        out[f"V{x:g}"] = {"value": float(v) * 100.0, "unit": "%"}
    for k, q in extra.items():
        if q is not None:
            out[k] = to_json(q) if hasattr(q, "units") else q
    return out


def corrected_json(pv, name: str) -> dict:
    """A region's partial-volume corrected figures (``corrected_mean`` {value, unit} and ``recovery``;
    a tumour's ``corrected_tumour_to_normal`` and ``corrected_mean_dose``), or {} without a correction."""
    if pv is None or name not in pv.corrected_mean:
        return {}
    out = {"corrected_mean": to_json(pv.corrected_mean[name].to("MBq/mL")), "recovery": pv.recovery[name]}
    if name in pv.tumour_to_normal:
        out["corrected_tumour_to_normal"] = pv.tumour_to_normal[name]
        out["corrected_mean_dose"] = to_json(pv.tumour_mean_dose[name].to("Gy"))
    return out


def partial_volume_json(pv) -> dict | None:
    """How the corrected figures were made (None without a correction)."""
    if pv is None:
        return None
    return {"method": pv.method, "description": pv.text, "fwhm": to_json(pv.fwhm.to("mm")), "condition_number": pv.gtm.condition,
            "calibration_scale": pv.calibration_scale, "shown_beside": "the verdict and the plain figures use the uncorrected means"}


def regions_text(rows: dict[str, RegionStats]) -> str:
    """A fixed-width table: ROI, volume, mean, min, max, D_x, V_x."""
    if not rows:
        return "no regions"
    first = next(iter(rows.values()))
    dkeys, vkeys = list(first.d), list(first.v)
    head = ["ROI", "cc", "mean Gy", "min Gy", "max Gy"] + [f"D{x:g} Gy" for x in dkeys] + [f"V{x:g} %" for x in vkeys]
    body = []
    for name, s in rows.items():
        body.append(
            [name, f"{s.volume.to('mL').magnitude:.1f}", f"{s.mean.to('Gy').magnitude:.1f}", f"{s.min.to('Gy').magnitude:.1f}", f"{s.max.to('Gy').magnitude:.1f}"]
            + [f"{s.d[x].to('Gy').magnitude:.1f}" for x in dkeys]
            + [f"{100 * float(s.v[x]):.1f}" for x in vkeys]
        )
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(r) for r in body])


def dvh_csv(dvhs: dict[str, DVH], step_gy: float | None = None) -> str:
    """Cumulative DVHs as CSV: ``dose_Gy`` then one ``<ROI> volume_%`` column per region.

    The dose axis runs from 0 to the highest dose in steps of ``step_gy`` (default: 1/500 of
    the highest dose, rounded to a 1-2-5 step); values are exact cumulative volumes at each dose.
    """
    dmax = max((float(np.max(d.doses)) for d in dvhs.values() if len(d.doses)), default=1.0)
    if step_gy is None:
        raw = max(dmax / 500.0, 1e-3)
        mag = 10 ** np.floor(np.log10(raw))
        step_gy = float(min((m * mag for m in (1, 2, 5, 10) if m * mag >= raw), default=raw))
    grid = np.arange(0.0, dmax + step_gy, step_gy)
    buf = io.StringIO()
    names = list(dvhs)
    buf.write("dose_Gy," + ",".join(f'"{n} volume_%"' for n in names) + "\n")
    cols = [100.0 * np.asarray(dvhs[n].volume_fraction(Q_(grid, "Gy")), dtype=float) for n in names]
    for i, d in enumerate(grid):
        buf.write(f"{d:.6g}," + ",".join(f"{c[i]:.4f}" for c in cols) + "\n")
    return buf.getvalue()
