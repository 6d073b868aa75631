"""PDF report rendered with matplotlib only (no other PDF dependency).

Pages: 1 the summary a physicist signs; then the uncertainty of the plan (intervals, the chance each
limit is crossed, tornado charts) when it was computed; DVH curves with limits marked (when imaging
is given); dose slices fused on CT (when imaging is given); last the audit trail.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import textwrap
from typing import Any, Callable, Literal

import numpy as np
from matplotlib.figure import Figure

from .content import ReportContent

__all__ = ["render_pdf", "pdf_pages"]

A4 = (8.27, 11.69)  # inches, portrait
_GREEN, _RED, _AMBER = "#1a7f37", "#c62828", "#b26a00"
# Outline colours: saturated, none white or grey (bone and soft tissue on CT), distinct from each other.
_OUTLINE = ("#00e5ff", "#ff00ff", "#76ff03", "#ff9100", "#2979ff", "#ff1744")
# Dose colour map: "turbo" ends in dark red, so the hottest voxels never look like pale CT grey
# (inferno or magma end in near-white).
_DOSE_CMAP = "turbo"
# Isodose lines: black with a white halo, one dash pattern per level (legend on the page).
_ISO_STYLES: tuple[Literal["--", ":", "-."], ...] = ("--", ":", "-.")


def _header(fig, content: ReportContent, page: int, heading: str):
    fig.text(0.06, 0.965, "Y-90 radioembolization dosimetry report", fontsize=9, color="0.35")
    fig.text(0.94, 0.965, f"Patient {content.patient_id}   page {page}", fontsize=9, color="0.35", ha="right")
    fig.text(0.06, 0.935, heading, fontsize=15, weight="bold")
    fig.add_artist(_hline(0.925))


def _hline(y):
    from matplotlib.lines import Line2D

    return Line2D([0.06, 0.94], [y, y], color="0.6", linewidth=0.8)


_BANNER = {"ok": ("#e6f4ea", _GREEN), "decision": ("#fff4e0", _AMBER), "blocked": ("#fdecea", _RED)}
_BOTTOM = 0.07  # lowest text line of a page (page 1 keeps room for the signatures)


class _Flow:
    """Writes lines down A4 pages, starting a continuation page when one is full."""

    def __init__(self, content: ReportContent, heading: str, bottom: float, first_page: int = 1):
        self.content, self.heading, self.first_page = content, heading, first_page
        self.figs: list[Figure] = []
        self.bottom = bottom
        self._new_page()

    def _new_page(self):
        fig = Figure(figsize=A4)
        n = len(self.figs) + self.first_page
        _header(fig, self.content, n, self.heading if not self.figs else f"{self.heading} (continued)")
        self.figs.append(fig)
        self.fig, self.y = fig, 0.905

    def need(self, dy: float):
        limit = self.bottom if len(self.figs) == 1 else _BOTTOM
        if self.y - dy < limit:
            self._new_page()

    def text(self, x, s, dy=0.0175, **kw):
        self.need(dy)
        self.fig.text(x, self.y, s, **kw)

    def down(self, dy=0.0175):
        self.y -= dy

    def heading_(self, s, keep: float = 0.035):
        """A section heading, kept on one page with ``keep`` of what follows it (a table's header
        and first rows: issue 21, a heading alone at the foot of a page)."""
        self.need(0.025 + keep)
        self.y -= 0.006
        self.fig.text(0.06, self.y, s, fontsize=11, weight="bold")
        self.y -= 0.019

    def rule(self):
        """A line under a table header written at ``self.y + 0.008`` (below its descenders)."""
        self.fig.add_artist(_hline(self.y + 0.0025))


def _banner(fig, page, y):
    face, edge = _BANNER[page.status_kind]
    from matplotlib.patches import FancyBboxPatch

    lines = textwrap.wrap(page.status_line, 100)
    h = 0.034 + 0.015 * len(lines)
    fig.add_artist(FancyBboxPatch((0.06, y - h), 0.88, h, boxstyle="round,pad=0.004", transform=fig.transFigure,
                                  facecolor=face, edgecolor=edge, linewidth=1.6))
    fig.text(0.075, y - 0.024, f"OVERALL STATUS: {page.status}", fontsize=13, weight="bold", color=edge)
    for k, line in enumerate(lines):
        fig.text(0.075, y - 0.041 - 0.015 * k, line, fontsize=8.8, color="0.1")
    return y - h - 0.016


_ROW = 0.0137  # line pitch of page 1's rows and compartment table


#: Width of a check's label [pt] on page 1: from x = 0.06 to the value column at 0.52 of the A4 width
#: (274 pt), measured in DejaVu Sans (wider than the Helvetica shown), a gap kept.
_CHECK_LABEL_PT = 262.0


def _check_label(label: str) -> list[str]:
    """A check's label in lines that end before the value column: wrapped, never shortened (a signed page)."""
    return _wrap_to_width(str(label), _CHECK_LABEL_PT, 8.8) or [""]


