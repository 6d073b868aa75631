"""Issue 22 (start-up): dosimetry.io, dosimetry.voxel and dosimetry.workflow load their public names on
first use, so a command that reads only a patient file (``y90 plan`` of a patient file with numbers
only) imports neither pydicom nor scipy's FFT and ndimage."""

import json
import subprocess
import sys

from pathlib import Path

import dosimetry.io
import dosimetry.io.dicom
import dosimetry.voxel
import dosimetry.workflow
import dosimetry.workflow

EXAMPLES = Path(dosimetry.io.__file__).resolve().parents[1] / "examples"

HEAVY = ("pydicom", "scipy.fft", "scipy.ndimage", "matplotlib", "phantoms")


def _loaded_after(code: str) -> list:
    probe = f"import json, sys; {code}; print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_patient_file_reader_imports_no_image_library():
    assert _loaded_after("import dosimetry.io.patient") == []  # main: pydicom, scipy.fft, scipy.ndimage


def test_the_cli_imports_no_image_library_before_a_command_runs():
    assert _loaded_after("import dosimetry.cli") == []


def test_plan_of_a_patient_file_with_numbers_only_imports_no_image_library():
    """``y90 plan`` of the README's glass example (typed inputs, no [imaging]), and ``--compare``: the
    whole command, planning and text output included (main: pydicom, scipy.fft and scipy.ndimage)."""
    for extra in ((), ("--compare",)):
        args = ["--quiet", "plan", str(EXAMPLES / "glass.toml"), *extra]
        code = f"from dosimetry.cli import main\nrc = main({args!r})\nassert rc == 0, rc"  # a refusal would load nothing
        assert _loaded_after(f"exec({code!r})") == []


def test_the_workflow_names_resolve_from_their_modules():
    import importlib

    for name, module in dosimetry.workflow._LAZY.items():
        assert getattr(dosimetry.workflow, name) is getattr(importlib.import_module(f"dosimetry.workflow.{module}"), name)
    assert sorted(dosimetry.workflow.__all__) == sorted([*dosimetry.workflow._LAZY, "BLOCKED", "WITHIN_LIMITS", "CaseResult", "assess"])
    from dosimetry.workflow import assess
    from dosimetry.workflow.assess import assess as the_function

    assert assess is the_function  # not its module of the same name
    assert set(dir(dosimetry.workflow)) >= set(dosimetry.workflow.__all__)
    try:
        dosimetry.workflow.no_such_name
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_every_public_name_resolves_as_before():
    for name in dosimetry.io.dicom.__all__:
        assert getattr(dosimetry.io, name) is getattr(dosimetry.io.dicom, name)
    assert sorted(dosimetry.io.__all__) == sorted(dosimetry.io.dicom.__all__)
    for name in dosimetry.voxel.__all__:
        assert getattr(dosimetry.voxel, name) is not None
    from dosimetry.voxel.dose import convolve_dose
    assert dosimetry.voxel.convolve_dose is convolve_dose
    assert set(dir(dosimetry.voxel)) >= set(dosimetry.voxel.__all__)


def test_submodules_and_unknown_names():
    from dosimetry.io import files  # a submodule, not a name of io.dicom

    assert files.__name__ == "dosimetry.io.files"
    for package in (dosimetry.io, dosimetry.voxel):
        try:
            package.no_such_name
        except AttributeError as exc:
            assert "no_such_name" in str(exc)
        else:
            raise AssertionError("an unknown name must raise AttributeError")


def test_star_import_gives_the_public_names():
    space: dict = {}
    exec("from dosimetry.io import *", space)
    assert set(dosimetry.io.dicom.__all__) <= set(space)


def test_the_type_checking_imports_are_the_lazy_names():
    """voxel/__init__.py lists its names twice (for type checkers, and for loading): the same names from the same modules."""
    import ast

    for package in (dosimetry.voxel, dosimetry.workflow):
        tree = ast.parse(Path(package.__file__).read_text())
        block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
        typed = {a.name: node.module for node in block.body if isinstance(node, ast.ImportFrom) for a in node.names}
        assert typed == package._LAZY


def test_type_checkers_see_no_module_getattr():
    """A module-level ``__getattr__`` makes mypy accept any name (``from dosimetry.workflow import
    plan_patinet``); each lazy package binds it only under ``if not TYPE_CHECKING``."""
    import ast
    from pathlib import Path

    def binds_getattr(node) -> bool:
        if isinstance(node, ast.FunctionDef):
            return node.name == "__getattr__"
        targets = node.targets if isinstance(node, ast.Assign) else []
        return any("__getattr__" in ast.unparse(t) for t in targets)

    for package in (dosimetry.io, dosimetry.voxel, dosimetry.workflow):
        tree = ast.parse(Path(package.__file__).read_text())
        assert not any(binds_getattr(n) for n in tree.body), package.__name__
        hidden = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "not TYPE_CHECKING"]
        assert any(binds_getattr(f) for n in hidden for f in n.body), package.__name__
    assert "__file__" in dir(dosimetry.workflow) and "run_case" in dir(dosimetry.workflow)
