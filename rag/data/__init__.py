"""Data files the code reads (word lists), each with the script that rebuilds it."""

import functools
from pathlib import Path

COMMON_WORDS_FILE = Path(__file__).parent / "common_words.txt"
"""Ordinary English words that are never names (WordNet; ``rag.data.build_common_words``)."""


@functools.cache
def common_words() -> frozenset[str]:
    """The words of :data:`COMMON_WORDS_FILE`."""
    lines = COMMON_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


def is_common_word(word: str) -> bool:
    """Whether ``word`` is an ordinary English word that is never a name ("Operators",
    "Afterwards", "Compressed"), in any of its usual endings; not "Smith" or "Bell", which
    WordNet also writes as names."""
    low = word.lower()
    forms = {low}
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("d", ""),
                         ("ing", ""), ("ing", "e")):  # fmt: skip
        if low.endswith(suffix) and len(low) - len(suffix) >= 3:
            stem = low[: -len(suffix)] + repl
            forms.add(stem)
            if len(stem) > 3 and stem[-1] == stem[-2]:
                forms.add(stem[:-1])  # "stopped" -> "stop"
    words = common_words()
    return any(f in words for f in forms)
