"""Exceptions raised by y90-dosimetry.

Every refusal of bad input is an :class:`InputError`: a :class:`ValueError` that carries the
name of the offending field so that the command-line tool can print one readable line.
"""

from __future__ import annotations


class InputError(ValueError):
    """Invalid input: names the field and says what is allowed.

    Parameters
    ----------
    field : str
        Dotted name of the offending input, e.g. ``"lung.shunt_fraction"``.
    message : str
        What is wrong and what range or unit is allowed.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
