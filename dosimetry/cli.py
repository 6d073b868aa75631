"""The ``y90`` command (placeholder; filled in by the planning-core work)."""

from __future__ import annotations

import sys


def main(argv=None) -> int:
    print("y90: not implemented yet", file=sys.stderr)
    return 2
