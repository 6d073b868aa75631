"""A time bound for reader tests: a read that hangs fails the test instead of the suite (issue 26)."""

from __future__ import annotations

import signal
from contextlib import contextmanager


@contextmanager
def within(seconds: int):
    """Fail (instead of hanging) when the block takes longer than ``seconds`` (SIGALRM, main thread)."""
    def boom(*_):
        raise TimeoutError(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
