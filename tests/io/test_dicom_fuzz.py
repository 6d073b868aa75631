"""Bounded, seeded fuzzing of the DICOM readers on phantom files (issue #10).

Property: a mutated file is either refused with one line (an InputError naming the file) or read
exactly as the intact file (a mutation of an element the reader does not use), or, for random byte
flips that may change a value legitimately, read into a usable grid: non-empty, finite, with
positive spacing, and for dose non-negative (an activity image keeps its negative values: the
workflow's screen_activity rules on them once the ROIs are known). Never a traceback, never a numpy
warning. About 300 mutations, a few seconds.
"""

from __future__ import annotations

import random
import re
import shutil
import warnings

import numpy as np
import pydicom
import pytest
from dicom_factory import write_nm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dosimetry.errors import InputError
from dosimetry.io import load_rtdose, load_series, read_rtstruct, write_rtdose
from dosimetry.voxel import Volume

_VR_RE = re.compile(rb"(?s)(?<=.{4})(?:AE|AS|AT|CS|DA|DS|DT|FL|FD|IS|LO|LT|OB|OW|PN|SH|SL|SQ|SS|ST|TM|UI|UL|UN|US|UT)")
_REPLACEMENTS = [b"SQ", b"OB", b"UN", b"FD", b"AT", b"US", b"SS", b"UL", b"DS", b"IS", b"CS", b"ZZ", b"\x00\x00", b"UT", b"FL"]


@pytest.fixture(scope="module")
def phantom(tmp_path_factory, nm_phantom, pt_phantom):
    """The session's NM and PT phantom patients (tests/io/conftest.py; read only: every damaged copy is
    written elsewhere) and an RT Dose on the PT patient's CT, written once for the module. The phantoms'
    parameters (seed, tumours, activity) do not matter here: each damaged file is compared with the
    reading of its own undamaged original."""
    root = tmp_path_factory.mktemp("fuzz")
    ct = load_series(pt_phantom / "ct")
    dose = Volume(np.random.default_rng(3).random((6, 8, 9)) * 50, (3.0, 2.0, 2.0), (0.0, 0.0, 0.0), unit="Gy")
    write_rtdose(dose, ct, root / "dose.dcm")
    return {"nm": nm_phantom / "nm" / "NM_0001.dcm", "pt": pt_phantom / "pt", "rd": root / "dose.dcm", "rs": pt_phantom / "rtstruct.dcm"}


def _read(kind, path):
    if kind == "rs":
        return read_rtstruct(path).names
    if kind == "rd":
        return load_rtdose(path).volume
    return load_series(path).volume


