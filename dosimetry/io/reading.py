"""Reading input files safely: regular files only, sizes bounded, compressed streams bounded and checked.

Every reader of an image, segmentation or table opens its files through here:

* :func:`regular_file` refuses a folder, a named pipe (FIFO), a device (``/dev/zero``) or a socket
  before it is opened, and a file larger than ``BOUNDS["file_bytes"]`` by name and size;
  :func:`open_regular` opens with ``O_NONBLOCK`` (a pipe swapped in after the check cannot block
  the open) and checks the opened descriptor again. So no read waits on a pipe, and every read is
  bounded in bytes, hence in time.
* :class:`ByteStream` reads the data of a file, raw or through a gzip / bzip2 decompressor, into
  a caller's buffer: never more than the caller asked for plus a stated allowance, so a
  decompression bomb is refused after the bytes its header promised. Reading a gzip stream to
  its end checks every member's CRC-32 and length (RFC 1952, 2.3.1): a flipped bit is refused.
* :func:`read_text` reads a small text file as UTF-8 (one line naming the file and the byte when
  it is not UTF-8).

Every failure is one :class:`~dosimetry.errors.InputError` line naming the file and what is
wrong; an operating-system error keeps its reason (permission denied, input/output error).
"""

from __future__ import annotations

import bz2
import os
import stat
import zlib
from pathlib import Path
from typing import Any

from ..errors import InputError, OutOfRangeError
from .bounds import BOUNDS, nbytes_text

__all__ = ["regular_file", "open_regular", "read_bytes", "read_text", "ByteStream", "os_reason", "is_gzip"]

_CHUNK = 1 << 20  # compressed bytes read at a time


def os_reason(exc: BaseException) -> str:
    """The reason of an OSError in a few words ('Permission denied', 'No space left on device')."""
    return getattr(exc, "strerror", None) or type(exc).__name__


