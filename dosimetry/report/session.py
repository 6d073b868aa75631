"""One signable PDF per session (issue 21): each territory's page 1 (directive, device, vial and
timing, compartment doses, its checks), then the session page: the summed lung and whole-normal-liver
doses against their limits, the one status of the session, and the signatures.

Renders only: the figures and the verdict are the :class:`~dosimetry.workflow.session.SessionResult`'s.
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import replace

from .build import render_report
from .content import ReportContent
from .page1 import STATUS_KINDS, SignedPage, _check
from .pdf import _summary_pages
from .text import fmt, identity_rows, prepared_by

__all__ = ["session_content", "render_session_pdf", "withheld"]


def session_content(result, now: _dt.datetime | None = None) -> tuple:
    """(territory contents, session page content): a ReportContent per territory (titled with its
    name) and one for the session page."""
    territories = []
    for name, case in zip(result.names, result.cases):
        c = render_report(case, now=now).content
        page = c.page1 if case.actionable and not result.actionable and c.page1 is not None else None
        territories.append(ReportContent(**{**c.__dict__, "title": f"Territory {name}: {c.title}",
                                            "page1": c.page1 if page is None else withheld(page, str(result.status))}))
    s = result.session
    pf = result.cases[0].plan.patient
    rows = [*identity_rows(pf)[:2],
            ("Territories", ", ".join(f"{n} ({c.status})" for n, c in zip(result.names, result.cases)))]
    for n, case in zip(result.names, result.cases):
        pp = case.plan
        if not case.actionable:
            given = f"NONE ({case.status})"
        elif not result.actionable:  # within its own limits, but the session is not (summed doses, another territory)
            given = f"NONE (the session is {result.status}; {fmt(pp.activity_to_administer)} planned, not to be given)"
        else:
            given = fmt(pp.activity_to_administer)
        rows.append((f"{n}: activity to administer", given))
    rows += [("Summed lung dose (this session)", fmt(s.lung_dose)),
             ("Cumulative lung dose", f"{fmt(s.cumulative_lung_dose)} (prior {fmt(s.prior_lung_dose)})")]
    if s.whole_normal_liver_dose is not None:
        rows.append(("Summed whole normal liver dose", fmt(s.whole_normal_liver_dose)))
    status = str(result.status)
    line = result.headline()
    page = SignedPage(status=status, status_kind=STATUS_KINDS[status], status_line=line,
                      sections=(("Session (summed over the territories)", tuple(rows)),), compartments=(),
                      compartment_header=(), safety=tuple(_check(c) for c in s.limits), efficacy=(),
                      decisions=tuple(result.decisions), prepared_by=prepared_by(pf))
    pid = result.cases[0].patient_id or "-"
    session = ReportContent(patient_id=pid, title=f"Session of {len(result.names)} territories", status=line,
                            blocked=result.blocked, checks=(), warnings=tuple(s.notes), audit=(), page1=page)
    return tuple(territories), session


def withheld(page: SignedPage, status: str) -> SignedPage:
    """A territory's page 1 within its own limits in a session that is not: its activity to
    administer is withheld, as on the session page (issue 21: never a dose to give in bold under a
    session that is BLOCKED or NEEDS A DECISION)."""
    note = f"NONE: the session is {status} (session page); "
    sections = tuple((h, tuple((k, note + f"{v}, planned, not to be given") if k == "Activity to administer" else (k, v) for k, v in rows))
                     for h, rows in page.sections)
    return replace(page, sections=sections, status_line=page.status_line + f" The session is {status}: see the session page.")


def render_session_pdf(result, now: _dt.datetime | None = None) -> bytes:
    """The session's PDF bytes: the session page first, then each territory's summary pages."""
    from matplotlib.backends.backend_pdf import PdfPages

    territories, session = session_content(result, now)
    figs = list(_summary_pages(session))
    for c in territories:  # one page numbering across the session document
        figs += _summary_pages(c, first_page=len(figs) + 1)
    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": f"Y-90 dosimetry session {session.patient_id}", "Creator": "y90-dosimetry"}) as pdf:
        for f in figs:
            pdf.savefig(f)
    return buf.getvalue()
