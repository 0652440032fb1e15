"""Rebuild ``common_words.txt`` from WordNet 3.0 as Debian ships it (package ``wordnet-base``).

    python -m rag.data.build_common_words            # fetches the .deb with apt-get download
    python -m rag.data.build_common_words /usr/share/wordnet

Keeps WordNet's single-word lemmas (nouns, verbs, adjectives, adverbs) that the SemCor corpus
tags at least once and that WordNet never writes with a capital: ordinary words ("operator",
"staff", "afterwards"), not names, nor words that are also names ("Smith", "Bell", "Brown").
The checker (:mod:`rag.verify`) reads a claim's first word, capitalised by its place, as no
name when the file lists it. WordNet's licence allows copying with its notice, which the file
carries.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from rag.data.build_antonyms import wordnet_dir

HERE = Path(__file__).parent
OUT = HERE / "common_words.txt"
NOTICE = """# Ordinary English words: WordNet 3.0 single-word lemmas tagged in SemCor, never capitalised.
# Built by rag/data/build_common_words.py from Debian's wordnet-base package.
# WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
# THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
# REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. The name of Princeton University or
# Princeton may not be used in advertising or publicity pertaining to distribution of the
# software and/or database. (Full licence: https://wordnet.princeton.edu/license-and-commercial-use)
"""
POS = ("noun", "verb", "adj", "adv")


def words(dict_dir: Path) -> list[str]:
    """The ordinary words of WordNet in ``dict_dir``, sorted."""
    lower: set[str] = set()
    capital: set[str] = set()
    for pos in POS:
        for line in (dict_dir / f"data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue  # the licence header
            f = line.split(" | ")[0].split()
            for i in range(int(f[3], 16)):
                word = f[4 + 2 * i].split("(")[0]  # adjectives may carry a marker: "(p)"
                if word.isalpha():
                    (lower if word.islower() else capital).add(word.lower())
    tagged: set[str] = set()
    for pos in POS:
        for line in (dict_dir / f"index.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue
            f = line.split()
            if int(f[5 + int(f[3])]) > 0:  # tagsense_cnt, after the pointer symbols
                tagged.add(f[0])
    return sorted((lower - capital) & tagged)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        found = words(wordnet_dir(argv, tmp))
    OUT.write_text(NOTICE + "".join(f"{w}\n" for w in found), encoding="utf-8")
    print(f"{len(found)} words -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
