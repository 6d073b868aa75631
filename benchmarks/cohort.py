"""Cohort throughput (issue 24): cases per minute with 1 and 2 Dask workers, and the cohort's
overhead per case against a bare loop over run_case in this process (the baseline).

Run after ``pip install .``::

    python benchmarks/cohort.py [--patients 40] [--folder DIR] [--workers 1,2] [--kill]
    python benchmarks/cohort.py --memory        # peak memory of one case against the estimate

Writes N phantom patients planned from their Tc-99m MAA SPECT/CT (as ``y90 demo`` writes them;
seeds 1..N, Poisson noise on, lung shunt fractions 3-7.5 %), one of them broken on purpose (its
RT Structure Set truncated, as a failed copy leaves it), and a manifest. Then:

* baseline: ``load_patient`` + ``run_case`` + ``write_case_report`` for every case, one after the other;
* ``run_cohort`` (what ``y90 cohort`` runs) in this process (0: the cohort's own overhead: hashing,
  records, tables) and with 1 and with 2 local worker processes;
* checks that the cohort gives N - 1 rows of the single runs' figures and one error row;
* a second run into the same folder (everything taken from the first: nothing recomputed);
* ``--kill``: ``y90 cohort`` stopped (SIGKILL) half-way, then run again: the cases done are not recomputed.

Prints cases per minute, the speed-up of 2 workers over 1 (target 1.7x on 2 cores), the overhead
per case, and the load average (the machine may be shared: read the figures with it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_study(folder: Path, n: int) -> Path:
    from dosimetry.cli import write_demo_patient

    folder.mkdir(parents=True, exist_ok=True)
    lines = ["patient_file"]
    for i in range(1, n + 1):
        d = folder / f"p{i:03d}"
        if not d.exists():
            write_demo_patient(d, seed=i, patient_id=f"PH-{i:03d}", noise=True, lung_shunt_fraction=0.03 + 0.005 * (i % 10))
        lines.append(f"p{i:03d}/patient.toml")
    broken = folder / f"p{max(1, n // 2):03d}" / "rtstruct.dcm"
    data = broken.read_bytes()
    if len(data) > 4096:
        broken.write_bytes(data[: len(data) // 3])  # a failed copy: the case is refused in its worker
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def bare_loop(manifest: Path, out: Path) -> tuple[float, dict]:
    """The baseline: each case alone, in this process, as y90 report runs it."""
    from dosimetry.errors import InputError
    from dosimetry.io.manifest import read_manifest
    from dosimetry.io.patient import load_patient
    from dosimetry.report.build import write_case_report
    from dosimetry.workflow import run_case

    out.mkdir()
    figures = {}
    t0 = time.perf_counter()
    for row in read_manifest(manifest):
        try:
            pf = load_patient(row.patient_file)
            case = run_case(pf)
            write_case_report(case, pf, out / pf.patient.id)
            figures[pf.patient.id] = (case.status, case.plan.plan.prescribed_activity.to("GBq").magnitude,
                                      tuple(r.stats.mean.to("Gy").magnitude for r in case.voxel.regions))
        except InputError as exc:
            figures[str(row.patient_file)] = ("REFUSED", str(exc))
    return time.perf_counter() - t0, figures


def cohort(manifest: Path, out: Path, workers: int) -> tuple[float, object]:
    from dosimetry.io.manifest import read_manifest
    from dosimetry.report.build import write_case_report
    from dosimetry.workflow.cohort import run_cohort

    t0 = time.perf_counter()
    result = run_cohort(read_manifest(manifest), out, workers=workers, report=write_case_report)
    return time.perf_counter() - t0, result


#: Figures agree when within this relative difference: a worker runs numpy's BLAS on one thread
#: (Dask's default), so sums run in another order than in a process with a BLAS thread per core and
#: the last bits differ (measured: at most a few 1e-16).
SAME = 1e-12


def _relative(a, b) -> float:
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


def same_figures(result, figures: dict) -> tuple[int, int, str]:
    """Rows, error rows, and how the figures compare with the single runs: the same verdicts and region
    count, and the largest relative difference of the activity and the region mean doses."""
    ok, errors, same, worst = 0, 0, True, 0.0
    for o in result.outcomes:
        p = o.patient
        if p["status"] in ("REFUSED", "FAILED"):
            errors += 1
            continue
        ok += 1
        status, activity, regions = figures.get(p["patient_id"], (None, None, ()))
        got = tuple(r["mean_dose_Gy"] for r in o.regions)
        same &= status == p["status"] and activity is not None and len(got) == len(regions)
        if activity is not None:
            worst = max([worst, _relative(activity, p["prescribed_activity_GBq"])] + [_relative(a, b) for a, b in zip(got, regions)])
    if not same or worst > SAME:
        return ok, errors, f"NO (verdicts or regions differ, or a figure differs by {worst:.1e} relative)"
    return ok, errors, "identical" if worst == 0 else f"yes, activity and region doses within {worst:.1e} relative"


def killed_half_way(manifest: Path, out: Path, n: int) -> str:
    """`y90 cohort` killed once half the case folders exist; then run again."""
    from dosimetry.workflow.cohort import RECORD

    cmd = [sys.executable, "-m", "dosimetry", "cohort", str(manifest), "-o", str(out), "--workers", "2", "-q"]
    proc = subprocess.Popen(cmd, start_new_session=True)
    while proc.poll() is None and sum((d / RECORD).is_file() for d in out.glob("PH-*")) < n // 2:
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers, as a power cut would
    proc.wait()
    done = sum((d / RECORD).is_file() for d in out.glob("PH-*"))
    t0 = time.perf_counter()
    _, result = cohort(manifest, out, 2)
    return f"killed with {done} cases done; the second run took {result.reused} from it and computed {len(result.outcomes) - result.reused} ({time.perf_counter() - t0:.0f} s)"


def memory(folder: Path) -> None:
    """Peak RSS of one case (run_case + report) in a fresh process, against estimate_memory."""
    from dosimetry.cli import write_demo_patient
    from dosimetry.io.patient import load_patient
    from dosimetry.workflow.cohort import estimate_memory

    code = ("import resource, sys; from dosimetry.io.patient import load_patient; from dosimetry.workflow import run_case; "
            "from dosimetry.report.build import write_case_report; pf = load_patient(sys.argv[1]); "
            "write_case_report(run_case(pf), pf, sys.argv[2]); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    for size in ("small", "ct"):
        d = folder / f"memory-{size}"
        if not d.exists():
            write_demo_patient(d, seed=1, size=size)
        shutil.rmtree(folder / f"memory-{size}-report", ignore_errors=True)
        out = subprocess.run([sys.executable, "-c", code, str(d / "patient.toml"), str(folder / f"memory-{size}-report")],
                             capture_output=True, text=True, check=True)
        peak = int(out.stdout.split()[-1]) / 1024
        est = estimate_memory(load_patient(d / "patient.toml")) / 2**20
        print(f"{size}: peak {peak:.0f} MiB, estimate {est:.0f} MiB ({est / peak:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=40)
    ap.add_argument("--folder", type=Path, help="where to write (and keep) the study; default a temporary folder")
    ap.add_argument("--workers", default="0,1,2", help="worker counts to run (0: in this process, no Dask)")
    ap.add_argument("--kill", action="store_true", help="also stop a run half-way (SIGKILL) and resume it")
    ap.add_argument("--memory", action="store_true", help="only the peak memory of one case against the estimate")
    args = ap.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="y90-cohort-bench-"))
    if args.memory:
        memory(folder)
        return
    import dosimetry

    print(f"y90-dosimetry {dosimetry.__version__}, python {sys.version.split()[0]}, cores {len(os.sched_getaffinity(0))}, folder {folder}")
    t0 = time.perf_counter()
    manifest = write_study(folder / "study", args.patients)
    print(f"{args.patients} phantom patients written in {time.perf_counter() - t0:.0f} s; load average {os.getloadavg()[0]:.2f}")
    for d in folder.glob("out-*"):
        shutil.rmtree(d)
    base, figures = bare_loop(manifest, folder / "out-bare")
    n = args.patients
    print(f"baseline (bare loop over run_case + report): {base:.0f} s, {60 * n / base:.2f} cases/min; load {os.getloadavg()[0]:.2f}")
    times = {}
    for w in (int(x) for x in args.workers.split(",")):
        times[w], result = cohort(manifest, folder / f"out-{w}", w)
        ok, errors, same = same_figures(result, figures)
        print(f"cohort, {w or 'no'} worker(s){' (in this process)' if w == 0 else ''}: {times[w]:.0f} s, {60 * n / times[w]:.2f} cases/min; {ok} rows + {errors} error row(s); "
              f"same figures as the single runs: {same}; load {os.getloadavg()[0]:.2f}")
        print(f"  overhead per case against the baseline: {(times[w] - base) / n:+.2f} s ({(times[w] - base) / base:+.1%})")
    if 1 in times and 2 in times:
        print(f"speed-up, 2 workers over 1: {times[1] / times[2]:.2f}x (target 1.7x on 2 otherwise idle cores)")
    last = max(times)
    t_again, again = cohort(manifest, folder / f"out-{last}", last)
    print(f"second run into the same folder: {t_again:.1f} s, {again.reused} of {len(again.outcomes)} taken from the first")
    if args.kill:
        print(killed_half_way(manifest, folder / "out-kill", n))


if __name__ == "__main__":
    main()
