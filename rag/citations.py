"""Turning a model's ``[n]`` markers into numbered citations that resolve to exact source spans.

Markers that point at no evidence are removed and reported; citations are numbered from 1 in the
order they first appear, and the same source sentence cited twice keeps one number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.chunking import sentence_spans
from rag.schema import Citation, Evidence, Span

MARKER = re.compile(
    r"\[\s*(?:(?:passage|source|doc)\s*)?(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]", re.I
)
"""``[2]``, ``[2, 3]``, ``[Passage 2]``: one marker, one or more numbers."""
_MARKER_RUN = r"(?:\s*\[[^\[\]\n]{1,24}\])+"
_BETWEEN_MARKERS = re.compile(
    r"\]\s*(?:,|;|&|and)\s*(?=\[\s*(?:(?:passage|source|doc)\s*)?\d)", re.I
)
"""``[1], [2]`` / ``[1] and [2]``: what joins two markers of one run."""
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+", re.M)
_TRAILING_MARKERS = re.compile(r"([.!?。！？])(" + _MARKER_RUN + r")")


SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?。！？])(?![A-Za-z0-9])")
"""The space a removed marker or citation leaves before the punctuation after it ("left [1]."
-> "left."), not the one before a name that starts with a dot (".xz files", "the .7z format")."""


def strip_markers(text: str) -> str:
    """``text`` without any ``[n]`` marker (used on questions and for checking claims)."""
    text = re.sub(r"[ \t]*" + MARKER.pattern, "", text, flags=re.I)
    return SPACE_BEFORE_PUNCT.sub(r"\1", text).strip()


def marker_numbers(marker_body: str) -> list[int]:
    return [int(x) for x in re.split(r"\s*[,;]\s*", marker_body.strip()) if x]


def evidence_citation(ev: Evidence | Span, n: int, quote: str | None = None) -> Citation:
    text = quote if quote is not None else getattr(ev, "text", "")
    return Citation(
        n=n,
        file=ev.file,
        line_start=ev.line_start,
        line_end=ev.line_end,
        char_start=ev.char_start,
        char_end=ev.char_end,
        quote=text,
        page=ev.page,
        heading=ev.heading,
        instruction=getattr(ev, "instruction", False),
    )


@dataclass
class CitedSentence:
    """One sentence of an answer: its text without markers, and its citation numbers."""

    text: str
    citations: list[int] = field(default_factory=list)

    def render(self) -> str:
        marks = "".join(f"[{n}]" for n in self.citations)
        if not marks:
            return self.text
        body = self.text.rstrip()
        end = ""
        while body and body[-1] in ".!?。！？":
            end = body[-1] + end
            body = body[:-1]
        return f"{body.rstrip()} {marks}{end}"


@dataclass
class ParsedAnswer:
    sentences: list[CitedSentence]
    citations: list[Citation]
    dropped_markers: list[str]

    @property
    def text(self) -> str:
        return " ".join(s.render() for s in self.sentences)


class Renumberer:
    """Maps evidence numbers to citation numbers in order of first appearance."""

    def __init__(self, evidence: list[Evidence]) -> None:
        self.by_n = {e.n: e for e in evidence}
        self.number: dict[tuple[str, int, int], int] = {}
        self.citations: list[Citation] = []
        self.dropped: list[str] = []

    def cite(self, evidence_n: int) -> int | None:
        ev = self.by_n.get(evidence_n)
        if ev is None:
            self.dropped.append(f"[{evidence_n}]")
            return None
        key = (ev.file, ev.char_start, ev.char_end)
        if key not in self.number:
            self.number[key] = len(self.citations) + 1
            self.citations.append(evidence_citation(ev, self.number[key]))
        return self.number[key]

    def replace(self, text: str) -> str:
        """``text`` with each marker renumbered (unknown numbers removed)."""

        def sub(m: re.Match[str]) -> str:
            nums = [self.cite(n) for n in marker_numbers(m.group(1))]
            return "".join(f"[{n}]" for n in dict.fromkeys(x for x in nums if x is not None))

        return MARKER.sub(sub, text)


class StreamRenumberer:
    """Renumbers markers in streamed text, holding back only an unfinished ``[...``."""

    def __init__(self, renumberer: Renumberer) -> None:
        self.r = renumberer
        self.buffer = ""

    def feed(self, delta: str) -> str:
        self.buffer += delta
        cut = self.buffer.rfind("[")
        if cut != -1 and "]" not in self.buffer[cut:] and len(self.buffer) - cut < 24:
            ready, self.buffer = self.buffer[:cut], self.buffer[cut:]
        else:
            ready, self.buffer = self.buffer, ""
        return self.r.replace(ready)

    def flush(self) -> str:
        ready, self.buffer = self.buffer, ""
        return self.r.replace(ready)


def parse_answer(raw: str, evidence: list[Evidence]) -> ParsedAnswer:
    """Split a model's answer into sentences and resolve their markers against the evidence."""
    text = _BULLET.sub("", raw.strip())
    text = _BETWEEN_MARKERS.sub("]", text)  # "x. [1], [2]" -> "x. [1][2]"
    text = _TRAILING_MARKERS.sub(lambda m: m.group(2) + m.group(1), text)  # "x. [2]" -> "x [2]."
    r = Renumberer(evidence)
    sentences: list[CitedSentence] = []
    for a, b in sentence_spans(text):
        part = text[a:b]
        nums: list[int] = []
        for m in MARKER.finditer(part):
            for n in marker_numbers(m.group(1)):
                cited = r.cite(n)
                if cited is not None and cited not in nums:
                    nums.append(cited)
        clean = strip_markers(part)
        if not clean.strip(" .!?"):
            # a stray marker on its own attaches to the sentence before it
            if sentences and nums:
                sentences[-1].citations.extend(x for x in nums if x not in sentences[-1].citations)
            continue
        sentences.append(CitedSentence(clean, nums))
    return ParsedAnswer(sentences, r.citations, r.dropped)
