"""The one place where a threshold passes or fails, how much room it leaves, how checks scale to
another activity, and how checks and decisions make the status.

Every command and result type goes through these functions (docs/formulas.md, "Thresholds"):

- :func:`passes`: ``max`` limits pass at or below the value (inclusive) or strictly below it, a
  relative tolerance :data:`RTOL` absorbing floating-point rounding of inclusive bounds; ``min``
  thresholds likewise from above.
- :func:`headroom`: the largest figure an activity may be sized to under a limit: half the check's
  tolerance above an inclusive limit (so a plan sized exactly to its cap passes its check despite
  rounding), :data:`STRICT_MARGIN` below a strict one; less what earlier treatments used.
- :func:`scaled`: the checks of a treatment given at another activity (every dose of a treatment
  is linear in its activity; the cumulative lung dose adds the prior dose unscaled).
- :func:`failed`, :func:`within_limits` and :func:`status`: a case is blocked when any safety check
  fails, needs a decision when nothing fails but something is left to decide (the vial or timing
  cannot deliver the plan, or a figure such as the lung dose was not assessed), and is within
  limits otherwise.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..vocabulary import Status

__all__ = ["RTOL", "STRICT_MARGIN", "passes", "headroom", "scaled", "scaled_figure", "scales", "failed", "within_limits", "status"]

#: Relative tolerance of inclusive bounds (floating-point rounding at the boundary).
RTOL = 1e-9
#: The largest safe activity under a strict ("<") limit is taken this far below it.
STRICT_MARGIN = 1e-3


def passes(value, limit: float, bound: str, inclusive: bool):
    """Whether ``value`` (a magnitude, or an array of them) meets a threshold ``limit`` (same unit).

    Returns a bool, or a bool array for an array of values.
    """
    mag = np.asarray(value, dtype=float)
    if bound == "max":
        ok = mag <= limit * (1 + RTOL) if inclusive else mag < limit
    else:
        ok = mag >= limit * (1 - RTOL) if inclusive else mag > limit
    return bool(ok) if np.ndim(ok) == 0 else ok


def headroom(limit: float, inclusive: bool, used=0.0):
    """The largest figure an activity may be sized to under a ``max`` limit (magnitudes).

    ``used``: what earlier treatments already gave (the prior lung dose under the cumulative limit).
    """
    room = limit * (1 + RTOL / 2) if inclusive else limit * (1 - STRICT_MARGIN)
    return room - np.asarray(used, dtype=float) if np.ndim(used) else room - float(used)


def scaled_figure(name: str, value, ratio, prior_lung_dose):
    """A dose of a treatment given at ``ratio`` times its activity: doses are linear in the activity;
    the cumulative lung dose (``name == "cumulative_lung_dose"``) is prior + this treatment x ratio."""
    if name == "cumulative_lung_dose":
        prior = prior_lung_dose.to(value.units)
        return (prior + (value - prior) * ratio).to(value.units)
    return (value * ratio).to(value.units)


def scales(c) -> bool:
    """A safety ``max`` check on a figure linear in the activity (a dose or an activity); a fraction or
    a laboratory value (bilirubin) does not scale."""
    return c.safety and c.bound == "max" and not c.value.dimensionless and (c.value.is_compatible_with("Gy") or c.value.is_compatible_with("GBq"))


def scaled(checks, ratio: float | np.ndarray, prior_lung_dose, **fields) -> tuple:
    """The safety ``max`` dose checks of a treatment given at ``ratio`` times its activity.

    Parameters
    ----------
    checks : sequence of LimitCheck
        The plan's checks; only safety limits on doses are scaled (fractions do not scale).
    ratio : float or array
        Activity given / activity planned; an array (one ratio per draw of an uncertainty analysis)
        gives every check's value and pass/fail element-wise.
    prior_lung_dose : pint.Quantity
        Lung dose of earlier treatments: the cumulative lung dose is prior + this treatment x ratio.
    fields
        Set on every scaled check (e.g. ``origin``, ``note``).
    """
    out = []
    for c in checks:
        if not scales(c):
            continue
        value = scaled_figure(c.name, c.value, ratio, prior_lung_dose)
        ok = passes(value.to(c.limit.units).magnitude, c.limit.magnitude, c.bound, c.inclusive)
        out.append(replace(c, value=value.to(c.value.units), passed=ok, **fields))
    return tuple(out)


def failed(checks) -> tuple:
    """The safety checks that fail (for at least one plan of an array)."""
    return tuple(c for c in checks if c.safety and not np.all(c.passed))


def within_limits(checks):
    """True where every safety check passes (bool, or bool array for array plans)."""
    ok = np.asarray(True)
    for c in checks:
        if c.safety:
            ok = ok & np.asarray(c.passed, dtype=bool)
    return bool(ok) if ok.ndim == 0 else ok


def status(checks, decisions=()) -> Status:
    """BLOCKED when a safety check fails; NEEDS A DECISION when none does but something is left to
    decide (no vial or timing delivers the plan as given, a figure not assessed); WITHIN LIMITS otherwise."""
    if failed(checks):
        return Status.BLOCKED
    return Status.NEEDS_DECISION if decisions else Status.WITHIN_LIMITS

