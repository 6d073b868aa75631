"""The demo written once per session, shared by the report tests."""

import time

import pytest

from dosimetry.cli import main


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "d"
    t0 = time.process_time()
    code = main(["--quiet", "demo", "-o", str(out)])
    seconds = time.process_time() - t0  # CPU seconds of this process (every thread): what the demo costs, whatever the machine's load
    return out, code, seconds
