"""Several territories treated in one session: the doses that add up, and their limits.

Each territory (vessel) is planned on its own (its perfused volume, device, method, activity); the
lungs and the whole normal liver receive from every territory, so their doses add (partition-model
doses are additive in activity; Ho et al., Eur J Nucl Med 1996):

    D_L,session  = sum_i K_i A_i (1 - R_i) LSF_i / M_Lung          (each territory's own shunt)
    D_WN,session = sum_i D_N,i M_N,i / M_WN                          (M_WN: whole liver - all tumours)
    cumulative   = prior lung dose + D_L,session

The session's lung dose is checked against the strictest per-treatment lung limit of the devices
used (glass 30 Gy, resin 25 Gy), the cumulative lung dose against 50 Gy, and, when a glass
territory is treated, the session's whole-normal-liver dose against the glass whole-liver limit of
the scenario (EANM 2022 Table 2). Each territory keeps its own checks (resin perfused normal liver,
tumours). For the whole-normal-liver sum every territory must be planned with the same whole liver
and the liver's tumours (``liver`` and ``liver_tumour`` of the planning functions).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pint

from ..errors import InputError
from ..units import Q_
from . import limits as _limits
from . import verdict as _verdict
from ..vocabulary import Origin
from .clinical import Clinical

__all__ = ["Session", "combine_territories"]


@dataclass(frozen=True)
class Session:
    """Territories of one treatment session and the doses they add up to.

    Parameters
    ----------
    names : tuple of str
        Territory names, e.g. ``("right lobe", "segment 3")``.
    territories : tuple of Plan
        Each territory's plan (its own checks).
    lung_dose : pint.Quantity
        Sum over territories [Gy].
    prior_lung_dose, cumulative_lung_dose : pint.Quantity
        Earlier treatments, and prior + this session [Gy].
    whole_normal_liver_dose : pint.Quantity or None
        Sum over territories [Gy] (None without the whole-liver volume).
    limits : tuple of LimitCheck
        The session's checks (summed figures), ``origin`` ``"session"``.
    notes : tuple of str
        How the session's limits were chosen.
    """

    names: tuple
    territories: tuple
    lung_dose: pint.Quantity
    prior_lung_dose: pint.Quantity
    cumulative_lung_dose: pint.Quantity
    whole_normal_liver_dose: pint.Quantity | None
    limits: tuple
    notes: tuple = ()

    @property
    def checks(self) -> tuple:
        """Every safety and efficacy check: each territory's (named) and the session's."""
        out = []
        for name, p in zip(self.names, self.territories):
            out += [replace(c, label=f"{name}: {c.label or c.name}", description=f"{name}: {c.description}") for c in p.limits]
        return tuple(out) + tuple(self.limits)

    @property
    def within_limits(self) -> bool:
        return not _verdict.failed(self.checks)


def _scalar(q) -> float:
    m = np.asarray(q.magnitude, dtype=float)
    if m.ndim:
        raise InputError("territories", "a session combines scalar plans (one patient), not arrays")
    return float(m)


def combine_territories(plans, names, *, prior_lung_dose="0 Gy", clinical: Clinical | None = None, overrides=None) -> Session:
    """Add up the lung and whole-normal-liver doses of territories treated in one session.

    Parameters
    ----------
    plans : sequence of Plan
        One plan per territory, each with the same lung mass and (for the whole normal liver) the
        same whole liver and liver tumours.
    names : sequence of str
        Territory names, one per plan.
    prior_lung_dose : pint.Quantity or str
        Lung dose of earlier sessions [Gy] (the plans themselves should be given 0 prior dose, or
        the same prior dose: it is counted once here).
    clinical : Clinical, optional
        Scenario of the session's whole-liver limit (default: the first glass territory's).
    overrides : mapping, optional
        The clinic's own limits, as :func:`dosimetry.planning.limits.applicable` takes them
        (``lung_dose``, ``cumulative_lung_dose``, ``normal_liver``): the summed doses are checked
        against them as each territory's own doses are.

    Returns
    -------
    Session

    Raises
    ------
    InputError
        No plans, names not matching, lung masses that differ.
    """
    plans, names = tuple(plans), tuple(str(n) for n in names)
    if not plans or len(plans) != len(names):
        raise InputError("territories", "give one name per territory plan (at least one)")
    if len(set(names)) != len(names):
        raise InputError("territories", "territory names must differ")
    masses = {round(_scalar(p.lung_mass.to("kg")), 9) for p in plans}
    if len(masses) > 1:
        raise InputError("lung.mass", "the territories of one session must use the same lung mass")
    prior = Q_(float(Q_(prior_lung_dose).to("Gy").magnitude) if isinstance(prior_lung_dose, str) else _scalar(prior_lung_dose.to("Gy")), "Gy")
    lung = Q_(sum(_scalar(p.lung_dose.to("Gy")) for p in plans), "Gy")
    cumulative = lung + prior
    whole = None
    if all(p.whole_normal_liver_dose is not None for p in plans):
        whole = Q_(sum(_scalar(p.whole_normal_liver_dose.to("Gy")) for p in plans), "Gy")
    notes = []
    rows = []
    devices = sorted({p.device for p in plans})
    lung_rows = [t for d in devices for t in _limits.applicable(d, clinical, overrides)[0] if t.figure == "lung_dose"]
    strictest = min(lung_rows, key=lambda t: t.value.to("Gy").magnitude)
    rows.append(strictest)
    rows.append(next(t for t in _limits.applicable(devices[0], clinical, overrides)[0] if t.figure == "cumulative_lung_dose"))
    if len(devices) > 1:
        notes.append(f"devices {', '.join(devices)} in one session: the session's lung dose is checked against the strictest per-treatment lung limit ({strictest.describe()})")
    # the devices with a whole-normal-liver limit (glass, EANM 2022 T2), in the scenario of the first of their territories
    def whole_liver_rows(p):
        return [t for t in _limits.applicable(p.device, clinical or p.clinical, overrides)[0] if t.figure == "whole_normal_liver_dose"]

    owner = next((p for p in plans if whole_liver_rows(p)), None)
    if owner is not None:
        rows += whole_liver_rows(owner)
        if whole is None:
            notes.append("the session's whole-normal-liver dose needs the whole liver (liver.volume) in every territory's plan: not checked")
    figures = {"lung_dose": lung, "cumulative_lung_dose": cumulative, "whole_normal_liver_dose": whole}
    checks = tuple(replace(c, origin=Origin.SESSION, label=f"session {c.label}", description=f"session {c.description}") for c in _limits.check(rows, figures) if c.value is not None)
    return Session(names, plans, lung, prior, cumulative, whole, checks, tuple(notes))
