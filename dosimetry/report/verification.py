"""The verification report of ``y90 verify``: text summary, JSON and a PDF section (renders only).

The adverse findings come first (a delivered dose over a safety limit, with the limit and its
source; a tumour under its efficacy threshold); then the delivery audit (administered, residual,
delivered, image total, calibration), the planned-against-delivered table, the registration when
the planning ROIs were carried over, and the planned and delivered DVHs overlaid.
"""

from __future__ import annotations

import textwrap

import numpy as np

from .text import fmt, identity_line

__all__ = ["verification_text", "verification_pdf", "region_rows", "write_verification_files"]

_COLS = ("mean", "d70", "d95")


def _gy(q) -> str:
    return "-" if q is None else f"{q.to('Gy').magnitude:.1f}"


def region_rows(v) -> list[tuple]:
    """(region, role, planned mean, delivered mean, difference, ratio, planned D70, delivered D70, planned D95,
    delivered D95, planned V100, delivered V100) as text, one row per region."""
    rows = []
    for r in v.regions:
        p = r.planned or {}
        ratio = r.ratio("mean")
        v100 = lambda d: "-" if d.get("v100") is None else f"{d['v100'].magnitude:.0%}"  # noqa: E731
        rows.append((r.name, str(r.role), _gy(p.get("mean")), _gy(r.delivered["mean"]), _gy(r.difference("mean")),
                     "-" if ratio is None else f"{ratio:.2f}", _gy(p.get("d70")), _gy(r.delivered["d70"]), _gy(p.get("d95")),
                     _gy(r.delivered["d95"]), v100(p), v100(r.delivered)))
    return rows


_HEAD = ("Region", "Role", "Plan mean", "Deliv mean", "Diff", "Ratio", "Plan D70", "Deliv D70", "Plan D95", "Deliv D95", "Plan V100", "Deliv V100")


def _table(rows) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(_HEAD, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return [line(_HEAD)] + [line(r) for r in rows]


def patient_line(v) -> str:
    """Who the verification is of (after the word "patient"): the plan's patient (date of birth, sex, record number, issue 21),
    else the images' PatientID."""
    plan = getattr(v.planned, "plan", None)
    if plan is not None:
        return identity_line(plan.patient).removeprefix("Patient ")
    return v.patient_id or "not given (no PatientID in the inputs)"


def verification_text(v) -> str:
    """The text summary (summary.txt and the terminal)."""
    d, dl = v.delivered, v.delivery
    out = [f"Post-treatment verification, patient {patient_line(v)}", v.headline()]
    for c in v.findings:
        out.append(f"  ! {v.finding_text(c)}")
    out += ["", "Delivery"]
    src = dl.sources
    out.append(f"  administered      {fmt(dl.administered) if dl.administered is not None else 'not given'}" + (f"  ({src['administered']})" if "administered" in src else ""))
    out.append(f"  residual          {dl.residual_fraction:.1%}  ({src.get('residual_fraction', '')})")
    if dl.delivered is not None:
        out.append(f"  delivered         {fmt(dl.delivered)}  (administered x (1 - residual))")
    out.append(f"  image total       {fmt(d.image_activity)} at administration")
    out.append(f"  calibration       {d.calibration}")
    if d.lung_shunt_fraction is not None:
        planned = v.to_json()["delivery"]["planned_lung_shunt_fraction"]
        out.append(f"  lung shunt        {d.lung_shunt_fraction:.1%} on the post-treatment image" + (f" (planned {planned:.1%})" if isinstance(planned, float) else ""))
    out.append(f"  dose method       {d.method}; density: {d.density_text}")
    if v.cumulative_lung_dose is not None:
        out.append(f"  cumulative lung   {fmt(v.cumulative_lung_dose)} (prior {fmt(v.prior_lung_dose)} + delivered): lung.prior_dose of a later treatment")
    out += ["", "Planned against delivered (Gy; V100: share of the tumour at >= 100 Gy)"]
    out += ["  " + line for line in _table(region_rows(v))]
    sources = sorted({r.planned_source for r in v.regions if r.planned_source})
    if sources:
        out.append("  planned figures from: " + ", ".join(sources))
    if v.registration is not None:
        out += ["", "Registration (planning CT -> post-treatment CT, rigid, liver-weighted)"] + ["  " + s for s in v.registration.lines()]
    for title, items in (("Warnings", v.warnings), ("Notes", v.notes)):
        if items:
            out += ["", title] + [f"  - {w}" for w in items]
    return "\n".join(out) + "\n"


def verification_pdf(v) -> bytes:
    """A PDF section: findings and the table, then the planned and delivered DVHs overlaid (one panel per region).

    Its text is set in the standard PDF fonts as the report's is (:func:`dosimetry.report.pdf.pdf_pages`),
    in the embedded fonts when a text holds a character outside their encoding."""
    from .pdf import pdf_pages

    return pdf_pages(lambda: _pages(v))


def _pages(v) -> list:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.27, 11.69))
    fig.text(0.06, 0.972, f"Patient {patient_line(v)}", fontsize=8.5, color="0.35")
    fig.text(0.06, 0.95, "Post-treatment verification: planned against delivered", fontsize=14, weight="bold")
    fig.text(0.06, 0.925, v.headline(), fontsize=8.5, color="#1a7f37" if v.complete else "#c62828", wrap=True)
    y = 0.9
    for c in v.findings:  # wrapped, never cut: a finding is read whole
        for part in textwrap.wrap("! " + v.finding_text(c), 120, subsequent_indent="  "):
            fig.text(0.07, y, part, fontsize=7, color="#c62828")
            y -= 0.014
        y -= 0.004
    for line in _table(region_rows(v)):
        fig.text(0.06, y - 0.01, line, fontsize=6.2, family="monospace")
        y -= 0.016
    _dvh_panels(fig, v, top=y - 0.04)
    if v.registration is not None and v.delivered.ct is not None:
        return [fig, _fused_page(v)]
    return [fig]


