"""Issue 9: the package's layers, and that imports only point down.

units/errors/ranges/vocabulary/lazy -> isotope/decay -> devices -> planning -> schedule -> model ->
voxel -> io -> workflow -> report -> cli. A module may import its own layer or a lower one, never a higher one; ``phantoms``
(test patients) is imported only by the demo command of the CLI.
"""

import ast
from pathlib import Path

import pytest

import dosimetry

PACKAGE = Path(dosimetry.__file__).parent

#: Layer of each top-level module or subpackage of ``dosimetry`` (docs/architecture.md).
LAYERS = {
    "errors": 0,
    "units": 0,
    "ranges": 0,
    "vocabulary": 0,
    "lazy": 0,
    "isotope": 1,
    "decay": 1,
    "devices": 2,
    "planning": 3,
    "schedule": 4,
    "model": 5,
    "voxel": 6,
    "io": 7,
    "workflow": 8,
    "report": 9,
    "cli": 10,
    "__main__": 10,
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts == ("__init__.py",):
            continue  # the package facade exposes the job's entry points (lazily)
        yield rel, path


def _imports(path: Path, rel: Path):
    """(imported top-level part of dosimetry, line) for every import in the module, absolute or relative."""
    tree = ast.parse(path.read_text())
    depth = len(rel.parts) - 1  # folders below dosimetry/
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] == "dosimetry" and len(parts) > 1:
                    yield parts[1], node.lineno
                elif parts[0] == "phantoms":
                    yield "phantoms", node.lineno
                continue
            up = node.level - 1  # ".": same folder
            base = list(rel.parts[:-1])[: max(depth - up, 0)] if up <= depth else None
            if base is None:
                continue
            target = base + ((node.module or "").split(".") if node.module else [])
            if target:
                yield target[0], node.lineno
            else:  # "from .. import planning"
                for alias in node.names:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "dosimetry" and len(parts) > 1:
                    yield parts[1], node.lineno
                elif parts[0] == "phantoms":
                    yield "phantoms", node.lineno


def _layer_of(rel: Path) -> str:
    return rel.parts[0].removesuffix(".py")


def test_every_module_has_a_layer():
    missing = sorted({_layer_of(rel) for rel, _ in _modules()} - set(LAYERS) - {"examples"})
    assert not missing, f"modules without a layer in LAYERS: {missing}"


@pytest.mark.parametrize("rel, path", list(_modules()), ids=lambda x: str(x) if isinstance(x, Path) and not x.is_absolute() else "")
def test_imports_point_down(rel, path):
    own = LAYERS[_layer_of(rel)]
    for target, line in _imports(path, rel):
        if target == "phantoms":
            assert rel == Path("cli/demo.py"), f"{rel}:{line} imports phantoms (only the demo command may)"
            continue
        if target in LAYERS:
            assert LAYERS[target] <= own, f"{rel}:{line} imports {target} (layer {LAYERS[target]}) from layer {own}"


def test_the_check_itself_can_fail(tmp_path):
    """A module of the planning layer that imports the report layer is caught."""
    bad = tmp_path / "planning" / "bad.py"
    bad.parent.mkdir()
    bad.write_text("from ..report import build\nfrom ..units import Q_\n")
    found = dict(_imports(bad, Path("planning/bad.py")))
    assert "report" in found and LAYERS["report"] > LAYERS["planning"]


@pytest.mark.parametrize("rel", ["model.py", "workflow/plan.py", "workflow/assess.py", "workflow/session.py"])
def test_the_domain_model_and_the_planning_job_need_no_file_reader(rel):
    """Issue 19: the patient-file dataclasses live in dosimetry.model, below io; planning and
    assessing a patient imports no reader."""
    found = {target for target, _ in _imports(PACKAGE / rel, Path(rel))}
    assert "io" not in found, f"{rel} imports io"
