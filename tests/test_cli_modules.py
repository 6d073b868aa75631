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