def _check(kind, path, reference, *, exact: bool):
    """Refused in one line, or read exactly (``exact``) / into a usable grid."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's own warnings about invalid values
        warnings.simplefilter("error", RuntimeWarning)  # but never a numpy overflow
        try:
            out = _read(kind, path)
        except InputError as exc:
            text = str(exc)
            assert "\n" not in text and text.strip(), text
            return "refused"
    if kind == "rs":
        assert not exact or out == reference
        return "read"
    a = out.array
    if exact:
        assert out.same_grid(reference) and np.array_equal(a, reference.array)
    assert a.size and np.all(np.isfinite(a)) and min(out.spacing_mm) > 0
    if kind == "rd":
        assert a.min() >= 0
    return "read"


def _pixel_start(data: bytes) -> int:
    i = data.rfind(b"\xe0\x7f\x10\x00")
    return i if i > 132 else len(data)


def test_vr_codes_damaged_are_refused_or_read_exactly(phantom, tmp_path):
    rng = random.Random(10)
    outcomes = {"refused": 0, "read": 0}
    for kind in ("nm", "rd", "rs"):
        src = phantom[kind]
        reference = _read(kind, src)
        data = src.read_bytes()
        end = min(_pixel_start(data), 4000)
        positions = [m.start() for m in _VR_RE.finditer(data, 132, end)]
        for p in rng.sample(positions, min(40, len(positions))):
            d = bytearray(data)
            d[p : p + 2] = rng.choice(_REPLACEMENTS)
            f = tmp_path / f"{kind}.dcm"
            f.write_bytes(bytes(d))
            outcomes[_check(kind, f, reference, exact=True)] += 1
    assert outcomes["refused"] > 10 and outcomes["read"] > 10, outcomes


def test_random_header_bytes_and_truncation(phantom, tmp_path):
    rng = random.Random(20)
    n = 0
    for kind in ("nm", "rd", "rs"):
        src = phantom[kind]
        reference = _read(kind, src)
        data = src.read_bytes()
        end = _pixel_start(data)
        for _ in range(40):
            d = bytearray(data)
            op = rng.choice(("flip", "byte", "truncate"))
            if op == "flip":
                for _ in range(rng.randint(1, 4)):
                    d[rng.randrange(132, end)] ^= 1 << rng.randrange(8)
            elif op == "byte":
                d[rng.randrange(132, end)] = rng.randrange(256)
            else:
                d = d[: rng.randrange(0, len(d))]
            f = tmp_path / f"{kind}.dcm"
            f.write_bytes(bytes(d))
            _check(kind, f, reference, exact=False)
            n += 1
    assert n == 120


def test_one_damaged_slice_in_a_pet_series(phantom, tmp_path):
    rng = random.Random(30)
    reference = _read("pt", phantom["pt"])
    work = tmp_path / "pt"
    shutil.copytree(phantom["pt"], work)
    files = sorted(work.iterdir())
    for _ in range(30):
        f = rng.choice(files)
        original = f.read_bytes()
        d = bytearray(original)
        end = _pixel_start(original)
        if rng.random() < 0.5:
            positions = [m.start() for m in _VR_RE.finditer(original, 132, end)]
            p = rng.choice(positions)
            d[p : p + 2] = rng.choice(_REPLACEMENTS)
            exact = True
        else:
            d[rng.randrange(132, end)] ^= 1 << rng.randrange(8)
            exact = False
        f.write_bytes(bytes(d))
        try:
            _check("pt", work, reference, exact=exact)
        finally:
            f.write_bytes(original)


# -- hypothesis: header attributes set to hostile values ---------------------------------------
_HOSTILE = st.one_of(
    st.sampled_from(["0", "-1", "1e308", "-1e308", "nan", "inf", "", "1\\2", "3\\3\\3", "abc", "1e-320", "65536", "4294967296", "2.5"]),
    st.integers(min_value=-(2**31), max_value=2**31),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: f"{x:.6g}"),
)
_ATTRS = st.sampled_from(
    ["NumberOfFrames", "Rows", "Columns", "PixelSpacing", "SpacingBetweenSlices", "SliceThickness", "RescaleSlope", "RescaleIntercept",
     "BitsAllocated", "BitsStored", "PixelRepresentation", "SamplesPerPixel", "NumberOfSlices"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attr=_ATTRS, value=_HOSTILE)
def test_hostile_nm_header_values_are_refused_or_read_exactly(tmp_path, attr, value):
    stored = (np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4) + 1) * 7
    p = write_nm(tmp_path / "nm.dcm", stored, slope=2.0)
    ds = pydicom.dcmread(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            setattr(ds, attr, value if not isinstance(value, int) else str(value))
            ds.save_as(p, enforce_file_format=True)
        except Exception:  # pydicom cannot even write it: nothing to read
            return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", RuntimeWarning)
        try:
            v = load_series(p).volume
        except InputError as exc:
            assert "\n" not in str(exc)
            return
    # Read: the values must be exactly stored * slope + intercept with the header as written.
    back = pydicom.dcmread(p)
    slope = float(back.RescaleSlope) if back.get("RescaleSlope") is not None else 1.0
    inter = float(back.RescaleIntercept) if back.get("RescaleIntercept") is not None else 0.0
    assert slope > 0  # a zero or negative slope would turn an activity image into nothing
    assert v.array.shape == stored.shape
    # negative values are kept as read (the workflow's screen_activity rules on them with the ROIs known)
    np.testing.assert_array_equal(v.array, stored * slope + inter)
    assert min(v.spacing_mm) > 0 and np.all(np.isfinite(v.array))
