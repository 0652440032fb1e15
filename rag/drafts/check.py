"""Checking a writer's draft: every sentence that states a fact is tested against the source lines
it cites, and a sentence that cites nothing is looked up in the corpus.

A draft is Markdown or plain text. Citations are written ``[file:line]`` or ``[file:line-line]``
(``file`` relative to the corpus root, or a unique prefix of its name: ``[003:31]``), several in
one bracket separated by ``;`` or ``,`` (``[003:31; 001:4-5]``), or as Markdown footnotes whose
definition reads ``[^1]: file, lines 4-5: "..."`` (what :func:`draft_markdown` writes, so a
footnoted draft can be checked again).

For each claim sentence:

- cited: the cited lines are read from the corpus file and the claim is tested against the best
  sentence (or pair of sentences) within them, or all of them when they are short
  (:class:`rag.verify.Checker`). A file that does not exist, an ambiguous file prefix or a line
  past the end is a ``bad_citation``, never a crash. When the cited lines do not support the claim,
  the corpus is searched for lines that do (``alternative``).
- uncited: the corpus is searched (the hybrid retrieval of :mod:`rag.retrieval`) and the best few
  evidence sentences are tested; the first that supports the claim is proposed as its source
  (verdict ``supported``, ``citation_written=None``), else the verdict is ``not_found``.

Work per sentence is bounded (a few chunks, a few evidence sentences, at most a few judge calls),
so a draft of thousands of sentences takes time linear in its length.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rag.config import Settings
from rag.drafts.parse import DraftError, ParsedSentence, parse_draft
from rag.drafts.schema import DraftReport, DraftSentence, ProgressFn
from rag.errors import LLMError, WeightsError, user_message
from rag.index.status import corpus_root, snapshot_dir
from rag.llm.base import Judge
from rag.schema import Citation
from rag.sources import CorpusFiles
from rag.verify import SURE_THRESHOLD, Checker, check_rules, find_support, numbers_in, rule_rank

MAX_CITATIONS = 3
"""Most written citations of one sentence that are tested (the checker reads three)."""
SEARCH_CHUNKS = 8
"""Chunks retrieved per uncited sentence (the question-answering default is 12)."""
SEARCH_EVIDENCE = 4
"""Evidence sentences tested per uncited sentence."""
JUDGE_CALLS = 2
"""Most judge calls spent looking for a source of one sentence."""
ALTERNATIVE_JUDGE_CALLS = 1
"""Most judge calls spent looking for other lines when what a sentence cites fails."""
EMBED_BATCH = 32
"""Uncited sentences embedded together (one batch is much cheaper than one call each)."""
CONFLICT_COVERAGE = 0.5
"""Share of a claim's words a passage must hold to count as stating another value of it."""


def _narrowest(claim: str, candidates: list[Citation]) -> Citation:
    """The candidate whose text best holds the claim by the rules (shortest of equals)."""
    return max(candidates, key=lambda c: rule_rank(claim, [c]))


# --- searching ----------------------------------------------------------------------------------


class _Searcher:
    """Looks sentences up in the index: embeddings made in batches, a few chunks per sentence,
    each distinct sentence searched once."""

    def __init__(self, settings: Settings, corpus: CorpusFiles) -> None:
        self.settings = settings
        self.corpus = corpus
        self.vectors: dict[str, list[float]] = {}
        self.found: dict[str, list[Citation]] = {}
        self.handle: Any = None
        self.error: str | None = None
        self.stale = False
        self._opened = False

    def _open(self) -> bool:
        if not self._opened:
            self._opened = True
            from rag.index.store import StoreError
            from rag.retrieval import open_index

            try:
                self.handle = open_index(self.settings)
            except StoreError as exc:
                self.error = str(exc).splitlines()[0]
        return self.handle is not None

    def _vector(self, claim: str, upcoming: list[str]) -> list[float]:
        if claim not in self.vectors:
            todo = [c for c in dict.fromkeys([claim, *upcoming]) if c not in self.vectors]
            todo = todo[:EMBED_BATCH]
            vecs = self.handle.embedder.encode(todo)
            for c, v in zip(todo, vecs, strict=True):
                self.vectors[c] = [float(x) for x in v]
        return self.vectors.pop(claim)

    def candidates(self, claim: str, upcoming: list[str]) -> list[Citation] | None:
        """Evidence for ``claim`` as exact citations (None when there is no index);
        ``upcoming``: sentences about to be searched, embedded in the same batch."""
        if not self._open():
            return None
        if claim in self.found:
            return self.found[claim]
        from rag.retrieval import retrieve_chunks, select_evidence

        vector = self._vector(claim, upcoming)
        chunks = retrieve_chunks(self.handle, claim, SEARCH_CHUNKS, vector)
        evidence = select_evidence(self.handle, claim, chunks, SEARCH_EVIDENCE, vector)
        out: list[Citation] = []
        for e in evidence:
            text = self.corpus.text(e.file)
            if text is None or text[e.char_start : e.char_end] != e.text:
                self.stale = True  # the file changed (or went) since the index was built
                continue
            if self.corpus.addresses_assistant(e.file, e.char_start, e.char_end):
                continue  # an instruction to a model is never proposed as a source
            out.append(self.corpus.citation(e.file, e.char_start, e.char_end, len(out) + 1))
        self.found[claim] = out
        return out


