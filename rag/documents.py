"""Which documents a question names: "under version 3 of the GPL", "in the Apache License",
"the 2023 annual report".

Each document is known by its name: its file name and the first lines of its text (a title, a
version line, a date), with the initials of capitalised runs in them ("GNU General Public
License" is also "GPL"). A question's words are matched against every document's name, each
word weighted by how few documents it names (a word in every name, like "licence" in a folder of
licences, names none). Retrieval lifts the named documents' passages (:mod:`rag.retrieval`),
so that where several documents say nearly the same thing, the one the question names answers.

Nothing here knows any document: only how documents are commonly named.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from rag.lexical import tokenize

NAME_LINES = 3
"""At most this many first non-blank lines of a document are part of its name: the first line
(a title) and the short lines right after it (a version, a date)."""
SHORT_LINE = 60
"""A line after the first is part of the name only when it is this short (prose is not)."""
NAME_WORDS = 8
"""A first line of more words is a headline or prose, not a name."""
_NAME_JOINERS = frozenset("a an the of and for in on to de la von van".split())
NAMED_MIN = math.log(2)
"""A document is named only through a name word of the question (capitalised, an acronym) that
weighs at least this much: one found in at most half of the documents' names. Words that
many documents' names share ("Mars" in a folder of reports on Mars) name none."""
COMMON_TEXT_SHARE = 0.75
"""A name word found in the text of at least this share of the documents is no distinctive name
word: it says what the whole folder is about ("Python" in a folder of Python reference topics,
one of which is called "The Python Debugger"), not which of its documents to read."""
NAMED_SHARE = 0.6
"""Documents named less than this share of the best-named one are not named (two documents
named equally are both named: "the BSD licence and the Artistic License")."""
_RUN_BREAK = frozenset("version edition revision part chapter section volume vol no v".split())
_LETTER = re.compile(r"[^\W\d_]")
_CAPITALISED = re.compile(r"[A-Z][A-Za-z]*")
_NAME_WORD = re.compile(r"[A-Z][A-Za-z0-9\u00c0-\u024f'’]*|[A-Za-z]*\d[A-Za-z0-9.]*")
"""What names a document in a question: a capitalised word, an acronym, a number ("GPL",
"Apache", "2.1"); lower-case words say what the question is about, not where to look."""


FREQUENT_NAMES = 30
"""At most this many of the documents' own names are listed (:func:`frequent_names`)."""
_MID_NAME = re.compile(
    r"(?<=[a-z0-9,;:)\u2019'\"] )(?:[A-Z][a-z]+[A-Za-z]*|[A-Z]{2,6})(?![A-Za-z])"
)
"""A capitalised word or an acronym after a lower-case word, a figure or a comma: a name,
not a sentence's first word."""
_LOWER_WORD = re.compile(r"\b[a-z]+\b")


def frequent_names(texts: Iterable[str], limit: int = FREQUENT_NAMES) -> list[str]:
    """The names the texts use most (people, products, organisations, acronyms): capitalised
    words met inside a sentence in at least two texts, and in more texts than written in lower
    case, by how many texts hold them. Given to the model that translates a question, so that a
    name asked in another script is written the way the documents write it."""
    count: dict[str, int] = {}
    lower: dict[str, int] = {}
    for text in texts:
        for word in set(_LOWER_WORD.findall(text)):
            lower[word] = lower.get(word, 0) + 1
        for word in set(_MID_NAME.findall(text)):
            count[word] = count.get(word, 0) + 1
    names = [w for w, n in count.items() if n >= 2 and n > lower.get(w.lower(), 0)]
    return sorted(names, key=lambda w: (-count[w], w))[:limit]


def name_lines(first_text: str) -> list[str]:
    """The lines of a document's text that name it: its first non-blank line when that reads
    as a name (:func:`is_name`), and the short lines right after it (a version, a date); none
    when the first line is a headline or prose."""
    lines = [ln.strip() for ln in first_text.splitlines() if ln.strip()][:NAME_LINES]
    if not lines or not is_name(lines[0]):
        return []
    name = lines[:1]
    for ln in lines[1:]:
        if len(ln) > SHORT_LINE:
            break
        name.append(ln)
    return name


