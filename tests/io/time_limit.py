"""A time bound for reader tests: a read that hangs fails the test instead of the suite (issue 26).

The bound is on the process's CPU time (``ITIMER_PROF``: user + system time of every thread), so that
it holds the same on a quiet machine, on a shared one and under ``pytest -n 2`` (issue 22), where the
wall time of the same read grows with the load; a read that loops or decodes without end is caught
after ``seconds`` of CPU. A read that waits without computing (a blocked file) uses no CPU: the wall
clock catches it too (SIGALRM), at ``WALL_FACTOR`` times the bound.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager

#: The wall-clock backstop, as a multiple of the CPU bound (a blocked read uses no CPU).
WALL_FACTOR = 10


@contextmanager
def within(seconds: int):
    """Fail (instead of hanging) when the block takes more than ``seconds`` of CPU time, or more than
    ``WALL_FACTOR * seconds`` of wall time (SIGPROF / SIGALRM, main thread)."""
    def cpu(*_):
        raise TimeoutError(f"took more than {seconds} s of CPU time")

    def wall(*_):
        raise TimeoutError(f"took more than {WALL_FACTOR * seconds} s (wall clock)")

    old_prof = signal.signal(signal.SIGPROF, cpu)
    old_alarm = signal.signal(signal.SIGALRM, wall)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    signal.alarm(WALL_FACTOR * seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.alarm(0)
        signal.signal(signal.SIGPROF, old_prof)
        signal.signal(signal.SIGALRM, old_alarm)
