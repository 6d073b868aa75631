"""Safe output files: written atomically, never over an input, never over an existing file unasked.

A report or dose file is either complete or absent: data go to a temporary file in the target's
directory, which is then renamed into place (``os.replace`` is atomic on POSIX and Windows
within one file system). An existing file is replaced only when the caller says so (``force``,
the command line's ``--force``); a directory given where a file is meant, a missing or unwritable
folder are refused with one :class:`~dosimetry.errors.OutputError` line. JSON is written without
NaN or Infinity tokens (:func:`json_text`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError, OutputError

__all__ = ["write_atomic", "check_not_input", "check_output_file", "staged_directory", "json_text", "display_path", "display_text", "remove_stale_staging"]


def _finite_or_none(obj):
    """``obj`` with every non-finite float replaced by None (JSON has no NaN or Infinity)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    return obj


def json_text(obj, **kwargs) -> str:
    """``json.dumps`` that writes non-finite numbers as ``null`` and never emits NaN/Infinity tokens."""
    return json.dumps(_finite_or_none(obj), allow_nan=False, **kwargs)


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def display_text(text: str) -> str:
    """``text`` with every lone surrogate written as an escape (``\\xff``), so any encoder takes it.

    A file name is bytes on POSIX; Python keeps bytes that are not UTF-8 as lone surrogates
    (PEP 383), which neither UTF-8 nor a PDF font accepts: a path with such bytes, quoted in a
    warning or the audit trail, must not break the report.
    """
    text = str(text)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def display_path(path) -> str:
    """A path as printable text whatever bytes its name holds (see :func:`display_text`)."""
    return display_text(os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path))


def check_output_file(path: str | Path, *, force: bool = False, field: str = "-o") -> Path:
    """Refuse an output file location that cannot or must not be written, before any work.

    Parameters
    ----------
    path : path-like
        The output file.
    force : bool
        Replace an existing file (atomically) instead of refusing.
    field : str
        Name used in error messages.

    Raises
    ------
    OutputError
        Empty name, a directory, an existing file without ``force``, a missing or unwritable folder.
    """
    if not os.fspath(path) or "\0" in os.fspath(path):
        raise OutputError(field, "expected a file name")
    out = Path(path)
    try:
        if out.is_dir():
            raise OutputError(field, f"{path} is a directory; give a file name")
        exists = out.exists() or out.is_symlink()
        parent = out.absolute().parent
        parent_ok = parent.is_dir()
    except OSError as exc:
        raise OutputError(field, f"cannot use {path}: {_why(exc)}") from exc
    if exists and not out.is_file():
        raise OutputError(field, f"{path} exists and is not a regular file; refusing to replace it")
    if exists and not force:
        raise OutputError(field, f"{path} exists; refusing to overwrite it (use --force to replace it)")
    if not parent_ok:
        raise OutputError(field, f"directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(field, f"directory {parent} is not writable")
    return out


def check_not_input(path: str | Path, inputs: Iterable[str | Path] = (), field: str = "output") -> Path:
    """Refuse an output path that is one of the input files (or inside an input directory).

    Raises
    ------
    InputError
        The output would overwrite an input.
    """
    if "\0" in os.fspath(path):
        raise OutputError(field, "expected a file or folder name")
    out = Path(path).resolve()
    for src in inputs:
        s = Path(src).resolve()
        if out == s:
            raise InputError(field, f"{path} would overwrite the input {src}; choose another output path")
        if s.is_dir() and s in out.parents:  # paths resolved: a symbolic link into an input counts
            raise InputError(field, f"{path} lies inside the input folder {src}; choose another output path")
    return out


def write_atomic(path: str | Path, data: bytes | str, inputs: Iterable[str | Path] = (), field: str = "output", *, force: bool = False) -> Path:
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
    force : bool
        Replace an existing file (atomically); without it an existing file is refused.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    OutputError
        See :func:`check_output_file`; also when the write itself fails (disk full, permissions).
    InputError
        ``path`` is one of ``inputs``.
    """
    check_not_input(path, inputs, field)
    out = check_output_file(path, force=force, field=field).absolute()
    payload = display_text(data).encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name[:100]}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise OutputError(field, f"cannot write in {out.parent}: {_why(exc)}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are ordinary readable files
        os.replace(tmp, out)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(field, f"cannot write {path}: {_why(exc)}") from exc
        raise
    return out


#: Suffix of the mark beside a staging folder (``.NAME.XXXX.partial`` + this): who builds it (host,
#: process id, process start time), so that a later run can tell a folder left by a killed run (its
#: process gone) from one still being built. Beside, not inside: the folder holds only the output.
STAGING_MARK = ".y90-owner"


def _mark_of(staging: Path) -> Path:
    return staging.with_name(staging.name + STAGING_MARK)


def _process_start(pid: int) -> str | None:
    """The start time of a process (Linux /proc/PID/stat field 22, clock ticks since boot), or None."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as fh:
            stat_line = fh.read(4096).decode("ascii", "replace")
        return stat_line.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError, ValueError):
        return None


