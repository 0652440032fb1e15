"""Lexical (BM25) search over chunk texts, with a tokenizer that handles Chinese.

Latin-script text is split into lower-cased words (light plural/possessive stripping); CJK runs
become overlapping character bigrams plus single characters, so ``谁签署了这份协议？`` matches
a Chinese line that the English embedding model cannot place.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9]+(?:[.,][0-9]+)*|\w+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
STOPWORDS = frozenset(
    """
    a an the of to in on at by for from with and or but is are was were be been being it its
    this that these those as into than then so such there their they them he she his her him i
    you we our us do does did done has have had not no nor what which who whom whose when where
    why how all any both each few more most other some can could should would will may might
    must shall about after again against also am because before between during if just only own
    same too very s t don ll ve re over under up down out off
    """.split()
)


_IRREGULAR = {
    "left": "leave", "went": "go", "sold": "sell", "held": "hold", "won": "win", "lost": "lose",
    "grew": "grow", "rose": "rise", "fell": "fall", "began": "begin", "made": "make",
    "gave": "give", "given": "give", "took": "take", "taken": "take", "found": "find",
    "brought": "bring", "bought": "buy", "paid": "pay", "said": "say", "told": "tell",
    "led": "lead", "built": "build", "ran": "run", "kept": "keep", "meant": "mean",
    "sent": "send", "spent": "spend", "met": "meet", "chose": "choose", "chosen": "choose",
    "wrote": "write", "written": "write", "broke": "break", "broken": "break", "spoke": "speak",
    "shrank": "shrink", "forgot": "forget", "thought": "think", "became": "become",
    "children": "child", "people": "person", "men": "man", "women": "woman",
}  # fmt: skip


def fold_accents(text: str) -> str:
    """Latin letters without their accents ("Tomás" -> "Tomas"): a name typed without them is
    the same name. Other scripts are left as they are."""
    if text.isascii():
        return text
    out = []
    for c in text:
        base = unicodedata.normalize("NFD", c)[0]
        out.append(base if base.isascii() and base.isalpha() else c)
    return "".join(out)


def stem(word: str) -> str:
    """A light stem: lower case, accents off, possessive and plural off, common verb endings
    off."""
    w = fold_accents(word.lower().replace("’", "'").strip("'-"))
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace("'", "")
    w = _IRREGULAR.get(w, w)
    if w.isdigit() or len(w) <= 3:
        return w
    if w not in _IRREGULAR.values():
        w = _strip_suffix(w)
        if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "aeiou":
            w = w[:-1]  # "call" / "called", "pass" / "passed", "stop" / "stopped" meet
    return w[:-1] if len(w) > 4 and w.endswith("e") else w


def _strip_suffix(w: str) -> str:
    for suffix, repl in (
        ("ies", "y"), ("ied", "y"), ("ing", ""), ("edly", ""), ("ed", ""), ("es", ""),
        ("ly", ""), ("s", ""),
    ):  # fmt: skip
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            base = w[: -len(suffix)] + repl
            if suffix == "es" and not base.endswith(("s", "x", "z", "ch", "sh")):
                base = w[:-1]  # "releases" -> "release"
            return base
    return w


def _normalise(word: str) -> str:
    low = word.lower().replace("’", "'")
    if low in STOPWORDS or low[:1].isdigit():
        return low
    return stem(low)


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: words (stop words dropped), numbers, CJK bigrams and characters."""
    tokens: list[str] = []
    for m in _TOKEN.finditer(text.replace("’", "'")):
        tok = m.group(0)
        if _CJK_RUN.fullmatch(tok):
            tokens.extend(tok)
            tokens.extend(tok[i : i + 2] for i in range(len(tok) - 1))
            continue
        word = _normalise(tok)
        if word and word not in STOPWORDS:
            tokens.append(word.replace(",", ""))
    return tokens


TOKENIZER = 4
"""Version of :func:`tokenize`; an index saved by another version is re-tokenized on load."""


class LexicalIndex:
    """BM25 over a fixed list of documents (chunk texts), addressed by position."""

    def __init__(self, bm25: object, vocab: dict[str, int], doc_freq: dict[str, int], n_docs: int):
        self._bm25 = bm25
        self._vocab = vocab
        self._doc_freq = doc_freq
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        import bm25s

        corpus_tokens = [tokenize(t) for t in texts]
        bm25 = bm25s.BM25()
        bm25.index(corpus_tokens, show_progress=False)
        doc_freq: Counter[str] = Counter()
        for toks in corpus_tokens:
            doc_freq.update(set(toks))
        return cls(bm25, dict(bm25.vocab_dict), dict(doc_freq), len(texts))

    def save(self, folder: Path) -> None:
        import json

        folder.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(folder), show_progress=False)  # type: ignore[attr-defined]
        (folder / "doc_freq.json").write_text(
            json.dumps({"n_docs": self.n_docs, "df": self._doc_freq, "tokenizer": TOKENIZER}),
            encoding="utf-8",
        )

    @classmethod
    def load(
        cls, folder: Path, texts: Sequence[str] | Callable[[], Sequence[str]] | None = None
    ) -> LexicalIndex:
        """The saved index, its arrays memory-mapped (opening reads no posting list; a query
        pages in those it touches). One saved by another tokenizer version is rebuilt from
        ``texts`` (the chunk texts, in index order, or a function giving them, called only
        then) when they are given."""
        import json

        import bm25s

        meta = json.loads((folder / "doc_freq.json").read_text(encoding="utf-8"))
        if meta.get("tokenizer") != TOKENIZER and texts is not None:
            return cls.build(list(texts() if callable(texts) else texts))
        bm25 = bm25s.BM25.load(str(folder), show_progress=False, mmap=True)
        return cls(bm25, dict(bm25.vocab_dict), meta["df"], int(meta["n_docs"]))

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token (unknown tokens weigh the most)."""
        df = self._doc_freq.get(token, 0)
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def holding(self, token: str) -> np.ndarray:
        """The positions of the documents (chunks) that hold ``token``."""
        tid = self._vocab.get(token)
        scores = getattr(self._bm25, "scores", None)
        if tid is None or not isinstance(scores, dict):
            return np.zeros(0, dtype=np.int64)
        indptr = scores["indptr"]
        return np.asarray(scores["indices"][int(indptr[tid]) : int(indptr[tid + 1])])

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """``(document position, BM25 score)`` of the best ``k`` documents with a positive score."""
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens or self.n_docs == 0:
            return []
        k = min(k, self.n_docs)
        docs, scores = self._bm25.retrieve(  # type: ignore[attr-defined]
            [tokens], k=k, show_progress=False, n_threads=1
        )
        out = [(int(d), float(s)) for d, s in zip(np.ravel(docs), np.ravel(scores), strict=True)]
        return [(d, s) for d, s in out if s > 0]