def _table_keep(rows) -> float:
    """The height of a check table's header and first row (with its label and source lines), kept with its heading."""
    if not rows:
        return 0.035
    extra = 0.0125 * (len(_check_label(rows[0][0])) - 1)
    return 0.018 + 0.017 + extra + 0.012 * len(textwrap.wrap("Source: " + rows[0][4], 120)[:2]) + 0.004


def _check_table(flow: _Flow, rows, efficacy: bool):
    for col, x in (("Check", 0.06), ("Value", 0.52), ("Limit", 0.66), ("Result", 0.80)):
        flow.text(x, col, fontsize=8.5, weight="bold")
    flow.down(0.006)
    flow.rule()
    flow.down(0.012)
    for label, value, limit, result, source in rows:
        src = textwrap.wrap("Source: " + source, 120)[:2]
        labels = _check_label(label)
        flow.need(0.017 + 0.0125 * (len(labels) - 1) + 0.012 * len(src))
        ok = result == "PASS"
        colour = _GREEN if ok else (_AMBER if efficacy else _RED)
        flow.text(0.06, labels[0], fontsize=8.8)
        flow.text(0.52, value, fontsize=8.8, family="monospace")
        flow.text(0.66, limit, fontsize=8.8, family="monospace")
        flow.text(0.80, result, fontsize=8.8, weight="bold", color=colour)
        flow.down(0.0125)
        for more in labels[1:]:  # the rest of a long label, below its first line
            flow.text(0.06, more, fontsize=8.8)
            flow.down(0.0125)
        for line in src:
            flow.text(0.075, line, fontsize=6.8, color="0.4")
            flow.down(0.011)
        flow.down(0.004)


