"""CPU time of the two PDFs of ``y90 demo`` (the report's and the verification's), issue 22.

``python benchmarks/report_pdf.py --against ../main [--repeat 5] [--rounds 3] [--out DIR]``

Each source tree runs in a child process (``PYTHONPATH=TREE``): the child writes the demo once
(``y90 --quiet demo``) with ``render_pdf`` and ``verification_pdf`` wrapped to keep what they were
given, then renders both PDFs ``--repeat`` times and prints the CPU seconds of each render
(``time.process_time``, median). The trees' children alternate (``--rounds`` pairs), so the
machine's load falls on both alike; the ratio is main's CPU over this tree's. The load average is
printed with the figures, and the CPU of the demo's own (first) call of each, matplotlib's first-use
costs included (the modules are imported before, by ``dosimetry.report.build``). ``--out DIR`` keeps each tree's two PDFs (``DIR/<tree name>/report.pdf``,
``verification.pdf``) for ``pdftotext -layout`` and ``pdftoppm`` comparisons.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def _child(repeat: int, out: str | None) -> None:
    """Runs in the tree on PYTHONPATH: one demo, then the two PDFs rendered ``repeat`` times."""
    import dosimetry.report.build as build
    import dosimetry.report.verification as verification
    from dosimetry.cli import main

    kept: dict = {}
    render, vpdf = build.render_pdf, verification.verification_pdf

    first: dict = {"matplotlib imported before": "matplotlib" in sys.modules}

    def keep_render(content):
        kept["report"] = content
        first["matplotlib imported before"] = "matplotlib" in sys.modules
        t0 = time.process_time()
        pdf = render(content)
        first["report"] = time.process_time() - t0
        return pdf

    def keep_verification(v):
        kept["verification"] = v
        t0 = time.process_time()
        pdf = vpdf(v)
        first["verification"] = time.process_time() - t0
        return pdf

    build.render_pdf, verification.verification_pdf = keep_render, keep_verification
    with tempfile.TemporaryDirectory() as tmp:
        code = main(["--quiet", "demo", "-o", str(Path(tmp) / "demo")])
    build.render_pdf, verification.verification_pdf = render, vpdf
    assert code in (0, 1), code
    times: dict = {"report": [], "verification": []}
    for _ in range(repeat):
        for name, fn, arg in (("report", render, kept["report"]), ("verification", vpdf, kept["verification"])):
            t0 = time.process_time()
            pdf = fn(arg)
            times[name].append(time.process_time() - t0)
            if out:
                Path(out).mkdir(parents=True, exist_ok=True)
                (Path(out) / f"{name}.pdf").write_bytes(pdf)
    times["first"] = first
    print(json.dumps(times))


def _run(tree: Path, repeat: int, out: Path | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, __file__, "--child", "--repeat", str(repeat)]
    if out is not None:
        cmd += ["--out", str(out / tree.resolve().name)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", type=Path, default=None, help="another source tree (e.g. ../main), run alternately for the ratio")
    ap.add_argument("--repeat", type=int, default=5, help="renders of each PDF per child (median taken)")
    ap.add_argument("--rounds", type=int, default=2, help="children per tree, alternating")
    ap.add_argument("--out", type=Path, default=None, help="keep each tree's PDFs under this folder")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.repeat, str(a.out) if a.out else None)
        return
    trees = [("this", HERE)] + ([("against", a.against.resolve())] if a.against else [])
    runs: dict = {k: {"report": [], "verification": [], "first report": [], "first verification": []} for k, _ in trees}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for r in range(a.rounds):
        for key, tree in (trees if r % 2 == 0 else trees[::-1]):
            got = _run(tree, a.repeat, a.out)
            for name in ("report", "verification"):
                runs[key][name] += got[name]
                runs[key][f"first {name}"].append(got["first"][name])
            print(f"round {r + 1} {key} ({tree}): report {statistics.median(got['report']):.3f} s, "
                  f"verification {statistics.median(got['verification']):.3f} s CPU (median of {a.repeat}); in the demo (first call) "
                  f"{got['first']['report']:.3f} s and {got['first']['verification']:.3f} s; load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"\nmedian CPU seconds per render over {a.rounds} x {a.repeat}:")
    med = {k: {n: statistics.median(v) for n, v in d.items()} for k, d in runs.items()}
    for key, tree in trees:
        m = med[key]
        print(f"  {key:8s} {str(tree):40s} report {m['report']:.3f}  verification {m['verification']:.3f}  both {m['report'] + m['verification']:.3f}"
              f"   in the demo (first calls): {m['first report']:.3f} + {m['first verification']:.3f} = {m['first report'] + m['first verification']:.3f}")
    if a.against:
        t, b = med["this"], med["against"]
        for pre, what in (("", "repeated renders"), ("first ", "the demo's own calls")):
            r, v = b[pre + "report"] / t[pre + "report"], b[pre + "verification"] / t[pre + "verification"]
            both = (b[pre + "report"] + b[pre + "verification"]) / (t[pre + "report"] + t[pre + "verification"])
            print(f"  ratio against/this, {what}: report {r:.2f}x, verification {v:.2f}x, both {both:.2f}x")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
