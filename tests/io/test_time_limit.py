"""The reader tests' time bound (time_limit.within) can fail: a block that computes past its CPU bound
raises TimeoutError, and the timers are off after the block."""

import signal
import time

import pytest
from time_limit import within


def test_a_block_over_its_cpu_bound_is_stopped():
    t0 = time.process_time()
    with pytest.raises(TimeoutError, match="more than 1 s of CPU time"):
        with within(1):
            while True:
                pass
    assert 0.5 < time.process_time() - t0 < 3.0  # the kernel counts the profiling timer in ticks: about 1 s


def test_a_quick_block_passes_and_leaves_no_timer():
    with within(2):
        sum(range(1000))
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0) and signal.alarm(0) == 0
