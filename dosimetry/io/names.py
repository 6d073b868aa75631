"""How an ROI or segment name typed by a user is matched to a name stored in a file.

One Unicode letter can be stored in two ways: "ü" as one code point (U+00FC, the composed form
NFC, what most editors and DICOM files hold) or as "u" followed by a combining diaeresis (U+0308,
the decomposed form NFD, what macOS file names and some terminals give). Both look the same and
must name the same segment, so names are compared in NFC (Unicode Standard Annex #15) with
surrounding white space removed, on both sides: the file's and the user's.
"""

from __future__ import annotations

import unicodedata

__all__ = ["name_key", "find_name"]


def name_key(name) -> str:
    """The form in which two names are compared: Unicode NFC, surrounding white space removed."""
    return unicodedata.normalize("NFC", str(name)).strip()


def find_name(wanted, names) -> list:
    """Indices of ``names`` matching ``wanted``: exact, else equal in NFC, else equal ignoring case (NFC, casefold).

    The first rule that matches anything decides; callers refuse more than one match.
    """
    names = [str(n) for n in names]
    exact = [i for i, n in enumerate(names) if n == wanted]
    if exact:
        return exact
    key = name_key(wanted)
    same = [i for i, n in enumerate(names) if name_key(n) == key]
    if same:
        return same
    folded = key.casefold()
    return [i for i, n in enumerate(names) if name_key(n).casefold() == folded]