def regular_file(path, field: str, *, limit: float | None = None, what: str = "file") -> os.stat_result:
    """``os.stat`` of an existing regular file of at most ``limit`` bytes (default ``BOUNDS["file_bytes"]``).

    Raises
    ------
    InputError
        Missing or unreadable path; a folder, pipe, device or socket.
    OutOfRangeError
        Larger than the bound (the message gives both sizes).
    """
    limit = BOUNDS["file_bytes"].value if limit is None else limit
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        raise InputError(field, f"cannot read {_shown(path)}: {os_reason(exc)}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise InputError(field, f"{_shown(path)} is a folder; expected a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(field, f"{_shown(path)} is not a regular file (a pipe, device or socket); expected a {what}")
    if st.st_size > limit:
        raise OutOfRangeError(field, f"{_shown(path)} holds {nbytes_text(st.st_size)}, more than the {nbytes_text(limit)} of a plausible {what}; refused before reading",
                              allowed=f"<= {nbytes_text(limit)}")
    return st


def open_regular(path, field: str, what: str = "file"):
    """A binary file object of a regular file, opened without blocking on a pipe (see the module docstring)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError) as exc:
        raise InputError(field, f"cannot open {_shown(path)}: {os_reason(exc)}") from exc
    fh = os.fdopen(fd, "rb")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(field, f"{_shown(path)} is not a regular file; expected a {what}")
    except BaseException:
        fh.close()
        raise
    return fh


def read_bytes(path, field: str, *, limit: float, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, read once (at most ``limit + 1`` bytes,
    so a file that grows after the size check cannot exhaust memory)."""
    regular_file(path, field, limit=limit, what=what)
    try:
        with open_regular(path, field, what) as fh:
            data = fh.read(int(limit) + 1)
    except OSError as exc:
        raise InputError(field, f"cannot read {_shown(path)}: {os_reason(exc)}") from exc
    if len(data) > limit:
        raise OutOfRangeError(field, f"{_shown(path)} is larger than the {nbytes_text(limit)} of a plausible {what}", allowed=f"<= {nbytes_text(limit)}")
    return data


def read_text(path, field: str, *, limit: float, what: str) -> str:
    """The text of a regular UTF-8 file of at most ``limit`` bytes (a leading byte-order mark is dropped)."""
    data = read_bytes(path, field, limit=limit, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(field, f"{_shown(path)} is not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); save the {what} as UTF-8") from exc


def is_gzip(head: bytes) -> bool:
    """True when ``head`` starts with the gzip magic bytes 1f 8b (RFC 1952, 2.3.1)."""
    return head[:2] == b"\x1f\x8b"


def _shown(path) -> str:
    """A path for a message, printable whatever bytes its name holds."""
    text = os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class ByteStream:
    """The bytes of an open file from its current position: raw, or decompressed (gzip or bzip2).

    Parameters
    ----------
    fh : binary file object
        Positioned at the first byte of the data.
    codec : None, "gzip" or "bzip2"
        How the data are encoded.
    field : str
        The file, for messages.
    """

    def __init__(self, fh, codec: str | None, field: str):
        if codec not in (None, "gzip", "bzip2"):
            raise InputError(field, f"unsupported encoding {codec!r}")
        self.fh, self.codec, self.field = fh, codec, field
        self._dec: Any = self._new() if codec else None  # zlib or bz2 decompressor (different interfaces)
        self._pending = b""  # compressed input not yet consumed
        self._eof = False
        self.consumed = 0  # bytes delivered so far

    def _new(self):
        return zlib.decompressobj(16 + zlib.MAX_WBITS) if self.codec == "gzip" else bz2.BZ2Decompressor()

    def _raw(self, n: int) -> bytes:
        try:
            return self.fh.read(n)
        except OSError as exc:
            raise InputError(self.field, f"cannot read: {os_reason(exc)}") from exc

    def _inflate(self, n: int) -> bytes:
        """Up to ``n`` decompressed bytes (b"" at the end of the data)."""
        while not self._eof:
            if self.codec == "bzip2" and not self._dec.needs_input:
                data = b""  # the decompressor still holds output
            else:
                if not self._pending:
                    self._pending = self._raw(_CHUNK)
                data = self._pending
            at_end = not data and (self.codec == "gzip" or self._dec.needs_input)
            try:
                if self.codec == "gzip":
                    out = self._dec.decompress(data, n)
                    self._pending = self._dec.unconsumed_tail
                else:
                    out = self._dec.decompress(data, max_length=n) if data or not self._dec.needs_input else b""
                    self._pending = b""
            except (zlib.error, OSError, EOFError, ValueError) as exc:
                raise InputError(self.field, f"the {self.codec} data are corrupt ({' '.join(str(exc).split())}); the file is damaged") from exc
            if self._dec.eof:
                self._next_member()
            if out:
                return out
            if at_end and not self._eof:
                raise InputError(self.field, f"the {self.codec} data are truncated (the file ends before the end of the compressed stream)")
        return b""

    def _next_member(self) -> None:
        """After one gzip / bzip2 member: another member, zero padding to the end, or the end; else refuse."""
        rest = (self._dec.unused_data or b"") + self._pending
        self._pending = b""
        if not rest:
            rest = self._raw(_CHUNK)
        if not rest:
            self._eof = True
            return
        if rest[:1] == b"\0":  # padding: zeros to the end of the file
            while rest:
                if rest.strip(b"\0"):
                    raise InputError(self.field, f"bytes after the end of the {self.codec} data (a damaged file)")
                rest = self._raw(_CHUNK)
            self._eof = True
            return
        if not rest.startswith(b"\x1f\x8b" if self.codec == "gzip" else b"BZh"):
            raise InputError(self.field, f"bytes after the end of the {self.codec} data that are not {self.codec} (a damaged file)")
        self._dec = self._new()
        self._pending = rest

    def readinto(self, buf) -> None:
        """Fill ``buf`` (a writable buffer) completely; refuse a stream that ends first."""
        view = memoryview(buf).cast("B")
        want, pos = len(view), 0
        while pos < want:
            if self.codec is None:
                try:
                    n = self.fh.readinto(view[pos:])
                except OSError as exc:
                    raise InputError(self.field, f"cannot read: {os_reason(exc)}") from exc
                if not n:
                    break
            else:
                chunk = self._inflate(min(want - pos, 16 * _CHUNK))
                if not chunk:
                    break
                n = len(chunk)
                view[pos:pos + n] = chunk
            pos += n
        self.consumed += pos
        if pos < want:
            raise InputError(self.field, f"the data are truncated: {self.consumed:,} bytes where the header promises {self.consumed - pos + want:,}")

    def skip(self, n: int) -> None:
        """Read and drop ``n`` bytes (a header's byte skip, a NIfTI's extensions)."""
        while n > 0:
            k = min(n, 16 * _CHUNK)
            self.readinto(bytearray(k))
            n -= k

    def drain(self, allowance: float) -> int:
        """Read to the end of the data (checking every gzip CRC); refuse more than ``allowance`` further bytes.

        Returns the number of bytes found after the position reached.
        """
        extra = 0
        while True:
            if self.codec is None:
                chunk = self._raw(_CHUNK)
            else:
                chunk = self._inflate(_CHUNK)
            if not chunk:
                return extra
            extra += len(chunk)
            if extra > allowance:
                raise OutOfRangeError(
                    self.field,
                    f"the data go on past the {nbytes_text(self.consumed)} the header promises (more than {nbytes_text(allowance)} further); "
                    f"a wrong header or a decompression bomb: refused",
                    allowed=f"<= {nbytes_text(allowance)} after the data",
                )


def data_file(header_path, name: str, field: str) -> Path:
    """The data file a detached header names, relative to the header's folder; a regular file."""
    p = Path(name)
    p = p if p.is_absolute() else Path(header_path).parent / p
    regular_file(p, field, what="data file")
    return p
