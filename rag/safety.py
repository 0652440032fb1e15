"""Hostile document text, made harmless: control characters for terminals, and passages that
address the assistant (prompt injection) recognised so that they are never taken as evidence.

Two independent tools, both pure functions of text:

- :func:`terminal_safe` makes every control character visible (C0 and C1 except newline and tab,
  ``ESC`` sequences, DEL, bidirectional overrides), so a document cannot move the cursor, rewrite a
  line, set the window title or fake a verdict when its text is printed. The CLI applies it once,
  at the printing edge; JSON and the files on disk keep the exact text.
- :func:`instruction_spans` finds the parts of a document that speak to the assistant ("SYSTEM:",
  "ignore previous instructions", "always say ... and cite [3]", "the answer is ..."), widened to
  the neighbouring sentences of the same paragraph. Those parts are shown to the model as quoted
  material only and never count as support for a claim on their own.

The patterns are generic: they describe how an instruction to a model is worded, never what any
particular document says.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel

from rag.chunking import sentence_spans

# --- terminal-safe text ---------------------------------------------------------------------

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + _BIDI + "]")


def _visible(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ for ESC, ␍ for CR, ...
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def terminal_safe(text: str) -> str:
    """``text`` with every control character that a terminal would act on made visible:
    C0 (except newline and tab) as control pictures (``␛``, ``␍``), DEL as ``␡``, C1 and
    bidirectional overrides as ``<U+009B>``. Printable text is unchanged."""
    return _CONTROL.sub(_visible, text)


def one_line(text: str) -> str:
    """``text`` on one line: control characters visible, newlines and tabs as ``↵`` and ``⇥``
    (for file names in footnotes and table cells)."""
    return terminal_safe(text).replace("\r\n", "↵").replace("\n", "↵").replace("\t", "⇥")


_JSON_UNSAFE = re.compile("[\x7f-\x9f" + _BIDI + "]")


def json_text(encoded: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with C1 controls and bidi
    overrides written as ``\\uXXXX`` escapes: the decoded strings are exactly the same, but the
    raw output can be printed to a terminal. (``json.dumps`` already escapes C0 and ESC.)"""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", encoded)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return terminal_safe(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_clean(v) for v in value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


M = TypeVar("M", bound=BaseModel)


def terminal_safe_model(model: M) -> M:
    """A copy of a pydantic model with :func:`terminal_safe` applied to every string in it (what
    a surface renders for a terminal; the original keeps the exact text)."""
    return type(model).model_validate(_clean(model.model_dump()))


# --- instructions addressed to the assistant ------------------------------------------------