def _summary_pages(content: ReportContent, first_page: int = 1):
    """The signed page and its continuation pages, numbered from ``first_page`` (a session's PDF
    numbers its pages once across the document)."""
    page = content.page1
    assert page is not None  # build_content always signs page 1
    flow = _Flow(content, content.title, bottom=0.135, first_page=first_page)
    flow.y = _banner(flow.fig, page, flow.y + 0.005)
    for heading, rows in page.sections:
        flow.heading_(heading)
        for label, value in rows:
            lines = textwrap.wrap(str(value), 62) or [""]
            flow.need(_ROW * len(lines))
            flow.text(0.06, label, fontsize=9, color="0.25")
            for k, line in enumerate(lines):
                flow.text(0.36, line, fontsize=9, family="monospace", weight="bold" if heading == "Written directive" and k == 0 and label.startswith("Activity to") else "normal")
                flow.down(_ROW)
    if page.decisions:
        flow.heading_("Decision needed (the plan cannot proceed as given)")
        for d in page.decisions:
            for k, line in enumerate(textwrap.wrap(d, 108)):
                flow.text(0.06, ("- " if k == 0 else "  ") + line, fontsize=8.5, color=_AMBER)
                flow.down(0.0145)
    if page.compartments:
        flow.heading_("Compartments", keep=0.022 + 2 * _ROW)
        xs = (0.06, 0.36, 0.47, 0.59, 0.69, 0.81) if len(page.compartment_header) > 5 else (0.06, 0.38, 0.50, 0.62, 0.80)
        cols = tuple(zip(page.compartment_header, xs))
        for col, x in cols:
            flow.text(x, col, fontsize=8.5, weight="bold")
        flow.down(0.008)
        flow.rule()
        flow.down(0.014)
        for row in page.compartments:
            for (_, x), cell in zip(cols, row):
                flow.text(x, cell, fontsize=8.8, family=None if x == 0.06 else "monospace")
            flow.down(_ROW)
    flow.heading_("Safety checks (any failure blocks the treatment)", keep=_table_keep(page.safety))
    _check_table(flow, page.safety, efficacy=False)
    if page.uncertainty:
        flow.heading_("Chance each safety limit is crossed at the prescribed activity (uncertainty page; the verdict is nominal)")
        for line in page.uncertainty:
            colour = _AMBER if line.endswith("ABOVE THE BOUND") else "0.1"
            for k, part in enumerate(textwrap.wrap(line, 120)):  # wrapped, never shortened
                flow.need(0.0145)
                flow.text(0.06 if k == 0 else 0.075, part, fontsize=8.3, color=colour)
                flow.down(0.0145)
    flow.heading_("Efficacy (reported apart; never blocks, never makes a plan safe)", keep=_table_keep(page.efficacy))
    if page.efficacy:
        _check_table(flow, page.efficacy, efficacy=True)
    else:
        flow.text(0.06, "no efficacy threshold applies to this scenario", fontsize=8.8)
        flow.down()
    flow.heading_("Warnings")
    for w in content.warnings or ("none",):
        for k, line in enumerate(textwrap.wrap(w, 108)):
            flow.text(0.06, ("- " if k == 0 else "  ") + line, fontsize=8.3, color=_AMBER if content.warnings else "0.1")
            flow.down(0.0145)
    if content.notes:
        flow.heading_("Notes (assumptions)")
        for w in content.notes:
            for k, line in enumerate(textwrap.wrap(w, 108)):
                flow.text(0.06, ("- " if k == 0 else "  ") + line, fontsize=8.3, color="0.2")
                flow.down(0.0145)
    first = flow.figs[0]
    first.add_artist(_hline(0.118))
    if page.prepared_by:
        first.text(0.06, 0.104, f"Plan prepared by: {textwrap.shorten(page.prepared_by, 100)}", fontsize=8.5)
    x = 0.06
    for who in page.signatures:
        first.text(x, 0.084, who, fontsize=8.5, color="0.25")
        first.text(x, 0.062, "Name / signature: ____________________", fontsize=8.5)
        first.text(x, 0.042, "Date: ______________", fontsize=8.5)
        x += 0.45
    first.text(0.06, 0.022, "Doses are for complete decay. Verify every input before treatment.", fontsize=7.5, color="0.35")
    if len(flow.figs) > 1:
        first.text(0.94, 0.022, f"continued on the next {len(flow.figs) - 1} page(s)", fontsize=7.5, color="0.35", ha="right")
    return flow.figs


def _dvh_page(content: ReportContent, page: int):
    fig = Figure(figsize=A4)
    _header(fig, content, page, "Voxel dosimetry: dose-volume histograms")
    ax = fig.add_axes((0.11, 0.50, 0.82, 0.38))
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
    fig.text(0.11, 0.445, "Dashed lines: the dose limits and thresholds of the plan's device (see page 1 and the audit trail).", fontsize=8.5, color="0.3")
    if content.voxel_rows:
        y = 0.40
        fig.text(0.06, y, "Voxel dosimetry per region", fontsize=11, weight="bold")
        y -= 0.024
        xs = np.concatenate([[0.06], np.linspace(0.24, 0.86, len(content.voxel_header) - 1)])
        for h, x in zip(content.voxel_header, xs):
            fig.text(x, y, h, fontsize=8.5, weight="bold")
        y -= 0.018
        for r in content.voxel_rows:
            for cell, x in zip(r, xs):
                fig.text(x, y, cell if x > 0.06 else cell[:20], fontsize=8.5, family="monospace" if x > 0.06 else None)
            y -= 0.017
    return fig


