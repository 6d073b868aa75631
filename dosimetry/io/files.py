"""Safe output files: written atomically, never over an input.

A report or dose file is either complete or absent: data go to a temporary file in the target's
directory, which is then renamed into place (``os.replace`` is atomic on POSIX and Windows
within one file system).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError

__all__ = ["write_atomic", "check_not_input"]


def check_not_input(path: str | Path, inputs: Iterable[str | Path] = (), field: str = "output") -> Path:
    """Refuse an output path that is one of the input files (or inside an input directory).

    Raises
    ------
    InputError
        The output would overwrite an input.
    """
    out = Path(path).resolve()
    for src in inputs:
        s = Path(src).resolve()
        if out == s or (s.is_dir() and s in out.parents):
            raise InputError(field, f"{path} would overwrite the input {src}; choose another output path")
    return out


def write_atomic(path: str | Path, data: bytes | str, inputs: Iterable[str | Path] = (), field: str = "output") -> Path:
    """Write ``data`` to ``path`` atomically, refusing to overwrite any of ``inputs``.

    Parameters
    ----------
    path : path-like
        Destination file; its directory must exist.
    data : bytes or str
        Content (str is encoded as UTF-8).
    inputs : iterable of path-like
        Input files and directories that must not be overwritten.
    field : str
        Name used in error messages.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    out = check_not_input(path, inputs, field)
    if not out.parent.is_dir():
        raise InputError(field, f"directory {out.parent} does not exist")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return out
