"""What the ``y90`` commands print and write: exit statuses, text or JSON to the terminal or ``-o``,
the checks of an output file or folder made before any work, and the progress line."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError

#: Exit statuses (design brief, "CLI contract").
EXIT_OK, EXIT_BLOCKED, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3


def emit(text: str, output: str | None, inputs=(), force: bool = False) -> None:
    """Print ``text`` (also for ``-o -``) or write it atomically to ``output`` (an existing file only with ``force``)."""
    if output is not None and output != "-":
        from ..io.files import write_atomic

        write_atomic(output, text if text.endswith("\n") else text + "\n", inputs=inputs, field="-o", force=force)
    else:
        print(text)


def json_doc(obj) -> str:
    """JSON text for the terminal or ``-o``: non-finite numbers as null, never NaN/Infinity tokens."""
    from ..io.files import json_text

    return json_text(obj, indent=2)


def check_output(args) -> None:
    """Refuse a bad ``-o FILE`` (exists without --force, a folder, unwritable) before any work."""
    if getattr(args, "output", None) is not None and hasattr(args, "force"):
        from ..io.files import check_not_input, check_output_file

        inputs = [getattr(args, k) for k in ("patient", "dose", "rtstruct") if getattr(args, k, None)]
        check_not_input(args.output, inputs, "-o")
        check_output_file(args.output, force=args.force, field="-o")


def check_output_folder(output, inputs, what: str = "the output") -> None:
    """Refuse a bad output folder of ``dose`` / ``report`` before the slow work: ``-`` (standard
    output), an existing file, a path that resolves (symbolic links followed) into an input."""
    from ..errors import OutputError
    from ..io.files import check_not_input

    if str(output) == "-":
        raise InputError("-o", f"{what} is a folder of files; give a folder, not '-' (standard output)")
    try:
        is_file = Path(output).exists() and not Path(output).is_dir()
    except (OSError, ValueError):
        is_file = False
    if is_file:
        raise OutputError("-o", f"{output} is an existing file; expected a folder (a new one, or an empty one)")
    check_not_input(output, inputs, "-o")


def progress(args):
    """A progress printer for slow steps: on stderr when it is a terminal (or --verbose), never with --quiet."""
    if getattr(args, "quiet", False) or not (sys.stderr.isatty() or getattr(args, "verbose", False)):
        return None
    return lambda msg: print(f"y90: {msg}...", file=sys.stderr, flush=True)


def one_line(text, limit: int = 500) -> str:
    """Messages from decoders can span lines: the CLI contract is one line on stderr."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
