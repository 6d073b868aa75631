"""Safe output files: written atomically, never over an input.

A report or dose file is either complete or absent: data go to a temporary file in the target's
directory, which is then renamed into place (``os.replace`` is atomic on POSIX and Windows
within one file system).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError

__all__ = ["write_atomic", "check_not_input", "staged_directory"]


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
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are ordinary readable files
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return out


@contextlib.contextmanager
def staged_directory(path: str | Path, inputs: Iterable[str | Path] = (), field: str = "-o"):
    """Build an output folder completely, or not at all.

    Yields a temporary sibling folder to write into; on success it is renamed to ``path``, on
    any exception it is removed, so ``path`` never holds a partial result.

    Parameters
    ----------
    path : path-like
        Output folder; must not exist, or be an empty folder.
    inputs : iterable of path-like
        Inputs that must not lie inside (or be) the output folder.
    field : str
        Name used in error messages.

    Raises
    ------
    InputError
        ``path`` is a file, a non-empty folder, an input, or its parent does not exist.
    """
    out = Path(path).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(field, f"{path} exists and is not an empty folder; refusing to overwrite it")
    if not out.parent.is_dir():
        raise InputError(field, f"parent folder {out.parent} does not exist")
    for src in inputs:
        s = Path(src).absolute()
        if s == out or out in s.parents:
            raise InputError(field, f"{path} holds the input {src}; choose another output folder")
        if s.is_dir() and s in out.parents:
            raise InputError(field, f"{path} lies inside the input folder {src}; choose another output folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp creates 0700
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
