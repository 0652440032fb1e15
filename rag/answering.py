"""The public question-answering API: question -> evidence -> answer -> citations -> checks.

``ask`` is what the CLI, the chat UI and the evaluation all call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence

from rag import prompts
from rag.citations import (
    MARKER,
    CitedSentence,
    ParsedAnswer,
    Renumberer,
    StreamRenumberer,
    evidence_citation,
    parse_answer,
    strip_markers,
)
from rag.config import Settings, get_settings
from rag.errors import LLMError, QuestionError
from rag.index.status import corpus_root, snapshot_dir
from rag.lexical import tokenize
from rag.llm.base import ChatLLM
from rag.llm.choose import choose_backends
from rag.questions import (
    LANGUAGE_NAMES,
    Slot,
    asked_position,
    asked_slot,
    at_place,
    gives_asked,
    item_numbers,
    language,
    needs_context,
    said_of,
    standalone_question,
    word_stems,
)
from rag.retrieval import RetrievalResult, documents_language, retrieve
from rag.schema import Answer, Citation, Conflict, Evidence, SentenceCheck
from rag.sources import CorpusFiles
from rag.trust import fresh_evidence, recheck_answer
from rag.verify import (
    Checker,
    Support,
    faithfulness,
    find_conflicts,
    find_support,
    is_claim,
    slot_values,
    values_disagree,
)

TokenFn = Callable[[str], None]
EvidenceFn = Callable[[list[Evidence]], None]

MAX_QUESTION_CHARS = 4000
EXTRACTIVE_MIN_SCORE = 0.55
"""Evidence below this retrieval score is not quoted by the extractive backend."""
EXTRACTIVE_MAX_SENTENCES = 3
EXTRACTIVE_WINDOW = 0.12
"""The extractive backend quotes sentences within this score of the best one."""
BOUND_REACH = 0.08
"""When none of the closest evidence sentences gives the asked kind of fact, how far below the
floor (:data:`EXTRACTIVE_MIN_SCORE`) a sentence that gives it, said of what is asked, may be
quoted instead."""
COVERING_REACH = 0.2
"""How far below the best evidence sentence one that covers what the quoted ones leave out
(:func:`covering`) may be."""
COVERING_MIN_SCORE = 0.42
"""The least retrieval score of a sentence quoted for covering what the others leave out."""
EXTRACTIVE_MAX_COVERING = 4
"""Sentences the extractive backend quotes at most, with those that cover the rest of the
question (:func:`covering`)."""
CONTINUATION_GAP = 3
"""At most this many characters (spaces, a line break) between a quoted sentence and the next
one of its passage for that one to be read on as its continuation (:func:`continuing`)."""
CLOSEST_PASSAGES = 3


def clean_question(question: str) -> str:
    """The question as retrieval and the model see it: no citation markers, tidy spaces."""
    if question is None or not question.strip():
        raise QuestionError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(question):,} characters long; the limit is "
            f"{MAX_QUESTION_CHARS:,}: ask about one thing at a time"
        )
    cleaned = re.sub(r"\s+", " ", strip_markers(question)).strip()
    if not cleaned:
        raise QuestionError("the question holds nothing but citation markers")
    return cleaned


def passage_text(text: str) -> str:
    """Evidence text as the model reads it: one line, without list dashes or the document's own
    bracketed reference numbers (``[2][12]``), which the model would take for passage numbers."""
    return _LIST_MARK.sub("", " ".join(MARKER.sub("", text).split()))


_LIST_MARK = re.compile(r"^(?:[-*•]+\s+)+")
"""A list item's dash or bullet (followed by a space), not an option's dashes ("--keep")."""


def format_passages(evidence: list[Evidence], labels: Mapping[str, str] | None = None) -> str:
    """The numbered passages; one that addresses the assistant is shown as a quotation only.
    ``labels``: a document's short name by file, shown beside its passages (when the question
    names documents, so that the model can tell which says what)."""
    labels = labels or {}
    lines = []
    for e in evidence:
        text = passage_text(e.text)
        if e.instruction:
            lines.append(prompts.QUOTED_PASSAGE.format(n=e.n, text=text))
        elif e.file in labels:
            lines.append(prompts.LABELLED_PASSAGE.format(n=e.n, label=labels[e.file], text=text))
        else:
            lines.append(prompts.PASSAGE.format(n=e.n, text=text))
    return "\n".join(lines)


def answer_messages(
    question: str,
    evidence: list[Evidence],
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    documents: str = "en",
) -> list[dict[str, str]]:
    """The chat the model reads: fixed system prompt first (cacheable), evidence (with the
    documents' ``labels`` when given), the (standalone) question, and the language to answer
    in (``lang``, the question's) when it is not English or not the documents' (``documents``),
    in which the model would otherwise answer."""
    user = prompts.ANSWER_USER.format(passages=format_passages(evidence, labels), question=question)
    if lang != "en" or lang != documents:
        user += "\n" + prompts.LANGUAGE.format(language=LANGUAGE_NAMES.get(lang, lang))
    return [
        {"role": "system", "content": prompts.ANSWER_SYSTEM},
        {"role": "user", "content": user},
    ]


def rewrite_followup(question: str, history: list[str], llm: ChatLLM | None) -> str:
    """A follow-up as a standalone question: the model rewrites it when one answers (checked:
    one line, a question, not an answer), else :func:`rag.questions.standalone_question`. A
    question that does not lean on the conversation (:func:`rag.questions.needs_context`) is
    returned as asked, without a model call."""
    if not needs_context(question):
        return question
    by_rule = standalone_question(question, history)
    if llm is None:
        return by_rule
    try:
        text = llm.complete(
            [
                {"role": "system", "content": prompts.REWRITE_SYSTEM},
                {
                    "role": "user",
                    "content": prompts.REWRITE_USER.format(previous=history[-1], question=question),
                },
            ],
            max_tokens=48,
        )
    except LLMError:
        return by_rule
    line = _reply_line(text)
    if not line or len(line) > 300 or "[" in line or len(line) < len(question) // 2:
        return by_rule
    return line


def _reply_line(text: str) -> str:
    """The first line of a model's one-line reply, without surrounding quotes."""
    return " ".join(text.strip().splitlines()[:1]).strip().strip('"')


def translate_question(question: str, documents: str, llm: ChatLLM | None) -> str | None:
    """The model's translation of ``question`` into the documents' language (``documents``, a
    :data:`rag.questions.LANGUAGE_NAMES` code); None without a model, for a question in that
    language already, or when the translation fails or is not in that language."""
    asked = language(question, default=documents)  # unsure: taken to be the documents'
    if llm is None or asked == documents or documents not in LANGUAGE_NAMES:
        return None
    try:
        text = llm.complete(
            [
                {"role": "system", "content": prompts.TRANSLATE_SYSTEM},
                {
                    "role": "user",
                    "content": prompts.TRANSLATE_USER.format(
                        language=LANGUAGE_NAMES[documents], question=question
                    ),
                },
            ],
            max_tokens=64,
        )
    except LLMError:
        return None
    line = _reply_line(text)
    if not line or len(line) > 400 or "[" in line or language(line, default=documents) != documents:
        return None
    return line


def extractive_answer(
    evidence: list[Evidence], question: str = "", named: Collection[str] = ()
) -> ParsedAnswer:
    """An answer made only of quoted evidence sentences, each cited: faithful by construction.
    When the question asks for a kind of fact (a date, a number, a name), only sentences that
    carry one are quoted, if any does; for a place in a list ("the third step"), only the item
    with that number, if one is close. When it names documents (``named``: their files), only
    their sentences are quoted: what another document says is no answer about this one."""
    r = Renumberer(evidence)
    evidence = [e for e in evidence if not e.instruction]  # instructions are never quoted
    if named:
        evidence = [e for e in evidence if e.file in named]
    if not evidence or evidence[0].score < EXTRACTIVE_MIN_SCORE:
        return ParsedAnswer([CitedSentence(prompts.CANNOT_ANSWER)], [], [])
    best = evidence[0].score
    floor = max(EXTRACTIVE_MIN_SCORE, best - EXTRACTIVE_WINDOW)
    picked = [e for e in evidence if e.score >= floor]
    position = asked_position(question)
    if position is not None:
        # "the third step": the list item numbered 3, not its neighbours; "the last step": the
        # highest-numbered item quoted
        picked = [
            e for e in picked if at_place(position, e.text, ends_its_list(e, picked))
        ] or picked
    slot = asked_slot(question)
    fitting = [e for e in picked if gives_asked(question, e.text)]
    if slot is not None and not fitting:
        # none of the closest sentences gives the asked kind of fact: a slightly less close one
        # that gives it, said of what is asked ("joined the project in April 2023"), answers
        fitting = [
            e
            for e in evidence
            if e.score >= EXTRACTIVE_MIN_SCORE - BOUND_REACH
            and gives_asked(question, e.text)
            and said_of(question, e.text)
        ]
    terms = word_stems(question, common_only=True)
    if slot is not None and len(fitting) > 1 and terms:
        # of the sentences that hold a value of the asked kind, those that share most of what
        # the question is about ("joined" for "when did … join"), not another event's date
        overlap = {e.n: len(terms & word_stems(e.text)) for e in fitting}
        most = max(overlap.values())
        fitting = [e for e in fitting if overlap[e.n] == most]
    picked = (fitting or picked)[:EXTRACTIVE_MAX_SENTENCES]
    picked += covering(question, picked, evidence, best)
    picked += continuing(question, picked, evidence, best)
    sentences = []
    for e in picked:
        n = r.cite(e.n)
        sentences.append(CitedSentence(passage_text(e.text), [n] if n else []))
    return ParsedAnswer(sentences, r.citations, r.dropped)


def continuing(
    question: str, picked: list[Evidence], evidence: list[Evidence], best: float
) -> list[Evidence]:
    """Evidence sentences that go straight on from a picked one in its passage (the next
    sentence of the same file, nothing but :data:`CONTINUATION_GAP` spaces between) and are
    close to the question too (within :data:`COVERING_REACH` of the best, above
    :data:`COVERING_MIN_SCORE`): the rest of what the picked sentence says ("..., but the
    special terms of the other licence apply to the combination"). Quoting the one without the
    other gives half of a rule. For a question that asks for a kind of fact, only sentences
    that give one, said of what is asked, count (as for :func:`covering`)."""
    slot = asked_slot(question)
    found: list[Evidence] = []
    ends = {(e.file, e.char_end) for e in picked}
    for e in evidence:
        if len(picked) + len(found) >= EXTRACTIVE_MAX_COVERING:
            break
        if e in picked or not _may_join(question, slot, e, best):
            continue
        if not any((e.file, e.char_start - gap) in ends for gap in range(CONTINUATION_GAP + 1)):
            continue
        found.append(e)
        ends.add((e.file, e.char_end))
    return found


def _may_join(question: str, slot: Slot | None, e: Evidence, best: float) -> bool:
    """Whether ``e`` is close enough to the question to be quoted beside the closest sentences
    (within :data:`COVERING_REACH` of the best, above :data:`COVERING_MIN_SCORE`) and, for a
    question that asks for a kind of fact (``slot``), gives one said of what is asked."""
    if e.score < max(COVERING_MIN_SCORE, best - COVERING_REACH):
        return False
    return slot is None or (gives_asked(question, e.text) and said_of(question, e.text))


def ends_its_list(e: Evidence, evidence: list[Evidence]) -> bool:
    """Whether ``e`` holds the highest-numbered item of its file's numbered items among
    ``evidence`` (retrieval lifts the item that ends its list for "the last step")."""
    numbers = item_numbers(e.text)
    top = max((n for o in evidence if o.file == e.file for n in item_numbers(o.text)), default=0)
    return bool(numbers) and numbers[-1] == top


def covering(
    question: str, picked: list[Evidence], evidence: list[Evidence], best: float
) -> list[Evidence]:
    """Evidence sentences, a little less close than the best (within :data:`COVERING_REACH`,
    and above :data:`COVERING_MIN_SCORE`), that speak of something the question asks about and
    the ``picked`` sentences do not: a word of the question written in lower case ("projects"
    in "Which projects did she work on before ...?", "appear before" in "What may appear
    before ...?") that none of them holds. The closest sentences are often about the asked
    thing without saying the asked part; a multi-part question has parts they leave out. For
    a question that asks for a kind of fact, only sentences that give one, said of what is
    asked (:func:`rag.questions.said_of`), count. At most
    :data:`EXTRACTIVE_MAX_COVERING` sentences are quoted in all."""
    asked = word_stems(question, common_only=True)
    covered = set().union(*(word_stems(e.text) for e in picked))
    slot = asked_slot(question)
    room = EXTRACTIVE_MAX_COVERING - len(picked)
    found: list[Evidence] = []
    for e in evidence:
        if len(found) >= room:
            break
        if e in picked or not _may_join(question, slot, e, best):
            continue
        words = word_stems(e.text)
        if (words & asked) - covered:
            found.append(e)
            covered |= words
    return found


def _quoted_instead(
    unchecked: Answer,
    declined: Answer,
    evidence: list[Evidence],
    question: str,
    named: Collection[str],
    checked: Callable[[Answer, ParsedAnswer], Answer],
) -> Answer:
    """A model's declined answer replaced by the evidence's own sentences
    (:func:`extractive_answer`), checked like any answer; the decline stands when they do not
    answer either. ``unchecked``: the answer as it was before the model's was checked. What
    the model wrote stays in ``rejected``."""
    quoted = extractive_answer(evidence, question, named)
    if not quoted.citations:
        return declined
    fresh = unchecked.model_copy(update={"answer": quoted.text, "citations": quoted.citations})
    answer = checked(fresh, quoted)
    if answer.abstained:
        return declined
    answer.rejected = declined.rejected
    answer.notices.append(prompts.QUOTED_INSTEAD)
    return answer


def _closest(evidence: list[Evidence]) -> list[Citation]:
    return [evidence_citation(e, i) for i, e in enumerate(evidence[:CLOSEST_PASSAGES], start=1)]


def _abstain(answer: Answer, evidence: list[Evidence], why: str | None = None) -> Answer:
    answer.answer = prompts.CANNOT_ANSWER
    answer.abstained = True
    answer.rejected = [
        *answer.removed,
        *(c.model_copy(update={"citations": []}) for c in answer.sentences),
    ]
    answer.removed = []
    answer.citations = []
    answer.sentences = []
    answer.conflicts = []
    answer.faithfulness = None
    answer.closest = _closest(evidence)
    if why:
        answer.notices.append(why)
    return answer


SLOT_WORDS = {
    "version": "version",
    "when": "date or time",
    "who": "person or organisation",
    "how_many": "number",
    "where": "place",
    "why": "reason",
}
CONFLICT_OVERLAP = 0.5
"""Share of the question's words an evidence sentence must hold to be a side of a conflict."""


def answers_the_question(answer: Answer, question: str) -> bool:
    """Whether a supported sentence (or what it cites) carries the kind of fact asked for."""
    slot = asked_slot(question)
    if slot is None:
        return True
    by_n = {c.n: c for c in answer.citations}
    for s in answer.sentences:
        if s.verdict != "supported":
            continue
        quotes = " ".join(by_n[n].quote for n in s.citations if n in by_n)
        if gives_asked(question, s.text) or gives_asked(question, quotes):
            return True
    return False


def about_the_asked(
    question: str, texts: Sequence[str], among: Sequence[str] | None = None
) -> list[bool]:
    """For each text, whether it is about the very thing the question asks of: it holds two
    thirds or more as many of the question's common words ("lab", "manager" in "Who is the lab
    manager?") as the closest text (of ``among``, else of ``texts``) that gives the asked kind
    of fact.
    "Facilities manager | Marco Bianchi" or "GNOME Display Manager" is about another thing
    than "Lab manager | Tomás Ortega": two such values are no disagreement."""
    terms = word_stems(question, common_only=True)
    need = max(
        (
            len(terms & word_stems(t))
            for t in (texts if among is None else among)
            if gives_asked(question, t)
        ),
        default=0,
    )
    return [3 * len(terms & word_stems(t)) >= 2 * need for t in texts]


def conflicts_of(
    question: str, checks: list[SentenceCheck], citations: list[Citation]
) -> list[Conflict]:
    """:func:`rag.verify.find_conflicts`, each side about the very thing asked
    (:func:`about_the_asked`, measured against all the supported sentences): a conflict with
    fewer than two such sides is none."""
    found = find_conflicts(question, checks, citations)
    if not found:
        return found
    by_n = {c.n: c for c in citations}

    def quoted(numbers: list[int]) -> str:
        return " ".join(by_n[n].quote for n in numbers if n in by_n)

    supported = [quoted(c.citations) for c in checks if c.verdict == "supported"]
    kept = []
    for conflict in found:
        texts = [quoted(side.citations) for side in conflict.sides]
        about = about_the_asked(question, texts, supported)
        sides = [side for side, ok in zip(conflict.sides, about, strict=True) if ok]
        if len({f for side in sides for f in side.files}) >= 2 and len(sides) >= 2:
            kept.append(conflict.model_copy(update={"sides": sides}))
    return kept


def evidence_conflict(question: str, evidence: list[Evidence]) -> list[Evidence]:
    """Evidence sentences from different files that give different values for the asked fact
    (each on the question's topic, and about the same thing: :func:`about_the_asked`): one per
    side, best first; empty when they agree."""
    q_tokens = set(tokenize(question))
    sides: list[tuple[set[str], Evidence]] = []
    about = about_the_asked(question, [e.text for e in evidence])
    for e, on_topic in zip(evidence, about, strict=True):
        if e.instruction or not on_topic:  # text addressed to the assistant is never a side
            continue
        values = slot_values(question, e.text)
        if not values or not q_tokens:
            continue
        if len(q_tokens & set(tokenize(e.text))) / len(q_tokens) < CONFLICT_OVERLAP:
            continue
        if any(e.file == other.file for _, other in sides):
            continue
        if all(values_disagree(values, v) for v, _ in sides):
            sides.append((values, e))
    return [e for _, e in sides] if len(sides) >= 2 else []


def add_conflict_sides(answer: Answer, evidence: list[Evidence], checker: Checker) -> Answer:
    """When the evidence disagrees on the asked fact and the answer gives one side, quote the
    other sides verbatim (each cited and checked) so that the answer states every side."""
    sides = evidence_conflict(answer.searched_for or answer.question, evidence)
    if not sides or answer.conflicts:
        return answer
    cited = {(c.file, c.char_start, c.char_end) for c in answer.citations}
    for e in sides:
        if (e.file, e.char_start, e.char_end) in cited:
            continue
        n = len(answer.citations) + 1
        citation = evidence_citation(e, n)
        text = passage_text(e.text)
        check = checker.check(text, [citation])
        if check.verdict != "supported":
            continue
        answer.citations.append(citation)
        answer.sentences.append(check)
        answer.answer = f"{answer.answer} {text} [{n}]".strip()
    answer.conflicts = conflicts_of(
        answer.searched_for or answer.question, answer.sentences, answer.citations
    )
    return answer


INSTRUCTION_ONLY = (
    "it cites only a passage that addresses the assistant (an instruction in a document, "
    "not evidence)"
)

REPAIR_JUDGE_CALLS = 2
"""Other passages the judge reads for a sentence its own citation does not support."""


def _key(c: Citation) -> tuple[str, int, int]:
    return (c.file, c.char_start, c.char_end)


def repair_citation(
    checker: Checker, text: str, cited: list[Citation], evidence: list[Evidence]
) -> Support | None:
    """The passage (or the cited passage plus one more) that supports a sentence its own markers
    do not: models often cite the wrong number, or one source for a sentence that joins two."""
    have = {_key(c) for c in cited}
    options: list[list[Citation]] = []
    for e in evidence:
        c = evidence_citation(e, e.n)
        if _key(c) not in have and not e.instruction:
            options.extend([[c], [*cited, c]] if cited else [[c]])
    found = find_support(checker, text, options, judge_calls=REPAIR_JUDGE_CALLS)
    if found is None or found.check.verdict != "supported":
        return None
    was = "no citation" if not cited else "its own citation alone does not support it"
    found.check.reason = f"{found.check.reason}; source found by the checker ({was})"
    return found


def check_answer(
    answer: Answer,
    parsed: ParsedAnswer,
    checker: Checker,
    strict: bool,
    evidence: list[Evidence],
    repair: bool = True,
    show_unsupported: bool = False,
) -> Answer:
    """Attach a verdict to every sentence, the faithfulness figure and any conflict. A sentence
    its own markers do not support is re-cited to the passage that does, when one does. What is
    still not supported (or contradicted) is moved to ``answer.removed`` with its reason, unless
    ``show_unsupported`` keeps it inline (flagged); strict mode also drops uncited sentences.
    With nothing supported the answer abstains. Citations are numbered from 1 in order of first
    appearance in what remains."""
    by_n = {c.n: c for c in parsed.citations}
    rows: list[tuple[CitedSentence, list[Citation], SentenceCheck | None]] = []
    for s in parsed.sentences:
        # a passage that addresses the assistant is never support on its own
        written = [by_n[n] for n in s.citations if n in by_n]
        cited = [c for c in written if not c.instruction]
        if not is_claim(s.text):
            rows.append((s, cited, None))
            continue
        check = checker.check(s.text, cited)
        if check.verdict != "supported" and repair:
            fixed = repair_citation(checker, s.text, cited, evidence)
            if fixed is not None:
                check, cited = fixed.check, fixed.cited
        if check.verdict != "supported" and written and not cited:
            check = check.model_copy(update={"verdict": "unsupported", "reason": INSTRUCTION_ONLY})
        rows.append((s, cited, check))
    all_checks = [r[2] for r in rows if r[2] is not None]
    removed: list[SentenceCheck] = []
    if strict or not show_unsupported:
        keep = [r for r in rows if r[2] is None or r[2].verdict == "supported"]
        if strict:
            keep = [r for r in keep if r[2] is not None]
        removed = [
            r[2].model_copy(update={"citations": [], "best_citation": None})
            for r in rows
            if r[2] is not None and r[2].verdict != "supported"
        ]
        rows = keep
    numbers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    sentences: list[CitedSentence] = []
    checks: list[SentenceCheck] = []
    for s, cited, verdict in rows:
        old_to_new: dict[int, int] = {}
        for c in cited:
            if _key(c) not in numbers:
                numbers[_key(c)] = len(citations) + 1
                citations.append(c.model_copy(update={"n": numbers[_key(c)]}))
            old_to_new[c.n] = numbers[_key(c)]
        nums = list(dict.fromkeys(old_to_new.values()))
        sentences.append(CitedSentence(s.text, nums))
        if verdict is not None:
            verdict.citations = nums
            verdict.best_citation = old_to_new.get(verdict.best_citation or -1)
            checks.append(verdict)
    answer.citations = citations
    answer.sentences = checks
    answer.removed = removed
    answer.answer = " ".join(s.render() for s in sentences)
    answer.faithfulness = faithfulness(all_checks)
    if not any(c.verdict == "supported" for c in checks):
        why = None
        if checks:
            why = "no sentence of the answer is supported by the passages it cites"
        return _abstain(answer, evidence, why)
    answer.conflicts = conflicts_of(answer.searched_for or answer.question, checks, citations)
    return answer


def ask(
    question: str,
    settings: Settings | None = None,
    *,
    backend: str | None = None,
    strict: bool | None = None,
    show_unsupported: bool | None = None,
    check: bool = True,
    history: list[str] | None = None,
    on_token: TokenFn | None = None,
    evidence_k: int | None = None,
    on_evidence: EvidenceFn | None = None,
) -> Answer:
    """Answer ``question`` from the index, every sentence cited and (unless ``check=False``)
    checked. ``on_token`` receives the answer text as it streams, markers already renumbered;
    ``on_evidence`` the retrieved passages as soon as retrieval is done (before generation)."""
    settings = settings or get_settings()
    strict = settings.strict if strict is None else strict
    backend = backend or settings.backend
    t0 = time.perf_counter()
    q = clean_question(question)
    chosen = choose_backends(settings, backend, check)  # a backend that cannot run fails first
    history = [clean_question(h) for h in history or [] if h and h.strip()]
    standalone = rewrite_followup(q, history, chosen.llm) if history else q
    # asked in another language than the documents': searched (and read for what it asks)
    # with the model's translation too; the model still reads the question as asked
    searched, meaning, documents = standalone, None, "en"
    if chosen.llm is not None:
        documents = documents_language(settings)
        meaning = translate_question(standalone, documents, chosen.llm)
        searched = f"{meaning} ({standalone})" if meaning else standalone
    found: RetrievalResult = retrieve(settings, searched, evidence_k, meaning)
    root, root_notices = corpus_root(settings)
    # the index may be older than the files: what is gone is never shown to the model
    snapshots = snapshot_dir(settings)
    files = CorpusFiles(root, snapshots, settings.follow_symlinks)
    evidence, stale_notice = fresh_evidence(files, found.evidence)
    if on_evidence is not None:
        on_evidence(evidence)
    answer = Answer(
        question=question,
        answer="",
        abstained=False,
        backend=chosen.name,
        model=chosen.model,
        notices=list(chosen.notices) + ([stale_notice] if stale_notice else []),
        searched_for=searched if searched != q else None,
    )
    timings = dict(found.timings_ms)
    t_gen = time.perf_counter()
    first_token_ms: float | None = None
    parsed: ParsedAnswer | None = None
    if not evidence:
        raw = prompts.CANNOT_ANSWER
    elif chosen.llm is None:
        parsed = extractive_answer(evidence, searched, found.named)
        raw = parsed.text
        first_token_ms = (time.perf_counter() - t0) * 1000
        if on_token:
            on_token(raw)
    else:
        stream = StreamRenumberer(Renumberer(evidence))
        pieces: list[str] = []
        for delta in chosen.llm.stream(
            answer_messages(
                standalone, evidence, language(q, default=documents), found.labels, documents
            ),
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
        ):
            if first_token_ms is None:
                first_token_ms = (time.perf_counter() - t0) * 1000
            pieces.append(delta)
            if on_token:
                out = stream.feed(delta)
                if out:
                    on_token(out)
        if on_token:
            tail = stream.flush()
            if tail:
                on_token(tail)
        raw = "".join(pieces)
        usage = getattr(chosen.llm, "last_usage", {}) or {}
        if "prompt_tokens" in usage:
            timings["prompt_tokens"] = float(usage["prompt_tokens"])
    timings["generate"] = (time.perf_counter() - t_gen) * 1000
    if first_token_ms is not None:
        timings["first_token"] = first_token_ms
    if parsed is None:
        parsed = parse_answer(raw, evidence)
    answer.answer = parsed.text
    answer.citations = parsed.citations
    answer.dropped_markers = parsed.dropped_markers
    if parsed.dropped_markers:
        answer.notices.append(
            "removed citation markers that point at no passage: " + " ".join(parsed.dropped_markers)
        )
    claims = [s for s in parsed.sentences if is_claim(s.text)]
    if check:
        t_check = time.perf_counter()
        answer.notices.extend(root_notices)
        checker = Checker(
            chosen.judge,
            settings.support_threshold,
            context_of=files.context,
            sure=settings.sure_threshold,
        )
        shown = settings.show_unsupported if show_unsupported is None else show_unsupported

        def checked(answer: Answer, parsed: ParsedAnswer) -> Answer:
            answer = check_answer(answer, parsed, checker, strict, evidence, show_unsupported=shown)
            if not answer.abstained:
                answer = add_conflict_sides(answer, evidence, checker)
                if not answers_the_question(answer, searched):
                    slot = SLOT_WORDS.get(asked_slot(searched) or "", "fact")
                    answer = _abstain(
                        answer,
                        evidence,
                        f"no supported sentence gives the {slot} the question asks for",
                    )
            return answer

        fallback = chosen.llm is not None and settings.quote_fallback
        unchecked = answer.model_copy(deep=True) if fallback else None
        answer = checked(answer, parsed) if claims else _abstain(answer, evidence)
        if answer.abstained and unchecked is not None:
            answer = _quoted_instead(unchecked, answer, evidence, searched, found.named, checked)
        timings["check"] = (time.perf_counter() - t_check) * 1000
    elif not claims:
        answer = _abstain(answer, evidence)
    answer = recheck_answer(answer, root, settings.follow_symlinks, snapshots)
    timings["total"] = (time.perf_counter() - t0) * 1000
    answer.timings_ms = {k: round(v, 1) for k, v in timings.items()}
    return answer
