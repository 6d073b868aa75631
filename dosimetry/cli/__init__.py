"""The ``y90`` command-line tool: :func:`main` and the parser; one module per subcommand.

Exit status (design brief, "CLI contract"): 0 the case is within every safety limit; 1 it was
computed but a safety limit blocks it, in every command that checks limits (plan, dose, report,
demo: all go through :func:`dosimetry.workflow.assess`; the output names the limit and the largest
safe activity); 2 invalid input (one line on stderr naming the field and what is allowed).

Modules: ``flags`` (the parser, subcommand help, output flags, flag types, flag renaming),
``output`` (exit statuses, printing and writing, output checks, progress), ``uncertainty`` (the
uncertainty flags of plan and report), and one module per subcommand, each with ``add_parser`` and
``run``: decay, plan, session, schedule, dose, dvh, report, cohort, demo, verify.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings

from .. import __version__
from ..errors import InputError
from . import cohort, decay, demo, dose, dvh, plan, report, schedule, session, verify
from .demo import write_demo_patient
from .flags import Parser
from .output import EXIT_BLOCKED, EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, check_output, one_line

__all__ = ["main", "build_parser", "write_demo_patient", "EXIT_OK", "EXIT_BLOCKED", "EXIT_INVALID", "EXIT_INTERNAL"]

#: The subcommands in the order ``y90 --help`` lists them.
COMMANDS = (decay, plan, session, schedule, dose, dvh, report, cohort, demo, verify)


def build_parser() -> argparse.ArgumentParser:
    """The ``y90`` parser: global flags and every subcommand's own (each module's ``add_parser``)."""
    p = Parser(prog="y90", description="Y-90 radioembolization planning and dosimetry (glass and resin microspheres).")
    p.add_argument("--version", action="version", version=f"y90-dosimetry {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="more detail; show tracebacks of internal errors")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress indication")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return p


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup (staged folders, temporary files) runs."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _shown(path) -> str:
    from ..io.files import display_path

    return display_path(path)


def main(argv=None) -> int:
    """Entry point of the ``y90`` command; returns the exit status."""
    import signal
    import threading

    argv = sys.argv[1:] if argv is None else list(argv)
    if hasattr(sys.stdout, "reconfigure"):  # a file name that is not UTF-8, quoted in a summary, is printed with escapes
        sys.stdout.reconfigure(errors="backslashreplace")
    verbose = "--verbose" in argv or "-v" in argv
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    with warnings.catch_warnings():
        if not verbose:
            # Library warnings (pydicom on odd headers, numpy) would print several lines on stderr;
            # the readers check every value they use and return their own notes, which the
            # commands print. --verbose shows them.
            warnings.simplefilter("ignore")
        return _run(argv, verbose, previous)


def _run(argv, verbose: bool, previous) -> int:
    import signal

    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "func", None):
            build_parser().print_help()
            return EXIT_INVALID
        check_output(args)
        return args.func(args)
    except InputError as exc:
        print(f"y90: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_INVALID
    except _Terminated:
        print("y90: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("y90: interrupted", file=sys.stderr)
        return 130
    except RecursionError as exc:  # pathological nesting in an input that a reader did not catch
        print(f"y90: error: input nested too deeply to be read ({one_line(exc, 200)})", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # the system refused a read or a write: disk full, permissions, I/O error
        where = f": {one_line(_shown(exc.filename), 200)}" if getattr(exc, "filename", None) else ""
        print(f"y90: error: {exc.strerror or type(exc).__name__}{where}", file=sys.stderr)
        return EXIT_INVALID
    except MemoryError:
        print("y90: error: not enough memory for this input (a larger image than this machine can hold?)", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # a bug, not a user error: still one line unless --verbose
        if verbose:
            traceback.print_exc()
        print(f"y90: internal error: {type(exc).__name__}: {one_line(exc, 300)} (run with --verbose for details; please report it)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
