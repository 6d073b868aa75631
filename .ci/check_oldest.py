"""Check that .ci/oldest.txt pins exactly the lower bounds of pyproject.toml.

Every dependency (and every one of the test extra) must carry a ``>=`` lower bound, and
.ci/oldest.txt must pin each to ``==`` that bound, nothing more and nothing less. .ci/run installs
.ci/oldest.txt into a second virtual environment and runs the demo and a fast subset of the tests
there, so the lower bounds pyproject.toml states are the versions that were tested.

    python .ci/check_oldest.py           # exit 1 and a line per disagreement
    python .ci/check_oldest.py --write   # rewrite .ci/oldest.txt from pyproject.toml
"""

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLDEST = ROOT / ".ci" / "oldest.txt"
HEADER = """\
# The oldest versions pyproject.toml allows: each dependency (test extra included) pinned to its lower
# bound. .ci/run installs these into a second virtual environment and runs `y90 demo` and a fast subset
# of the tests; .ci/check_oldest.py checks that this file and pyproject.toml agree (--write rewrites it).
"""


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()  # PEP 503 normalised name


def lower_bounds(pyproject: Path) -> tuple[dict[str, str], list[str]]:
    """{normalised name: lower bound} of every dependency, and the problems found."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    bounds, problems = {}, []
    for req in requirements:
        m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)", req.split(";")[0])
        name, spec = _name(m.group(1)), m.group(2)
        lows = re.findall(r">=\s*([0-9][0-9A-Za-z.+!-]*)", spec)
        if len(lows) != 1:
            problems.append(f"pyproject.toml: {req!r} needs exactly one '>=' lower bound")
            continue
        bounds[name] = lows[0]
    return bounds, problems


def pins(oldest: Path) -> tuple[dict[str, str], list[str]]:
    """{normalised name: pinned version} of the constraints file, and the problems found."""
    out, problems = {}, []
    for n, line in enumerate(oldest.read_text().splitlines(), 1):
        line = line.split("#")[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([0-9][0-9A-Za-z.+!-]*)", line)
        if m is None:
            problems.append(f"{oldest.name}:{n}: {line!r} is not 'name==version'")
            continue
        out[_name(m.group(1))] = m.group(2)
    return out, problems


def main(argv: list[str]) -> int:
    bounds, problems = lower_bounds(ROOT / "pyproject.toml")
    if "--write" in argv:
        OLDEST.write_text(HEADER + "".join(f"{k}=={v}\n" for k, v in bounds.items()))
    pinned, more = pins(OLDEST)
    problems += more
    for name in bounds.keys() | pinned.keys():
        low, pin = bounds.get(name), pinned.get(name)
        if low != pin:
            problems.append(f"{name}: pyproject.toml lower bound {low or 'missing'}, .ci/oldest.txt pins {pin or 'nothing'}")
    for p in sorted(problems):
        print(p)
    print(f"check_oldest: {len(bounds)} lower bounds, {len(problems)} disagreement(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
