"""Phantom benchmark: the CPU time of writing the two phantoms of ``y90 demo``, this tree against another.

Run: ``python benchmarks/phantom_write.py --against ../main [--rounds 4] [--n 3]``

Each round runs one child process per source tree (this tree, then ``--against``; the order
alternates from round to round), the tree on PYTHONPATH. A child imports ``phantoms`` and writes,
``--n`` times, the two phantoms ``y90 demo`` writes: the planning patient
(``make_patient(seed=0, radionuclide="Tc-99m")``: CT, Tc-99m MAA SPECT, RTSTRUCT, truth) and its
post-treatment Y-90 PET/CT (``make_post_treatment(planning={"radionuclide": "Tc-99m", "seed": 0},
modality="PT", administered=...)``), and reports the process CPU time (user + system, imports
excluded) of each pass; the first pass of a process is also shown alone (as in ``y90 demo``, which
writes each phantom once). Printed: the median CPU time of a pass per tree, of the first passes,
the wall time, the ratio, and the load average (the machine may be shared).

The two trees must write the same files (issue 22: byte for byte); ``--check`` also compares the
folders of the last pass of each tree (``filecmp`` of every file, truth.json included).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time
from pathlib import Path
t0 = time.process_time()
import phantoms
from dosimetry.units import Q_
imported = time.process_time() - t0
out, n, administered = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cpu, wall = [], []
for i in range(n):
    c, w = time.process_time(), time.perf_counter()
    phantoms.make_patient(out / f"patient-{i}", seed=0, radionuclide="Tc-99m")
    phantoms.make_post_treatment(out / f"post-{i}", planning={"radionuclide": "Tc-99m", "seed": 0}, modality="PT",
                                 administered=Q_(administered))
    cpu.append(time.process_time() - c)
    wall.append(time.perf_counter() - w)
print(json.dumps({"import": imported, "cpu": cpu, "wall": wall, "source": phantoms.__file__}))
"""


def _child(tree: Path, out: Path, n: int, administered: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    r = subprocess.run([sys.executable, "-c", _CHILD, str(out), str(n), administered], check=True, capture_output=True, text=True,
                       env=env, cwd=str(out.parent))
    run = json.loads(r.stdout.strip().splitlines()[-1])
    if not Path(run["source"]).resolve().is_relative_to(tree):
        raise SystemExit(f"the child imported {run['source']}, not {tree}'s phantoms (an installed copy first on the path?)")
    return run


def _same_folders(a: Path, b: Path) -> list:
    """Relative paths of the files that differ or exist in one folder only."""
    fa = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    fb = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    differ = sorted(str(p) for p in fa ^ fb)
    differ += sorted(str(p) for p in fa & fb if not filecmp.cmp(a / p, b / p, shallow=False))
    return differ


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", type=Path, default=None, help="another source tree (e.g. ../main, a git worktree of main)")
    p.add_argument("--rounds", type=int, default=4, help="child processes per tree, interleaved")
    p.add_argument("--n", type=int, default=3, help="passes (both phantoms) per child process")
    p.add_argument("--administered", default="2.7 GBq", help="the post-treatment phantom's Y-90 activity (the demo gives its plan's)")
    p.add_argument("--check", action="store_true", help="compare the files the two trees write (last pass)")
    args = p.parse_args(argv)
    if args.against is not None and not (args.against / "phantoms" / "__init__.py").is_file():
        p.error(f"--against {args.against}: no phantoms/ package there (give the source tree, e.g. a git worktree of main)")
    trees = [("this tree", ROOT)] + ([(str(args.against), args.against.resolve())] if args.against else [])
    runs: dict = {name: [] for name, _ in trees}
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, tree in trees if r % 2 == 0 else trees[::-1]:
                out = Path(tmp) / f"{len(runs)}-{name.replace('/', '_')}-{r}"
                out.mkdir()
                runs[name].append(_child(tree, out, args.n, args.administered))
                load.append(os.getloadavg()[0])
        print(f"y90 demo's two phantoms (MAA SPECT/CT + post-treatment PET/CT), {args.rounds} processes x {args.n} passes per tree"
              + (", interleaved" if args.against else "") + f"; load average {min(load):.1f}-{max(load):.1f}")
        med = {}
        for name, _ in trees:
            cpu = [c for run in runs[name] for c in run["cpu"]]
            first = [run["cpu"][0] for run in runs[name]]
            wall = [w for run in runs[name] for w in run["wall"]]
            med[name] = (statistics.median(cpu), statistics.median(first))
            print(f"  {name:<12} CPU per pass {med[name][0]:5.2f} s (min {min(cpu):.2f}, max {max(cpu):.2f}); first pass {med[name][1]:5.2f} s;"
                  f" wall {statistics.median(wall):5.2f} s   ({runs[name][0]['source']})")
        if args.against:
            (a, a1), (b, b1) = med[trees[0][0]], med[trees[1][0]]
            print(f"  CPU {trees[1][0]} / this tree: {b / a:.2f}x per pass, {b1 / a1:.2f}x first pass")
            if args.check:
                last = args.n - 1
                for what in (f"patient-{last}", f"post-{last}"):
                    dirs = [Path(tmp) / f"{len(runs)}-{name.replace('/', '_')}-{args.rounds - 1}" / what for name, _ in trees]
                    differ = _same_folders(*dirs)
                    print(f"  {what}: " + ("the same files, byte for byte" if not differ else f"{len(differ)} files differ: {differ[:5]}"))


if __name__ == "__main__":
    main()
