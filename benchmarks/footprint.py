"""Time and memory of the daily computations at clinical sizes, each against its anchor (issue 22).

Run after ``pip install -e .``: ``python benchmarks/footprint.py [--quick] [--report-ct SLICES]``.
Every row is a ratio against an anchor computed in the same process, in the same run, so the
machine's load cancels to first order; the load average is printed with the figures.

Rows (grid sizes in the output):

1. ``measure_plan_inputs`` (what ``measure_images`` calls) on an activity image of CT size
   (300 x 512 x 512 float32, boolean masks: liver, two tumours, two lungs) with the CT and the
   masks on the CT grid (volumes, lung mass), against bare numpy sums of the same figures
   (lung shunt, tumour-to-normal ratios, volumes, lung mass through ``np.interp``). Target < 5x.
2. ``convolve_dose`` (float32) at 64^3 ... 320^3 against one ``rfftn`` + ``irfftn`` of the padded
   grid. Target <= 1.3x at every size.
3. One scalar ``planning.mird`` with strings (the README call) against the same arithmetic on
   floats; milliseconds per call. Target < 1 ms.
4. ``load_series`` of a 300 x 512 x 512 int16 CT series against bare ``pydicom.dcmread`` of every
   file (median of interleaved runs; ``benchmarks/dicom.py`` writes the series). Target <= 1.3x.
5. Start-up: ``import dosimetry.cli`` in a fresh interpreter against a bare ``python -c pass``.
6. ``y90 report`` of the demo phantom written at CT size (``--report-ct``: 512 x 512 x 300 CT,
   80 x 128 x 128 SPECT; writing it takes a few minutes): wall time and peak resident memory of
   the child process (``ru_maxrss``) against the CT's own int16 array. Target peak < 1 GB.
7. ``--largest``: ``y90 report`` of the largest case a user may give, a 512 x 512 x 600 int16 CT
   with a 256^3 float32 SPECT and a label map on the CT grid (NRRD files written here), kernel
   dose: wall time and peak resident memory.
8. ``--rows 8``: ``y90 demo`` in a child process, wall and CPU time (median of ``--repeat``), and
   each step's share under cProfile; ``--demo-against ../main`` runs that tree's demo too,
   interleaved run for run, for the ratio (``python benchmarks/footprint.py --rows 8 --demo-against ../main``).
9. ``--rows 9``: ``y90 report`` of the demo patient (written once here, 80 x 128 x 128 SPECT, CT,
   RTSTRUCT, kernel dose, partial-volume correction) and ``y90 plan`` of the glass example (no
   images), each in a child process: CPU time (user + system) of the child, median of ``--repeat``;
   with ``--against ../main`` that tree's commands interleaved run for run, and the CPU ratio.

The DVH row (against dicompyler-core) is ``benchmarks/dvh.py``.

The in-process rows also print the peak of traced allocations (``tracemalloc``; numpy reports its
arrays to it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy
import scipy.fft

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dosimetry import planning  # noqa: E402
from dosimetry.units import Q_  # noqa: E402
from dosimetry.voxel import Volume, absorbed_fraction_kernel, convolve_dose  # noqa: E402
from dosimetry.voxel.dose import HU_DENSITY_CURVE  # noqa: E402
from dosimetry.voxel.measure import measure_plan_inputs  # noqa: E402

MiB = 2**20


def best(fn, repeat=3):
    """(best wall time [s], result) of ``repeat`` runs."""
    t_best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t0)
    return t_best, out


def traced_peak(fn) -> int:
    """Peak traced allocation [bytes] of one call of ``fn``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def load() -> str:
    return "load average %.1f %.1f %.1f" % os.getloadavg()


