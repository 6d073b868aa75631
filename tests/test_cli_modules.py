"""Issue 19: the command line is a package with one module per subcommand (no cli.py holding every command)."""

import importlib
from pathlib import Path

import pytest

import dosimetry
from dosimetry.cli import build_parser

PACKAGE = Path(dosimetry.__file__).parent


def _subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_cli_py_is_gone_into_a_package():
    assert not (PACKAGE / "cli.py").exists()
    assert (PACKAGE / "cli" / "__init__.py").exists()


@pytest.mark.parametrize("name", ["decay", "plan", "session", "schedule", "dose", "dvh", "report", "cohort", "demo"])
def test_each_subcommand_runs_the_run_of_its_own_module(name):
    module = importlib.import_module(f"dosimetry.cli.{name}")
    assert _subcommands()[name].get_default("func") is module.run


def test_every_subcommand_has_its_module():
    assert sorted(_subcommands()) == sorted(p.stem for p in (PACKAGE / "cli").glob("*.py")
                                            if p.stem not in ("__init__", "flags", "output", "uncertainty"))


def test_no_command_wires_its_own_compute_and_assessment():
    """Issue 19: y90 dose runs the case runner of workflow/case.py (run_voxel_case: the reading and voxel
    dosimetry of run_case, then assess), as y90 report runs run_case; no command calls the steps itself."""
    import ast

    steps = {"assess", "compute_dose", "voxel_dose", "load_imaging", "write_imaging_files"}
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        names = {a.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert not names & steps, f"{path.name} imports {sorted(names & steps)}"
    source = (PACKAGE / "cli" / "dose.py").read_text()
    assert "run_voxel_case" in source and "write_dose_files" in source
