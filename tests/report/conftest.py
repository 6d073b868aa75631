"""The demo written once per session, shared by the report tests."""

import time

import pytest

from dosimetry.cli import main


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "d"
    t0 = time.perf_counter()
    code = main(["--quiet", "demo", "-o", str(out)])
    seconds = time.perf_counter() - t0
    return out, code, seconds