# -- 1. measurements at CT size ------------------------------------------------------------------
def _ct_case(shape=(300, 512, 512), spacing=(1.5, 0.8, 0.8)):
    """An activity image, its masks and a CT on one CT-sized grid (ellipsoids, in voxels)."""
    k, j, i = np.ogrid[: shape[0], : shape[1], : shape[2]]

    def ellipsoid(c, r):
        return ((k - c[0]) / r[0]) ** 2 + ((j - c[1]) / r[1]) ** 2 + ((i - c[2]) / r[2]) ** 2 <= 1.0

    liver = ellipsoid((100, 300, 200), (60, 120, 150))
    t1 = ellipsoid((100, 300, 160), (15, 30, 30))
    t2 = ellipsoid((90, 280, 280), (10, 20, 20))
    lung_l = ellipsoid((230, 256, 130), (60, 110, 90))  # slices 170-290: above the liver (40-160)
    lung_r = ellipsoid((230, 256, 380), (60, 110, 90))
    rng = np.random.default_rng(0)
    image = rng.random(shape, dtype=np.float32) * 0.01
    image[liver] += 1.0
    image[t1] += 3.0
    image[t2] += 4.0
    image[lung_l | lung_r] += 0.05
    ct = np.full(shape, 40, np.int16)
    ct[lung_l | lung_r] = -800
    vol = lambda a, unit="dimensionless": Volume(a, spacing, unit=unit)  # noqa: E731
    masks = dict(liver=liver, t1=t1, t2=t2, lungs=lung_l | lung_r)
    return vol(image, "cts"), vol(ct), {n: vol(m) for n, m in masks.items()}, masks, spacing


def bench_measure(shape) -> None:
    image, ct, vmasks, masks, spacing = _ct_case(shape)
    a, hu, v = image.array, ct.array, float(np.prod(spacing)) / 1000.0
    pts = np.asarray(HU_DENSITY_CURVE)

    def bare():
        cl, cv = float(a[masks["lungs"]].sum(dtype=np.float64)), float(a[masks["liver"]].sum(dtype=np.float64))
        normal = masks["liver"] & ~masks["t1"] & ~masks["t2"]
        dn = float(a[normal].sum(dtype=np.float64)) / np.count_nonzero(normal)
        tn = {t: float(a[masks[t]].sum(dtype=np.float64)) / np.count_nonzero(masks[t]) / dn for t in ("t1", "t2")}
        vols = {n: np.count_nonzero(m) * v for n, m in masks.items()} | {"normal": np.count_nonzero(normal) * v}
        mass = float(np.interp(hu[masks["lungs"]].astype(np.float32), pts[:, 0], pts[:, 1]).astype(np.float32).sum(dtype=np.float64)) * v
        return cl / (cl + cv), tn, vols, mass

    tum = {"t1": vmasks["t1"], "t2": vmasks["t2"]}
    ct_masks = {"liver": vmasks["liver"], "tumours": tum, "lungs": vmasks["lungs"]}

    def ours():
        return measure_plan_inputs(image, liver_mask=vmasks["liver"], lung_mask=vmasks["lungs"], tumour_masks=tum, ct=ct, ct_masks=ct_masks)

    tb, (lsf, tn, vols, mass) = best(bare)
    to, m = best(ours)
    pb, po = traced_peak(bare), traced_peak(ours)
    same = (abs(m.lung_shunt_fraction.magnitude - lsf) <= 1e-12 and all(abs(m.tumour_to_normal[t].magnitude - tn[t]) <= 1e-12 * tn[t] for t in tn)
            and abs(m.lung_mass.to("g").magnitude - mass) <= 1e-9 * mass)
    print(f"\n1. plan-input measurements, image and masks {shape} ({a.nbytes / MiB:.0f} MiB float32 image, int16 CT; boolean masks)")
    print(f"   bare numpy (LSF, T/N, volumes, lung mass) {tb:7.3f} s   traced peak {pb / MiB:6.0f} MiB")
    print(f"   measure_plan_inputs                       {to:7.3f} s   traced peak {po / MiB:6.0f} MiB   ratio {to / tb:5.2f}x (target < 5x); figures equal: {same}")


