"""The patient-file reader's shared parsers after the CLI review: clinic days, the size-limited read."""

import datetime as dt
import string

import pytest
from hypothesis import given, settings, strategies as st

from dosimetry.errors import InputError
from dosimetry.io.patient import MAX_CALIBRATION_GAP, check_calibration_gap, parse_clinic_days
from dosimetry.io.reading import read_bytes

FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KNOWN = set(FULL) | {d[:3] for d in FULL}


@given(st.lists(st.sampled_from(sorted(KNOWN)), min_size=1, max_size=10), st.booleans())
def test_known_day_names_read_as_their_abbreviations(days, upper):
    got = parse_clinic_days([d.upper() if upper else d for d in days], "clinic.days")
    # by hand: the first three letters of each distinct day, in the order given
    want = []
    for d in days:
        if d[:3] not in want:
            want.append(d[:3])
    assert got == tuple(want)


@given(st.text(alphabet=string.ascii_letters, max_size=12).filter(lambda s: s.strip().lower() not in KNOWN))
def test_any_other_word_is_refused_never_truncated(word):
    with pytest.raises(InputError) as exc:
        parse_clinic_days(["mon", word], "--clinic-days")
    assert exc.value.field == "--clinic-days"


def test_an_empty_list_is_refused():
    with pytest.raises(InputError, match="no day given"):
        parse_clinic_days([], "clinic.days")


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=64))
def test_read_is_limited_to_the_limit(tmp_path_factory, n):
    p = tmp_path_factory.mktemp("r") / "f.toml"
    p.write_bytes(b"a" * n)
    limit = 32
    if n <= limit:
        assert read_bytes(p, "patient file", limit=limit, what="patient TOML file") == b"a" * n
    else:
        with pytest.raises(InputError, match=f"more than the {limit} bytes of a plausible patient TOML file"):
            read_bytes(p, "patient file", limit=limit, what="patient TOML file")


def test_calibration_gap_is_30_days_each_way():
    cal = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)
    assert MAX_CALIBRATION_GAP == dt.timedelta(days=30)
    for days in (-30, 30):
        check_calibration_gap(cal + dt.timedelta(days=days), cal, "a", "c")
    for days in (-30.01, 30.01):
        with pytest.raises(InputError, match="plausible within"):
            check_calibration_gap(cal + dt.timedelta(days=days), cal, "--administration", "--calibration")


def test_an_ordered_glass_vial_without_its_calibration_is_refused(tmp_path):
    """Review finding: vial = "10 GBq" without treatment.calibration was ignored without a word (the plan
    advised a 5 GBq vial and computed doses at it, WITHIN LIMITS); the clinic holding the 10 GBq vial
    would believe it was checked."""
    from pathlib import Path

    import dosimetry
    from dosimetry.io.patient import load_patient

    text = (Path(dosimetry.__file__).parent / "examples" / "glass.toml").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("calibration =")]
    at = next(i for i, line in enumerate(lines) if line.startswith("method ="))
    lines.insert(at + 1, 'vial = "10 GBq"')
    p = tmp_path / "patient.toml"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as exc:
        load_patient(p)
    assert exc.value.field == "treatment.calibration" and "treatment.vial" in str(exc.value)
    p.write_text("\n".join(line for line in lines if not line.startswith("vial =")) + "\n")
    assert load_patient(p).treatment.vial is None  # without the vial the same file is read
