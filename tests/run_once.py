"""A session result computed once for the whole test run, also under pytest-xdist (issue 22).

Under ``python -m pytest -n 2`` every worker is its own process with its own session: a session fixture
is computed once per worker, so two workers wrote the same phantoms and ran the same demo twice. Here
the first worker to ask computes the result in a folder every worker of the run sees (the parent of
each worker's base temporary folder, as the pytest-xdist documentation recommends); the others wait for
it and read it. Without xdist it is computed in this process's temporary folder, as before.

- One writer: each name has a lock file held with ``fcntl.flock`` while its result is written. The
  kernel releases a flock when its process ends, however it ends (a worker killed mid-write, and not
  yet reaped by the controller, holds nothing), so a crashed writer never leaves a stale lock.
- No reader sees a half-written result: the result is written in its final folder (files may hold
  their own absolute paths, as the demo's patient file does), and published last by a small ``.done``
  file written under a temporary name and renamed (``os.replace`` is atomic); readers wait for it.
- A writer that fails (or dies) leaves no ``.done``: the next worker to take the lock removes the
  partial folder and computes the result itself.
- Without ``fcntl`` (Windows) each worker computes its own result, as without xdist.
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

try:
    import fcntl
except ImportError:  # Windows: no flock; each worker computes its own results
    fcntl = None  # type: ignore[assignment]

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
    if worker is None or fcntl is None:
        folder = tmp_path_factory.mktemp(name)
        return folder, make(folder)
    root = tmp_path_factory.getbasetemp().parent / "shared"
    root.mkdir(exist_ok=True)
    folder, done, lock = root / name, root / f"{name}.done", root / f"{name}.lock"
    origin = _origin(make)
    if not done.exists():
        with open(lock, "a") as held:
            _hold(held, name, lock)
            try:
                if not done.exists():  # not published while we waited for the lock
                    try:
                        return folder, _write(folder, done, worker, make, origin)
                    except BaseException:
                        shutil.rmtree(folder, ignore_errors=True)
                        raise
            finally:
                fcntl.flock(held, fcntl.LOCK_UN)
    written_by, value = pickle.loads(done.read_bytes())
    if written_by != origin:
        raise ValueError(f"{name}: written by {written_by}, asked for by {origin}: give each result its own name")
    return folder, value


def _hold(held, name: str, lock: Path) -> None:
    """Take the exclusive flock on the open ``held`` file, waiting at most ``WAIT_S``."""
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: another worker holds {lock} for more than {WAIT_S} s") from None
            time.sleep(0.05)


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