# -- 2. convolution --------------------------------------------------------------------------
def bench_convolution(sizes) -> None:
    phi = absorbed_fraction_kernel(Q_((4.0, 4.0, 4.0), "mm"))
    h = (phi.shape[0] - 1) // 2
    print(f"\n2. convolve_dose float32, 4 mm voxels, kernel {phi.shape}, against one rfftn + irfftn of the padded grid (best of 3)")
    for n in sizes:
        a = np.random.default_rng(0).random((n, n, n), dtype=np.float32)
        vol = Volume(a, (4.0, 4.0, 4.0), unit="MBq")
        padded = tuple(scipy.fft.next_fast_len(s + h, real=True) for s in a.shape)

        def anchor():
            buf = np.zeros(padded, np.float32)
            buf[:n, :n, :n] = a
            return scipy.fft.irfftn(scipy.fft.rfftn(buf, workers=-1), s=padded, workers=-1)

        convolve_dose(vol)  # kernel cached, as in a run
        ta, _ = best(anchor)
        tc, _ = best(lambda: convolve_dose(vol))
        pc = traced_peak(lambda: convolve_dose(vol))
        print(f"   {n:3d}^3 (padded {padded[0]}^3)  anchor {ta:7.3f} s   convolve_dose {tc:7.3f} s   ratio {tc / ta:5.2f}x (target <= 1.3x)   "
              f"traced peak {pc / a.nbytes:4.1f}x the input")


# -- 3. scalar plan --------------------------------------------------------------------------
def bench_scalar_plan(repeat=200) -> None:
    call = lambda: planning.mird("120 Gy", "1456 mL", 0.05, device="glass", tumour="300 mL", tumour_to_normal=3.0, liver="1800 mL")  # noqa: E731

    def floats():  # A = D M / (K (1 - LSF) (1 - R)), M = 1.456 L * 1.03 kg/L
        return 120.0 * 1.456 * 1.03 / (50.0 * (1 - 0.05) * (1 - 0.0))

    call()
    tf, _ = best(lambda: [floats() for _ in range(10000)])
    tp, _ = best(lambda: [call() for _ in range(repeat)])
    cpu = float("inf")
    for _ in range(3):  # CPU time of the process: less sensitive than wall time to the other jobs of a shared machine
        c0 = time.process_time()
        for _ in range(repeat):
            call()
        cpu = min(cpu, time.process_time() - c0)
    per_call, per_float = tp / repeat, tf / 10000
    print("\n3. one scalar planning.mird with strings (README call)")
    print(f"   {per_call * 1e3:7.3f} ms per call, CPU {cpu / repeat * 1e3:.3f} ms (target < 1 ms); the arithmetic on floats {per_float * 1e9:.0f} ns: "
          f"ratio {per_call / per_float:,.0f}x")


# -- 4. CT series load -----------------------------------------------------------------------
def bench_series(slices: int, repeat: int) -> None:
    import pydicom
    from pydicom.uid import generate_uid

    from dosimetry.io import load_series

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from dicom import write_ct  # benchmarks/dicom.py

    with tempfile.TemporaryDirectory() as tmp:
        files = write_ct(Path(tmp), slices, 512, {"study": generate_uid(), "for": generate_uid()})
        bare_t, ours_t, bare_c, ours_c = [], [], [], []
        for _ in range(max(repeat, 3)):  # interleaved: same allocator and page-cache state
            t0, c0 = time.perf_counter(), time.process_time()
            dss = [pydicom.dcmread(f) for f in files]
            bare_t.append(time.perf_counter() - t0)
            bare_c.append(time.process_time() - c0)
            del dss
            t0, c0 = time.perf_counter(), time.process_time()
            s = load_series(Path(tmp))
            ours_t.append(time.perf_counter() - t0)
            ours_c.append(time.process_time() - c0)
            del s
        tb, to = float(np.median(bare_t)), float(np.median(ours_t))
        cb, co = float(np.median(bare_c)), float(np.median(ours_c))
        peak = traced_peak(lambda: load_series(Path(tmp)))
    print(f"\n4. CT series {slices} x 512 x 512 int16 ({slices} files), median of {len(bare_t)} interleaved runs")
    print(f"   bare pydicom.dcmread {tb:7.3f} s   load_series {to:7.3f} s   ratio {to / tb:5.2f}x (target <= 1.3x)   traced peak {peak / MiB:.0f} MiB "
          f"(the CT {slices * 512 * 512 * 2 / MiB:.0f} MiB)")
    print(f"   CPU time (less sensitive to other jobs): bare {cb:7.3f} s   load_series {co:7.3f} s   ratio {co / cb:5.2f}x")