def _slice_page(content: ReportContent, page: int):
    """Rows: one per tumour (largest first); columns: axial, coronal, sagittal through its centre."""
    from matplotlib import patheffects

    fig = Figure(figsize=A4)
    on_ct = any(s.ct_hu is not None for s in content.slices)
    _header(fig, content, page, "Dose on CT" if on_ct else "Dose (no CT given: dose map alone)")
    rows = list(dict.fromkeys(s.row for s in content.slices))
    vmax = max(float(np.percentile(s.dose_gy, 99.9)) for s in content.slices) or 1.0
    names = list(dict.fromkeys(n for s in content.slices for n, _ in s.outlines))
    colour = {n: _OUTLINE[k % len(_OUTLINE)] for k, n in enumerate(names)}
    top, height, width = 0.90, min(0.25, 0.80 / max(len(rows), 1)), 0.26
    im = None
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    for r, row in enumerate(rows):
        for c, s in enumerate(x for x in content.slices if x.row == row):
            ax = fig.add_axes((0.07 + c * (width + 0.035), top - (r + 1) * height + 0.02, width, height - 0.045))
            left, right, bottom, upper = s.extent_mm
            if s.ct_hu is not None:
                ax.imshow(s.ct_hu, cmap="gray", vmin=-200, vmax=300, extent=s.extent_mm, interpolation="bilinear")
            shown = np.ma.masked_less(s.dose_gy, 0.02 * vmax)
            im = ax.imshow(shown, cmap=_DOSE_CMAP, alpha=0.7 if s.ct_hu is not None else 1.0, vmin=0, vmax=vmax, extent=s.extent_mm)
            ny, nx = s.dose_gy.shape
            xs = left + (np.arange(nx) + 0.5) * (right - left) / nx
            ys = upper + (np.arange(ny) + 0.5) * (bottom - upper) / ny
            for name, mask in s.outlines:
                _outline(ax, xs, ys, mask, colour[name])
            for n_iso, (label, gy) in enumerate(s.isodoses):
                if np.nanmax(s.dose_gy) >= gy:
                    cs = ax.contour(xs, ys, s.dose_gy, levels=[gy], colors=["black"], linewidths=1.1, linestyles=[_ISO_STYLES[n_iso % len(_ISO_STYLES)]])
                    for coll in getattr(cs, "collections", [cs]):
                        coll.set_path_effects(halo)
            ax.set_xlim(*s.crop_x) if s.crop_x else ax.set_xlim(left, right)
            ax.set_ylim(*s.crop_y) if s.crop_y else ax.set_ylim(bottom, upper)
            ax.set_title(s.title, fontsize=7)
            ax.set_xlabel(s.axis_labels[0], fontsize=6.5)
            ax.tick_params(labelsize=5.5)
            for (x, y, ha, va), letter in zip(((0.02, 0.5, "left", "center"), (0.98, 0.5, "right", "center"),
                                               (0.5, 0.97, "center", "top"), (0.5, 0.03, "center", "bottom")), s.orientation):
                ax.text(x, y, letter, transform=ax.transAxes, ha=ha, va=va, fontsize=10, weight="bold", color="#ffea00",
                        path_effects=[patheffects.withStroke(linewidth=2.5, foreground="black")])
    # one legend for the page: outlines, isodose lines
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colour[n], linewidth=2, label=n) for n in names]
    iso = content.slices[0].isodoses if content.slices else ()
    handles += [Line2D([], [], color="black", linestyle=_ISO_STYLES[n % len(_ISO_STYLES)], linewidth=1.3, label=f"isodose {lab}", path_effects=halo)
                for n, (lab, _) in enumerate(iso)]
    y_leg = top - len(rows) * height - 0.005
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.07, y_leg), ncol=3, fontsize=8, frameon=False)
    if im is not None:
        cax = fig.add_axes((0.20, y_leg - 0.085, 0.60, 0.014))
        cb = fig.colorbar(im, cax=cax, orientation="horizontal")
        cb.set_label("Absorbed dose [Gy] (complete decay); below 2 % of the maximum not coloured", fontsize=8)
        cb.ax.tick_params(labelsize=7)
    fig.text(0.07, y_leg - 0.125, "Radiological convention: patient's right (R) on the image left; A anterior, P posterior, "
             "S superior, I inferior.", fontsize=7.5, color="0.3")
    return fig


