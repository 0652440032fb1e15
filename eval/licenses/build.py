"""Build the second evaluation corpus: software licences, as shipped by Debian's ``base-files``.

The texts live in ``/usr/share/common-licenses`` on every Debian and Ubuntu system (package
``base-files``). They are a different kind of document from the news articles in ``corpus/``:
long, hard-wrapped legal text with numbered sections, near-identical wording across versions
(GPL-2 vs GPL-3, LGPL-2.1 vs LGPL-3) and defined terms. Each file is copied byte for byte and
given a ``.txt`` suffix; the copy is committed in ``eval/licenses/corpus/`` so the labelled sets
stay valid, and ``python eval/licenses/build.py --check`` confirms that the committed copy still
equals the installed package's files.

    python eval/licenses/build.py            # (re)write eval/licenses/corpus/
    python eval/licenses/build.py --check    # exit 1 if the committed copy differs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SOURCE = Path("/usr/share/common-licenses")
FILES = ("GPL-2", "GPL-3", "LGPL-2.1", "LGPL-3", "Apache-2.0", "MPL-2.0", "BSD", "CC0-1.0", "Artistic")
HERE = Path(__file__).resolve().parent
TARGET = HERE / "corpus"


def build(source: Path = SOURCE, target: Path = TARGET) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        out = target / f"{name}.txt"
        out.write_bytes((source / name).read_bytes())
        written.append(out)
    return written


def differences(source: Path = SOURCE, target: Path = TARGET) -> list[str]:
    return [
        name
        for name in FILES
        if not (target / f"{name}.txt").is_file()
        or (target / f"{name}.txt").read_bytes() != (source / name).read_bytes()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    if not SOURCE.is_dir():
        print(f"error: {SOURCE} not found (Debian package base-files)", file=sys.stderr)
        return 1
    if args.check:
        diff = differences()
        for name in diff:
            print(f"differs: {name}", file=sys.stderr)
        return 1 if diff else 0
    for path in build():
        print(path.relative_to(HERE.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
