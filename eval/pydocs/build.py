"""Build the third evaluation corpus: topics of the Python language reference, as shipped by Debian.

Debian's ``libpython3.11-stdlib`` installs ``/usr/lib/python3.11/pydoc_data/topics.py``: the
plain-text form of the Python documentation's reference topics that ``help("try")`` prints. They
are a third kind of document beside the news articles (``corpus/``) and the licences
(``eval/licenses/``): technical reference prose with grammar rules, indented code examples,
footnotes and cross-references, where several topics explain the same mechanism from different
sides (``try``, ``raise`` and ``exceptions``; ``function`` and ``class``; ``import`` and
``execmodel``). Each chosen topic is written byte for byte (UTF-8) to ``<topic>.txt``; the copy is
committed in ``eval/pydocs/corpus/`` so the labelled sets stay valid, and
``python eval/pydocs/build.py --check`` confirms that it still equals the installed package.

The text is the Python documentation (Copyright Python Software Foundation, PSF License
Agreement; https://docs.python.org/3/license.html).

    python eval/pydocs/build.py            # (re)write eval/pydocs/corpus/
    python eval/pydocs/build.py --check    # exit 1 if the committed copy differs
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

SOURCE = Path("/usr/lib/python3.11/pydoc_data/topics.py")
TOPICS = (
    "try",
    "raise",
    "exceptions",
    "with",
    "for",
    "import",
    "execmodel",
    "function",
    "class",
    "debugger",
)
HERE = Path(__file__).resolve().parent
TARGET = HERE / "corpus"


def topics(source: Path = SOURCE) -> dict[str, str]:
    """The ``topics`` dict of ``pydoc_data/topics.py``, read as a literal (nothing is imported)."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "topics" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, dict):
                return {str(k): str(v) for k, v in value.items()}
    raise ValueError(f"{source}: no topics dict")


def build(source: Path = SOURCE, target: Path = TARGET) -> list[Path]:
    texts = topics(source)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TOPICS:
        out = target / f"{name}.txt"
        out.write_bytes(texts[name].encode("utf-8"))
        written.append(out)
    return written


def differences(source: Path = SOURCE, target: Path = TARGET) -> list[str]:
    texts = topics(source)
    return [
        name
        for name in TOPICS
        if not (target / f"{name}.txt").is_file()
        or (target / f"{name}.txt").read_bytes() != texts[name].encode("utf-8")
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    if not SOURCE.is_file():
        print(f"error: {SOURCE} not found (Debian package libpython3.11-stdlib)", file=sys.stderr)
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