def _outline(ax, xs, ys, mask, colour: str, linewidth: float = 1.1):
    """A region's outline: the 0.5 contour of its mask, drawn as ``ax.contour(xs, ys, mask.astype(float),
    levels=[0.5], colors=[colour], linewidths=linewidth)`` draws it, without a contour set's colour
    mapping (a third of the dose page's build time, issue 22): the same contourpy lines (matplotlib's
    algorithm, corner mask and line type, on the same grid) joined into one path as matplotlib joins
    them, in one collection drawn at the same z-order. The PDF operators are the same
    (tests/report/test_pdf_outlines.py compares the files byte for byte)."""
    import contourpy
    import matplotlib
    from matplotlib.collections import PathCollection
    from matplotlib.path import Path

    x, y = np.meshgrid(xs, ys)
    lines = contourpy.contour_generator(x, y, np.asarray(mask, dtype=np.float64), name=matplotlib.rcParams["contour.algorithm"],
                                        corner_mask=matplotlib.rcParams["contour.corner_mask"],
                                        line_type=contourpy.LineType.SeparateCode, chunk_size=0)
    found: Any = lines.lines(0.5)  # SeparateCode: (list of vertex arrays, list of code arrays)
    vertices, kinds = found
    path = Path(np.concatenate(vertices), np.concatenate(kinds)) if len(vertices) else Path(np.empty((0, 2)))
    ax.add_collection(PathCollection([path], facecolors="none", edgecolors=[colour], linewidths=linewidth, zorder=2), autolim=False)


#: Width of an audit label's line [pt]: the label column runs from x = 0.06 to 0.38 of the A4 width
#: (190.5 pt); measured in DejaVu Sans, about a tenth wider than the Helvetica shown, so a gap remains.
_AUDIT_LABEL_PT = 184.0


def _wrap_to_width(text: str, width_pt: float, size: float) -> list[str]:
    """``text`` in lines no wider than ``width_pt`` at ``size`` pt, measured in DejaVu Sans (wider than
    the Helvetica the PDF shows, so a line that fits here fits on the page); a word wider than a line
    is cut by characters. A number keeps the word after it (its unit: "0.61 GBq"), and a sign
    such as "<=" the words it binds ("<= 70 %"), on one line."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    measure, prop = TextToPath().get_text_width_height_descent, FontProperties(family="DejaVu Sans", size=size)

    def fits(s: str) -> bool:
        return measure(s, prop, ismath=False)[0] <= width_pt

    lines: list[str] = []
    line = ""
    words: list[str] = []
    for w in text.split():
        if words and (words[-1][-1].isdigit() or not any(c.isalnum() for c in words[-1])):
            words[-1] += " " + w  # a number and its unit, a sign and what follows it ("<= 70 %") stay together
        else:
            words.append(w)
    for word in words:
        while not fits(word):  # cut a word wider than the column
            k = next((i for i in range(len(word) - 1, 0, -1) if fits(word[:i])), 1)
            lines.extend([line] if line else [])
            lines.append(word[:k])
            line, word = "", word[k:]
        if line and not fits(f"{line} {word}"):
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + ([line] if line else [])


def _audit_pages(content: ReportContent, first_page: int):
    lines: list[tuple[str, str]] = []
    for label, value in content.audit:
        # a long label wraps in its own column instead of running into the value (a signed page)
        labels = _wrap_to_width(str(label), _AUDIT_LABEL_PT, 8) or [""]
        values = textwrap.wrap(str(value), 70) or [""]
        n = max(len(labels), len(values))
        lines.extend(zip(labels + [""] * (n - len(labels)), values + [""] * (n - len(values))))
    per_page = 52
    figs: list[Figure] = []
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


def _printable(figs) -> None:
    """Every text of the figures in characters a font can draw: a file name with bytes that are not
    UTF-8 (quoted in a warning or the audit trail) is shown with escapes (io.files.display_text)."""
    from matplotlib.text import Text

    from ..io.files import display_text

    for f in figs:
        for t in f.findobj(Text):
            shown = display_text(t.get_text())
            if shown != t.get_text():
                t.set_text(shown)


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
    return pdf_pages(lambda: _pages(content), metadata={"Title": f"Y-90 dosimetry report {content.patient_id}", "Creator": "y90-dosimetry"})


def pdf_pages(build: Callable[[], list], metadata: dict | None = None) -> bytes:
    """The PDF of the pages ``build()`` makes (matplotlib Figures), in the standard fonts when they can
    show every text of the pages, else (a character outside cp1252) built again and drawn in the
    embedded fonts; the report's and the verification's PDF (issue 22).

    The cyclic garbage collector is paused while the pages are built and drawn (:func:`_collection_paused`)."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with _collection_paused():
        with _font_substitutions_quiet(), matplotlib.rc_context(_STANDARD_FONTS):  # fonts chosen when a text is made, encoded when drawn
            figs = build()
            standard = _standard_fonts_suffice(figs)
        if not standard:  # a character outside the standard fonts' encoding: embedded fonts (matplotlib's default)
            figs = build()
        with _font_substitutions_quiet(), matplotlib.rc_context(_STANDARD_FONTS if standard else {}):
            with PdfPages(buf, metadata=metadata) as pdf:
                for f in figs:
                    pdf.savefig(f)
    return buf.getvalue()


