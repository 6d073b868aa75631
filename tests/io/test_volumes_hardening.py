"""Issue 26: the NRRD / NIfTI readers refuse cleanly, never guess, never run out of memory.

Every file here is written as real writers write them (pynrrd, nibabel, gzip), then damaged the way
the issue's catalogue found them damaged. Each example of the issue is one test, failing on the
main branch before the change (internal error, silent acceptance, hang or gigabytes of memory).
"""

import gzip
import os
import threading
import time
import tracemalloc
import zlib
from contextlib import contextmanager

import nibabel as nib
import nrrd
import numpy as np
import pytest

from time_limit import within as _within
from dosimetry.errors import InputError
from dosimetry.io.volumes import read_nifti, read_nrrd, read_volume

MB = 1 << 20


def _spect(shape=(24, 20, 16)):
    """A SPECT-like count image (file order i, j, k), int16 counts with a hot blob."""
    i, j, k = np.indices(shape)
    return (1000 * np.exp(-((i - 12) ** 2 + (j - 10) ** 2 + (k - 8) ** 2) / 40.0)).astype(np.int16)


def _nrrd_header(**extra):
    h = {"space": "left-posterior-superior", "space directions": np.diag([4.42, 4.42, 4.42]), "space origin": np.array([-280.7, -280.7, -94.6]),
         "kinds": ["domain"] * 3, "encoding": "gzip"}
    h.update(extra)
    return h


def _write_nrrd(path, data=None, **extra):
    nrrd.write(str(path), _spect() if data is None else data, _nrrd_header(**extra), index_order="F")
    return path


def _edit_header(path, old: bytes, new: bytes):
    """Replace text in an attached NRRD header (the data after it are untouched)."""
    raw = path.read_bytes()
    end = raw.index(b"\n\n") + 2
    head = raw[:end]
    assert old in head, old
    path.write_bytes(head.replace(old, new) + raw[end:])
    return path


def _nifti(path, data=None, affine=None, units="mm", dtype=None):
    data = _spect() if data is None else data
    affine = np.diag([-4.42, -4.42, 4.42, 1.0]) if affine is None else affine
    img = nib.Nifti1Image(data if dtype is None else data.astype(dtype), affine)
    img.header.set_sform(affine, code=1)
    img.header.set_qform(affine, code=1)
    img.header.set_xyzt_units(units)
    nib.save(img, str(path))
    return path


def _patch_nifti(path, edit):
    """Change header fields of a written NIfTI-1 file in place (``edit(header)``), as a faulty writer would."""
    raw = path.read_bytes()
    gz = raw[:2] == b"\x1f\x8b"
    raw = gzip.decompress(raw) if gz else raw
    hdr = nib.Nifti1Header(binaryblock=raw[:348], check=False)
    edit(hdr)
    raw = hdr.binaryblock + raw[348:]
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@contextmanager
def _peak_below(limit_bytes):
    """Fail when the Python / numpy allocations inside the block peak above ``limit_bytes``."""
    tracemalloc.start()
    try:
        yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < limit_bytes, f"peak {peak / MB:.0f} MB"




def _refused(path, match, reader=read_volume):
    with pytest.raises(InputError, match=match) as info:
        reader(path)
    assert "\n" not in str(info.value)
    return info.value


# --- the header, before any voxel ----------------------------------------------------------------
@pytest.mark.parametrize("old, new, match", [
    (b"space origin: (-280.69999999999999,-280.69999999999999,-94.599999999999994)", b"space origin: (nan,-280.7,-94.6)", "origin"),
    (b"space origin: (-280.69999999999999,-280.69999999999999,-94.599999999999994)", b"space origin: (inf,-280.7,-94.6)", "origin"),
    (b"(4.4199999999999999,0,0)", b"(nan,0,0)", "spacing|vectors|spatial axes"),
    (b"(4.4199999999999999,0,0)", b"(0,0,0)", "spacing"),
    (b"(4.4199999999999999,0,0)", b"(1e-09,0,0)", "spacing"),
    (b"sizes: 24 20 16", b"sizes: 0 20 16", "at least one sample"),
    (b"space directions: (4.4199999999999999,0,0) (0,4.4199999999999999,0) (0,0,4.4199999999999999)", b"space directions: none none none", "space directions"),
    (b"space directions: (4.4199999999999999,0,0) (0,4.4199999999999999,0) (0,0,4.4199999999999999)", b"space directions: none", "space directions"),
    (b"sizes: 24 20 16", b"sizes: 2048 2048 1024", "would need 8 GiB"),
    (b"type: int16", b"type: block", "not read"),
    (b"encoding: gzip", b"encoding: lzma", "not read"),
])
def test_nrrd_header_refused_before_reading(tmp_path, old, new, match):
    p = _edit_header(_write_nrrd(tmp_path / "spect.nrrd"), old, new)
    with _peak_below(20 * MB), _within(5):
        _refused(p, match)


