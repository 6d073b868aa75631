"""Issue 19: the example patient files' comments give the ranges the code accepts.

docs/patient-file.md's example and dosimetry/examples/*.toml comment on their values' ranges; each
range written there ("0.9-1.2 g/mL", "in [0, 0.5]") must be the plausible range the parser refuses
outside of (dosimetry.ranges.PLAUSIBLE). Before, the docs wrote 0.5-2 g/mL for the density (the
parser refuses below 0.9), [0, 1) for the residual fraction (refused above 0.5) and 40-60 Gy kg/GBq
for K (refused outside 45-55).
"""

import re
from pathlib import Path

import pytest

import dosimetry
from dosimetry.ranges import PLAUSIBLE

ROOT = Path(dosimetry.__file__).parent
RANGE = re.compile(r"(?<![\w.:-])(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)(?![\w:])|[\[(](\d+(?:\.\d+)?), (\d+(?:\.\d+)?)[\])]")


def _commented_ranges(text: str):
    """(table.key, (low, high)) for every range written in a comment of a TOML text."""
    table = None
    for line in text.splitlines():
        head = re.match(r"\s*\[+([a-z_.]+)\]+", line)
        if head:
            table = head.group(1)
            continue
        kv = re.match(r"\s*([a-z_]+)\s*=.*?#(.*)", line)
        if table and kv:
            for m in RANGE.finditer(kv.group(2)):
                lo, hi = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
                yield f"{table}.{kv.group(1)}", (float(lo), float(hi))


def _examples():
    docs = ROOT.parent / "docs" / "patient-file.md"
    texts = [(p.name, p.read_text()) for p in sorted((ROOT / "examples").glob("*.toml"))]
    if docs.exists():  # an installed package has no docs folder
        texts += [("docs/patient-file.md", block) for block in re.findall(r"```toml\n(.*?)```", docs.read_text(), re.S)]
    return [(name, key, rng) for name, text in texts for key, rng in _commented_ranges(text) if key in PLAUSIBLE]


@pytest.mark.parametrize("name, key, rng", _examples(), ids=lambda x: x if isinstance(x, str) else "")
def test_a_commented_range_is_the_range_the_parser_accepts(name, key, rng):
    r = PLAUSIBLE[key]
    assert rng == (pytest.approx(r.low), pytest.approx(r.high)), f"{name}: {key} commented {rng}, accepted [{r.low}, {r.high}] {r.unit}"


def test_the_examples_comment_their_ranges():
    keys = {key for name, key, _ in _examples() if name.endswith(".toml")}
    assert {"liver.density", "target.residual_fraction", "lung.mass", "target.tumour_to_normal"} <= keys