# --- checking -----------------------------------------------------------------------------------


class _Guard:
    """The checker, switched to rules only (with a notice) the first time the judge fails."""

    def __init__(
        self,
        judge: Any,
        threshold: float,
        context_of: Callable[[Citation], str] | None = None,
        sure: float = SURE_THRESHOLD,
    ) -> None:
        self.checker = Checker(judge, threshold, context_of, sure)
        self.notices: list[str] = []

    def run(self, fn: Callable[..., DraftSentence], *args: Any) -> DraftSentence:
        """``fn(checker, *args)``, once more with rules only if the judge fails."""
        try:
            return fn(self.checker, *args)
        except (LLMError, WeightsError) as exc:
            if self.checker.judge is None:
                raise
            self.notices.append(f"the judge failed ({user_message(exc)}); checking with rules only")
            c = self.checker
            self.checker = Checker(None, c.threshold, c.context_of, c.sure)
            return fn(self.checker, *args)


def check_draft(
    text: str,
    settings: Settings,
    *,
    judge: Judge | None = None,
    progress: ProgressFn | None = None,
) -> DraftReport:
    """Check every claim sentence of a draft against what it cites, or find it a source.

    ``judge=None`` checks with the rules only (fast); pass a judge (see
    :func:`rag.llm.choose_judge`) for
    meaning. ``progress(done, total)`` is called as sentences are settled (cited ones first, then
    those that needed a search). Raises :class:`DraftError` for an empty draft; bad citations
    are verdicts, not errors.
    """
    t0 = time.perf_counter()
    if text is None or not text.strip():
        raise DraftError("the draft is empty")
    parsed = parse_draft(text)
    root, notices = corpus_root(settings)
    corpus = CorpusFiles(root, snapshot_dir(settings), settings.follow_symlinks)
    guard = _Guard(judge, settings.support_threshold, corpus.context, settings.sure_threshold)
    if corpus.error:
        notices.append(corpus.error)
    claims = parsed.claims
    results: list[DraftSentence | None] = [None] * len(claims)
    done = 0

    def settle(i: int, result: DraftSentence) -> None:
        nonlocal done
        results[i] = result
        done += 1
        if progress:
            progress(done, len(claims))

    # 1. sentences that cite: tested against their lines
    pending: dict[int, tuple[DraftSentence, list[Citation]]] = {}
    to_search: list[int] = []
    for i, claim in enumerate(claims):
        if not claim.marks:
            to_search.append(i)
            continue
        tested: list[Citation] = []
        result = guard.run(_check_cited, claim, corpus, tested)
        if result.verdict == "supported":
            settle(i, result)
        else:
            pending[i] = (result, tested)
            to_search.append(i)
    # 2. sentences that cite nothing, or cite what does not hold them: looked up in the index
    searcher = _Searcher(settings, corpus)
    for k, i in enumerate(to_search):
        upcoming = [claims[j].text for j in to_search[k + 1 : k + EMBED_BATCH]]
        if i in pending:
            failed, tested = pending[i]
            result = guard.run(
                _with_alternative, claims[i].text, failed, tested, searcher, upcoming
            )
        else:
            result = guard.run(_check_uncited, claims[i], searcher, upcoming)
        settle(i, result)
    out = [r for r in results if r is not None]
    notices.extend(guard.notices)
    if searcher.error and any(s.verdict == "uncited" for s in out):
        notices.append(f"{searcher.error}; uncited sentences were not looked up")
    if searcher.stale:
        notices.append(
            "the index is older than the corpus (some passages no longer match): run `rag index`"
        )
    counts: dict[str, int] = {}
    for s in out:
        counts[s.verdict] = counts.get(s.verdict, 0) + 1
    supported = counts.get("supported", 0)
    return DraftReport(
        sentences=out,
        checked=len(out),
        supported=supported,
        flagged=len(out) - supported,
        seconds=round(time.perf_counter() - t0, 3),
        checker=guard.checker.mode,
        proposed=sum(1 for s in out if s.verdict == "supported" and s.proposed),
        tentative=sum(1 for s in out if s.verdict == "supported" and s.tentative),
        counts=counts,
        notices=notices,
    )


def _base(claim: ParsedSentence) -> dict[str, Any]:
    return {
        "text": claim.text,
        "line": claim.line,
        "citation_written": claim.written,
        "char_start": claim.start,
        "char_end": claim.end,
    }


