"""Issue 26: one territory file given twice, by any path, is refused (library and command line alike)."""

import os
from pathlib import Path

import pytest

from dosimetry.cli import main
from dosimetry.errors import InputError
from dosimetry.io.patient import load_patient
from dosimetry.workflow import plan_session
from dosimetry.workflow.session import check_distinct_files

EXAMPLES = Path(__file__).parent.parent.parent / "dosimetry" / "examples"


@pytest.fixture()
def territory(tmp_path):
    p = tmp_path / "a.toml"
    p.write_text((EXAMPLES / "glass.toml").read_text())
    return p


def _links(territory):
    d = territory.parent
    os.link(territory, d / "hard-link-to-a.toml")
    os.symlink(territory, d / "link-to-a.toml")
    return {"hard link": d / "hard-link-to-a.toml", "symbolic link": d / "link-to-a.toml"}


def test_y90_session_refuses_one_file_given_twice_by_any_path(territory, capsys, monkeypatch):
    # issue: "one territory file given twice through a hard or symbolic link is planned twice"
    links = _links(territory)
    monkeypatch.chdir(territory.parent)
    for how, second in [*links.items(), ("relative and absolute path", Path("a.toml")), ("same path", territory)]:
        code = main(["session", str(territory), str(second)])
        err = capsys.readouterr().err
        assert code == 2 and "territories:" in err and "give each file once" in err, how
        assert err.count("\n") == 1


def test_plan_session_refuses_the_same_file_or_an_identical_copy(territory):
    links = _links(territory)
    a = load_patient(territory)
    for second in links.values():
        with pytest.raises(InputError, match="is the same file as"):
            plan_session([a, load_patient(second)])
    copy = territory.parent / "b.toml"
    copy.write_bytes(territory.read_bytes())
    with pytest.raises(InputError, match="a and b are identical files"):
        plan_session([a, load_patient(copy)])


def test_distinct_files_by_inode(tmp_path):
    (tmp_path / "a").write_text("x")
    (tmp_path / "b").write_text("x")
    check_distinct_files([tmp_path / "a", tmp_path / "b"], "f")
    with pytest.raises(InputError, match="is the same file as"):
        check_distinct_files([tmp_path / "a", os.path.join(str(tmp_path), ".", "a")], "f")