@contextlib.contextmanager
def _collection_paused():
    """Pause Python's cyclic garbage collector (``gc``) while the pages are built and drawn: every
    artist made stays referenced by its page until the PDF is written, so a collection in between
    frees nothing, yet each one walks every object of the process (the demo's phantoms, pydicom
    datasets, the pint registry). Reference counting still frees what is not in a cycle; the pages'
    cycles are collected as usual afterwards. The collector's state is restored (left off when the
    caller had it off)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


#: The PDF's text in the standard Type 1 fonts every PDF reader has (Helvetica, Courier; PDF 1.7,
#: ISO 32000-1, 9.6.2.2), not embedded: no font subsets to build, about 4x less time to render
#: (issue 22, docs/performance.md). Their encoding (WinAnsi, cp1252) covers the report's text; a
#: page holding another character (a patient name in another script) is rendered with the embedded
#: fonts instead, so no character ever turns into "?".
_STANDARD_FONTS: dict[Any, Any] = {
    "pdf.use14corefonts": True,
    "font.family": "sans-serif",
    "font.sans-serif": ["Helvetica"],
    "font.monospace": ["Courier"],
}


@contextlib.contextmanager
def _font_substitutions_quiet():
    """matplotlib logs "Failed to find font weight normal for Helvetica, now using medium" (the
    standard fonts' regular weight is called medium); the substitution is the intended one."""
    log = logging.getLogger("matplotlib.font_manager")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _pages(content: ReportContent) -> list:
    figs = _summary_pages(content)
    if content.uncertainty is not None:
        from .uncertainty import uncertainty_page

        figs.append(uncertainty_page(content, len(figs) + 1, _header))
    if content.dvh:
        figs.append(_dvh_page(content, len(figs) + 1))
    if content.slices:
        figs.append(_slice_page(content, len(figs) + 1))
    figs.extend(_audit_pages(content, len(figs) + 1))
    _printable(figs)
    return figs


def _standard_fonts_suffice(figs) -> bool:
    """True when every text of the pages is in the standard fonts' encoding (cp1252)."""
    from matplotlib.text import Text

    for fig in figs:
        for t in fig.findobj(Text):
            s = t.get_text()
            if not s:
                continue
            try:
                s.encode("cp1252")
            except UnicodeEncodeError:
                return False
    return True
