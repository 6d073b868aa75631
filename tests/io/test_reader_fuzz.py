"""Seeded fuzzing of every reader of the Slicer / AI inputs (issue 26): one test per reader.

Real-shaped files (written by pynrrd, nibabel and pydicom as Slicer, TotalSegmentator and dcmqi
write them) are damaged in seeded ways: header values replaced by NaN, inf, 0, negative, huge or
non-ASCII text, header lines removed or doubled, bytes flipped, the file truncated, data
appended (a gzip bomb's tail). Property: every damaged file is either refused with one line (an
InputError) or read into a usable result (finite values, spacings inside the bounds), within two
seconds, never a traceback. A new reader gets a test here: a writer of one real-shaped file and the
reader to call.
"""

from __future__ import annotations

import gzip
import json
import random
import struct
import warnings

import nibabel as nib
import nrrd
import numpy as np
import pydicom
import pytest

from time_limit import within as _within
from seg_factory import write_dicom_seg, write_labelmap_nifti, write_seg_nrrd
from dosimetry.errors import InputError
from dosimetry.io.bounds import SPACING_MM
from dosimetry.io.segmentation import read_label_table, read_segmentation
from dosimetry.io.volumes import read_volume
from dosimetry.voxel import Volume

N = 80  # mutations per reader: a second or two each
_JUNK = ["nan", "inf", "-inf", "0", "-1", "1e308", "99999999999999999999", "none", "", "(nan,nan,nan)", "(0,0,0)", "(1e-12,0,0)",
         "(1e9,0,0)", "Leber \u00fc", "\u202e", "2 2", "-4 3 2", "LPS", "xyz", "\x00", "18446744073709551616"]




def _grid(shape=(10, 12, 14)):
    return Volume(np.zeros(shape, np.float32), (4.0, 3.0, 3.0), (-30.0, -20.0, 15.0))


def _usable(result):
    """A read result is finite and within the bounds (Volume or Segmentation)."""
    vols = [result] if isinstance(result, Volume) else [*result.layers, *(s.fractions for s in result.segments if s.fractions is not None)]
    for v in vols:
        a = np.asarray(v.array)
        assert a.size and (a.dtype.kind != "f" or np.all(np.isfinite(a)))
        assert all(SPACING_MM[0] <= s <= SPACING_MM[1] for s in v.spacing_mm)
        assert np.all(np.isfinite(v.origin_mm))


