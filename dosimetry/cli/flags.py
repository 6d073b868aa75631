"""How the ``y90`` commands read their flags: the parser (one-line errors, case-insensitive choices),
a subcommand with its description, examples and exit codes, the output flags, the argparse types
that check a flag against the patient file's grammar and range, and the renaming of a library
field key to the flag that gave it."""

from __future__ import annotations

import argparse

from ..errors import InputError


def lower(text: str) -> str:
    """Choices are read case-insensitively, as the patient file reads them ("Glass", "MIRD")."""
    return text.strip().lower()


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2; text choices case-insensitive."""

    def error(self, message):  # noqa: D401 - argparse API
        raise InputError("command line", message)

    def add_argument(self, *args, **kwargs):
        if kwargs.get("choices") and "type" not in kwargs and all(isinstance(c, str) for c in kwargs["choices"]):
            kwargs["type"] = lower
        return super().add_argument(*args, **kwargs)


#: The exit-status line of each kind of command, at the end of its ``--help``.
EXIT_CODES = {
    "checks": "exit status: 0 within every safety limit; 1 blocked by a safety limit or needing a decision (vial, timing); 2 invalid input; 3 internal error",
    "plain": "exit status: 0 done; 2 invalid input; 3 internal error",
    "cohort": "exit status: 0 every case ran and is within every safety limit; 1 a case is blocked, needs a decision, or was refused or failed (the output says how many); 2 invalid input; 3 internal error",
    "schedule": "exit status: 0 an in-hours vial/time (glass) or a draw (resin); 1 needs a decision (nothing fits) or outside the resin window; 2 invalid input; 3 internal error",
    "verify": "exit status: 0 no adverse finding; 1 an adverse finding (a delivered dose over a safety limit, or a tumour under its efficacy threshold: "
              "the output states it first, with the limit and its source); 2 invalid input; 3 internal error",
}


def subcommand(sub, name: str, *, help: str, description: str, examples, codes: str):
    """A subcommand parser with a description, examples, exit codes (:data:`EXIT_CODES`) and -q/-v of its own."""
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" + EXIT_CODES[codes]
    sp = sub.add_parser(name, help=help, description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="more detail; tracebacks of internal errors")
    sp.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress indication or summary")
    return sp


def text_output(sp) -> None:
    """--format text|json and -o FILE|- [--force]: the output flags of every text-producing subcommand."""
    sp.add_argument("--format", choices=("text", "json"), default="text")
    sp.add_argument("-o", "--output", help="write to FILE instead of the terminal ('-': standard output; an existing FILE only with --force)")
    sp.add_argument("--force", action="store_true", help="replace an existing -o FILE (atomically)")


def checked(key: str):
    """An argparse ``type`` checking a quantity flag against the patient file's grammar and range.

    The text is returned unchanged (the command parses it again); a refusal keeps its message.
    """

    def parse(text: str) -> str:
        from ..io.patient import PLAUSIBLE, plausible_quantity

        try:
            plausible_quantity(text, PLAUSIBLE[key], key)
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from exc
        return text

    return parse


def residual_fraction(flag: str):
    """An argparse ``type`` for a residual-fraction flag: the patient file's grammar and plausible
    range (``target.residual_fraction``); returns the fraction, a refusal names ``flag``."""

    def parse(text: str) -> float:
        from ..io.patient import _plausible_fraction

        try:
            return _plausible_fraction(text, "target.residual_fraction", flag, None)
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from exc

    return parse


def command_range(key: str):
    """An argparse ``type`` for a flag with a range in ``io.patient.COMMAND_RANGES`` (or the resin vial's)."""

    def parse(text: str) -> str:
        from ..io.patient import COMMAND_RANGES, VIAL_ACTIVITY, plausible_quantity

        try:
            plausible_quantity(text, VIAL_ACTIVITY["resin"] if key == "resin_vial_activity" else COMMAND_RANGES[key], key)
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from exc
        return text

    return parse


class FlagNames:
    """Context of a command's reading and computing: an InputError naming one of the library field
    keys of ``flags`` is re-raised naming the command's flag instead
    (:meth:`dosimetry.errors.InputError.renamed`; the message is the library's own)."""

    def __init__(self, flags: dict):
        self.flags = flags

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if not isinstance(exc, InputError) or exc.field not in self.flags:
            return False
        raise exc.renamed(self.flags[exc.field]) from exc