def _check_uncited(
    checker: Checker, claim: ParsedSentence, searcher: _Searcher, upcoming: list[str]
) -> DraftSentence:
    found = searcher.candidates(claim.text, upcoming)
    if found is None:
        why = searcher.error or "no index"
        return DraftSentence(
            **_base(claim),
            verdict="uncited",
            reason=f"no citation, and no index to search ({why})",
        )
    support = find_support(checker, claim.text, [[c] for c in found], judge_calls=JUDGE_CALLS)
    ok = support is not None and support.check.verdict == "supported"
    best = support.cited[0] if support is not None else None
    score = support.check.score if support is not None else 0.0
    reason = support.check.reason if support is not None else "nothing found"
    if ok and best is not None:
        return DraftSentence(
            **_base(claim),
            verdict="supported",
            source=best.location,
            citation=best.model_copy(update={"n": 1}),
            quote=best.quote,
            score=max(0.0, min(1.0, score)),
            reason=f"no citation; proposed source: {reason}",
            tentative=support is not None and support.check.tentative,
        )
    closest = f" (closest: {best.location}, {reason})" if best is not None else ""
    return DraftSentence(
        **_base(claim),
        verdict="not_found",
        score=max(0.0, min(1.0, score)),
        reason=f"no citation, and nothing in the corpus supports it{closest}",
    )


def _check_cited(
    checker: Checker, claim: ParsedSentence, corpus: CorpusFiles, tested: list[Citation]
) -> DraftSentence:
    """The verdict on a sentence from the lines it cites; ``tested`` receives the text read."""
    spans: list[Citation] = []
    problems: list[str] = []
    for mark in claim.marks:
        if mark.error:  # its good citations, if any, are still read
            problems.append(mark.error)
        for ref in mark.refs:
            span, why = corpus.lines(
                ref.file, ref.line_start, ref.line_end, n=len(spans) + 1, page=ref.page
            )
            if span is None:
                problems.append(f"[{ref.label}]: {why}")
            else:
                spans.append(span)
    # a passage that addresses the assistant is never support on its own
    instructions = [s for s in spans if s.quote and _addresses(corpus, s)]
    spans = [s for s in spans if s not in instructions]
    result: DraftSentence | None = None
    if instructions and not spans and not problems:
        first = instructions[0]
        return DraftSentence(
            **_base(claim),
            verdict="unsupported",
            source=first.location,
            citation=first.model_copy(update={"n": 1, "instruction": True}),
            quote=first.quote,
            score=0.0,
            reason=INSTRUCTION_REASON,
        )
    if spans:
        narrowed = [_narrowest(claim.text, corpus.windows(s)) for s in spans[:MAX_CITATIONS]]
        tested[:] = narrowed
        check = checker.check(claim.text, narrowed)
        by_n = {c.n: c for c in narrowed}
        best = (
            by_n.get(check.best_citation or 0)
            or check.contradiction
            or _narrowest(claim.text, narrowed)
        )
        result = DraftSentence(
            **_base(claim),
            verdict=check.verdict if check.verdict != "uncited" else "unsupported",
            source=best.location,
            citation=best.model_copy(update={"n": 1}),
            quote=best.quote,
            score=check.score,
            reason=check.reason,
            tentative=check.tentative,
        )
    if not problems:
        assert result is not None
        return result
    reason = "; ".join(problems)
    if result is None:
        return DraftSentence(**_base(claim), verdict="bad_citation", reason=reason)
    reason += f" (the other citation: {result.verdict}, {result.reason})"
    return result.model_copy(update={"verdict": "bad_citation", "reason": reason})


INSTRUCTION_REASON = (
    "the cited lines address the assistant (they tell a model what to say or cite): an "
    "instruction is not evidence"
)


def _addresses(corpus: CorpusFiles, span: Citation) -> bool:
    return corpus.addresses_assistant(span.file, span.char_start, span.char_end)


def conflicting(claim: str, candidates: list[Citation]) -> Citation | None:
    """A passage about the same thing as ``claim`` that states another number or date: most of
    the claim's words are there, and all that is missing is numbers or dates."""
    for c in candidates:
        rules = check_rules(claim, c.quote)
        if (
            rules.missing
            and rules.coverage >= CONFLICT_COVERAGE
            and all(m.startswith(("number ", "date ")) for m in rules.missing)
            and numbers_in(c.quote)
        ):
            return c
    return None


def _with_alternative(
    checker: Checker,
    claim: str,
    result: DraftSentence,
    tested: list[Citation],
    searcher: _Searcher,
    upcoming: list[str],
) -> DraftSentence:
    """``result`` (flagged) with the lines of the corpus that do support the sentence, if any."""
    found = searcher.candidates(claim, upcoming)
    if not found:
        return result
    support = find_support(
        checker, claim, [[c] for c in found], judge_calls=ALTERNATIVE_JUDGE_CALLS, avoid=tested
    )
    if support is None or support.check.verdict != "supported":
        other = conflicting(claim, found)
        if other is None:
            return result
        quote = " ".join(other.quote.split())[:160]
        return result.model_copy(
            update={
                "conflict": other.model_copy(update={"n": 1}),
                "reason": f'{result.reason}; conflict: {other.location} says "{quote}"',
            }
        )
    alt = support.cited[0]
    return result.model_copy(
        update={
            "alternative": alt.model_copy(update={"n": 1}),
            "reason": f"{result.reason}; {alt.location} supports it",
        }
    )
