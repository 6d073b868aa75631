"""A session result computed once for the whole test run, also under pytest-xdist (issue 22).

Under ``python -m pytest -n 2`` every worker is its own process with its own session: a session fixture
is computed once per worker, so two workers wrote the same phantoms and ran the same demo twice. Here
the first worker to ask computes the result in a folder every worker of the run sees (the parent of
each worker's base temporary folder, as the pytest-xdist documentation recommends); the others wait for
it and read it. Without xdist it is computed in this process's temporary folder, as before.

- One writer: the lock is a directory, ``os.mkdir`` is atomic (fails if it exists).
- No reader sees a half-written result: the result is written in its final folder (files may hold
  their own absolute paths, as the demo's patient file does), and published last by a small ``.done``
  file written under a temporary name and renamed (``os.replace`` is atomic); readers wait for it.
- A writer that fails removes its partial folder and the lock; a waiting worker then tries itself.
  A writer whose process died (its pid, written in the lock, no longer runs) leaves a stale lock: a
  waiting worker removes it and tries itself.
- A name is one result: the ``.done`` file records where ``make`` is defined, and a reader whose
  ``make`` is defined elsewhere is refused (two fixtures can never share an entry by their name).

The returned value (e.g. a phantom's :class:`phantoms.truth.Truth`) is pickled into the ``.done`` file.
pint quantities are pickled as (magnitude, units) and rebuilt in the package's one registry
(``dosimetry.units.ureg``; pint's own pickling would rebuild them in pint's application registry,
which cannot be combined with the package's).
"""

import io
import os
import pickle
import shutil
import time
from pathlib import Path

import pint

from dosimetry.units import ureg

WAIT_S = 1800  # a waiting worker gives up after this (the slowest shared result takes ~30 s at load 4)


def quantity(magnitude, units):
    return ureg.Quantity(magnitude, units)


def unit(units):
    return ureg.Unit(units)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, pint.Quantity):
            return quantity, (obj.magnitude, obj._units)
        if isinstance(obj, pint.Unit):
            return unit, (obj._units,)
        return NotImplemented


def dumps(value) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buf.getvalue()


def once(tmp_path_factory, name: str, make):
    """``make(folder)`` computed once for the run in ``folder`` (a new, empty path); returns
    ``(folder, value)`` with ``value`` what ``make`` returned (read back from its pickle for the
    workers that did not compute it)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        folder = tmp_path_factory.mktemp(name)
        return folder, make(folder)
    root = tmp_path_factory.getbasetemp().parent / "shared"
    root.mkdir(exist_ok=True)
    folder, done, lock = root / name, root / f"{name}.done", root / f"{name}.lock"
    deadline = time.monotonic() + WAIT_S
    origin = _origin(make)
    while not done.exists():
        try:
            os.mkdir(lock)
        except FileExistsError:
            if _stale(lock):
                shutil.rmtree(lock, ignore_errors=True)
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: another worker holds {lock} for more than {WAIT_S} s")
            time.sleep(0.05)
            continue
        try:
            (lock / "pid").write_text(str(os.getpid()))
            if not done.exists():  # published between our check and the lock
                return folder, _write(folder, done, worker, make, origin)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(lock, ignore_errors=True)
    written_by, value = pickle.loads(done.read_bytes())
    if written_by != origin:
        raise ValueError(f"{name}: written by {written_by}, asked for by {origin}: give each result its own name")
    return folder, value


def _stale(lock: Path) -> bool:
    try:
        pid = int((lock / "pid").read_text())
    except (OSError, ValueError):
        return False  # just made: its pid is not written yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _origin(make) -> str:
    code = make.__code__
    return f"{code.co_filename}:{code.co_firstlineno}"


def _write(folder: Path, done: Path, worker: str, make, origin: str):
    shutil.rmtree(folder, ignore_errors=True)  # a partial result of a writer that failed
    folder.mkdir()
    value = make(folder)
    staged = done.with_name(f"{done.name}.{worker}")
    staged.write_bytes(dumps((origin, value)))
    os.replace(staged, done)
    return value
