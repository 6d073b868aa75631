"""Where one prepared activity goes: perfused target, tumours, normal liver (perfused and whole), lungs.

Every prescription method (MIRD, BSA, empirical, partition) chooses an activity in its own way;
the doses that activity gives are the same physics for all of them, so every method is checked
on the same figures (partition model, Ho et al., Eur J Nucl Med 1996;23:947; MIRD primer):

    E    = K (1 - R) (1 - LSF)                 liver share, Gy kg per prepared GBq
    D_P  = E A / M_P                           perfused-target mean dose
    D_N  = E A / (M_N + sum_i r_i M_Ti)        perfused normal liver, M_N = M_P - sum_i M_Ti
    D_Ti = r_i D_N                             tumour i
    D_WN = D_N M_N / (M_L - M_T,liver)         whole normal liver (all of the liver outside the
                                               tumours; the unperfused part gets no dose)
    D_L  = K (1 - R) LSF A / M_Lung            lungs

with K the dose coefficient, R the residual fraction, LSF the lung shunt fraction, A the prepared
activity, M_P the perfused mass (tumours included), M_Ti and r_i the tumours in the target and their
tumour-to-normal uptake ratios, M_L the whole liver and M_T,liver every tumour in the liver.

Without tumour-to-normal ratios the uptake is taken as uniform: D_N = D_P and no tumour dose is
computed. Without the whole-liver mass the whole-normal-liver dose is unknown; a limit on it is
then checked on the perfused normal liver instead, which is never lower (see
:func:`dosimetry.planning.limits.check`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pint

from ..errors import InputError
from ..ranges import plausible_quantity
from ..units import new_quantity, to_unit
from . import _inputs as _in

__all__ = ["Compartments", "tumours_of"]


def _ratio(value, field: str, warns: list | None = None) -> np.ndarray:
    """Tumour-to-normal ratio(s) in ``PLAUSIBLE["target.tumour_to_normal"]``; a list of per-patient
    values is taken as an array."""
    if isinstance(value, list):
        value = np.asarray(value, dtype=float)
    q = plausible_quantity(value, "target.tumour_to_normal", field, warns, scalar=False)
    return np.asarray(q.magnitude, dtype=float)


def _is_list(x) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, str)


def tumours_of(tumour, ratio, rho, warns: list | None = None, shapes: dict | None = None) -> tuple:
    """Tumour masses [kg magnitude], ratios (or None) and whether there are several.

    ``tumour`` is a mass or volume, or a list of them (several tumours, stacked on axis 0);
    ``ratio`` the tumour-to-normal ratio(s), one per tumour, or None for uniform uptake. Each
    tumour's shape is added to ``shapes`` (field -> shape) and checked to broadcast with them.
    """
    shapes = {} if shapes is None else shapes
    several = _is_list(tumour)
    if several:
        if len(tumour) == 0:
            raise InputError("target.tumours", "at least one tumour is needed")
        if ratio is not None and (not _is_list(ratio) or len(ratio) != len(tumour)):
            raise InputError("target.tumour_to_normal", f"give one ratio per tumour ({len(tumour)} tumours)")
        ms: list[np.ndarray] = []
        for i, t in enumerate(tumour):
            mass = _in.mass_of(t, rho, f"target.tumours[{i + 1}].mass", f"target.tumours[{i + 1}].volume", warns)
            shapes[_in.field_of(t, f"target.tumours[{i + 1}].mass", f"target.tumours[{i + 1}].volume")] = np.shape(mass.magnitude)
            ms.append(np.asarray(mass.magnitude, dtype=float))
        rs: list[np.ndarray] | None = None
        if ratio is not None:
            rs = [_ratio(q, f"target.tumours[{i + 1}].tumour_to_normal", warns) for i, q in enumerate(ratio)]
            shapes.update({f"target.tumours[{i + 1}].tumour_to_normal": r.shape for i, r in enumerate(rs)})
        _in.shapes_agree(shapes)
        return np.stack(np.broadcast_arrays(*ms)), None if rs is None else np.stack(np.broadcast_arrays(*rs)), True
    m = np.asarray(_in.mass_of(tumour, rho, "target.tumour_mass", "target.tumour_volume", warns).magnitude, dtype=float)
    shapes[_in.field_of(tumour, "target.tumour_mass", "target.tumour_volume")] = m.shape
    r = None if ratio is None else _ratio(ratio, "target.tumour_to_normal", warns)
    if r is not None:
        shapes["target.tumour_to_normal"] = r.shape
    _in.shapes_agree(shapes)
    return m, r, False


def _tumours_first(stacked: np.ndarray, plan_ndim: int) -> np.ndarray:
    """Several tumours' figures (tumours on axis 0, then their plans' axes) given the plans' leading axes the
    activity has and they lack, so that the tumour axis stays first when they meet the activity.

    Without it numpy aligns trailing axes: 3 scalar tumours against 3 plans (an array of 3 doses, lung shunt
    fractions or targets) paired tumour i with plan i, a silent mix of plans; 2 tumours against 3 plans
    stopped with numpy's broadcast error (found with the recorded plans of issue 22).
    """
    missing = plan_ndim - (stacked.ndim - 1)
    return stacked.reshape(stacked.shape[:1] + (1,) * missing + stacked.shape[1:]) if missing > 0 else stacked


@dataclass(frozen=True)
class Compartments:
    """Masses and uptake of the compartments a prepared activity is shared between.

    Magnitudes are in kg (masses), Gy kg/GBq (``k``); arrays broadcast (one plan per element).
    ``tumour_mass`` and ``ratio`` hold the tumours on their first axis when ``several``.

    Parameters
    ----------
    k : numpy.ndarray or float
        Dose coefficient [Gy kg/GBq].
    lsf, residual : numpy.ndarray or float
        Lung shunt and residual fractions.
    target_mass : numpy.ndarray or float
        Perfused mass, tumours included [kg].
    tumour_mass : numpy.ndarray or float
        Tumour mass(es) inside the target [kg] (0 when none).
    ratio : numpy.ndarray, float or None
        Tumour-to-normal ratio(s); None for uniform uptake.
    several : bool
        Several tumours on axis 0.
    liver_mass : numpy.ndarray, float or None
        Whole liver, tumours included [kg]; None when not known.
    liver_tumour_mass : numpy.ndarray, float or None
        Every tumour in the whole liver [kg]; None: the tumours of the target.
    lung_mass : numpy.ndarray or float
        [kg].
    """

    k: np.ndarray
    lsf: np.ndarray
    residual: np.ndarray
    target_mass: np.ndarray
    tumour_mass: np.ndarray
    ratio: np.ndarray | None
    several: bool
    liver_mass: np.ndarray | None
    liver_tumour_mass: np.ndarray | None
    lung_mass: np.ndarray

    @classmethod
    def build(
        cls, *, k, lsf, residual, target_mass, tumour=None, tumour_to_normal=None, liver=None, liver_tumour=None, lung_mass, density, warns=None, shapes=None,
        liver_mass=None,
    ) -> "Compartments":
        """Validate and assemble (inputs as in the planning functions; see module docstring).

        ``warns`` collects inputs outside their usual band; ``shapes`` (field -> shape) receives the
        tumours' shapes, every one checked to broadcast with the others. ``liver_mass``: ``liver``
        already validated by the caller (:func:`~dosimetry.planning._inputs.mass_of` with the same
        density), as (mass, its warnings); they are not validated again.
        """
        shapes = {} if shapes is None else shapes
        mp = np.asarray(to_unit(target_mass, "kg").magnitude, dtype=float)
        if tumour is None:
            if tumour_to_normal is not None:
                raise InputError("target.tumour_volume", "a tumour-to-normal ratio needs the tumour volume")
            mt, ratio, several = np.zeros_like(mp), None, False
        else:
            mt, ratio, several = tumours_of(tumour, tumour_to_normal, density, warns, shapes)
        mt_sum = mt.sum(axis=0) if several else mt
        if np.any(mt_sum >= mp):
            raise InputError("target.tumours" if several else "target.tumour_volume", "tumours must be smaller than the perfused target (target.volume / target.mass)")
        ml = mlt = None
        if liver is not None:
            if liver_mass is None:
                liver_mass = (_in.mass_of(liver, density, "liver.mass", "liver.volume", warns), [])
            elif warns is not None:
                warns.extend(liver_mass[1])
            ml = np.asarray(liver_mass[0].magnitude, dtype=float)
            if np.any(mp > ml * (1 + 1e-6)):
                raise InputError("target.volume", "the perfused target must not exceed the whole liver (liver.volume)")
            if liver_tumour is not None:
                mlt = np.asarray(_in.mass_of(liver_tumour, density, "liver.tumour_mass", "liver.tumour_volume", warns).magnitude, dtype=float)
                shapes[_in.field_of(liver_tumour, "liver.tumour_mass", "liver.tumour_volume")] = mlt.shape
                _in.shapes_agree(shapes)
                if np.any(mlt < mt_sum * (1 - 1e-6)):
                    raise InputError("liver.tumour_volume", "all tumours of the liver cannot be fewer than the tumours of the target")
                if np.any(mlt >= ml):
                    raise InputError("liver.tumour_volume", "tumours must be smaller than the whole liver (liver.volume)")
        return cls(
            k=np.asarray(to_unit(k, "Gy*kg/GBq").magnitude, dtype=float),
            lsf=np.asarray(lsf, dtype=float),
            residual=np.asarray(residual, dtype=float),
            target_mass=mp,
            tumour_mass=mt,
            ratio=ratio,
            several=several,
            liver_mass=ml,
            liver_tumour_mass=mlt,
            lung_mass=np.asarray(to_unit(lung_mass, "kg").magnitude, dtype=float),
        )

    @property
    def tumour_total(self):
        return self.tumour_mass.sum(axis=0) if self.several else self.tumour_mass

    @property
    def normal_mass(self):
        """Perfused normal liver M_N [kg]."""
        return self.target_mass - self.tumour_total

    @property
    def whole_normal_mass(self):
        """Whole normal liver [kg], or None without the whole-liver mass."""
        if self.liver_mass is None:
            return None
        tumours = self.tumour_total if self.liver_tumour_mass is None else self.liver_tumour_mass
        return self.liver_mass - tumours

    def per_gbq(self) -> dict:
        """Dose per prepared GBq of every figure [Gy/GBq magnitudes], by figure name."""
        liver_share = self.k * (1 - self.residual) * (1 - self.lsf)
        out = {"target_dose": liver_share / self.target_mass}
        if self.ratio is None:
            out["normal_liver_dose"] = out["target_dose"]
        else:
            weighted = self.normal_mass + ((self.ratio * self.tumour_mass).sum(axis=0) if self.several else self.ratio * self.tumour_mass)
            out["normal_liver_dose"] = liver_share / weighted
            ratio = _tumours_first(self.ratio, np.ndim(out["normal_liver_dose"])) if self.several else self.ratio
            out["tumour_dose"] = ratio * out["normal_liver_dose"]
        wn = self.whole_normal_mass
        if wn is not None:
            out["whole_normal_liver_dose"] = out["normal_liver_dose"] * self.normal_mass / wn
        out["lung_dose"] = self.k * (1 - self.residual) * self.lsf / self.lung_mass
        return out

    def doses(self, activity) -> dict:
        """Every figure [Gy Quantity] for the prepared activity (GBq magnitude or Quantity)."""
        a = np.asarray(to_unit(activity, "GBq").magnitude if isinstance(activity, pint.Quantity) else activity, dtype=float)
        per = self.per_gbq()
        if self.several and "tumour_dose" in per:
            per["tumour_dose"] = _tumours_first(per["tumour_dose"], a.ndim)
        return {name: new_quantity(_in.as_array_or_float(a * v), "Gy") for name, v in per.items()}

    def masses(self) -> dict:
        """The compartment masses as Quantities [kg] (None where unknown)."""
        wn = self.whole_normal_mass
        return {
            "target_mass": new_quantity(_in.as_array_or_float(self.target_mass), "kg"),
            "tumour_mass": new_quantity(_in.as_array_or_float(self.tumour_mass), "kg") if self.ratio is not None or np.any(self.tumour_total > 0) else None,
            "normal_liver_mass": new_quantity(_in.as_array_or_float(self.normal_mass), "kg"),
            "whole_normal_liver_mass": None if wn is None else new_quantity(_in.as_array_or_float(wn), "kg"),
        }
