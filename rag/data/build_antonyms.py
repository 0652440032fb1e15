"""Rebuild ``antonyms.tsv`` from WordNet 3.0 as Debian ships it (package ``wordnet-base``).

    python -m rag.data.build_antonyms            # fetches the .deb with apt-get download
    python -m rag.data.build_antonyms /usr/share/wordnet

Keeps WordNet's direct antonym pointers ("!") between single-word verbs and between single-word
adjectives (e.g. "accept / reject", "increase / decrease", "legal / illegal"), one pair per line,
sorted. The checker (:mod:`rag.alignment`) reads the file as a list of opposite words. WordNet's
licence (below) allows copying with its notice, which the file carries.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "antonyms.tsv"
NOTICE = """# Opposite words: WordNet 3.0 direct antonyms (verbs, adjectives), single words only.
# Built by rag/data/build_antonyms.py from Debian's wordnet-base package.
# WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
# THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
# REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. The name of Princeton University or
# Princeton may not be used in advertising or publicity pertaining to distribution of the
# software and/or database. (Full licence: https://wordnet.princeton.edu/license-and-commercial-use)
"""


def pairs(dict_dir: Path, pos: str) -> set[tuple[str, str]]:
    """Direct antonym pairs of one part of speech (``verb``, ``adj``) from ``data.<pos>``."""
    words: dict[str, list[str]] = {}
    pointers: list[tuple[str, int, str, int]] = []
    for line in (dict_dir / f"data.{pos}").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue  # the licence header
        f = line.split(" | ")[0].split()
        offset, n = f[0], int(f[3], 16)
        # adjective words may carry a marker such as "(p)"
        words[offset] = [f[4 + 2 * i].split("(")[0].lower() for i in range(n)]
        i = 4 + 2 * n
        for _ in range(int(f[i])):
            symbol, target, _pos, st = f[i + 1 : i + 5]
            i += 4
            if symbol == "!":
                pointers.append((offset, int(st[:2], 16), target, int(st[2:], 16)))
    out = set()
    for offset, s, target, t in pointers:
        if s == 0 or t == 0 or target not in words:
            continue
        a, b = words[offset][s - 1], words[target][t - 1]
        if a.isalpha() and b.isalpha() and a != b:
            out.add((min(a, b), max(a, b)))
    return out


def wordnet_dir(argv: list[str], tmp: str) -> Path:
    """WordNet's ``dict`` folder: the one named in ``argv``, else Debian's ``wordnet-base``
    fetched with ``apt-get download`` and unpacked into ``tmp``."""
    if argv:
        return Path(argv[0])
    subprocess.run(["apt-get", "download", "wordnet-base"], cwd=tmp, check=True)
    deb = next(Path(tmp).glob("wordnet-base_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(tmp) / "x")], check=True)
    return Path(tmp) / "x" / "usr" / "share" / "wordnet"


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        dict_dir = wordnet_dir(argv, tmp)
        found = sorted(pairs(dict_dir, "verb") | pairs(dict_dir, "adj"))
    OUT.write_text(NOTICE + "".join(f"{a}\t{b}\n" for a, b in found), encoding="utf-8")
    print(f"{len(found)} pairs -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
