"""PDF report rendered with matplotlib only (no other PDF dependency).

Pages: 1 the summary a physicist signs; 2 DVH curves with limits marked (when imaging is given);
3 dose slices fused on CT (when imaging is given); last the audit trail.
"""

from __future__ import annotations

import io
import textwrap

import numpy as np
from matplotlib.figure import Figure

from .content import ReportContent

__all__ = ["render_pdf"]

A4 = (8.27, 11.69)  # inches, portrait
_GREEN, _RED, _AMBER = "#1a7f37", "#c62828", "#b26a00"
# outline colours chosen to stand out on a grey CT under the inferno dose map
_OUTLINE = ("#00e5ff", "#76ff03", "#ffffff", "#ff4081", "#2979ff", "#ffea00")


def _header(fig, content: ReportContent, page: int, heading: str):
    fig.text(0.06, 0.965, "Y-90 radioembolization dosimetry report", fontsize=9, color="0.35")
    fig.text(0.94, 0.965, f"Patient {content.patient_id}   page {page}", fontsize=9, color="0.35", ha="right")
    fig.text(0.06, 0.935, heading, fontsize=15, weight="bold")
    fig.add_artist(_hline(0.925))


def _hline(y):
    from matplotlib.lines import Line2D

    return Line2D([0.06, 0.94], [y, y], color="0.6", linewidth=0.8)


def _summary_page(content: ReportContent):
    fig = Figure(figsize=A4)
    _header(fig, content, 1, content.title)
    colour = _RED if content.blocked else _GREEN
    fig.text(0.06, 0.895, content.status, fontsize=12, weight="bold", color=colour, wrap=True)
    y = 0.86
    for label, value in content.summary:
        fig.text(0.06, y, label, fontsize=9.5, color="0.25")
        fig.text(0.40, y, str(value), fontsize=9.5, family="monospace")
        y -= 0.021
    y -= 0.012
    fig.text(0.06, y, "Doses against limits", fontsize=11.5, weight="bold")
    y -= 0.026
    for col, x in (("Check", 0.06), ("Value", 0.45), ("Limit", 0.60), ("Result", 0.76)):
        fig.text(x, y, col, fontsize=9, weight="bold")
    y -= 0.005
    fig.add_artist(_hline(y))
    y -= 0.019
    for row in content.checks:
        fig.text(0.06, y, row.label + ("" if row.safety else "  (efficacy)"), fontsize=9)
        fig.text(0.45, y, row.value, fontsize=9, family="monospace")
        fig.text(0.60, y, row.limit, fontsize=9, family="monospace")
        mark = "PASS" if row.passed else ("FAIL" if row.safety else "BELOW")
        fig.text(0.76, y, mark, fontsize=9.5, weight="bold", color=_GREEN if row.passed else (_RED if row.safety else _AMBER))
        y -= 0.019
    if content.voxel_rows:
        y -= 0.012
        fig.text(0.06, y, "Voxel dosimetry per region", fontsize=11.5, weight="bold")
        y -= 0.024
        # first column (region name) wider than the figures
        xs = np.concatenate([[0.06], np.linspace(0.24, 0.86, len(content.voxel_header) - 1)])
        for h, x in zip(content.voxel_header, xs):
            fig.text(x, y, h, fontsize=8.5, weight="bold")
        y -= 0.018
        for r in content.voxel_rows:
            for cell, x in zip(r, xs):
                fig.text(x, y, cell if x > 0.06 else cell[:20], fontsize=8.5, family="monospace" if x > 0.06 else None)
            y -= 0.017
    y -= 0.012
    fig.text(0.06, y, "Warnings", fontsize=11.5, weight="bold")
    y -= 0.022
    if not content.warnings:
        fig.text(0.06, y, "none", fontsize=9)
        y -= 0.018
    for w in content.warnings:
        for k, line in enumerate(textwrap.wrap(w, 105)):
            fig.text(0.06, y, ("- " if k == 0 else "  ") + line, fontsize=8.5, color=_AMBER)
            y -= 0.016
    fig.add_artist(_hline(0.085))
    fig.text(0.06, 0.06, "Checked by (medical physicist): ______________________     Date: ____________", fontsize=9.5)
    fig.text(0.06, 0.035, "Doses are for complete decay. Verify every input before treatment.", fontsize=8, color="0.35")
    return fig


