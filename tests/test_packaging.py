"""Issue 19: the installed package holds what it says (LICENSE, py.typed, schemas, examples, data).

The installed files are read from the distribution's RECORD (importlib.metadata). An editable
install (``pip install -e``) records no package files, so there the check is skipped; the README's
``pip install ".[test]"`` (and so CI) installs a real wheel and runs it.
"""

import sysconfig
from pathlib import Path

import pytest

import dosimetry

DIST = "y90-dosimetry"
SOURCE = Path(__file__).resolve().parents[1]


def _installed():
    """The distribution installed in this environment's site-packages (not a build's egg-info that
    ``python -m pytest`` finds first in the source tree)."""
    from importlib import metadata

    found = list(metadata.distributions(name=DIST, path=[sysconfig.get_paths()["purelib"]]))
    if not found:
        pytest.skip(f"{DIST} is not installed in {sysconfig.get_paths()['purelib']}")
    return found[0]


def _installed_files() -> set[str]:
    names = {f.as_posix() for f in _installed().files or ()}
    if "dosimetry/__init__.py" not in names:
        pytest.skip("editable install: its RECORD lists no package files")
    return names


def test_the_wheel_holds_every_file_of_the_source_packages():
    # every file of dosimetry/ and phantoms/ in this tree (data files too) is in the installed RECORD
    names = _installed_files()
    source = {
        p.relative_to(SOURCE).as_posix()
        for pkg in ("dosimetry", "phantoms")
        for p in (SOURCE / pkg).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {"dosimetry/py.typed", "dosimetry/report/schemas/report.schema.json", "dosimetry/report/schemas/patient.schema.json"} <= source
    assert source - names == set()


def test_the_wheel_carries_the_mit_licence():
    names = _installed_files()
    licence = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert len(licence) == 1, sorted(n for n in names if ".dist-info/" in n)
    text = _installed().locate_file(licence[0]).read_text()
    assert text.startswith("MIT License") and "Copyright (c) the y90-dosimetry authors" in text
    assert _installed().metadata["License-Expression"] == "MIT"


def test_the_package_is_marked_typed():
    from importlib import resources

    assert resources.files(dosimetry).joinpath("py.typed").is_file()


def test_no_benchmark_script_shadows_a_package_of_the_project():
    """A script run as ``python benchmarks/x.py`` has benchmarks/ first on sys.path: a
    benchmarks/phantoms.py made ``import phantoms`` in benchmarks/cohort.py import itself."""
    root = Path(__file__).resolve().parents[1]
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    assert {"dosimetry", "phantoms"} <= packages
    scripts = {p.stem for p in (root / "benchmarks").glob("*.py")}
    assert not scripts & packages, f"benchmarks/ shadows {sorted(scripts & packages)}"
