"""Citations checked against the files as they are now, every time they are used or shown.

The index remembers where a sentence was when it was built; the corpus may have moved on since.
:func:`fresh_evidence` re-reads every evidence sentence before the model sees it: a sentence still
in its file is re-located (new lines and characters), one that is gone (the file changed or was
deleted) is left out, so it can never be cited. :func:`recheck_answer` does the same for an
answer's citations when it is shown again later: a quote that is gone is marked ``stale`` and the
sentences that leaned on it alone are no longer shown as supported.

Both also mark passages that address the assistant (:func:`rag.safety.instruction_spans`).
"""

from __future__ import annotations

from pathlib import Path

from rag.chunking import line_of
from rag.schema import Answer, Citation, Evidence, SentenceCheck
from rag.sources import CorpusFiles, locate
from rag.verify import faithfulness

STALE_REASON = (
    "the cited text is no longer in the file (it changed or was deleted since it was indexed): "
    "re-index"
)


def _stale_notice(n: int, files: list[str]) -> str:
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return (
        f"the index is older than the corpus: {n} passage(s) of {shown} no longer match the "
        "files and were left out; run `rag index` (the chat: re-index changed files)"
    )


def fresh_evidence(files: CorpusFiles, evidence: list[Evidence]) -> tuple[list[Evidence], str]:
    """``evidence`` as the files are now: re-located where they moved, without what is gone,
    numbered again from 1, each marked when it addresses the assistant; and a notice naming the
    files that no longer match (empty when none)."""
    kept: list[Evidence] = []
    gone: list[str] = []
    n_gone = 0
    for e in evidence:
        text = files.text(e.file)
        if text is None:
            n_gone += 1
            gone.append(e.file)
            continue
        a, b, found = locate(text, e, e.text)
        if found == "missing":
            n_gone += 1
            gone.append(e.file)
            continue
        starts = files.starts(e.file)
        kept.append(
            e.model_copy(
                update={
                    "n": len(kept) + 1,
                    "char_start": a,
                    "char_end": b,
                    "line_start": line_of(starts, a),
                    "line_end": line_of(starts, max(a, b - 1)),
                    "instruction": files.addresses_assistant(e.file, a, b),
                }
            )
        )
    notice = _stale_notice(n_gone, sorted(set(gone))) if n_gone else ""
    return kept, notice


def fresh_citation(files: CorpusFiles, c: Citation) -> Citation:
    """``c`` as its file is now: the same, re-located, or marked ``stale``."""
    text = files.text(c.file)
    if text is None:
        return c.model_copy(update={"stale": True})
    a, b, found = locate(text, c, c.quote)
    if found == "missing":
        return c.model_copy(update={"stale": True})
    starts = files.starts(c.file)
    return c.model_copy(
        update={
            "stale": False,
            "char_start": a,
            "char_end": b,
            "line_start": line_of(starts, a),
            "line_end": line_of(starts, max(a, b - 1)),
            "instruction": c.instruction or files.addresses_assistant(c.file, a, b),
        }
    )


def _demote(check: SentenceCheck, stale: set[int]) -> SentenceCheck:
    if check.verdict != "supported" or not check.citations:
        return check
    if all(n in stale for n in check.citations):
        return check.model_copy(update={"verdict": "unsupported", "reason": STALE_REASON})
    return check


def recheck_answer(
    answer: Answer, root: Path, follow_symlinks: bool = False, snapshots: Path | None = None
) -> Answer:
    """A copy of ``answer`` with every citation checked against its file as it is now: re-located
    when the text moved, ``stale`` when it is gone. A sentence whose every citation is stale is no
    longer supported; ``answer.stale`` lists the stale numbers and a notice says to re-index."""
    files = CorpusFiles(root, snapshots, follow_symlinks)
    citations = [fresh_citation(files, c) for c in answer.citations]
    closest = [fresh_citation(files, c) for c in answer.closest]
    stale = {c.n for c in citations if c.stale}
    sentences = [_demote(s, stale) for s in answer.sentences]
    notices = [n for n in answer.notices if not n.startswith("cited text is no longer")]
    if stale:
        names = sorted({c.file for c in citations if c.stale})
        notices.append(
            "cited text is no longer in "
            + ", ".join(names)
            + f" (citation {', '.join(f'[{n}]' for n in sorted(stale))}): the file changed "
            "since it was indexed; run `rag index` (the chat: re-index changed files)"
        )
    return answer.model_copy(
        update={
            "citations": citations,
            "closest": closest,
            "sentences": sentences,
            "stale": sorted(stale),
            "notices": notices,
            "faithfulness": faithfulness(sentences) if sentences else answer.faithfulness,
        }
    )
