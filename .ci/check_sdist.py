"""Check that an sdist holds every file git tracks (but .ci/ and .gitignore), so its tests can run.

    python .ci/check_sdist.py dist/y90_dosimetry-0.1.0.tar.gz

Exit 1 with the missing files listed. An sdist may hold more (PKG-INFO, setup.cfg, *.egg-info).
"""

import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_SHIPPED = (".ci/", ".gitignore")


def main(argv: list[str]) -> int:
    (sdist,) = argv
    with tarfile.open(sdist) as tar:
        shipped = {"/".join(m.name.split("/")[1:]) for m in tar.getmembers() if m.isfile()}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\n")
    expected = {f for f in tracked if f and not f.startswith(NOT_SHIPPED)}
    missing = sorted(expected - shipped)
    for f in missing:
        print(f"not in the sdist: {f}")
    print(f"check_sdist: {len(expected)} tracked files, {len(missing)} missing from {Path(sdist).name}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