def _check(read, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with _within(2):
                out = read(path)
        except InputError as exc:
            assert "\n" not in str(exc) and str(exc).strip()
            return "refused"
    if out is not None and not isinstance(out, dict):
        _usable(out)
    return "read"


# --- mutations ----------------------------------------------------------------------------------------
def _split_header(raw: bytes):
    end = raw.find(b"\n\n")
    return (raw, b"") if end < 0 else (raw[: end + 1], raw[end + 1:])


def _mutate_text_header(raw: bytes, rng: random.Random) -> bytes:
    head, rest = _split_header(raw)
    lines = head.split(b"\n")
    i = rng.randrange(1, max(2, len(lines) - 1))
    kind = rng.random()
    if kind < 0.6 and b":" in lines[i]:
        key = lines[i].split(b":", 1)[0]
        sep = b":=" if b":=" in lines[i] else b": "
        lines[i] = key + sep + rng.choice(_JUNK).encode("utf-8")
    elif kind < 0.8:
        del lines[i]
    else:
        lines.insert(i, lines[i])
    return b"\n".join(lines) + rest


def _mutate_bytes(raw: bytes, rng: random.Random) -> bytes:
    b = bytearray(raw)
    kind = rng.random()
    if kind < 0.4:
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind < 0.7:
        return bytes(b[: rng.randrange(len(b))])
    tail = gzip.compress(bytes(rng.choice([1, 1 << 16, 1 << 20]))) if rng.random() < 0.5 else bytes(rng.randrange(1, 5000))
    return bytes(b) + tail


def _fuzz(tmp_path, name: str, raw: bytes, read, mutate, seed: int, extra=None):
    rng = random.Random(seed)
    outcomes = {"refused": 0, "read": 0}
    p = tmp_path / name
    for _ in range(N):
        p.write_bytes(mutate(raw, rng))
        if extra:
            extra(rng)
        outcomes[_check(read, p)] += 1
    assert outcomes["refused"] > 0
    return outcomes


def _mixed(raw, rng):
    return _mutate_text_header(raw, rng) if rng.random() < 0.6 else _mutate_bytes(raw, rng)


# --- one real-shaped file per reader, then its fuzzing ----------------------------------------------------
def _spect_nrrd(path, encoding):
    g = _grid()
    data = np.random.default_rng(1).poisson(20, g.shape[::-1]).astype(np.int16)
    nrrd.write(str(path), data, {"space": "left-posterior-superior", "space directions": np.diag([3.0, 3.0, 4.0]), "space origin": np.array([-20.0, -20.0, 15.0]),
                                 "kinds": ["domain"] * 3, "encoding": encoding}, index_order="F")
    return path.read_bytes()


@pytest.mark.parametrize("encoding, seed", [("gzip", 1), ("raw", 2)])
def test_fuzz_nrrd(tmp_path, encoding, seed):
    raw = _spect_nrrd(tmp_path / "orig.nrrd", encoding)
    _fuzz(tmp_path, "spect.nrrd", raw, read_volume, _mixed, seed)


def test_fuzz_detached_nhdr(tmp_path):
    _spect_nrrd(tmp_path / "spect.nhdr", "gzip")
    header, data = (tmp_path / "spect.nhdr").read_bytes(), (tmp_path / "spect.raw.gz").read_bytes()

    def damage_data(rng):
        if rng.random() < 0.5:
            (tmp_path / "spect.raw.gz").write_bytes(_mutate_bytes(data, rng))
        else:
            (tmp_path / "spect.raw.gz").write_bytes(data)

    _fuzz(tmp_path, "spect.nhdr", header, read_volume, _mutate_text_header, 3, damage_data)


def _nifti_bytes(path):
    g = _grid()
    data = np.random.default_rng(2).poisson(20, g.shape[::-1]).astype(np.float32)
    a = np.diag([-3.0, -3.0, 4.0, 1.0])
    img = nib.Nifti1Image(data, a)
    img.header.set_sform(a, code=1)
    img.header.set_qform(a, code=1)
    img.header.set_xyzt_units("mm")
    nib.save(img, str(path))
    return path.read_bytes()


#: (offset, struct format) of NIfTI-1 header fields worth damaging (nifti1.h).
_NIFTI_FIELDS = [(40, "<8h"), (70, "<h"), (72, "<h"), (76, "<8f"), (108, "<f"), (112, "<f"), (116, "<f"), (123, "<B"),
                 (252, "<h"), (254, "<h"), (256, "<3f"), (268, "<3f"), (280, "<4f"), (296, "<4f"), (312, "<4f"), (0, "<i"), (344, "<4s")]
_NIFTI_JUNK = [float("nan"), float("inf"), 0.0, -1.0, 1e30, 1e-30, 7.0, 2.0, 32767.0, -32768.0, 1.0]


def _mutate_nifti(raw: bytes, rng: random.Random) -> bytes:
    gz = raw[:2] == b"\x1f\x8b"
    body = bytearray(gzip.decompress(raw) if gz else raw)
    if rng.random() < 0.7:
        off, fmt = rng.choice(_NIFTI_FIELDS)
        n = len(struct.unpack(fmt, body[off: off + struct.calcsize(fmt)]))
        if fmt.endswith("s"):
            vals = [bytes(rng.randrange(256) for _ in range(4))]
        else:
            vals = list(struct.unpack(fmt, body[off: off + struct.calcsize(fmt)]))
            j = rng.randrange(n)
            junk = rng.choice(_NIFTI_JUNK)
            vals[j] = junk if fmt[-1] == "f" else int(max(-32768, min(32767, junk if np.isfinite(junk) else 3)))
            if fmt[-1] in "Bi":
                vals[j] = int(abs(vals[j])) % (256 if fmt[-1] == "B" else 1 << 31)
        body[off: off + struct.calcsize(fmt)] = struct.pack(fmt, *vals)
        out = bytes(body)
        return gzip.compress(out) if gz else out
    return _mutate_bytes(raw, rng)


@pytest.mark.parametrize("name, seed", [("spect.nii", 4), ("spect.nii.gz", 5)])
def test_fuzz_nifti(tmp_path, name, seed):
    raw = _nifti_bytes(tmp_path / ("orig" + name[5:]))
    _fuzz(tmp_path, name, raw, read_volume, _mutate_nifti, seed)


def test_fuzz_seg_nrrd(tmp_path):
    g = _grid()
    liver = np.zeros(g.shape, bool)
    liver[2:8, 2:10, 2:12] = True
    tumour = np.zeros(g.shape, bool)
    tumour[4:6, 4:6, 4:6] = True
    write_seg_nrrd(tmp_path / "orig.seg.nrrd", [[("Liver", liver)], [("Tumour 1", tumour)]], g)
    _fuzz(tmp_path, "rois.seg.nrrd", (tmp_path / "orig.seg.nrrd").read_bytes(), read_segmentation, _mixed, 6)


def test_fuzz_label_map_and_its_tables(tmp_path):
    g = _grid()
    labels = np.zeros(g.shape, np.int16)
    labels[2:8, 2:10, 2:12] = 1
    labels[4:6, 4:6, 4:6] = 2
    write_labelmap_nifti(tmp_path / "orig.nii.gz", labels, g)
    (tmp_path / "labels.txt").write_text("# value name r g b a\n1 liver 128 0 0 255\n2 liver_tumor 0 128 0 255\n")
    _fuzz(tmp_path, "labels.nii.gz", (tmp_path / "orig.nii.gz").read_bytes(), lambda p: read_segmentation(p, labels=tmp_path / "labels.txt"), _mutate_nifti, 7)
    table = (tmp_path / "labels.txt").read_bytes()
    _fuzz(tmp_path, "t.txt", table, read_label_table, lambda raw, rng: _mutate_bytes(raw, rng) if rng.random() < 0.5 else raw.replace(b"liver", rng.choice(_JUNK).encode(), 1), 8)
    js = json.dumps({"1": "liver", "2": "liver_tumor"}).encode()
    _fuzz(tmp_path, "t.json", js, read_label_table, lambda raw, rng: _mutate_bytes(raw, rng) if rng.random() < 0.5 else raw.replace(b'"liver"', rng.choice([b"1", b"[]", b"{}", b'""', b"null", b'"\\u0000"']), 1), 9)


_SEG_ATTRS = [("Rows", [0, 1, 65535, -1]), ("Columns", [0, 3, 65535]), ("NumberOfFrames", [0, 1, 99999]), ("BitsAllocated", [0, 7, 16, 64]),
              ("SegmentationType", ["PROBABILITY", "", "FRACTIONAL"]), ("MaximumFractionalValue", [0, 255])]
_GROUP_ATTRS = [("PixelMeasuresSequence", "PixelSpacing", [[0, 0], [1e-9, 1e-9], [1e9, 1], ["nan", 1]]),
                ("PlaneOrientationSequence", "ImageOrientationPatient", [[1, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 1, 1], ["nan"] * 6]),
                ("PixelMeasuresSequence", "SpacingBetweenSlices", [0, -4, 1e9, "nan"])]


def _mutate_seg(path, rng):
    ds = pydicom.dcmread(str(path))
    kind = rng.random()
    if kind < 0.3:
        attr, values = rng.choice(_SEG_ATTRS)
        setattr(ds, attr, rng.choice(values))
    elif kind < 0.6:
        group, attr, values = rng.choice(_GROUP_ATTRS)
        setattr(getattr(ds.SharedFunctionalGroupsSequence[0], group)[0], attr, rng.choice(values))
    elif kind < 0.8:
        f = rng.choice(ds.PerFrameFunctionalGroupsSequence)
        pos = list(f.PlanePositionSequence[0].ImagePositionPatient)
        pos[rng.randrange(3)] = rng.choice([1e6, -1e6, 0.37, "nan", 1e-3])
        f.PlanePositionSequence[0].ImagePositionPatient = pos
    else:
        ds.PixelData = ds.PixelData[: rng.randrange(len(ds.PixelData))]
    ds.save_as(str(path), enforce_file_format=True)


def test_fuzz_dicom_seg(tmp_path):
    g = _grid()
    liver = np.zeros(g.shape, np.float32)
    liver[2:8, 2:10, 2:12] = 1
    write_dicom_seg(tmp_path / "orig.dcm", {"Liver": g.with_array(liver)}, g)
    raw = (tmp_path / "orig.dcm").read_bytes()
    rng = random.Random(10)
    outcomes = {"refused": 0, "read": 0}
    p = tmp_path / "seg.dcm"
    for _ in range(N):
        p.write_bytes(raw)
        if rng.random() < 0.75:
            try:
                _mutate_seg(p, rng)
            except (ValueError, TypeError, OverflowError, OSError, struct.error):
                continue  # pydicom refuses to write that value: no file to read
        else:
            p.write_bytes(_mutate_bytes(raw, rng))
        outcomes[_check(read_segmentation, p)] += 1
    assert outcomes["refused"] > 0
