"""The demo written once per test run, shared by the report tests (under pytest-xdist one worker runs it
and the others read it: tests/run_once.py)."""

import time

import pytest

from dosimetry.cli import main
from run_once import once


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    def run(folder):
        t0 = time.process_time()
        code = main(["--quiet", "demo", "-o", str(folder / "d")])
        seconds = time.process_time() - t0  # CPU seconds of this process (every thread): what the demo costs, whatever the machine's load
        return code, seconds

    folder, (code, seconds) = once(tmp_path_factory, "demo", run)
    return folder / "d", code, seconds
