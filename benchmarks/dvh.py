"""DVH of a real RT set against dicompyler-core, in one run (issue 22).

Run after ``pip install -e .`` (and, for the anchor, ``pip install dicompyler-core``; without it the
anchor rows are skipped): ``python benchmarks/dvh.py [--folder DEMO_FOLDER] [--repeat N]``.

The RT set is the demo patient's (``y90 demo``: RTSTRUCT of the phantom, RT Dose written by the
report). For every ROI of the structure set on the dose grid:

- anchor: ``dicompylercore.dvhcalc.get_dvh`` (its own contour rasterization, binary);
- ``y90 dvh`` as it computes: the ROI's partial-volume fractions on the dose grid
  (``roi_masks_on``, sub-sampled about every mm: 5 per edge at 4.42 mm) and ``region_stats``;
- binary masks: ``rasterize_roi`` (voxel centres) and ``region_stats``;
- the same fractions at 4 samples per edge (a figure change, shown for the lead's decision:
  time and the ROI volumes against the default lattice).

Times are medians of interleaved runs; the ratio is dicompyler's time over ours (> 1: faster).
With ``--before TREE`` (a checkout of the code before a change, e.g. ``../main``) the rows also
run with that tree's ``io/rtstruct.py`` and ``voxel/metrics.py`` (loaded beside this tree's, in
the same process, interleaved), after checking that both give the same fractions bit for bit.
dicompyler-core 0.5.6 imports only with pydicom < 3 (``from pydicom.dicomio import read_file``); with
``--dicompyler-python PYTHON`` (an interpreter of a separate environment holding it and pydicom 2)
its timing runs there, one child process per repetition, interleaved with ours; the child times
only the ``get_dvh`` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dosimetry.cli import main as y90  # noqa: E402
from dosimetry.io.dosemap import read_dose_map  # noqa: E402
from dosimetry.io.rtstruct import rasterize_roi  # noqa: E402
from dosimetry.io.segmentation import read_segmentation  # noqa: E402
from dosimetry.voxel import region_stats  # noqa: E402
from dosimetry.workflow.voxel import roi_masks_on  # noqa: E402


def _demo(folder: Path) -> tuple[Path, Path]:
    if not (folder / "report" / "rtdose.dcm").exists():
        y90(["--quiet", "demo", "-o", str(folder)])
    return folder / "report" / "rtdose.dcm", folder / "patient" / "rtstruct.dcm"


_CHILD = """
import json, sys, time
from dicompylercore import dicomparser, dvhcalc
rs, dose = sys.argv[1], sys.argv[2]
numbers = {s["name"]: k for k, s in dicomparser.DicomParser(rs).GetStructures().items()}
t0 = time.perf_counter()
out = {n: float(dvhcalc.get_dvh(rs, dose, k).volume) for n, k in numbers.items()}
print(json.dumps({"seconds": time.perf_counter() - t0, "volumes": out}))
"""


def _dicompyler_child(python: str, rs_path: Path, dose_path: Path) -> dict:
    r = subprocess.run([python, "-c", _CHILD, str(rs_path), str(dose_path)], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def _module_of(tree: Path, package: str, name: str):
    """``package.name`` loaded from another checkout ``tree``, beside this tree's (its relative imports
    resolve to this tree's modules)."""
    import importlib.util

    path = tree / Path(*package.split(".")) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{package}._before_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = package
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=None, help="a y90 demo folder to reuse (written when absent)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dicompyler-python", default=None, help="python of an environment with dicompyler-core and pydicom < 3")
    ap.add_argument("--before", type=Path, default=None, help="a checkout of the code before a change (its rtstruct and metrics are timed beside these)")
    args = ap.parse_args(argv)
    try:
        from dicompylercore import dicomparser, dvhcalc
    except ImportError:
        dvhcalc = None
    have = "present" if dvhcalc else f"in {args.dicompyler_python}" if args.dicompyler_python else "absent: anchor skipped"
    print(f"load average {'%.1f %.1f %.1f' % os.getloadavg()}; dicompyler-core {have}")
    with tempfile.TemporaryDirectory() as tmp:
        dose_path, rs_path = _demo(args.folder or Path(tmp) / "demo")
        dm, seg = read_dose_map(dose_path), read_segmentation(rs_path)
        dose = dm.volume
        names = list(seg.names)
        numbers = {}
        if dvhcalc is not None:
            rs = dicomparser.DicomParser(str(rs_path))
            numbers = {s["name"]: k for k, s in rs.GetStructures().items()}

        def fractions(m=None):
            out = {}
            for n in names:
                if m is None:
                    mask = roi_masks_on(seg, [n], dose, [])[n]
                else:
                    mask = rasterize_roi(seg.structure_set.roi(n), dose, fractional=True, supersample=m)
                out[n] = (region_stats(dose, mask), float(np.asarray(mask.array, dtype=np.float64).sum()))
            return out

        def binary():
            return {n: region_stats(dose, rasterize_roi(seg.structure_set.roi(n), dose)) for n in names}

        before = {}
        if args.before is not None:
            from dosimetry.io import rtstruct

            rt0, met0 = _module_of(args.before, "dosimetry.io", "rtstruct"), _module_of(args.before, "dosimetry.voxel", "metrics")
            rt0.Roi = rtstruct.Roi  # the structure set read by this tree
            ss = seg.structure_set
            for n in names:
                a, b = rt0.roi_fractions(ss, n, dose).array, rtstruct.roi_fractions(ss, n, dose).array
                if not np.array_equal(a, b):
                    raise SystemExit(f"{n}: the fractions differ from those of {args.before}")
            def fractions_before():
                masks = {n: rt0.roi_fractions(ss, n, dose) for n in names}
                return {n: (met0.region_stats(dose, m), float(np.asarray(m.array, dtype=np.float64).sum())) for n, m in masks.items()}

            before = {"fractions (y90 dvh), before": fractions_before,
                      "binary masks, before": lambda: {n: met0.region_stats(dose, rt0.rasterize_roi(ss.roi(n), dose)) for n in names}}

        def dicompyler():
            return {n: dvhcalc.get_dvh(str(rs_path), str(dose_path), numbers[n]) for n in names if n in numbers}

        rows = {"fractions (y90 dvh)": fractions, "binary masks": binary, "fractions, 4 per edge": lambda: fractions(4), **before}
        if dvhcalc is not None:
            rows = {"dicompyler-core get_dvh": dicompyler, **rows}
        elif args.dicompyler_python:
            rows = {"dicompyler-core get_dvh": lambda: _dicompyler_child(args.dicompyler_python, rs_path, dose_path), **rows}
        times: dict = {k: [] for k in rows}
        cpu: dict = {k: [] for k in rows}
        results: dict = {}
        for _ in range(args.repeat):  # interleaved
            for k, fn in rows.items():
                t0, c0 = time.perf_counter(), time.process_time()
                results[k] = fn()
                cpu[k].append(time.process_time() - c0)
                times[k].append(results[k]["seconds"] if isinstance(results[k], dict) and "seconds" in results[k] else time.perf_counter() - t0)
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"dose grid {dose.shape}, spacing {tuple(round(s, 3) for s in dose.spacing_mm)} mm; {len(names)} ROIs: {', '.join(names)}")
    anchor = med.get("dicompyler-core get_dvh")
    for k, t in med.items():
        ratio = f"   {anchor / t:5.2f}x faster than dicompyler-core" if anchor and k != "dicompyler-core get_dvh" else ""
        own = "" if k == "dicompyler-core get_dvh" and "seconds" in results.get(k, {}) else f", CPU {float(np.median(cpu[k])):.3f} s"
        print(f"   {k:30s} {t:7.3f} s (median of {args.repeat}{own}){ratio}")
    for k in before:
        now = k.replace(", before", "")
        print(f"   {now}: before / after {med[k] / med[now]:.2f}x wall, {np.median(cpu[k]) / np.median(cpu[now]):.2f}x CPU")
    five, four = results["fractions (y90 dvh)"], results["fractions, 4 per edge"]
    print("   4 per edge against the default lattice: ROI volume (sum of fractions) and mean dose, relative difference")
    for n in names:
        v5, v4 = five[n][1], four[n][1]
        m5, m4 = (float(five[n][0].mean.magnitude), float(four[n][0].mean.magnitude))
        print(f"      {n:16s} volume {100 * (v4 - v5) / v5:+.3f} %   mean dose {100 * (m4 - m5) / m5:+.3f} %")
    print(f"load average {'%.1f %.1f %.1f' % os.getloadavg()}")


if __name__ == "__main__":
    main()
