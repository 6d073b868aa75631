"""Several territories of one patient treated in one session: one patient file per territory.

Each territory's patient file is planned and assessed on its own (:func:`plan_case`); the lung and
whole-normal-liver doses are then summed over the territories (and the prior lung dose counted
once) by :func:`dosimetry.planning.session.combine_territories`, whose checks join the verdict:
the session is blocked when any territory is, or when a summed dose exceeds its limit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from dataclasses import dataclass, replace

from ..errors import InputError
from ..model import PatientFile
from ..planning.session import Session, combine_territories
from ..planning import verdict as _verdict
from ..vocabulary import Status
from .assess import BLOCKED, NEEDS_DECISION, WITHIN_LIMITS
from .case import plan_case

__all__ = ["SessionResult", "plan_session", "check_distinct_files"]


@dataclass(frozen=True)
class SessionResult:
    """The verdict on a session of several territories.

    Parameters
    ----------
    names : tuple of str
        Territory names.
    cases : tuple of CaseResult
        Each territory's own assessment.
    session : Session
        Summed doses and their checks.
    """

    names: tuple
    cases: tuple
    session: Session

    @property
    def failed(self) -> tuple:
        own = tuple(replace(c, description=f"{n}: {c.description}") for n, case in zip(self.names, self.cases) for c in case.failed)
        return own + _verdict.failed(self.session.limits)

    @property
    def blocked(self) -> bool:
        return self.status is Status.BLOCKED

    @property
    def decisions(self) -> tuple:
        """What a territory's vial or timing leaves to decide, named by territory."""
        return tuple(f"{n}: {d}" for n, case in zip(self.names, self.cases) for d in case.decisions)

    @property
    def actionable(self) -> bool:
        """Within every limit and nothing left to decide: the only session that exits 0."""
        return not self.blocked and not self.decisions

    @property
    def status(self) -> Status:
        """The one rule (:func:`dosimetry.planning.verdict.status`) over every territory's checks and the session's."""
        return _verdict.status(self.failed, self.decisions)

    def headline(self) -> str:
        if self.blocked:
            return f"{BLOCKED} by " + "; ".join(c.description for c in self.failed)
        if self.decisions:
            return f"{NEEDS_DECISION}: " + "; ".join(self.decisions)
        return f"{WITHIN_LIMITS}: every territory and the summed lung and whole-normal-liver doses pass"

    def to_json(self) -> dict:
        from ..units import to_json

        s = self.session
        return {
            "status": self.status,
            "blocked": self.blocked,
            "decisions": list(self.decisions),
            "headline": self.headline(),
            "territories": [{"name": n, **c.to_json(), "prescribed_activity": to_json(c.plan.plan.prescribed_activity)} for n, c in zip(self.names, self.cases)],
            "lung_dose": to_json(s.lung_dose),
            "prior_lung_dose": to_json(s.prior_lung_dose),
            "cumulative_lung_dose": to_json(s.cumulative_lung_dose),
            "whole_normal_liver_dose": None if s.whole_normal_liver_dose is None else to_json(s.whole_normal_liver_dose),
            "session_checks": [c.to_json() for c in s.limits],
            "notes": list(s.notes),
        }


def _territory_name(pf: PatientFile, i: int) -> str:
    if pf.path is not None:
        return pf.path.stem
    return f"territory {i}"


def plan_session(patients, *, names=None, progress: Callable[[str], None] | None = None) -> SessionResult:
    """Plan and assess each territory, then sum the doses that add up over the session.

    Parameters
    ----------
    patients : sequence of PatientFile
        One per territory, all of the same patient (``patient.id``) with the same lung mass, the
        same whole liver and the same prior lung dose.
    names : sequence of str, optional
        Territory names (default: the patient files' names).

    Raises
    ------
    InputError
        Fewer than two territories, different patients, or prior lung doses that differ.
    """
    patients = tuple(patients)
    if len(patients) < 2:
        raise InputError("territories", "a session needs two or more territory patient files")
    _distinct(patients)
    ids = {pf.patient.id for pf in patients}
    if len(ids) > 1:
        raise InputError("patient.id", f"the territories are of different patients ({', '.join(sorted(ids))})")
    priors = {round(float(pf.lung.prior_dose.to("Gy").magnitude), 9) for pf in patients}
    if len(priors) > 1:
        raise InputError("lung.prior_dose", "every territory of the session must give the same prior lung dose (it is counted once)")
    _same_in_every_file(patients)
    names = tuple(names) if names is not None else tuple(_territory_name(pf, i) for i, pf in enumerate(patients, 1))
    cases = tuple(plan_case(pf, progress=progress) for pf in patients)
    _one_liver(cases)
    plans = []
    for c in cases:
        assert c.plan is not None  # run_case always plans
        plans.append(as_given(c.plan))
    session = combine_territories(plans, names, prior_lung_dose=patients[0].lung.prior_dose,
                                  clinical=cases[0].clinical, overrides=patients[0].overrides)
    if any(c.plan is not None and c.plan.doses_at_vial for c in cases):
        session = replace(session, notes=tuple(session.notes) + (
            "the summed lung and whole-normal-liver doses are at the activities that will be given: a glass vial's at the planned time "
            "(given whole), each other territory's planned activity",))
    return SessionResult(names, cases, session)


def as_given(pp):
    """A territory's plan with its lung and whole-normal-liver doses at the activity that will be
    given (issue 21): the glass vial's at the planned time when it is given whole (:attr:`~dosimetry.
    workflow.plan.PatientPlan.doses_at_vial`), else the plan's own."""
    at = pp.doses_at_vial
    if not at:
        return pp.plan
    return replace(pp.plan, **{k: at[k] for k in ("lung_dose", "whole_normal_liver_dose") if k in at})


