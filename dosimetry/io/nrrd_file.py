"""NRRD files (``.nrrd`` with attached data, ``.nhdr`` with a detached data file): header first.

The header is read as UTF-8 text of at most ``BOUNDS["header_bytes"]`` and parsed by pynrrd's
``read_header``; its sizes, type, encoding, patient space, directions and origin are checked
against :mod:`.bounds` (:func:`read_nrrd_header`) before one voxel is read. The voxels are then
read here, not by pynrrd (which reads a whole compressed stream, then a whole decompressed copy,
with no bound): exactly the bytes the header promises, raw or through a bounded gzip / bzip2
stream (:class:`~.reading.ByteStream`), from a regular file only.

Format: teem.sourceforge.net/nrrd/format.html (NRRD0001-NRRD0005). ``line skip`` counts lines of
the data file before the data, ``byte skip`` bytes of the (decompressed) data; ``byte skip: -1``
(data at the end of the file) is read for raw data. Multi-file data (``data file: LIST`` or a
format string) are refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .bounds import BOUNDS, check_array, check_grid, nbytes_text
from .reading import ByteStream, data_file, open_regular, regular_file, os_reason

__all__ = ["LPS_FROM", "NRRD_TYPES", "NrrdHeader", "read_nrrd_header", "read_nrrd_data", "read_nrrd_raw", "nrrd_geometry"]

#: Sign of (x, y, z) turning each named patient space into LPS (NRRD spec, "space").
LPS_FROM = {
    "left-posterior-superior": (1, 1, 1),
    "lps": (1, 1, 1),
    "right-anterior-superior": (-1, -1, 1),
    "ras": (-1, -1, 1),
    "left-anterior-superior": (1, -1, 1),
    "las": (1, -1, 1),
}

#: NRRD "type" names (format spec, "type") -> numpy type. "block" is refused.
NRRD_TYPES = {
    **dict.fromkeys(("signed char", "int8", "int8_t"), "i1"),
    **dict.fromkeys(("uchar", "unsigned char", "uint8", "uint8_t"), "u1"),
    **dict.fromkeys(("short", "short int", "signed short", "signed short int", "int16", "int16_t"), "i2"),
    **dict.fromkeys(("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"), "u2"),
    **dict.fromkeys(("int", "signed int", "int32", "int32_t"), "i4"),
    **dict.fromkeys(("uint", "unsigned int", "uint32", "uint32_t"), "u4"),
    **dict.fromkeys(("longlong", "long long", "long long int", "signed long long", "signed long long int", "int64", "int64_t"), "i8"),
    **dict.fromkeys(("ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"), "u8"),
    "float": "f4",
    "double": "f8",
}
_ENCODINGS = {"raw": None, "gzip": "gzip", "gz": "gzip", "bzip2": "bzip2", "bz2": "bzip2", "ascii": "text", "text": "text", "txt": "text"}


@dataclass(frozen=True)
class NrrdHeader:
    """A checked NRRD header: its fields (as pynrrd parses them) and where and how its data are stored.

    Attributes
    ----------
    fields : dict
        Header fields and key-value pairs.
    sizes : tuple of int
        Samples per axis, fastest first.
    dtype : numpy.dtype
        Stored type, with its byte order.
    codec : None, "gzip", "bzip2" or "text"
    data_path : Path
        The file holding the data (the header file itself when attached).
    data_offset : int
        Where the data (before line and byte skips) start in ``data_path``.
    vectors, origin : numpy arrays
        LPS step vectors of the spatial axes (rows) and LPS origin [mm].
    spatial : tuple of int
        Indices of the spatial axes.
    """

    fields: dict
    sizes: tuple
    dtype: np.dtype
    codec: str | None
    data_path: Path
    data_offset: int
    vectors: np.ndarray
    origin: np.ndarray
    spatial: tuple

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.sizes, dtype=np.int64)) * self.dtype.itemsize


def _header_lines(path, field: str) -> tuple[list, int]:
    """(header lines as text, bytes taken by the header) of an NRRD file: up to the blank line or the end."""
    limit = int(BOUNDS["header_bytes"].value)
    lines: list[str] = []
    used = 0
    try:
        with open_regular(path, field, "NRRD file") as fh:
            while True:
                raw = fh.readline(limit - used + 1)
                if not raw:
                    break
                used += len(raw)
                if used > limit:
                    raise InputError(field, f"the NRRD header runs past {nbytes_text(limit)} without its blank line; not an NRRD header")
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(field, f"NRRD header line {len(lines) + 1} is not UTF-8 text (byte {exc.start}); not an NRRD header") from exc
                if not lines and not line.startswith("NRRD000"):
                    raise InputError(field, "not an NRRD file (it does not start with the magic line NRRD0001-NRRD0005)")
                if line.strip() == "" and not line.startswith("#"):
                    break
                lines.append(line.rstrip("\r\n"))
    except OSError as exc:
        raise InputError(field, f"cannot read: {os_reason(exc)}") from exc
    if not lines:
        raise InputError(field, "the file is empty; not an NRRD file")
    return lines, used


def _parse(lines: list, field: str) -> dict:
    import nrrd

    try:
        return dict(nrrd.read_header(lines))
    except Exception as exc:  # pynrrd raises NRRDError, ValueError, TypeError on malformed fields
        raise InputError(field, f"unreadable NRRD header ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from exc


def nrrd_geometry(header: dict, field: str) -> tuple[np.ndarray, np.ndarray, list]:
    """(LPS step vectors of the spatial axes, LPS origin, indices of the spatial axes) of an NRRD header."""
    space = str(header.get("space", "")).strip().lower()
    if space not in LPS_FROM:
        raise InputError(f"{field}: space", f"{str(header.get('space'))[:40]!r} is not a patient space; allowed: LPS, RAS, LAS (NRRD 'space')")
    units = header.get("space units")
    if units is not None and any(str(u).strip().lower() not in ("mm", "") for u in units):
        raise InputError(f"{field}: space units", f"{[str(u)[:20] for u in units][:4]} are not millimetres; only mm is accepted")
    try:
        dirs = np.asarray(header.get("space directions"), dtype=float)
        origin = header.get("space origin")
        origin = None if origin is None else np.asarray(origin, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"{field}: space directions", "'space directions' or 'space origin' are not vectors of numbers") from exc
    if dirs.ndim != 2 or dirs.shape[1:] != (3,) or origin is None or origin.shape != (3,):
        raise InputError(f"{field}: space directions", "missing or malformed 'space directions' or 'space origin' (3-vectors); the geometry is unknown")
    if "dimension" in header and dirs.shape[0] != int(header["dimension"]):
        raise InputError(f"{field}: space directions", f"{dirs.shape[0]} vectors for {int(header['dimension'])} axes; one per axis ('none' for a non-spatial axis)")
    spatial = [a for a in range(dirs.shape[0]) if not np.all(np.isnan(dirs[a]))]
    if len(spatial) != 3:
        raise InputError(f"{field}: space directions", f"expected 3 spatial axes (vectors), found {len(spatial)}; the others must be 'none'")
    sign = np.asarray(LPS_FROM[space], dtype=float)
    return dirs[spatial] * sign[None, :], origin * sign, spatial


def _int_field(header: dict, names, default: int, field: str) -> int:
    for n in names:
        if n in header:
            try:
                return int(header[n])
            except (TypeError, ValueError) as exc:
                raise InputError(f"{field}: {n}", f"{str(header[n])[:20]!r} is not an integer") from exc
    return default


def _data_location(path, header: dict, used: int, field: str) -> tuple[Path, int]:
    name = header.get("data file", header.get("datafile"))
    if name is None:
        return Path(path), used
    name = str(name).strip()
    tokens = name.split()
    if name.upper().startswith("LIST") or (len(tokens) in (4, 5) and "%" in tokens[0]):
        raise InputError(f"{field}: data file", "data in several files (LIST or a file-name pattern) are not read; save the image as one .nrrd")
    return data_file(path, name, f"{field}: data file"), 0


def read_nrrd_header(path, field: str) -> NrrdHeader:
    """Read and check an NRRD header (see the module docstring); no voxel is read."""
    regular_file(path, field, what="NRRD file")
    lines, used = _header_lines(path, field)
    header = _parse(lines, field)
    for key in ("type", "dimension", "sizes", "encoding"):
        if key not in header:
            raise InputError(f"{field}: {key}", "required NRRD field is missing")
    sizes = np.atleast_1d(np.asarray(header["sizes"]))
    if sizes.dtype.kind not in "iu" or int(header["dimension"]) != sizes.size or not 1 <= sizes.size <= 4:
        raise InputError(f"{field}: sizes", f"{str(header['sizes'])[:60]} do not match dimension {str(header['dimension'])[:10]} (1 to 4 axes of whole numbers)")
    kind = NRRD_TYPES.get(str(header["type"]).strip().lower())
    if kind is None:
        raise InputError(f"{field}: type", f"{str(header['type'])[:30]!r} is not read; allowed: integer types, float, double")
    codec = _ENCODINGS.get(str(header["encoding"]).strip().lower(), "?")
    if codec == "?":
        raise InputError(f"{field}: encoding", f"{str(header['encoding'])[:30]!r} is not read; allowed: raw, gzip, bzip2, ascii")
    dtype = np.dtype(kind)
    if dtype.itemsize > 1 and codec != "text":
        endian = str(header.get("endian", "")).strip().lower()
        if endian not in ("little", "big"):
            raise InputError(f"{field}: endian", "missing or not 'little' / 'big' (required for multi-byte types)")
        dtype = dtype.newbyteorder("<" if endian == "little" else ">")
    check_array(sizes.tolist(), dtype, field)
    vectors, origin, spatial = nrrd_geometry(header, field)
    check_grid(vectors, origin, [int(sizes[a]) for a in spatial], field)
    data_path, offset = _data_location(path, header, used, field)
    return NrrdHeader(header, tuple(int(s) for s in sizes), dtype, codec, data_path, offset, vectors, origin, tuple(spatial))


def _open_data(h: NrrdHeader, field: str):
    """The data file, positioned after the header and the line skip."""
    fh = open_regular(h.data_path, field, "NRRD data file")
    try:
        fh.seek(h.data_offset)
        limit = int(BOUNDS["header_bytes"].value)
        for _ in range(_int_field(h.fields, ("line skip", "lineskip"), 0, field)):
            line = fh.readline(limit)
            limit -= len(line)
            if not line or limit <= 0:
                raise InputError(f"{field}: line skip", "the data file ends (or its skipped lines run on) before the data")
    except BaseException:
        fh.close()
        raise
    return fh


def read_nrrd_data(h: NrrdHeader, field: str) -> np.ndarray:
    """The voxels of a checked header, indexed fastest axis first (pynrrd's ``index_order="F"``)."""
    byte_skip = _int_field(h.fields, ("byte skip", "byteskip"), 0, field)
    line_skip = _int_field(h.fields, ("line skip", "lineskip"), 0, field)
    if byte_skip < -1 or line_skip < 0:
        raise InputError(f"{field}: byte skip", "line skip must be >= 0 and byte skip >= -1")
    if byte_skip == -1 and h.codec is not None:
        raise InputError(f"{field}: byte skip", "byte skip -1 (data at the end of the file) is read for raw data only")
    if h.codec == "text":
        return _text_data(h, field)
    if h.codec is not None and h.nbytes > BOUNDS["stream_check"].value:
        with _open_data(h, field) as fh:  # length and CRC checked without keeping the data
            s = ByteStream(fh, h.codec, field)
            s.skip(byte_skip + h.nbytes)
            s.drain(0)
    buf = np.empty(h.nbytes, dtype=np.uint8)
    with _open_data(h, field) as fh:
        if h.codec is None:
            size = os.fstat(fh.fileno()).st_size
            start = size - h.nbytes if byte_skip == -1 else fh.tell() + byte_skip
            have = size - start
            if have != h.nbytes or start < fh.tell():
                what = "truncated" if have < h.nbytes else f"{have - h.nbytes:,} bytes longer than the data"
                raise InputError(field, f"the data file is {what}: the header promises {h.nbytes:,} bytes of raw data, the file holds {max(have, 0):,}")
            fh.seek(start)
        s = ByteStream(fh, h.codec, field)
        if h.codec is not None:
            s.skip(byte_skip)
        s.readinto(buf)
        if h.codec is not None:
            s.drain(0)
    return _shaped(buf, h)


def _shaped(buf: np.ndarray, h: NrrdHeader) -> np.ndarray:
    arr = buf.view(h.dtype)
    if not h.dtype.isnative:
        arr = arr.byteswap(inplace=True).view(h.dtype.newbyteorder("="))
    return arr.reshape(h.sizes[::-1]).T  # F order: the first (fastest) axis first, no copy


def _text_data(h: NrrdHeader, field: str) -> np.ndarray:
    """ASCII-encoded data: whitespace-separated numbers, exactly as many as the header promises."""
    with _open_data(h, field) as fh:
        raw = fh.read(int(BOUNDS["file_bytes"].value) + 1)
    try:
        values = np.array(raw.decode("ascii").split(), dtype=np.float64)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(field, "the ASCII data hold something other than numbers") from exc
    n = int(np.prod(h.sizes, dtype=np.int64))
    if values.size != n:
        raise InputError(field, f"the ASCII data hold {values.size:,} numbers where the header promises {n:,}")
    if h.dtype.kind in "iu":
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise InputError(field, f"the ASCII data of an integer type ({h.dtype.name}) hold fractions or non-finite numbers")
    arr = values.astype(h.dtype.newbyteorder("="))
    return arr.reshape(h.sizes[::-1]).T


def read_nrrd_raw(path, field: str) -> tuple[np.ndarray, NrrdHeader]:
    """(voxels indexed fastest axis first, checked header) of an NRRD file; the header is checked first."""
    h = read_nrrd_header(path, field)
    return read_nrrd_data(h, field), h
