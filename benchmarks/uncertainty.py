"""Speed of the uncertainty analysis (issue 23) against the nominal plan run alongside.

Run after ``pip install .``: ``python benchmarks/uncertainty.py``. Prints, for a glass MIRD plan, a
glass partition plan of two tumours and a resin BSA plan (default budget, seed 0):

* the nominal plan (one call of the planning function), best of 5;
* the plan with its uncertainty at 10^4 draws (``planning.with_uncertainty``: the nominal call, one
  call with the 10^4 draws plus the one-at-a-time blocks, the intervals, the probabilities and the
  ranking), best of 5, and the ratio to the nominal plan;
* the same at 10^5 draws.

Target (issue 23): the 10^4-draw plan under 0.5 s.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from dosimetry import planning
from dosimetry.planning import UncertaintySettings, with_uncertainty

CASES = {
    "mird (glass)": (planning.mird, ("120 Gy", "1456 mL", 0.05), dict(liver="1800 mL", tumour="300 mL", tumour_to_normal=3.0, device="glass")),
    "partition, 2 tumours (glass)": (planning.partition, ("1456 mL", ["100 mL", "200 mL"], [3.0, 4.0], 0.08),
                                     dict(liver="1800 mL", tumour_dose="205 Gy", device="glass", clinical={"indication": "hcc"})),
    "bsa (resin)": (planning.bsa, ("175 cm", "75 kg", "1800 mL", "300 mL", 0.12), dict(device="resin")),
}


def best_of(fn, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    print(f"python {platform.python_version()}, numpy {np.__version__}, cpus {os.cpu_count()}")
    worst = 0.0
    for name, (fn, args, kwargs) in CASES.items():
        fn(*args, **kwargs)  # warm-up (pint's unit cache)
        nominal = best_of(lambda: fn(*args, **kwargs))
        line = f"{name:30s} nominal {nominal * 1e3:7.1f} ms"
        for n in (10_000, 100_000):
            s = UncertaintySettings(samples=n)
            t = best_of(lambda: with_uncertainty(fn, *args, uncertainty=s, **kwargs), repeats=5 if n == 10_000 else 2)
            line += f" | {n:>6} draws {t * 1e3:7.1f} ms ({t / nominal:5.1f}x nominal)"
            if n == 10_000:
                worst = max(worst, t)
        print(line)
    print(f"slowest 10^4-draw plan {worst * 1e3:.0f} ms: target < 500 ms -> {'met' if worst < 0.5 else 'NOT MET'}")


if __name__ == "__main__":
    main()