# -- 5. start-up -----------------------------------------------------------------------------
def bench_startup(repeat=3) -> None:
    def run(code):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t0

    tb = min(run("pass") for _ in range(repeat))
    ti = min(run("import dosimetry.cli") for _ in range(repeat))
    tp = min(run("import dosimetry.io.patient") for _ in range(repeat))
    print(f"\n5. start-up: python -c pass {tb:6.2f} s; import dosimetry.cli {ti:6.2f} s (ratio {ti / tb:4.1f}x); "
          f"import dosimetry.io.patient (the patient-file reader) {tp:6.2f} s")


# -- 8. y90 demo -------------------------------------------------------------------------------
#: The steps of ``y90 demo`` whose shares row 8 prints (cumulative time under cProfile; a step's
#: imports are inside it, and the imports also have their own line).
DEMO_STEPS = (
    ("imports (all, inside the steps too)", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("phantoms: arrays and truths (_build)", "phantoms/patient.py", "_build"),
    ("phantoms: CT files", "phantoms/write.py", "write_ct"),
    ("phantoms: NM/PT files", "phantoms/write.py", "write_pt"),
    ("phantoms: RTSTRUCT files", "phantoms/write.py", "write_rtstruct"),
    ("load_imaging (read, place ROIs)", "dosimetry/workflow/imaging.py", "load_imaging"),
    ("voxel_dose", "dosimetry/workflow/voxel.py", "voxel_dose"),
    ("report PDF (render_pdf)", "dosimetry/report/pdf.py", "render_pdf"),
    ("verification PDF", "dosimetry/report/verification.py", "verification_pdf"),
)

_DEMO_PROFILE = """
import cProfile, json, pstats, sys
out, prof, steps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
cProfile.run("from dosimetry.cli import main; main(['--quiet', 'demo', '-o', out])", prof)
stats = pstats.Stats(prof).stats
total = max(v[3] for v in stats.values())
shares = {label: sum(v[3] for (f, _, n), v in stats.items() if n == name and f.replace(chr(92), '/').endswith(suffix)) for label, suffix, name in steps}
print(json.dumps({"total": total, **shares}))
"""


#: This source tree (the one holding this script).
HERE = Path(__file__).resolve().parents[1]


def _child_env(tree: Path | None) -> dict:
    """The environment of a child that runs ``tree``'s package (this tree's when None). The child runs
    in a neutral folder: ``python -m`` puts its working folder first on sys.path, before PYTHONPATH,
    so a child started in a source tree would run that tree's package whatever PYTHONPATH says."""
    return dict(os.environ, PYTHONPATH=str(Path(tree or HERE).resolve()))


def _demo_child(out: Path, tree: Path | None) -> tuple[float, float]:
    """(wall, CPU) of ``y90 --quiet demo`` in a child process; ``tree``: another source tree to run (PYTHONPATH)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dosimetry", "--quiet", "demo", "-o", str(out)], check=True, capture_output=True, env=_child_env(tree),
                   cwd=out.parent)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _demo_shares(out: Path, tree: Path | None) -> dict:
    steps = json.dumps([list(s) for s in DEMO_STEPS])
    r = subprocess.run([sys.executable, "-c", _DEMO_PROFILE, str(out), str(out) + ".prof", steps], check=True, capture_output=True, text=True,
                       env=_child_env(tree), cwd=out.parent)
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_demo(repeat: int, against: Path | None = None) -> None:
    """``y90 --quiet demo`` in a child process: wall time and CPU time (user + system) of the child;
    with ``against`` (another source tree, e.g. ../main), that tree's demo interleaved with this
    one's, run for run, and each step's share under cProfile for both."""
    trees = [("this tree", None)] + ([(f"{against}", against)] if against else [])
    runs: dict = {name: [] for name, _ in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeat):
            for name, tree in trees if r % 2 == 0 else trees[::-1]:
                runs[name].append(_demo_child(Path(tmp) / f"d{r}-{len(runs[name])}-{'b' if tree else 'a'}", tree))
        shares = {name: _demo_shares(Path(tmp) / f"p-{'b' if tree else 'a'}", tree) for name, tree in trees}
    print(f"\n8. y90 demo (phantom, plan, report, post-treatment verification), median of {repeat}" + (", interleaved" if against else ""))
    for name, _ in trees:
        walls, cpus = zip(*runs[name])
        print(f"   {name:<24} wall {np.median(walls):6.1f} s   CPU {np.median(cpus):6.1f} s")
    if against:
        wa = np.median([x[0] for x in runs[trees[0][0]]]); ca = np.median([x[1] for x in runs[trees[0][0]]])
        wb = np.median([x[0] for x in runs[trees[1][0]]]); cb = np.median([x[1] for x in runs[trees[1][0]]])
        print(f"   this tree / {against}: wall {wa / wb:5.2f}x, CPU {ca / cb:5.2f}x")
    print("   shares under cProfile (seconds, % of the profiled run):")
    for label, _, _ in (("total", "", ""),) + DEMO_STEPS:
        cells = "   ".join(f"{shares[n][label]:6.2f} s {100 * shares[n][label] / shares[n]['total']:4.0f} %" for n, _ in trees)
        print(f"     {label:<40} {cells}")
    print(f"   ({load()})")


# -- 9. y90 report of the demo patient, y90 plan without images ---------------------------------
def _cli_cpu(args, tree: Path | None) -> tuple[float, float]:
    """(wall, CPU) of ``python -m dosimetry ARGS`` in a child process; ``tree``: another source tree (PYTHONPATH)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "dosimetry", *args], capture_output=True, text=True, env=_child_env(tree), cwd=tempfile.gettempdir())
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode not in (0, 1):
        raise RuntimeError(f"{args}: exit {r.returncode}: {r.stderr[-2000:]}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def bench_pipelines(repeat: int, against: Path | None = None, folder: Path | None = None) -> None:
    """``y90 report`` of the demo patient and ``y90 plan`` of the glass example, this tree and ``against``
    interleaved run for run; CPU of each child (the figure that holds on a shared machine)."""
    from dosimetry.cli import write_demo_patient

    trees = [("this tree", None)] + ([(f"{against}", against)] if against else [])
    glass = Path(__file__).resolve().parents[1] / "dosimetry" / "examples" / "glass.toml"
    with tempfile.TemporaryDirectory() as tmp:
        base = folder or Path(tmp)
        patient = base / "demo-patient"
        if not (patient / "patient.toml").exists():
            write_demo_patient(patient, seed=0)
        commands = {"y90 report, demo patient": lambda out: ["--quiet", "report", str(patient / "patient.toml"), "-o", str(out)],
                    "y90 plan, glass example (no images)": lambda out: ["--quiet", "plan", str(glass), "-o", str(out / "plan.txt")]}
        runs: dict = {(c, n): [] for c in commands for n, _ in trees}
        for r in range(repeat):
            for c, make in commands.items():
                for name, tree in trees if r % 2 == 0 else trees[::-1]:
                    out = base / f"out-{time.time_ns()}"
                    out.mkdir(parents=True) if "plan" in c else None
                    runs[(c, name)].append(_cli_cpu(make(out), tree))
    print(f"\n9. the product pipelines in a child process, median of {repeat}" + (", interleaved" if against else ""))
    for c in commands:
        cells = {n: (np.median([x[0] for x in runs[(c, n)]]), np.median([x[1] for x in runs[(c, n)]])) for n, _ in trees}
        line = "   ".join(f"{n}: wall {w:5.2f} s, CPU {cpu:5.2f} s" for n, (w, cpu) in cells.items())
        ratio = f"   CPU ratio {cells[trees[0][0]][1] / cells[trees[1][0]][1]:4.2f}x" if against else ""
        print(f"   {c:<36} {line}{ratio}")
    print(f"   ({load()})")


# -- 6. y90 report at CT size ----------------------------------------------------------------
def _child_run(args) -> tuple:
    """(seconds, peak RSS [bytes], exit status) of ``python -c main(args)`` in a child process."""
    code = "import sys; from dosimetry.cli import main; sys.exit(main(sys.argv[1:]))"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # kB on Linux
    if r.returncode not in (0, 1):
        print(r.stderr[-2000:])
    # ru_maxrss of children is the largest child's: a later, smaller child does not lower it
    return dt, peak if peak > before * 1024 else None, r.returncode


def bench_report(slices: int, folder: Path | None) -> None:
    from dosimetry.cli import write_demo_patient

    with tempfile.TemporaryDirectory() as tmp:
        base = folder or Path(tmp)
        patient = base / f"ct{slices}" / "patient"
        if not (patient / "patient.toml").exists():
            t0 = time.perf_counter()
            write_demo_patient(patient, seed=0, size="ct")
            print(f"\n   (phantom patient with a 512 x 512 x {slices} CT written in {time.perf_counter() - t0:.0f} s)")
        out = base / f"ct{slices}" / f"report-{time.time_ns()}"
        dt, peak, code = _child_run(["--quiet", "report", str(patient / "patient.toml"), "-o", str(out)])
    ct_bytes = slices * 512 * 512 * 2
    shown = "n/a (an earlier child was larger)" if peak is None else f"{peak / MiB:.0f} MiB ({peak / ct_bytes:.1f}x the CT)"
    print(f"\n6. y90 report, demo phantom with a 512 x 512 x {slices} CT (int16, {ct_bytes / MiB:.0f} MiB) and an 80 x 128 x 128 SPECT")
    print(f"   exit {code}, {dt:.1f} s, peak resident memory {shown} (target < 1 GB at 300 slices)")


# -- 7. the largest case: 512 x 512 x 600 CT with a 256^3 SPECT ----------------------------
def _write_nrrd(path: Path, arr: np.ndarray, spacing, origin) -> None:
    """An NRRD as Slicer writes one: file axes (i, j, k), LPS space, the array's own type."""
    import nrrd

    steps = np.diag([spacing[2], spacing[1], spacing[0]])
    nrrd.write(str(path), np.transpose(arr, (2, 1, 0)), {"space": "left-posterior-superior", "space directions": steps,
                                                          "space origin": np.asarray(origin, float), "kinds": ["domain"] * 3}, index_order="F")


def _largest_case(folder: Path, ct_slices: int, spect: int) -> Path:
    """A patient file whose CT is 512 x 512 x ``ct_slices`` (int16, 1 x 0.8 x 0.8 mm), SPECT ``spect``^3
    (float32 counts, 1.6 mm), and a label map on the CT grid: liver, a tumour, two lungs."""
    ct_sp, ct_shape = (1.0, 0.8, 0.8), (ct_slices, 512, 512)
    ct_origin = (-0.8 * 255.5, -0.8 * 255.5, -(ct_slices - 1) / 2 * 1.0)
    z = (np.arange(ct_slices) * 1.0 + ct_origin[2])[:, None, None]
    y = (np.arange(512) * 0.8 + ct_origin[1])[None, :, None]
    x = (np.arange(512) * 0.8 + ct_origin[0])[None, None, :]

    def ell(c, r):
        return ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1.0

    liver = ell((-60, 20, -60), (90, 70, 80))
    tumour = ell((-50, 20, -60), (20, 20, 20))
    lung_l, lung_r = ell((80, 0, 90), (60, 70, 100)), ell((-90, 0, 90), (60, 70, 100))
    body = ell((0, 0, 0), (190, 150, 10_000))
    ct = np.where(body, np.int16(40), np.int16(-1000)).astype(np.int16)
    ct[lung_l | lung_r] = -800
    ct[liver] = 60
    labels = np.zeros(ct_shape, np.uint8)
    for value, m in ((1, liver & ~tumour), (2, tumour), (3, lung_l), (4, lung_r)):
        labels[m] = value
    _write_nrrd(folder / "ct.nrrd", ct, ct_sp, ct_origin)
    _write_nrrd(folder / "labels.nrrd", labels, ct_sp, ct_origin)
    del ct, labels, body
    sp = 1.6
    o = -sp * (spect - 1) / 2
    zs, ys, xs = (np.arange(spect) * sp + o for _ in range(3))
    xx, yy, zz = xs[None, None, :], ys[None, :, None], zs[:, None, None]
    act = np.full((spect,) * 3, 0.01, np.float32)
    act[((xx + 60) / 90) ** 2 + ((yy - 20) / 70) ** 2 + ((zz + 60) / 80) ** 2 <= 1] = 1.0
    act[((xx + 50) / 20) ** 2 + ((yy - 20) / 20) ** 2 + ((zz + 60) / 20) ** 2 <= 1] = 4.0
    _write_nrrd(folder / "spect.nrrd", act, (sp, sp, sp), (o, o, o))
    text = (Path(__file__).resolve().parents[1] / "dosimetry" / "examples" / "glass.toml").read_text().split("[imaging]")[0]
    text += """
[imaging]
activity = "spect.nrrd"
activity_unit = "counts"
ct = "ct.nrrd"
segmentation = "labels.nrrd"
labels = {1 = "Liver parenchyma", 2 = "Tumour 1", 3 = "Lung L", 4 = "Lung R"}
method = "kernel"

[imaging.rois]
liver = ["Liver parenchyma", "Tumour 1"]
tumours = ["Tumour 1"]
lungs = ["Lung L", "Lung R"]
"""
    (folder / "patient.toml").write_text(text)
    return folder / "patient.toml"


def bench_largest(ct_slices: int, spect: int, folder: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = (folder or Path(tmp)) / f"largest-{ct_slices}-{spect}"
        base.mkdir(parents=True, exist_ok=True)
        pf = base / "patient.toml" if (base / "patient.toml").exists() else _largest_case(base, ct_slices, spect)
        dt, peak, code = _child_run(["--quiet", "report", str(pf), "-o", str(base / f"report-{time.time_ns()}")])
    ct_bytes = ct_slices * 512 * 512 * 2
    shown = "n/a (an earlier child was larger)" if peak is None else f"{peak / MiB:.0f} MiB ({peak / ct_bytes:.1f}x the CT)"
    print(f"\n7. y90 report, 512 x 512 x {ct_slices} int16 CT ({ct_bytes / MiB:.0f} MiB), {spect}^3 float32 SPECT, label map on the CT grid, kernel dose")
    print(f"   exit {code}, {dt:.1f} s, peak resident memory {shown}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller grids: 150-slice CT-sized grids, convolution up to 256^3")
    ap.add_argument("--report-ct", action="store_true", help="also run y90 report on the demo phantom written at CT size (512 x 512 x 300)")
    ap.add_argument("--largest", action="store_true", help="also run y90 report on a 512 x 512 x 600 CT with a 256^3 SPECT (NRRD files written here)")
    ap.add_argument("--only-reports", action="store_true", help="skip rows 1-5")
    ap.add_argument("--keep", type=Path, default=None, help="folder to keep (and reuse) the CT-size phantom in")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--demo-against", type=Path, default=None, help="row 8: also run this source tree's demo (e.g. ../main, a git worktree of another commit), interleaved")
    ap.add_argument("--against", type=Path, default=None, help="row 9: also run this source tree's y90 report and y90 plan (e.g. ../main), interleaved")
    ap.add_argument("--rows", default="1,2,3,4,5", help="in-process rows to run, e.g. 2,3,4 (8: y90 demo, 9: y90 report and plan; not run by default)")
    args = ap.parse_args(argv)
    chosen = {int(x) for x in args.rows.split(",") if x.strip()}
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, cpus {os.cpu_count()}, {platform.machine()}; {load()}")
    slices = 150 if args.quick else 300
    if not args.only_reports:
        rows = {1: lambda: bench_measure((slices, 512, 512)), 2: lambda: bench_convolution((64, 128, 256) if args.quick else (64, 128, 256, 320)),
                3: bench_scalar_plan, 4: lambda: bench_series(slices, args.repeat), 5: bench_startup, 8: lambda: bench_demo(args.repeat, args.demo_against),
                9: lambda: bench_pipelines(args.repeat, args.against, args.keep)}
        for k in sorted(chosen & set(rows)):
            rows[k]()
    if args.report_ct:
        bench_report(300, args.keep)
    if args.largest:
        bench_largest(600, 256, args.keep)
    print(f"\n{load()}")


if __name__ == "__main__":
    main()
