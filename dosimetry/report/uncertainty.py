"""What the report shows of the uncertainty analysis (issue 23): each figure's median and 95 %
interval, the chance that each safety limit is crossed at the prescribed activity, and the inputs
ranked by their share of the variance (a one-at-a-time tornado chart).

It renders only: the numbers are those of the CaseResult (:mod:`dosimetry.workflow.uncertainty`).
The text section (``y90 plan``, summary.txt), page 1's one line per limit, the PDF page and the
audit rows are built here, so that they move with the report's layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..planning.uncertainty import OAT_DRAWS
from ..vocabulary import Origin
from ..workflow import CaseResult
from .text import fmt

__all__ = ["UncertaintyContent", "uncertainty_content", "text_lines", "page1_lines", "audit_rows", "uncertainty_page", "FIGURE_LABELS"]

#: Human names of the figures.
FIGURE_LABELS = {
    "prescribed_activity": "Prescribed activity",
    "target_dose": "Perfused volume dose",
    "normal_liver_dose": "Perfused normal liver dose",
    "whole_normal_liver_dose": "Whole normal liver dose",
    "tumour_dose": "Tumour dose",
    "lung_dose": "Lung dose",
    "cumulative_lung_dose": "Cumulative lung dose",
}

METHOD_NOTE = (
    f"Ranking one at a time: each input drawn alone ({OAT_DRAWS} draws, or the sample count if smaller), the others at their "
    "values; its share is its variance over the sum of the inputs' (interactions ignored). Bars: the figure's 95 % interval "
    "then; the line: the nominal figure."
)


def _u(case: CaseResult):
    return getattr(case, "uncertainty", None)


def _tumour_names(case: CaseResult) -> list:
    assert case.plan is not None  # figures of a planned case
    return [t.name for t in case.plan.patient.target.tumours]


def figure_label(key: str, case: CaseResult) -> str:
    """``"tumour_dose[2]"`` -> ``"Tumour 2 dose"`` (the tumour's name in the patient file)."""
    name, _, rest = key.partition("[")
    if name == "tumour_dose":
        names = _tumour_names(case)
        i = int(rest.rstrip("]")) - 1 if rest else 0
        return f"{names[i]} dose" if i < len(names) else "Tumour dose"
    return FIGURE_LABELS.get(name, name)


def _nominal(case: CaseResult, key: str):
    name, _, rest = key.partition("[")
    assert case.plan is not None  # figures of a planned case
    q = getattr(case.plan.plan, name)
    if rest:
        return q[int(rest.rstrip("]")) - 1]
    return q


def _rows_of(case: CaseResult) -> list:
    """(label, nominal, median, 95 % interval) for every figure with an interval: the plan's (a tumour
    each) and the voxel regions' mean doses."""
    u = _u(case)
    rows = []
    for key, iv in u.plan.figures.items():
        if np.ndim(iv.median.magnitude):
            for i in range(len(np.atleast_1d(iv.median.magnitude))):
                k = f"{key}[{i + 1}]"
                pick = lambda q: type(q)(float(np.atleast_1d(q.magnitude)[i]), q.units)  # noqa: E731
                rows.append((figure_label(k, case), fmt(_nominal(case, k)), fmt(pick(iv.median)), f"{fmt(pick(iv.low))} to {fmt(pick(iv.high))}"))
        else:
            rows.append((figure_label(key, case), fmt(_nominal(case, key)), fmt(iv.median), f"{fmt(iv.low)} to {fmt(iv.high)}"))
    if case.voxel is not None:
        means = {r.name: r.stats.mean for r in case.voxel.regions}
        for name, iv in u.voxel.items():
            rows.append((f"{name} mean dose (voxel)", fmt(means[name]), fmt(iv.median), f"{fmt(iv.low)} to {fmt(iv.high)}"))
    return rows


def _limit_rows(case: CaseResult) -> list:
    """(check, where, probability or None when nothing uncertain moves it) of every safety check with a p_exceed."""
    return [(c.description, str(c.origin), None if c.origin is Origin.VIAL else c.p_exceed) for c in case.safety if c.p_exceed is not None]


def _p(p: float | None, n: int) -> str:
    """A probability as text; below one draw in n it is said so rather than printed as 0."""
    if p is None:
        return "not uncertain (times)"
    return f"< {100 / n:.2g} %" if p == 0 else f"{p * 100:.3g} %"


def header(case: CaseResult) -> str:
    u = _u(case)
    return (f"{u.samples} draws of the inputs (seed {u.seed}); medians and 95 % intervals, the doses at the prescribed activity. "
            f"The verdict is on the nominal figures; a probability above {u.bound:.0%} is warned.")


def text_lines(case: CaseResult) -> list:
    """The section of ``y90 plan`` and summary.txt (none without an analysis)."""
    u = _u(case)
    if u is None:
        return []
    rows = _rows_of(case)
    w = max(len(r[0]) for r in rows) + 2
    lines = ["Uncertainty (" + header(case) + ")"]
    lines += [f"  {label:<{w}}{nominal:<14}median {median:<14}95 %: {interval}" for label, nominal, median, interval in rows]
    lines.append("  Chance each safety limit is crossed at the prescribed activity")
    lines += [f"    {desc} ({where}): {_p(p, u.samples)}" for desc, where, p in _limit_rows(case)]
    lines.append("  Largest shares of the variance (one at a time)")
    for key, shares in u.plan.ranking.items():
        top = [f"{s.label} {s.share:.0%}" for s in shares[:3] if s.share >= 0.005]
        if top:
            lines.append(f"    {figure_label(key, case)}: " + ", ".join(top))
    return lines


def page1_lines(case: CaseResult) -> tuple:
    """Page 1: one line per safety limit, the chance it is crossed at the prescribed activity."""
    u = _u(case)
    if u is None:
        return ()
    return tuple(f"{desc} ({where}): {_p(p, u.samples)}" + ("  ABOVE THE BOUND" if p is not None and p > u.bound else "") for desc, where, p in _limit_rows(case))


def audit_rows(case: CaseResult) -> list:
    """The budget drawn, for the audit trail."""
    u = _u(case)
    if u is None:
        return []
    rows = [("Uncertainty analysis", f"{u.samples} draws, seed {u.seed}, numpy default_rng; p_exceed bound {u.bound:.0%}")]
    rows += [(f"Uncertainty: {t.label}", f"{t.describe()} ({t.basis}): {t.source}") for t in u.plan.terms]
    if case.voxel is not None:
        s = u.plan.settings
        rows += [(f"Uncertainty: {s.term(k).label}", f"{s.term(k).describe()} ({s.term(k).basis}): {s.term(k).source}") for k in ("image_calibration", "roi_volume")]
    return rows


@dataclass(frozen=True)
class UncertaintyContent:
    """The uncertainty page of the PDF.

    ``tornado``: (title, unit, nominal, ((input, low, high, share), ...)) per figure charted.
    """

    header: str
    rows: tuple
    limits: tuple
    tornado: tuple
    note: str = METHOD_NOTE


def _charted(case: CaseResult) -> list:
    """The figures charted: the prescribed activity, the lung dose, the (whole) normal liver, the
    lowest-dosed tumour."""
    ranking = _u(case).plan.ranking
    keys = ["prescribed_activity", "lung_dose", "whole_normal_liver_dose" if "whole_normal_liver_dose" in ranking else "normal_liver_dose"]
    tumours = [k for k in ranking if k.startswith("tumour_dose")]
    if tumours:
        keys.append(min(tumours, key=lambda k: float(_nominal(case, k).to("Gy").magnitude)))
    return [k for k in keys if k in ranking]


def uncertainty_content(case: CaseResult) -> UncertaintyContent | None:
    u = _u(case)
    if u is None:
        return None
    tornado = []
    for key in _charted(case):
        nominal = _nominal(case, key)
        unit = f"{nominal.units:~P}"
        bars = tuple((s.label, float(s.low.to(nominal.units).magnitude), float(s.high.to(nominal.units).magnitude), s.share)
                     for s in u.plan.ranking[key][:6])
        tornado.append((figure_label(key, case), unit, float(nominal.magnitude), bars))
    limits = tuple((desc, where, _p(p, u.samples)) for desc, where, p in _limit_rows(case))
    return UncertaintyContent(header(case), tuple(_rows_of(case)), limits, tuple(tornado))


def uncertainty_page(content, page: int, header_fn):
    """The PDF page: intervals, the chance each limit is crossed, the tornado charts."""
    import textwrap

    from matplotlib.figure import Figure

    uc = content.uncertainty
    fig = Figure(figsize=(8.27, 11.69))
    header_fn(fig, content, page, "Uncertainty of the plan")
    y = 0.905
    for line in textwrap.wrap(uc.header, 110):
        fig.text(0.06, y, line, fontsize=8.5, color="0.2")
        y -= 0.015
    y -= 0.01
    for col, x in (("Figure", 0.06), ("Nominal", 0.42), ("Median", 0.56), ("95 % interval", 0.70)):
        fig.text(x, y, col, fontsize=8.5, weight="bold")
    y -= 0.017
    for label, nominal, median, interval in uc.rows:
        parts = textwrap.wrap(label, 52) or [""]  # wrapped, never shortened
        for cell, x in ((parts[0], 0.06), (nominal, 0.42), (median, 0.56), (interval, 0.70)):
            fig.text(x, y, cell, fontsize=8.3, family=None if x == 0.06 else "monospace")
        for part in parts[1:]:
            y -= 0.0145
            fig.text(0.075, y, part, fontsize=8.3)
        y -= 0.0145
    y -= 0.01
    fig.text(0.06, y, "Chance each safety limit is crossed at the prescribed activity", fontsize=10, weight="bold")
    y -= 0.017
    for desc, where, p in uc.limits:
        fig.text(0.70, y, p, fontsize=8.3, family="monospace")
        for k, part in enumerate(textwrap.wrap(f"{desc} ({where})", 80)):  # wrapped, never shortened
            fig.text(0.06 if k == 0 else 0.075, y, part, fontsize=8.3)
            y -= 0.0145
    _tornado(fig, uc, top=y - 0.02)
    for k, line in enumerate(textwrap.wrap(uc.note, 120)):
        fig.text(0.06, 0.05 - 0.012 * k, line, fontsize=7, color="0.35")
    return fig


def _tornado(fig, uc: UncertaintyContent, top: float) -> None:
    """Up to four charts (2 x 2) in the space from ``top`` down to the page's foot."""
    n = len(uc.tornado)
    if not n:
        return
    rows = (n + 1) // 2
    height = (top - 0.09) / rows
    for i, (title, unit, nominal, bars) in enumerate(uc.tornado):
        r, c = divmod(i, 2)
        ax = fig.add_axes([0.27 + c * 0.47, top - (r + 1) * height + 0.04, 0.22, height - 0.075])
        labels = [f"{b[3]:.0%} {b[0]}" for b in bars][::-1]
        lows = np.array([b[1] for b in bars][::-1])
        highs = np.array([b[2] for b in bars][::-1])
        ax.barh(range(len(bars)), highs - lows, left=lows, color="#5c85d6", height=0.6)
        ax.axvline(nominal, color="black", linewidth=1)
        ax.set_yticks(range(len(bars)))
        ax.set_yticklabels([_tick_label(s) for s in labels], fontsize=6.5)
        ax.tick_params(axis="x", labelsize=6.5)
        ax.set_xlabel(unit, fontsize=7)
        ax.set_title(title, fontsize=8.5)


def _tick_label(s: str, width: int = 30) -> str:
    """A tornado bar's label in lines of about ``width`` characters: wrapped, never shortened (the
    page is signed with the plan; "activity given (dose..." did not say which input)."""
    import textwrap

    return "\n".join(textwrap.wrap(s, width)) or s