def _fused_page(v):
    """The check of the registration: the post-treatment CT with the carried ROIs outlined, three planes through the liver."""
    from matplotlib.figure import Figure

    from .pdf import _outline

    d = v.delivered
    ct = np.asarray(d.ct.array, dtype=float)
    liver = next(r.name for r in d.regions if r.role == "liver")
    w = np.asarray(d.masks[liver].array, dtype=float)
    c = np.round(np.average(np.argwhere(w > 0), axis=0, weights=w[w > 0])).astype(int)
    fig = Figure(figsize=(8.27, 11.69))
    fig.text(0.06, 0.95, "Registration check: planning ROIs carried onto the post-treatment CT", fontsize=13, weight="bold")
    for i, line in enumerate(v.registration.lines()):
        fig.text(0.06, 0.925 - 0.018 * i, line, fontsize=7.5)
    sp = d.ct.spacing_mm
    planes = (("axial", lambda a: a[c[0]], sp[1] / sp[2]), ("coronal", lambda a: a[:, c[1]], sp[0] / sp[2]), ("sagittal", lambda a: a[:, :, c[2]], sp[0] / sp[1]))
    colours = ("#00e5ff", "#ff00ff", "#76ff03", "#ff9100", "#2979ff", "#ff1744")
    for k, (name, cut, aspect) in enumerate(planes):
        ax = fig.add_axes((0.08, 0.63 - k * 0.29, 0.84, 0.26))
        ax.imshow(cut(ct), cmap="gray", vmin=-200, vmax=300, aspect=aspect, origin="lower" if name != "axial" else "upper")
        for j, r in enumerate(d.regions):
            if r.role in ("liver", "tumour", "lung"):
                m = cut(np.asarray(d.masks[r.name].array, dtype=float))
                if m.max() >= 0.5:  # as ax.contour(m, levels=[0.5], ...) draws it, on the voxel indices (report.pdf._outline)
                    _outline(ax, np.arange(m.shape[1]), np.arange(m.shape[0]), m, colours[j % len(colours)], linewidth=0.8)
        ax.set_title(f"{name} (post-treatment CT; outlines: carried ROIs)", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def _dvh_panels(fig, v, top: float) -> None:
    """Planned (dashed) and delivered (solid) cumulative DVHs, one panel per region."""
    planned = {} if v.planned is None or v.planned.voxel is None else {r.name: r for r in v.planned.voxel.regions}
    by_role = {} if v.planned is None or v.planned.voxel is None else {r.role: r for r in v.planned.voxel.regions}
    regions = list(v.delivered.regions)[:6]
    n = len(regions)
    if n == 0 or top < 0.2:
        return
    rows = (n + 1) // 2
    h = (top - 0.06) / rows
    for i, r in enumerate(regions):
        ax = fig.add_axes([0.08 + (i % 2) * 0.46, top - (i // 2 + 1) * h + 0.03, 0.38, h - 0.06])
        d, f = r.dvh.curve()
        ax.plot(d.to("Gy").magnitude, 100 * np.asarray(f), color="#c62828", label="delivered")
        p = planned.get(r.name) or (by_role.get(r.role) if r.role != "tumour" else None)
        if p is not None:
            dp, fp = p.dvh.curve()
            ax.plot(dp.to("Gy").magnitude, 100 * np.asarray(fp), "--", color="#2979ff", label="planned")
        ax.set_title(r.name, fontsize=8)
        ax.set_xlabel("dose [Gy]", fontsize=7)
        ax.set_ylabel("volume [%]", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)


def write_verification_files(v, folder, *, dose_format: str | None = None) -> str:
    """``y90 verify``'s files into ``folder`` (the caller stages it): verification.json, summary.txt,
    report.pdf, the delivered dose map and dvh.csv (:func:`dosimetry.report.build.write_imaging_files`),
    registration.json and dose_difference.nrrd when there are; return the dose file name."""
    from pathlib import Path

    from ..io.files import json_text, write_atomic
    from .build import write_imaging_files

    folder = Path(folder)
    name = write_imaging_files(v.delivered, folder, dose_format=dose_format)
    write_atomic(folder / "verification.json", json_text(v.to_json(), indent=2))
    write_atomic(folder / "summary.txt", verification_text(v))
    write_atomic(folder / "report.pdf", verification_pdf(v))
    if v.registration is not None:
        write_atomic(folder / "registration.json", json_text(v.registration.to_json(), indent=2))
    if v.difference_map is not None:
        from ..io.volumes import write_volume

        write_volume(v.difference_map, folder / "dose_difference.nrrd", description="Y-90 absorbed dose, delivered minus planned [Gy]")
    return name
