"""The issue #10 examples end to end: `y90` refuses them with exit 2 and one line (before: exit 0)."""

from pathlib import Path

import pytest

import dosimetry
from dosimetry.cli import main

GLASS = (Path(dosimetry.__file__).parent / "examples" / "glass.toml").read_text()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "old, new",
    [
        ("shunt_fraction = 0.05", 'shunt_fraction = "0,05"'),
        ('volume = "1456 mL"', 'volume = "1 456 mL"'),
        ('volume = "1456 mL"', """volume = "1'456 mL\""""),
        ("shunt_fraction = 0.05", 'shunt_fraction = "5 %%"'),
        ('dose = "120 Gy"', 'dose = "Gy"'),
        ('dose = "120 Gy"', 'dose = "2%5 Gy"'),
        ('dose = "120 Gy"', 'dose = "10**400 Gy"'),
        ('dose = "120 Gy"', 'dose = "10**10**10 Gy"'),
        ("shunt_fraction = 0.05", "shunt_fraction = [0.05, 0.1]"),
        ('dose = "120 Gy"', 'dose = { value = "120", unit = "Gy" }'),
        ('dose = "120 Gy"', 'dose = { value = true, unit = "Gy" }'),
        ("residual_fraction = 0.0", 'residual_fraction = "99.9999 %"'),
        ("tumour_to_normal = 3.0", "tumour_to_normal = 1e308"),
        ("administration = 2026-11-25T10:00:00-05:00", "administration = 0001-01-01T10:00:00-05:00"),
        ("[patient]", "deep = " + "[" * 3000 + "]" * 3000 + "\n[patient]"),
    ],
)
def test_plan_refuses_in_one_line(tmp_path, capsys, old, new):
    assert old in GLASS
    p = tmp_path / "patient.toml"
    p.write_text(GLASS.replace(old, new, 1))
    code, out, err = run(capsys, "plan", str(p), "--format", "json")
    assert code == 2, (out, err)
    assert out == "" and err.startswith("y90: error: ") and err.count("\n") == 1, err


def test_dose_flags_use_the_same_grammar_and_ranges(tmp_path, capsys):
    base = ["dose", "--activity-image", str(tmp_path), "--rtstruct", str(tmp_path / "rs.dcm"), "-o", str(tmp_path / "out")]
    for flags in (["--administered", "2 MBq"], ["--administered", "2,1 GBq"], ["--residual-fraction", "0,05"], ["--residual-fraction", "nan"],
                  ["--residual-fraction", "0.999999"]):
        code, out, err = run(capsys, *base, *flags)
        assert code == 2 and err.count("\n") == 1 and flags[0] in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "flags",
    [["resin", "--activity", "1.8 GBq", "--vial-activity", "3e9 GBq"], ["resin", "--activity", "1,8 GBq"], ["glass", "--activity", "3 MBq"],
     ["resin", "--activity", "1.8 GBq", "--vial-volume", "5 L"]],
)
def test_schedule_flags_use_the_same_grammar_and_ranges(capsys, flags):
    code, out, err = run(capsys, "schedule", *flags, "--calibration", "2026-11-22T12:00:00-05:00", "--administration", "2026-11-22T14:00:00-05:00")
    assert code == 2 and err.count("\n") == 1 and out == "", err
