"""Exceptions raised by y90-dosimetry.

Every refusal of bad input is an :class:`InputError`: a :class:`ValueError` that carries the
name of the offending field (and, where there is one, the allowed form or range) so that the
command-line tool can print one readable line and exit with status 2.

As in pint, there is one base error and a few subclasses for callers that want to tell the
kinds apart; each subclass is still an :class:`InputError` (and a :class:`ValueError`, or a
:class:`TypeError` for a value of the wrong type).
"""

from __future__ import annotations

import copy

__all__ = ["InputError", "QuantityFormatError", "UnitError", "OutOfRangeError", "InputTypeError", "OutputError"]


class InputError(ValueError):
    """Invalid input: names the field and says what is allowed.

    Parameters
    ----------
    field : str
        Dotted name of the offending input, e.g. ``"lung.shunt_fraction"``.
    message : str
        What is wrong and what range or unit is allowed.
    allowed : str, optional
        The accepted form or range on its own (e.g. ``"[0, 1)"``), for programs.
    """

    def __init__(self, field: str, message: str, *, allowed: str | None = None):
        self.field = field
        self.message = message
        self.allowed = allowed
        super().__init__(f"{field}: {message}")

    def __reduce__(self):  # keep pickling (multiprocessing) working with the keyword argument and extra fields
        return (_rebuild, (type(self), self.field, self.message, self.allowed), dict(self.__dict__))

    def renamed(self, field: str) -> InputError:
        """The same error (type, message, allowed range and any other field) naming ``field`` instead,
        e.g. the command-line flag a library field key stands for. The message is not rewritten."""
        new = copy.copy(self)
        new.field = field
        new.args = (f"{field}: {self.message}",)
        return new


def _rebuild(cls, field, message, allowed):
    return cls(field, message, allowed=allowed)


class QuantityFormatError(InputError):
    """Text that is not ``<decimal number> <unit>`` (or a fraction / percentage where one is meant)."""


class UnitError(InputError):
    """A quantity without a unit (a bare number) or in a unit of another dimension than the field's.

    ``expected`` is the unit of the field (``"kg"``, ``"GBq"``): a caller may try another reading
    (a mass field that also takes a volume) without looking at the message.
    """

    def __init__(self, field: str, message: str, *, allowed: str | None = None, expected: str | None = None):
        super().__init__(field, message, allowed=allowed)
        self.expected = expected


class OutOfRangeError(InputError):
    """A well-formed value outside its allowed or plausible range."""


class InputTypeError(InputError, TypeError):
    """A value of the wrong type, e.g. a list or a table where a single quantity is meant."""


class OutputError(InputError):
    """An output location that cannot or must not be written (exists, is a folder, unwritable)."""