def test_nrrd_header_of_4_gb_is_refused_by_name_with_its_figure_in_little_memory(tmp_path):
    # issue: "a gzip NRRD whose header claims 2-4 GB is refused only after taking 2-6 GB"
    p = _edit_header(_write_nrrd(tmp_path / "big.nrrd"), b"sizes: 24 20 16", b"sizes: 1024 1024 2000")
    with _peak_below(20 * MB):
        err = _refused(p, r"would need 3\.91 GiB \(1024 x 1024 x 2000 int16\); refused before reading")
    assert str(p) in str(err)


def test_nifti_header_of_2_gb_is_refused_in_little_memory(tmp_path):
    p = _patch_nifti(_nifti(tmp_path / "big.nii.gz"), lambda h: h.set_data_shape((1024, 1024, 1000)))
    with _peak_below(20 * MB):
        _refused(p, "would need 1.95 GiB")


def test_spacing_of_a_nanometre_is_refused_at_once(tmp_path):
    # issue: "an NRRD with 1e-9 mm spacing runs past 150 s at 3 GB"
    p = _write_nrrd(tmp_path / "tiny.nrrd", **{"space directions": np.diag([1e-9, 1e-9, 1e-9])})
    t = time.perf_counter()
    _refused(p, r"spacing \[1e-09, 1e-09, 1e-09\] mm is outside the plausible \[0.05, 30\] mm")
    assert time.perf_counter() - t < 1.0


def test_empty_nrrd_is_one_line(tmp_path):
    (tmp_path / "empty.nrrd").write_bytes(b"")
    _refused(tmp_path / "empty.nrrd", "empty")


def test_nan_and_inf_voxels_of_a_ct_are_refused(tmp_path):
    ct = np.full((24, 20, 16), -1000.0, np.float32)
    ct[3, 4, 5], ct[6, 7, 8] = np.nan, np.inf
    _refused(_write_nrrd(tmp_path / "ct.nrrd", ct), r"2 voxel\(s\) hold NaN or infinite values")
    _refused(_nifti(tmp_path / "ct.nii.gz", ct), r"2 voxel\(s\) hold NaN or infinite values")


def test_an_emission_image_keeps_its_nan_voxels_for_the_one_emission_rule(tmp_path):
    """A masked PET (NaN outside the body) is not refused by the reader: screen_activity judges it."""
    from dosimetry.io.volumes import read_volume

    pet = np.full((24, 20, 16), np.nan, np.float64)
    pet[8:16, 6:14, 4:12] = 1500.0
    for path in (_write_nrrd(tmp_path / "pet.nrrd", pet), _nifti(tmp_path / "pet.nii.gz", pet)):
        vol = read_volume(path, unit="Bq/mL", field="imaging.activity", finite=False)
        assert int(np.isnan(np.asarray(vol.array)).sum()) == pet.size - 8 * 8 * 8


# --- compressed data: corrupt, truncated, bombs ------------------------------------------------
def _gzip_part(path):
    raw = path.read_bytes()
    return raw, raw.index(b"\n\n") + 2


def test_nrrd_gzip_crc_mismatch_is_one_line(tmp_path):
    p = _write_nrrd(tmp_path / "spect.nrrd")
    raw, start = _gzip_part(p)
    b = bytearray(raw)
    b[-6] ^= 0x01  # the CRC-32 of the gzip trailer (RFC 1952)
    p.write_bytes(bytes(b))
    _refused(p, "gzip data are corrupt .*incorrect data check")


def test_nrrd_gzip_with_a_bad_header_and_truncated_is_one_line(tmp_path):
    p = _write_nrrd(tmp_path / "spect.nrrd")
    raw, start = _gzip_part(p)
    p.write_bytes(raw[:start] + b"\x1f\x8b\x63" + raw[start + 3:])  # compression method 0x63, not deflate
    _refused(p, "gzip data are corrupt")
    p.write_bytes(raw[: len(raw) - 40])
    _refused(p, "truncated")