def _owner() -> dict:
    import socket

    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _process_start(os.getpid())}


def _owner_gone(info: dict) -> bool:
    """True when the process that wrote a staging mark is certainly gone (same host; no such process, or
    another process now has its id). A process of another host or user is never judged gone."""
    import socket

    try:
        pid = int(info["pid"])
        if info.get("host") != socket.gethostname() or pid <= 0:
            return False
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, KeyError, TypeError, ValueError):
        return False
    start = _process_start(pid)
    return start is not None and info.get("start") is not None and start != info["start"]


def remove_stale_staging(parent: str | Path) -> list:
    """Remove the staging folders (``.NAME.XXXX.partial``) that a killed run left in ``parent``.

    Only folders that are clearly this tool's (their mark :data:`STAGING_MARK` lies beside them,
    they belong to this user) and whose owning process is gone are removed, with their mark;
    returns their paths.
    """
    removed: list = []
    try:
        marks = [m for m in Path(parent).iterdir() if m.name.startswith(".") and m.name.endswith(".partial" + STAGING_MARK)]
    except OSError:
        return removed
    for mark in marks:
        d = mark.with_name(mark.name[: -len(STAGING_MARK)])
        try:
            if mark.is_symlink() or not mark.is_file() or mark.stat().st_uid != os.getuid():
                continue
            with open(mark, "rb") as fh:
                info = json.loads(fh.read(4096).decode("utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or not _owner_gone(info):
            continue
        if d.is_dir() and not d.is_symlink() and d.stat().st_uid == os.getuid():
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
        mark.unlink(missing_ok=True)
    return removed


@contextlib.contextmanager
def staged_directory(path: str | Path, inputs: Iterable[str | Path] = (), field: str = "-o"):
    """Build an output folder completely, or not at all.

    Yields a temporary sibling folder to write into; on success it is renamed to ``path``, on
    any exception it is removed, so ``path`` never holds a partial result. A run killed outright
    (SIGKILL, power loss) cannot remove it: a mark beside the folder names its process, and the next
    run into the same parent folder removes both once that process is gone (:func:`remove_stale_staging`).

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
    if not os.fspath(path) or "\0" in os.fspath(path):
        raise OutputError(field, "expected a folder name")
    out = Path(path).absolute()
    try:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise OutputError(field, f"{path} exists and is not an empty folder; refusing to overwrite it")
        if not out.parent.is_dir():
            raise OutputError(field, f"parent folder {out.parent} does not exist")
    except OSError as exc:
        raise OutputError(field, f"cannot use {path}: {_why(exc)}") from exc
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise OutputError(field, f"folder {out.parent} is not writable")
    for src in inputs:
        s = Path(src).absolute()
        if s == out or out in s.parents:
            raise InputError(field, f"{path} holds the input {src}; choose another output folder")
        if s.is_dir() and s in out.parents:
            raise InputError(field, f"{path} lies inside the input folder {src}; choose another output folder")
    remove_stale_staging(out.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name[:100]}.", suffix=".partial", dir=out.parent))
    except OSError as exc:
        raise OutputError(field, f"cannot create a folder in {out.parent}: {_why(exc)}") from exc
    try:
        _mark_of(tmp).write_text(json.dumps(_owner()), encoding="utf-8")
        yield tmp
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _mark_of(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # disk full, permissions, I/O error while building the folder
            where = f" ({display_path(exc.filename)})" if getattr(exc, "filename", None) else ""
            raise OutputError(field, f"failed while building {display_path(path)}: {_why(exc)}{where}; nothing was written") from exc
        raise
    try:
        os.chmod(tmp, 0o755)  # mkdtemp creates 0700
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
        _mark_of(tmp).unlink(missing_ok=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _mark_of(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(field, f"cannot move the finished folder to {path}: {_why(exc)}") from exc
        raise