def name_text(first_text: str, file: str) -> str:
    """What a document is called: its file name (without folders or extension, separators as
    spaces) and its :func:`name_lines`. A headline is no name: "Qwen Model on the Brink?" says
    what an article is about, and a question about that is no question about that article."""
    stem = PurePosixPath(file).stem
    return "\n".join([re.sub(r"[-_]+", " ", stem), *name_lines(first_text)])


def is_name(line: str) -> bool:
    """Whether a title line is a name ("GNU GENERAL PUBLIC LICENSE", "The Artistic License",
    "Annual Report 2023"): short, no question or exclamation, its words mostly capitalised;
    not a headline written as a sentence."""
    words = re.findall(r"[^\W\d_][\w'’-]*", line)
    if not words or len(words) > NAME_WORDS or len(line) > SHORT_LINE or re.search(r"[?!]", line):
        return False
    small = [w for w in words if w.lower() in _NAME_JOINERS]
    capitalised = [w for w in words if w[0].isupper()]
    return len(capitalised) >= 0.75 * (len(words) - len(small))


def initials(text: str) -> set[str]:
    """Initials of each run of two or more capitalised words ("GNU Lesser General Public
    License" → "GLGPL", and without its first word "LGPL"), three letters or more."""
    out: set[str] = set()
    for line in text.splitlines():
        run: list[str] = []
        for word in [*re.findall(r"[\w'’-]+", line), ""]:
            if _CAPITALISED.fullmatch(word) and word.lower() not in _RUN_BREAK:
                run.append(word)
                continue
            if len(run) >= 2:
                letters = "".join(w[0] for w in run).lower()
                out.update(x for x in (letters, letters[1:]) if len(x) >= 3)
            run = []
    return out


def label(first_text: str, file: str) -> str:
    """A short name to show a model beside a passage: the file name without folders or
    extension, and the title when it reads as a name ("GPL-3 (GNU GENERAL PUBLIC LICENSE)")."""
    stem = PurePosixPath(file).stem
    lines = name_lines(first_text)
    return f"{stem} ({lines[0]})" if lines else stem


def name_tokens(first_text: str, file: str) -> set[str]:
    """The tokens of a document's name (:func:`name_text`) and its initials, as
    :func:`rag.lexical.tokenize` writes them."""
    text = name_text(first_text, file)
    return set(tokenize(text)) | set(tokenize(" ".join(initials(text))))


@dataclass
class DocumentNames:
    """The names of the documents of an index, and the weight of each name word."""

    names: Mapping[str, set[str]]
    """File → the tokens of its name."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """File → :func:`label`."""
    in_texts: Mapping[str, int] = field(default_factory=dict)
    """Name token → how many documents' texts hold it (unknown: none are counted)."""
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.names)
        counts: dict[str, int] = {}
        for tokens in self.names.values():
            for t in tokens:
                counts[t] = counts.get(t, 0) + 1
        self.weights = {t: math.log(n / c) for t, c in counts.items() if c < n}

    def _distinctive(self, token: str) -> bool:
        """Whether a name token can name a document on its own: a word (not a number) that
        not nearly every document's text uses (:data:`COMMON_TEXT_SHARE`)."""
        common = self.in_texts.get(token, 0) >= COMMON_TEXT_SHARE * len(self.names)
        return bool(_LETTER.search(token)) and not common

    def named(self, question: str) -> dict[str, float]:
        """The documents ``question`` names, each with how clearly (0..1, 1 for the best
        named); empty when it names none."""
        words = _NAME_WORD.findall(question)
        asked = set(tokenize(" ".join(words)))
        if not asked or len(self.names) < 2:
            return {}
        scores: dict[str, float] = {}
        for f, tokens in self.names.items():
            found = {t: self.weights.get(t, 0.0) for t in asked & tokens}
            # one distinctive name word at least (a number alone names nothing: "9" in a file
            # name is no answer to "what happened on March 9?")
            if any(w >= NAMED_MIN for t, w in found.items() if self._distinctive(t)):
                scores[f] = sum(found.values())
        if not scores:
            return {}
        best = max(scores.values())
        return {f: s / best for f, s in scores.items() if s >= NAMED_SHARE * best}
