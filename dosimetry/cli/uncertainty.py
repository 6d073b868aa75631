"""The uncertainty flags of ``y90 plan`` and ``y90 report`` (docs/uncertainty.md): ``--seed``,
``--samples`` and ``--uncertainty KEY=VALUE``, read over the patient file's ``[uncertainty]``."""

from __future__ import annotations

from ..errors import InputError


def add_flags(sp) -> None:
    """``--seed``, ``--samples`` and ``--uncertainty`` of ``plan`` and ``report`` (docs/uncertainty.md)."""
    sp.add_argument("--seed", dest="uncertainty_seed", help="seed of the uncertainty analysis (default 0, or [uncertainty] seed): the same seed gives the same numbers")
    sp.add_argument("--samples", help="draws of the uncertainty analysis (default 10000; 0 switches it off)")
    sp.add_argument("--uncertainty", action="append", metavar="KEY=VALUE",
                    help="override the uncertainty budget, as [uncertainty] does: TERM=SPREAD (e.g. activity=5%%), TERM=DIST:SPREAD[:absolute] "
                         "(e.g. residual_fraction=normal:0.01:absolute), TERM=off, p_exceed_bound=10%%, lung_shunt_method=spect; repeat")


def settings(args, pf):
    """``--samples``, ``--seed`` and ``--uncertainty KEY=VALUE`` over the patient file's ``[uncertainty]``,
    read by the same parser (:func:`dosimetry.planning.budget.uncertainty_settings`)."""
    from ..planning.budget import uncertainty_settings

    table = {}
    for item in getattr(args, "uncertainty", None) or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError("--uncertainty", f"expected KEY=VALUE (e.g. activity=5% or tumour_volume=lognormal:20%), got {item[:60]!r}")
        table[key.strip()] = spec(value.strip())
    s = uncertainty_settings(table, "--uncertainty", base=pf.uncertainty)
    flags = {"samples": getattr(args, "samples", None), "seed": getattr(args, "uncertainty_seed", None)}
    try:
        return uncertainty_settings({k: v for k, v in flags.items() if v is not None}, "--uncertainty", base=s)
    except InputError as exc:
        raise exc.renamed({"--uncertainty.samples": "--samples", "--uncertainty.seed": "--seed"}.get(exc.field, exc.field)) from exc


def spec(text: str):
    """``--uncertainty`` values: ``DIST:SPREAD[:absolute|:relative]`` (a term) or a plain value.

    ``normal:5%`` -> ``{"distribution": "normal", "spread": "5%"}``; ``uniform:0.02:absolute`` adds
    ``"relative": false``; ``5%``, ``off``, ``spect``, ``10000`` are passed as written.
    """
    parts = text.split(":")
    if len(parts) == 1:
        return text
    out: dict[str, object] = {"distribution": parts[0], "spread": parts[1]}
    if len(parts) == 3 and parts[2].lower() in ("absolute", "relative"):
        out["relative"] = parts[2].lower() == "relative"
    elif len(parts) > 2:
        raise InputError("--uncertainty", f"expected DISTRIBUTION:SPREAD[:absolute], e.g. normal:5% or normal:0.02:absolute; got {text[:60]!r}")
    return out