def _dvh_page(content: ReportContent):
    fig = Figure(figsize=A4)
    _header(fig, content, 2, "Dose-volume histograms")
    ax = fig.add_axes([0.11, 0.45, 0.82, 0.43])
    dmax = 1.0
    for c in content.dvh:
        ax.plot(c.dose_gy, c.volume_pct, label=c.name, linewidth=1.8)
        if len(c.dose_gy):
            dmax = max(dmax, float(np.max(c.dose_gy)))
    for label, d in content.dvh_markers:
        ax.axvline(d, color="0.3", linestyle="--", linewidth=0.9)
        ax.text(d, 3, f" {label}", rotation=90, fontsize=7.5, va="bottom", ha="right", color="0.2",
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1))
    ax.set_xlim(0, dmax * 1.05)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Absorbed dose [Gy] (complete decay)")
    ax.set_ylabel("Volume receiving at least this dose [%]")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=9, framealpha=0.9)
    fig.text(0.11, 0.40, "Dashed lines: the dose limits and thresholds of the plan's device (see page 1 and the audit trail).", fontsize=8.5, color="0.3")
    return fig


def _slice_page(content: ReportContent):
    fig = Figure(figsize=A4)
    _header(fig, content, 3, "Dose on CT")
    n = len(content.slices)
    vmax = max(float(np.percentile(s.dose_gy, 99.9)) for s in content.slices) or 1.0
    height = min(0.27, 0.84 / n)
    top = 0.90
    im = None
    for k, s in enumerate(content.slices):
        ax = fig.add_axes([0.10, top - (k + 1) * height, 0.70, height * 0.80])
        left, right, bottom, upper = s.extent_mm
        if s.ct_hu is not None:
            ax.imshow(s.ct_hu, cmap="gray", vmin=-200, vmax=300, extent=s.extent_mm, interpolation="bilinear")
        shown = np.ma.masked_less(s.dose_gy, 0.02 * vmax)
        im = ax.imshow(shown, cmap="inferno", alpha=0.65 if s.ct_hu is not None else 1.0, vmin=0, vmax=vmax, extent=s.extent_mm)
        ny, nx = s.dose_gy.shape
        # voxel centres in mm, matching imshow's extent (first row at ``upper``)
        xs = left + (np.arange(nx) + 0.5) * (right - left) / nx
        ys = upper + (np.arange(ny) + 0.5) * (bottom - upper) / ny
        for k2, (name, mask) in enumerate(s.outlines):
            if np.any(mask):
                ax.contour(xs, ys, mask.astype(float), levels=[0.5], colors=[_OUTLINE[k2 % len(_OUTLINE)]], linewidths=1.0)
                ax.plot([], [], color=_OUTLINE[k2 % len(_OUTLINE)], label=name)
        ax.set_xlim(*s.crop_x) if getattr(s, "crop_x", None) else ax.set_xlim(left, right)
        ax.set_ylim(*s.crop_y) if getattr(s, "crop_y", None) else ax.set_ylim(bottom, upper)
        ax.set_title(s.title, fontsize=9)
        ax.set_xlabel("x [mm]", fontsize=8)
        ax.set_ylabel("y [mm]", fontsize=8)
        ax.tick_params(labelsize=7)
        if s.outlines:
            ax.legend(fontsize=6.5, loc="lower right", framealpha=0.6)
    if im is not None:
        cax = fig.add_axes([0.84, top - n * height + 0.01, 0.022, n * height - 0.02])
        cb = fig.colorbar(im, cax=cax)
        cb.set_label("Absorbed dose [Gy] (complete decay)")
        cb.formatter.set_useOffset(False)
        cb.formatter.set_scientific(False)
        cb.update_ticks()
    return fig


def _audit_pages(content: ReportContent, first_page: int):
    lines = []
    for label, value in content.audit:
        wrapped = textwrap.wrap(str(value), 70) or [""]
        lines.append((label, wrapped[0]))
        lines.extend(("", w) for w in wrapped[1:])
    per_page = 52
    figs = []
    for start in range(0, max(len(lines), 1), per_page):
        fig = Figure(figsize=A4)
        _header(fig, content, first_page + len(figs), "Audit trail")
        y = 0.9
        for label, value in lines[start : start + per_page]:
            fig.text(0.06, y, label, fontsize=8, color="0.25")
            fig.text(0.38, y, value, fontsize=8, family="monospace")
            y -= 0.0158
        figs.append(fig)
    return figs


def render_pdf(content: ReportContent) -> bytes:
    """Render the report to PDF bytes (write them with :func:`dosimetry.io.files.write_atomic`).

    Parameters
    ----------
    content : ReportContent
        What to show.

    Returns
    -------
    bytes
        The PDF document.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    figs = [_summary_page(content)]
    if content.dvh:
        figs.append(_dvh_page(content))
    if content.slices:
        figs.append(_slice_page(content))
    figs.extend(_audit_pages(content, len(figs) + 1))
    with PdfPages(buf, metadata={"Title": f"Y-90 dosimetry report {content.patient_id}", "Creator": "y90-dosimetry"}) as pdf:
        for f in figs:
            pdf.savefig(f)
    return buf.getvalue()
