"""Phantom benchmarks: what the volume-averaged (camera-like) emission costs in ``make_patient``.

Run: ``python benchmarks/phantom_emission.py [--repeat 3]``

For each phantom, in one process and interleaved: ``make_patient`` (writing the DICOM and the
truth), the part of it that the volume-averaged emission adds (``phantoms.emission.region_occupancy``
on the emission grid and spreading the activity over the occupancies), and the voxel-centre
spreading it replaced (each region's activity shared by the voxels whose centres it holds). The
ratio ``make_patient / (make_patient - volume-averaged + voxel-centre)`` is the cost of the new
emission against the old one (target: within 1.3x). Also a post-treatment study against the
planning phantom of the same parameters (its shapes are rotated: the occupancy uses the looser
Lipschitz classification, and the transport truth runs on rotated ellipsoids).

Timings are medians of ``--repeat`` interleaved runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from phantoms import make_arrays, make_patient, make_post_treatment  # noqa: E402
from phantoms.emission import active_regions, region_occupancy  # noqa: E402

CASES = {
    "NM default (2 tumours)": {},
    "MAA SPECT, 4 tumours": {"radionuclide": "Tc-99m", "tumours": 4},
    "PT, 4 tumours": {"modality": "PT", "tumours": 4},
    "emission on the CT grid": {"emission_grid": "ct", "tumours": 4, "radionuclide": "Tc-99m", "fwhm_mm": 0},
}


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _emission_parts(kw):
    """(volume-averaged, voxel-centre) seconds for the activity map of these parameters."""
    a = make_arrays(**kw)
    grid, lab = a.truth.emission_grid, a.labels.array
    part = {n: a.truth.regions[n].activity.to("GBq").magnitude for n in active_regions(a.anatomy)}
    label_of = {"Normal Liver": 5, "Lung L": 3, "Lung R": 4}
    label_of.update({f"Tumour {i}": 10 + i for i in range(1, len(a.anatomy.tumours) + 1)})

    def averaged():
        occ = region_occupancy(a.anatomy, grid)
        flat = np.zeros(lab.size)
        for n in part:
            flat[occ[n].index] += part[n] * 1000.0 * occ[n].fraction / occ[n].total

    def centre():
        counts = np.bincount(lab.ravel(), minlength=256)
        per = np.zeros(256)
        for n, v in part.items():
            per[label_of[n]] = v * 1000.0 / counts[label_of[n]]
        return per[lab]

    return _timed(averaged), _timed(centre)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    n = 0
    print(f"{'phantom':<26} {'make_patient':>12} {'vol.-avg.':>9} {'centre':>7} {'ratio':>6}")
    for name, kw in CASES.items():
        totals, avg, cen = [], [], []
        for _ in range(args.repeat):
            n += 1
            totals.append(_timed(lambda: make_patient(tmp / f"p{n}", **kw)))
            a, c = _emission_parts(kw)
            avg.append(a)
            cen.append(c)
        t, a, c = (statistics.median(x) for x in (totals, avg, cen))
        print(f"{name:<26} {t:>11.2f}s {a:>8.2f}s {c:>6.2f}s {t / (t - a + c):>5.2f}x")
    plan, post = [], []
    for _ in range(args.repeat):
        n += 1
        plan.append(_timed(lambda: make_patient(tmp / f"p{n}", modality="PT", tumours=4, radionuclide="Y-90")))
        post.append(_timed(lambda: make_post_treatment(tmp / f"q{n}", planning={"tumours": 4}, modality="PT")))
    t_plan, t_post = statistics.median(plan), statistics.median(post)
    print(f"post-treatment PT, 4 tumours: {t_post:.2f}s against {t_plan:.2f}s for the planning PT ({t_post / t_plan:.2f}x)")


if __name__ == "__main__":
    main()