def test_nifti_gz_with_one_flipped_bit_is_refused(tmp_path):
    # issue: "a .nii.gz with one flipped bit in its compressed data (gzip CRC mismatch) is read with voxels
    # up to 45,509 counts off": nibabel reads only the bytes it needs, the CRC at the end is never checked
    rng = np.random.default_rng(0)
    i, j, k = np.indices((64, 64, 40))
    counts = rng.poisson(1000 * np.exp(-((i - 30) ** 2 + (j - 30) ** 2 + (k - 20) ** 2) / 200.0) + 5).astype(np.int16)
    p = _nifti(tmp_path / "spect.nii.gz", counts)
    raw = p.read_bytes()
    for pos in range(len(raw) // 3, len(raw) - 8, len(raw) // 20):
        b = bytearray(raw)
        b[pos] ^= 0x10
        p.write_bytes(bytes(b))
        with pytest.raises(InputError, match="gzip data are (corrupt|truncated)"):
            read_nifti(p)


def test_gzip_bomb_behind_a_small_header_is_refused_in_little_memory(tmp_path):
    # issue: "a 3 GiB gzip bomb takes 6 GB": 3 GiB of zeros (3072 gzip members of 1 MiB) after a 12 KB image
    p = _write_nrrd(tmp_path / "bomb.nrrd")
    raw, start = _gzip_part(p)
    member = gzip.compress(bytes(MB), compresslevel=9)
    p.write_bytes(raw + member * 3072)
    with _peak_below(40 * MB), _within(10):
        _refused(p, "the data go on past the 15,360 bytes the header promises|go on past the 15 KiB")


def test_gzip_bomb_behind_a_large_plausible_header_is_checked_before_allocating(tmp_path):
    # a header promising 256 MiB (within the bounds) over a 3 GiB stream: the length is checked in a
    # first pass that keeps nothing, so the refusal costs no 256 MiB array
    hdr = _nrrd_header(**{"space directions": np.diag([1.0, 1.0, 1.0])})
    nrrd.write(str(tmp_path / "h.nrrd"), np.zeros((2, 2, 2), np.int16), hdr, index_order="F")
    raw, start = _gzip_part(tmp_path / "h.nrrd")
    head = raw[:start].replace(b"sizes: 2 2 2", b"sizes: 512 512 512")
    member = zlib.compressobj(9, zlib.DEFLATED, 31)
    one = member.compress(bytes(16 * MB)) + member.flush()
    (tmp_path / "big.nrrd").write_bytes(head + one * 192)  # 3 GiB
    with _peak_below(60 * MB), _within(20):
        _refused(tmp_path / "big.nrrd", "go on past")


def test_nifti_gzip_bomb_after_the_voxels_is_refused(tmp_path):
    p = _nifti(tmp_path / "spect.nii.gz")
    raw = gzip.decompress(p.read_bytes())
    p.write_bytes(gzip.compress(raw) + gzip.compress(bytes(4 * MB)))
    with _peak_below(30 * MB):
        _refused(p, "go on past")


# --- files that are not files --------------------------------------------------------------------
def test_a_fifo_as_the_image_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "spect.nrrd"
    os.mkfifo(fifo)
    with _within(5):
        _refused(fifo, "not a regular file")
        _refused(tmp_path, "is a folder", reader=lambda p: read_nrrd(p))


def test_nhdr_whose_data_file_is_a_fifo_or_dev_zero_is_refused(tmp_path):
    _write_nrrd(tmp_path / "spect.nhdr", encoding="raw")
    assert (tmp_path / "spect.raw").exists()
    os.remove(tmp_path / "spect.raw")
    os.mkfifo(tmp_path / "spect.raw")
    with _within(5):
        _refused(tmp_path / "spect.nhdr", "data file: .*not a regular file")
    text = (tmp_path / "spect.nhdr").read_text().replace("data file: spect.raw", "data file: /dev/zero")
    (tmp_path / "zero.nhdr").write_text(text)
    with _within(5), _peak_below(20 * MB):
        _refused(tmp_path / "zero.nhdr", "not a regular file")


def test_nhdr_with_a_raw_data_file_reads_and_a_short_one_is_refused(tmp_path):
    _write_nrrd(tmp_path / "spect.nhdr", encoding="raw")
    assert np.array_equal(read_nrrd(tmp_path / "spect.nhdr").array, np.transpose(_spect(), (2, 1, 0)))
    data = (tmp_path / "spect.raw").read_bytes()
    (tmp_path / "spect.raw").write_bytes(data[:-2])
    _refused(tmp_path / "spect.nhdr", "truncated")


# --- NIfTI header fields ---------------------------------------------------------------------------
def test_nifti_in_metres_with_mm_numbers_is_refused(tmp_path):
    # issue: "a NIfTI whose units say metres gives 4.42 m voxels, every ROI inside one voxel, WITHIN LIMITS"
    _refused(_nifti(tmp_path / "m.nii.gz", units="meter"), r"spacing \[4420.0, 4420.0, 4420.0\] mm is outside")
    # the same image in true metres (0.00442 m) is 4.42 mm
    v = read_nifti(_nifti(tmp_path / "true_m.nii.gz", affine=np.diag([-0.00442, -0.00442, 0.00442, 1.0]), units="meter"))
    assert v.spacing_mm == pytest.approx((4.42, 4.42, 4.42))


def test_nifti_unknown_xyzt_units_code_is_one_line(tmp_path):
    p = _nifti(tmp_path / "u.nii")
    b = bytearray(p.read_bytes())
    b[123] = 5  # xyzt_units (byte 123 of the NIfTI-1 header): 5 is no spatial unit code
    p.write_bytes(bytes(b))
    _refused(p, "xyzt_units: code 5 is not a NIfTI spatial unit")


def test_nifti_rgb_datatype_is_one_line(tmp_path):
    rgb = np.zeros((8, 8, 8), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    img = nib.Nifti1Image(rgb, np.diag([2.0, 2.0, 2.0, 1.0]))
    img.header.set_sform(np.diag([2.0, 2.0, 2.0, 1.0]), code=1)
    nib.save(img, str(tmp_path / "rgb.nii"))
    _refused(tmp_path / "rgb.nii", "datatype: RGB voxels are not read")


def test_nifti_nan_in_the_sform_the_qform_or_the_spacing_is_one_line(tmp_path):
    def sform_nan(h):
        h["srow_x"][3] = np.nan

    def qform_only_nan_pixdim(h):
        h["sform_code"] = 0
        h["pixdim"][1] = np.nan

    def inf_origin(h):
        h["sform_code"] = 0
        h["qoffset_x"] = np.inf

    for n, edit in enumerate((sform_nan, qform_only_nan_pixdim, inf_origin)):
        _refused(_patch_nifti(_nifti(tmp_path / f"s{n}.nii"), edit), "NaN or infinite")


def test_nifti_qform_mirroring_the_sform_is_refused(tmp_path):
    def mirror(h):
        h.set_qform(np.diag([4.42, -4.42, 4.42, 1.0]), code=1)  # x reversed against the sform: one of them mirrors the image

    _refused(_patch_nifti(_nifti(tmp_path / "q.nii.gz"), mirror), "sform and the qform disagree: voxel axis 0 points opposite ways")


def test_truncated_nifti_is_refused_before_allocating(tmp_path):
    p = _nifti(tmp_path / "t.nii")
    p.write_bytes(p.read_bytes()[:-100])
    _refused(p, "truncated")
    p.write_bytes(b"\x5c\x01\x00\x00")
    _refused(p, "truncated")


def test_the_readers_still_read_what_writers_write(tmp_path):
    want = np.transpose(_spect(), (2, 1, 0))
    for name, writer in (("a.nrrd", _write_nrrd), ("b.nhdr", _write_nrrd), ("c.nii", _nifti), ("d.nii.gz", _nifti)):
        v = read_volume(writer(tmp_path / name))
        assert np.array_equal(v.array, want), name
        assert v.spacing_mm == pytest.approx((4.42, 4.42, 4.42)), name
    # bzip2, raw and ASCII NRRD encodings, big-endian data
    for enc in ("bzip2", "raw", "ascii"):
        v = read_nrrd(_write_nrrd(tmp_path / f"{enc}.nrrd", encoding=enc))
        assert np.array_equal(v.array, want), enc
    big = _write_nrrd(tmp_path / "big.nrrd", _spect().astype(">i2"), encoding="raw")
    assert np.array_equal(read_nrrd(big).array, want)


def test_reading_in_a_thread_is_bounded_too(tmp_path):
    # a read never blocks on a pipe, whichever thread does it
    fifo = tmp_path / "x.nii"
    os.mkfifo(fifo)
    out = []
    t = threading.Thread(target=lambda: out.append(pytest.raises(InputError, read_nifti, fifo)))
    t.start()
    t.join(5)
    assert not t.is_alive() and out
