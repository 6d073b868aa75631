"""NIfTI-1 and NIfTI-2 single files (``.nii``, ``.nii.gz``): header first, voxels bounded, gzip CRC checked.

The header (348 or 540 bytes, nifti.nimh.nih.gov/nifti-1 and NIfTI-2) is read and interpreted by
nibabel's header classes; its dimensions, data type, spatial unit, sform / qform and offset are
checked against :mod:`.bounds` before the array is allocated. The voxels are then read here, not
through ``nibabel.load`` (which reads only the bytes it needs from a gzip stream, so a corrupt
stream is never noticed by its CRC, and checks no size): exactly the bytes the header promises,
then the rest of a gzip stream to its end (every member's CRC-32 checked; at most
``BOUNDS["trailing_bytes"]`` more), from a regular file only.

Geometry: the sform when ``sform_code`` > 0, else the qform when ``qform_code`` > 0 (the
NIfTI-1 standard's "method 3, then 2"); neither is refused (nibabel's fallback affine would be a
guess). When both are set their axes must point the same way: a qform and an sform that mirror
each other (an axis reversed) are refused, as one of them is wrong and nothing says which.
``xyzt_units`` must name a length (mm, metre, micron) or be unknown (taken as mm; the spacing
bounds then catch a slip); ``scl_slope`` / ``scl_inter`` are applied (float64).
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from .bounds import BOUNDS, DTYPES, check_array, check_grid, nbytes_text
from .reading import ByteStream, is_gzip, open_regular, regular_file, os_reason

__all__ = ["read_nifti_raw", "SPACE_SCALE_MM"]

#: Millimetres per unit of NIfTI's spatial ``xyzt_units`` codes (NIfTI-1: 0 unknown, 1 metre, 2 mm, 3 micron).
SPACE_SCALE_MM = {"mm": 1.0, "unknown": 1.0, "meter": 1000.0, "micron": 0.001}
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def _header(stream: ByteStream, field: str):
    """The nibabel header of the first 348 (NIfTI-1) or 540 (NIfTI-2) bytes."""
    import nibabel as nib

    first = bytearray(4)
    try:
        stream.readinto(first)
    except InputError as exc:
        raise InputError(field, f"not a NIfTI file ({exc.message})") from exc
    sizes = {int.from_bytes(first, "little"), int.from_bytes(first, "big")}
    klass = nib.Nifti1Header if 348 in sizes else nib.Nifti2Header if 540 in sizes else None
    if klass is None:
        raise InputError(field, "not a NIfTI file (sizeof_hdr is neither 348 nor 540)")
    rest = bytearray(klass.template_dtype.itemsize - 4)
    try:
        stream.readinto(rest)
    except InputError as exc:
        raise InputError(field, f"the NIfTI header is truncated ({exc.message})") from exc
    try:
        hdr = klass(binaryblock=bytes(first + rest), check=False)
        magic = bytes(hdr["magic"].tobytes())
    except Exception as exc:
        raise InputError(field, f"unreadable NIfTI header ({type(exc).__name__})") from exc
    if magic[:3] in (b"ni1", b"ni2"):
        raise InputError(f"{field}: magic", "a header of a .hdr/.img pair; give a single .nii or .nii.gz file")
    if magic[:3] not in (b"n+1", b"n+2"):
        raise InputError(f"{field}: magic", f"{magic[:4]!r} is not a NIfTI single-file magic (n+1, n+2)")
    return hdr


def _shape_dtype(hdr, field: str):
    dim = [int(x) for x in np.asarray(hdr["dim"]).tolist()]
    if not 1 <= dim[0] <= 7 or any(d < 1 for d in dim[1:dim[0] + 1]):
        raise InputError(f"{field}: dim", f"{dim[:8]} is not a NIfTI image size (dim[0] in 1..7, then that many sizes >= 1)")
    shape = tuple(dim[1:dim[0] + 1])
    try:
        dtype = hdr.get_data_dtype()
    except Exception as exc:
        raise InputError(f"{field}: datatype", f"code {int(hdr['datatype'])} is not a NIfTI data type") from exc
    if dtype.name not in DTYPES or dtype.fields is not None:
        label = _label(hdr, "datatype")
        raise InputError(f"{field}: datatype", f"{label} voxels are not read; allowed: {', '.join(DTYPES)}", allowed=", ".join(DTYPES))
    check_array(shape, dtype, field)
    return shape, dtype


def _label(hdr, key: str) -> str:
    try:
        return str(hdr.get_value_label(key))
    except Exception:
        return f"code {int(hdr[key])}"


def _affine(hdr, field: str) -> np.ndarray:
    """The LPS affine [mm] of voxel centres from the sform (or else the qform), checked."""
    try:
        codes = int(hdr["sform_code"]), int(hdr["qform_code"])
        unit = hdr.get_xyzt_units()[0]
    except KeyError as exc:
        raise InputError(f"{field}: xyzt_units", f"code {int(hdr['xyzt_units']) & 7} is not a NIfTI spatial unit (0 unknown, 1 metre, 2 mm, 3 micron)") from exc
    if unit not in SPACE_SCALE_MM:
        raise InputError(f"{field}: xyzt_units", f"spatial unit {unit!r} not understood")
    with np.errstate(all="ignore"):
        try:
            sform = np.asarray(hdr.get_sform(), dtype=float) if codes[0] > 0 else None
        except Exception as exc:  # nibabel: HeaderDataError, ValueError on damaged fields
            raise InputError(f"{field}: srow", f"unusable sform ({' '.join(str(exc).split())[:80]}); the geometry is unknown") from exc
        try:
            qform = np.asarray(hdr.get_qform(), dtype=float) if codes[1] > 0 else None
        except Exception as exc:  # nibabel: quaternion of length > 1, qfac not +-1, pixdim <= 0
            if sform is None:
                raise InputError(f"{field}: qform", f"unusable qform ({' '.join(str(exc).split())[:80]}); the geometry is unknown") from exc
            qform = None  # the sform rules; a broken qform cannot be compared with it
    affine = sform if sform is not None else qform
    if affine is None:
        raise InputError(f"{field}: sform_code", "neither sform nor qform is set (codes 0); the patient geometry is unknown")
    if not np.all(np.isfinite(affine)):
        which = "sform (srow_x/y/z)" if sform is not None else "qform (quatern_*, pixdim, qoffset_*)"
        raise InputError(f"{field}: {'srow' if sform is not None else 'qform'}", f"the {which} holds NaN or infinite numbers; the geometry is unknown")
    if sform is not None and qform is not None and np.all(np.isfinite(qform)):
        _same_axes(sform, qform, field)
    lps = np.eye(4)
    lps[:3, :] = _RAS_TO_LPS @ affine[:3, :] * SPACE_SCALE_MM[unit]
    return lps


def _same_axes(sform: np.ndarray, qform: np.ndarray, field: str) -> None:
    """Refuse an sform and a qform whose voxel axes point opposite ways (one of them mirrors the image)."""
    for a in range(3):
        s, q = sform[:3, a], qform[:3, a]
        ns, nq = np.linalg.norm(s), np.linalg.norm(q)
        if ns > 0 and nq > 0 and s @ q / (ns * nq) < 0:
            raise InputError(
                f"{field}: qform_code",
                f"the sform and the qform disagree: voxel axis {a} points opposite ways (one of them mirrors the image); "
                f"make them agree, or set the wrong one's code to 0",
            )


def _offset(hdr, field: str) -> int:
    sizeof = int(hdr["sizeof_hdr"])
    off = float(hdr["vox_offset"])
    if not np.isfinite(off) or off != int(off) or not sizeof + 4 <= off <= BOUNDS["header_bytes"].value:
        raise InputError(f"{field}: vox_offset", f"{off:g} is not a data offset of a single-file NIfTI (an integer from {sizeof + 4} to {nbytes_text(BOUNDS['header_bytes'].value)})")
    return int(off)


def _scaling(hdr, field: str):
    try:
        return hdr.get_slope_inter()
    except Exception as exc:  # nibabel: HeaderDataError for a valid slope with an invalid intercept
        raise InputError(f"{field}: scl_inter", f"unusable scaling ({' '.join(str(exc).split())})") from exc


def read_nifti_raw(path, field: str) -> tuple[np.ndarray, np.ndarray]:
    """(voxels indexed (i, j, k, ...), LPS affine of voxel centres) of a NIfTI file; the header is checked first."""
    st = regular_file(path, field, what="NIfTI file")
    with open_regular(path, field, "NIfTI file") as fh:
        try:
            codec = "gzip" if is_gzip(fh.read(2)) else None
            fh.seek(0)
        except OSError as exc:
            raise InputError(field, f"cannot read: {os_reason(exc)}") from exc
        stream = ByteStream(fh, codec, field)
        hdr = _header(stream, field)
        shape, dtype = _shape_dtype(hdr, field)
        lps = _affine(hdr, field)
        check_grid(lps[:3, :3].T, lps[:3, 3], (tuple(shape) + (1, 1, 1))[:3], field)
        offset = _offset(hdr, field)
        slope, inter = _scaling(hdr, field)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if codec is None and st.st_size < offset + nbytes:
            raise InputError(field, f"the file is truncated: the header promises {offset + nbytes:,} bytes, the file holds {st.st_size:,}")
        if codec is not None and nbytes > BOUNDS["stream_check"].value:
            with open_regular(path, field, "NIfTI file") as fh2:  # length and CRC checked without keeping the data
                check = ByteStream(fh2, codec, field)
                check.skip(offset + nbytes)
                check.drain(BOUNDS["trailing_bytes"].value)
        stream.skip(offset - int(hdr["sizeof_hdr"]))
        buf = np.empty(nbytes, dtype=np.uint8)
        stream.readinto(buf)
        if codec is not None:
            stream.drain(BOUNDS["trailing_bytes"].value)
    data = buf.view(dtype)
    if not dtype.isnative:
        data = data.byteswap(inplace=True).view(dtype.newbyteorder("="))
    data = data.reshape(shape, order="F")
    if slope is not None:
        with np.errstate(all="ignore"):
            data = data.astype(np.float64) * float(slope) + float(inter)
    return data, lps