_WHO = r"(?:ai|a\.i\.|assistants?|chat ?bots?|bots?|language models?|llms?|models?|gpt|agents?)"
_SAY = (
    r"(?:say|state|answer|respond|reply|write|claim|report|mention|cite|tell|output|print"
    r"|assert|repeat|conclude)"
)
_INSTRUCTION_PATTERNS = [
    # a role label or a note addressed to a model, at the start of a line or sentence
    r"^\W*(?:system|assistant|developer|admin(?:istrator)?|instructions?|prompt|override)"
    r"(?:\s+(?:prompt|message|note|instructions?|override|update))?\s*[:>\]-]",
    r"^\W*(?:\[|<|#+\s*)?(?:system|inst|instructions?)\s*(?:\]|>)",
    rf"\b(?:note|message|attention|instructions?|reminder)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?{_WHO}",
    rf"\b(?:dear|hey|hello|attention)\s+(?:the\s+)?{_WHO}\b",
    rf"\b(?:if|when|whenever)\s+(?:you\s+are|you're)\s+(?:an?\s+)?{_WHO}\b",
    rf"\b(?:any|all|every)\s+{_WHO}\s+(?:reading|processing|summari[sz]ing|answering|that reads|must|should)",
    rf"\bas\s+an?\s+{_WHO}\b",
    # overriding what came before
    r"\b(?:ignore|disregard|forget|override|overrule|bypass)\b[^.!?\n]{0,40}"
    r"\b(?:previous|prior|above|earlier|preceding|other|all|any|your|the)\b[^.!?\n]{0,30}"
    r"\b(?:instructions?|rules?|prompts?|passages?|sources?|context|documents?|guidelines?|directions?)",
    r"\b(?:new|updated|real|actual|hidden|secret)\s+(?:system\s+)?(?:instructions?|rules?|prompt|directives?)\b",
    # telling the reader how to answer
    rf"\b(?:always|must|should|never|only|be sure to|make sure (?:to|you)|remember to"
    rf"|do not|don't|you are to|you will)\s+(?:\w+\s+){{0,2}}{_SAY}\b[^.!?\n]{{0,80}}"
    r"(?:\[\s*\d+\s*\]|\banswer|\bquestion|\buser|\bpassage|\bsource|\bcitation|\bcite|\bthat\b|\bthis\b|:)",
    r"\b(?:when|if|whenever)\s+(?:you\s+are\s+|you're\s+)?(?:asked|questioned|answering|responding|replying)\b",
    r"\b(?:the|your)\s+(?:correct|right|true|real|final|only|official)?\s*(?:answer|response|reply)"
    r"\s+(?:is|should be|must be|will be)\b",
    r"\b(?:answer|respond|reply)\s+(?:with|only with|exactly)\b",
    r"\b(?:the|your)\s+(?:correct|right|true|real|final|only|official)\s+(?:answer|response|reply)\b"
    r"[^!?\n]{0,60}?\b(?:is|should be|must be|will be)\b",
    r"^\W*(?:cite|quote|say|state|answer|respond|reply|mention|tell)\s+"
    r"(?:this|that|it|only|exactly|with|the user|them)\b",
    # "repeat" and "write" are a manual's words too ("Repeat it to print more", "Write it to
    # disk", "Repeat this option ..."): only "this", "that", "only", "exactly" said of no thing
    r"^\W*(?:repeat|write)\s+(?:this|that|only|exactly|the user)\b"
    r"(?!\s+(?:option|flag|switch|command|step|procedure|process|key|line|file|value|setting"
    r"|test|operation|action|block|entry|field|record|data|byte|character)s?\b)",
    r"\bcite\s+(?:passage|source|document)?\s*\[\s*\d+\s*\]",
    r"\b(?:tell|inform)\s+the\s+user\b",
    r"\bdo\s+not\s+(?:reveal|mention|disclose)\s+(?:this|these)\b",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.I | re.M)

NEIGHBOURS = 2
"""Sentences on each side of an instruction (within its paragraph) that are treated as part of
it: an injected note usually states its false fact next to the sentence that says to repeat it."""


def is_instruction(text: str) -> bool:
    """Whether ``text`` addresses the assistant (tells it what to say, answer, cite or ignore)."""
    return _INSTRUCTION.search(text) is not None


def _paragraphs(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in re.finditer(r"\n[ \t]*\n", text):
        out.append((start, m.start()))
        start = m.end()
    out.append((start, len(text)))
    return out


def instruction_spans(text: str) -> list[tuple[int, int]]:
    """``[a, b)`` character ranges of ``text`` that address the assistant: each sentence that does,
    with up to :data:`NEIGHBOURS` sentences either side of it in the same paragraph; merged."""
    if not _INSTRUCTION.search(text):
        return []
    found: list[tuple[int, int]] = []
    for pa, pb in _paragraphs(text):
        spans = [(a + pa, b + pa) for a, b in sentence_spans(text[pa:pb])]
        hits = [i for i, (a, b) in enumerate(spans) if is_instruction(text[a:b])]
        for i in hits:
            lo, hi = max(0, i - NEIGHBOURS), min(len(spans) - 1, i + NEIGHBOURS)
            found.append((spans[lo][0], spans[hi][1]))
    found.sort()
    merged: list[tuple[int, int]] = []
    for a, b in found:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def overlaps_any(spans: list[tuple[int, int]], a: int, b: int) -> bool:
    """Whether ``[a, b)`` overlaps any of ``spans``."""
    return any(x < b and a < y for x, y in spans)