def check_distinct_files(paths: Iterable[str | Path], field: str) -> None:
    """Refuse one file given twice, by whatever path: the same name, a relative and an absolute path,
    a symbolic link or a hard link (the same device and inode, ``os.stat``). The one check of
    ``y90 session`` and :func:`plan_session`.

    Raises
    ------
    InputError
        Two of ``paths`` are one file (the message names both as given).
    """
    seen: dict = {}
    for p in paths:
        try:
            st = os.stat(p)
            key: tuple = (st.st_dev, st.st_ino)
        except (OSError, ValueError):
            key = ("path", os.path.realpath(os.fspath(p)))  # unreadable: its readers refuse it
        if key in seen:
            same = "is the same file as" if os.fspath(seen[key]) != os.fspath(p) else "is given twice:"
            raise InputError(field, f"{os.fsdecode(p)} {same} {os.fsdecode(seen[key])} (a link or another path to it); give each file once")
        seen[key] = p


def _distinct(patients) -> None:
    """One territory file given twice (any path to it, or a copy of it) would be planned twice and its
    doses summed twice: refused."""
    check_distinct_files([pf.path for pf in patients if pf.path is not None], "territories")
    seen: dict = {}
    for i, pf in enumerate(patients, 1):
        if pf.sha256 is None:
            continue
        if pf.sha256 in seen:
            raise InputError("territories", f"{seen[pf.sha256]} and {_territory_name(pf, i)} are identical files (SHA-256); each territory is its own file, given once")
        seen[pf.sha256] = _territory_name(pf, i)


def _same_in_every_file(patients) -> None:
    """One patient, one scenario and one set of clinic limits: the keys that describe the patient
    (indication, bilirubin, compromised liver) and the clinic's limits must be the same in every
    territory's file, or the summed checks would depend on the order of the files. The extent
    (whole liver, lobar, segmental) is the territory's own and may differ."""
    keys = {
        "clinical.indication": lambda pf: pf.clinical.indication,
        "clinical.bilirubin": lambda pf: None if pf.clinical.bilirubin is None else round(float(pf.clinical.bilirubin.to("mg/dL").magnitude), 9),
        "clinical.compromised_liver": lambda pf: pf.clinical.compromised_liver,
        "lung.limit": lambda pf: _gy(pf.lung.limit),
        "lung.cumulative_limit": lambda pf: _gy(pf.lung.cumulative_limit),
        "target.normal_liver_limit": lambda pf: _gy(pf.target.normal_liver_limit),
        "patient.birth_date": lambda pf: pf.patient.birth_date,
        "patient.sex": lambda pf: pf.patient.sex,
        "patient.record_number": lambda pf: pf.patient.record_number,
    }
    for field, get in keys.items():
        values = [get(pf) for pf in patients]
        if len(set(values)) > 1:
            shown = ", ".join("not stated" if v is None else str(getattr(v, "value", v)) for v in values)
            raise InputError(field, f"differs between the territories' files ({shown}); one patient has one scenario and one set of limits: write the same {field} in every file")


def _gy(q):
    return None if q is None else round(float(q.to("Gy").magnitude), 9)


def _one_liver(cases) -> None:
    """The territories share one whole liver: the same liver volume and liver tumour volume in every
    file (the summed whole-normal-liver dose divides by them), and perfused targets and their
    tumours that fit in it."""
    livers = [c.plan.patient.liver for c in cases]
    for field, get in (("liver.volume", lambda lv: lv.volume), ("liver.tumour_volume", lambda lv: lv.tumour_volume)):
        values = [None if get(lv) is None else float(get(lv).to("mL").magnitude) for lv in livers]
        known = [v for v in values if v is not None]
        if (len(known) != len(values) and known) or (known and max(known) - min(known) > 1e-3 * max(max(known), 1.0)):
            shown = ", ".join("not given" if v is None else f"{v:.1f} mL" for v in values)
            raise InputError(field, f"differs between the territories' files ({shown}); the territories share one liver: give the same {field} in every file")
    liver = livers[0]
    with_tumours = any(c.plan.patient.target.tumour_volume is not None and c.plan.patient.target.tumour_volume.magnitude > 0 for c in cases)
    if len(cases) > 1 and with_tumours and liver.volume is not None and liver.tumour_volume is None:
        # each territory alone would count only its own tumours: the whole normal liver (liver minus
        # every tumour) and the tumour replacement of the liver would be overstated / understated
        raise InputError("liver.tumour_volume", "missing: territories treated in one session share one liver, and the summed whole-normal-liver "
                         "dose and the tumour replacement of the liver need every tumour in it; give liver.tumour_volume (the same in every file)")
    targets = sum(float(c.plan.patient.target.volume.to("mL").magnitude) for c in cases)
    if liver.volume is not None and targets > float(liver.volume.to("mL").magnitude) * 1.001:
        raise InputError("target.volume", f"the territories' targets add up to {targets:.1f} mL, more than the whole liver ({liver.volume.to('mL').magnitude:.1f} mL); territories must not overlap")
    tumours = sum(float(c.plan.patient.target.tumour_volume.to("mL").magnitude) for c in cases)
    if liver.tumour_volume is not None and tumours > float(liver.tumour_volume.to("mL").magnitude) * 1.001 + 1e-6:
        raise InputError("target.tumours", f"the territories' tumours add up to {tumours:.1f} mL, more than the liver's tumours (liver.tumour_volume {liver.tumour_volume.to('mL').magnitude:.1f} mL)")

