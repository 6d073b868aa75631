"""tests/run_once.py: a session result computed once for the run, by one worker, read by the others."""

import os
import pickle
import threading
import time

import pytest

import run_once
from dosimetry.units import Q_


class _Factory:
    """The two calls of ``tmp_path_factory`` that :func:`run_once.once` makes, on a test's own folder."""

    def __init__(self, root):
        self.root = root

    def getbasetemp(self):
        return self.root / "popen-gw0"

    def mktemp(self, name):
        d = self.root / f"{name}0"
        d.mkdir()
        return d


def _as_worker(monkeypatch, worker="gw0"):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)


def test_computed_once_and_read_back_by_every_later_caller(tmp_path, monkeypatch):
    _as_worker(monkeypatch)
    calls = []

    def make(folder):
        calls.append(folder)
        (folder / "a.txt").write_text("written")
        return {"administered": Q_(2.0, "GBq"), "n": 3}

    first = run_once.once(_Factory(tmp_path), "r", make)
    _as_worker(monkeypatch, "gw1")
    second = run_once.once(_Factory(tmp_path), "r", make)
    assert len(calls) == 1 and first[0] == second[0] and (second[0] / "a.txt").read_text() == "written"
    assert second[1] == first[1]
    assert second[1]["administered"] + Q_(1, "GBq") == Q_(3.0, "GBq")  # rebuilt in the package's registry


def test_another_name_never_reuses_an_entry(tmp_path, monkeypatch):
    _as_worker(monkeypatch)
    a = run_once.once(_Factory(tmp_path), "a", lambda f: 1)
    b = run_once.once(_Factory(tmp_path), "b", lambda f: 2)
    assert a[0] != b[0] and (a[1], b[1]) == (1, 2)


def test_one_name_asked_for_by_another_fixture_is_refused(tmp_path, monkeypatch):
    _as_worker(monkeypatch)
    run_once.once(_Factory(tmp_path), "a", lambda f: 1)
    with pytest.raises(ValueError, match="give each result its own name"):
        run_once.once(_Factory(tmp_path), "a", lambda f: 2)


def test_a_failed_writer_leaves_nothing_and_the_next_caller_computes(tmp_path, monkeypatch):
    _as_worker(monkeypatch)

    def make(folder):
        (folder / "half.txt").write_text("half")
        if not (tmp_path / "second").exists():
            raise RuntimeError("disk full")
        return "whole"

    with pytest.raises(RuntimeError):
        run_once.once(_Factory(tmp_path), "r", make)
    shared = tmp_path / "shared"
    assert sorted(p.name for p in shared.iterdir()) == ["r.lock"]  # no folder, no .done; the lock file is not held
    (tmp_path / "second").mkdir()
    assert run_once.once(_Factory(tmp_path), "r", make)[1] == "whole"


def test_a_waiting_worker_reads_only_the_published_result(tmp_path, monkeypatch):
    """Two callers at once: one computes, the other waits for ``.done`` and never sees the folder half written."""
    _as_worker(monkeypatch)
    calls, seen = [], []

    def make(folder):
        calls.append(1)
        (folder / "1.txt").write_text("1")
        time.sleep(0.3)
        (folder / "2.txt").write_text("2")
        return "v"

    def ask():
        folder, value = run_once.once(_Factory(tmp_path), "r", make)
        seen.append((sorted(p.name for p in folder.iterdir()), value))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and seen == [(["1.txt", "2.txt"], "v")] * 2


@pytest.mark.skipif(not os.path.exists("/proc/self/stat") or run_once.fcntl is None, reason="process states are read from /proc; flock is POSIX")
def test_the_lock_of_a_writer_that_died_is_taken_over(tmp_path, monkeypatch):
    """A worker killed while it wrote does not make the others wait: its flock ends with it, even while
    it is a zombie its parent has not reaped (a crashed xdist worker, until the controller reaps it)."""
    import signal
    import subprocess
    import sys

    _as_worker(monkeypatch)
    monkeypatch.setattr(run_once, "WAIT_S", 20)
    shared = tmp_path / "shared"
    (shared / "r").mkdir(parents=True)  # its half-written folder
    (shared / "r" / "half.txt").write_text("half")
    holder = (
        "import fcntl, os, signal, sys\n"
        f"f = open({str(shared / 'r.lock')!r}, 'a')\n"
        "fcntl.flock(f, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _state(child.pid) != "Z":
            time.sleep(0.01)
        assert _state(child.pid) == "Z"  # killed and not reaped: os.kill(pid, 0) would still find it
        folder, value = run_once.once(_Factory(tmp_path), "r", lambda f: 7)
        assert value == 7 and list(folder.iterdir()) == []
    finally:
        child.wait()
        assert child.returncode == -signal.SIGKILL


def _state(pid: int) -> str:
    """The process state letter of /proc/<pid>/stat (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_without_xdist_each_session_computes_in_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    folder, value = run_once.once(_Factory(tmp_path), "r", lambda f: 5)
    assert folder == tmp_path / "r0" and value == 5 and not (tmp_path / "shared").exists()


def test_a_phantom_truth_survives_the_pickle(maa_blurred_phantom):
    """The Truth a worker reads back equals the one written: every field, quantities in the package's registry."""
    _, truth = maa_blurred_phantom
    back = pickle.loads(run_once.dumps(truth))
    assert back == truth and back.to_json() == truth.to_json()
    assert back.administered.to("MBq") == truth.administered.to("MBq")


def test_every_file_handed_out_first_exists():
    """tests/conftest.py's COSTLY_FIRST names test files (moved or renamed ones would silently lose their place)."""
    import ast
    from pathlib import Path

    here = Path(__file__).parent
    tree = ast.parse((here / "conftest.py").read_text())
    names = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "COSTLY_FIRST")
    assert names and len(set(names)) == len(names)
    assert [n for n in names if not (here.parent / n).is_file()] == []
