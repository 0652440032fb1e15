"""Checking a sentence against what it cites: meaning, not topic.

No NLI model ships offline, so the checker combines:

1. deterministic rules: every number, date and proper name in the claim must appear in the cited
   text (modulo formatting: ``262,000`` = ``262K``, ``March 3`` = ``3 March``), and enough of the
   claim's content words must be there;
2. an LLM judge (the embedded model, or a dedicated Ollama checker such as ``bespoke-minicheck``)
   asked Yes/No, read from the first token's probabilities.

A claim fails fast on the rules; the judge decides the rest. Without a judge, the rules and word
coverage decide alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rag import prompts
from rag.alignment import aligned_sentences, inspect
from rag.chunking import statements
from rag.data import is_common_word
from rag.lexical import STOPWORDS, fold_accents, tokenize
from rag.questions import asked_slot, day_digits, language
from rag.schema import Citation, Conflict, ConflictSide, SentenceCheck, Span

if TYPE_CHECKING:
    from rag.llm.base import Judge

MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
_NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "hundred": 100,
}  # fmt: skip
_SCALES = {
    "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9,
    "billion": 1e9, "t": 1e12, "trillion": 1e12,
}  # fmt: skip
_NUM = re.compile(
    r"(?<![\w.])((?:[1-9]\d{0,2}(?:,\d{3}(?!\d))+|\d+)(?:\.\d+)?)\s*(%|percent|k|thousand|m|mn|million|b|bn|billion"
    r"|t|trillion)?(?![a-z])",
    re.I,
)
_MULTIPLES = {"twice": 2.0, "doubl": 2.0, "thrice": 3.0, "tripl": 3.0, "quadrupl": 4.0,
              "half": 0.5, "halv": 0.5}  # fmt: skip
"""Words that multiply a quantity ("twice the cost", "halved"): a claim's multiple must be in
the text, as a word of the same factor or as the number itself."""
_MULTIPLE = re.compile(r"\b(?:" + "|".join(_MULTIPLES) + r")(?:e|es|ed|ing)?\b", re.I)
_NUM_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_DATE_MD = re.compile(r"\b(" + "|".join(MONTHS) + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b", re.I)
_DATE_DM = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + "|".join(MONTHS) + r")\b", re.I
)
_DATE_ISO = re.compile(r"(?<![\w.-])(\d{4})-(0?[1-9]|1[0-2])-(0?[1-9]|[12]\d|3[01])(?![\w-])")
"""An ISO date, ``2022-04-07`` (changelogs, tables, CSV records): the same day as ``7 April 2022``."""
_CAPITALISED = re.compile(r"\b([A-Z][\w'’-]*[\w])")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
COMMON_CAPITALISED = frozenset(
    """
    the a an he she it they his her its their this that these those in on at by for from with
    and or but as after before when while although though however according also besides yes no
    meanwhile notably dramatically yet still then there here some many several both each other
    what who which where why how if so not we i you our one two three four five six seven eight
    nine ten first second third new under over more most less despite since
    """.split()
)
# Adjectives from names and weekday/month words are checked as dates or are not names.
_NOT_NAMES = frozenset(MONTHS) | {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "chinese", "american", "english", "german", "ai",
}  # fmt: skip


PREPOSITIONS = frozenset(
    """within without among amid amidst during between across through throughout until upon
    against toward towards around about above below beyond near via inside outside over under
    after before since despite""".split()
)
_NAME_NUMBER = re.compile(
    r"\b([A-Z][A-Za-z]+)\s+(\d+(?:\.\d+)?)\b(?!\s*(?:%|percent|million|billion|k\b))"
)


FOREIGN_OPENERS = frozenset(
    """
    der die das dem den des ein eine einer eines einem einen im am um zum zur beim vom ins ans
    auf aus bei mit nach seit von vor zu für über unter durch gegen ohne bis nach während wegen
    und oder aber doch denn dann auch nur noch schon wenn als ob dass weil da so es er sie wir
    ihr ich man dies diese dieser dieses jede jeder jedes alle kein keine nicht
    le la les un une des du au aux dans sur sous avec sans pour par chez et ou mais donc puis
    il elle ils elles nous vous on ce cette ces tout tous toutes selon lors
    el los las una unos unas del al en con sin sobre desde hasta para por entre según y o pero
    luego también él ella ellos ellas nosotros este esta estos estas todo todos cada
    """.split()
)
"""German, French and Spanish articles, prepositions, pronouns and conjunctions: capitalised at
the start of a sentence ("Im Protokoll ...", "Um 18 Uhr ..."), never names."""


def fold_name_digits(text: str) -> str:
    """``Orion 3.5`` -> ``Orion3.5`` (a product name with its version), not ``March 3``/``In 2019``
    nor an ordinary word and its number (``Step 3``, ``Um 18 Uhr``)."""

    def sub(m: re.Match[str]) -> str:
        word = m.group(1).lower()
        if word in MONTHS or word in COMMON_CAPITALISED or word in PREPOSITIONS:
            return m.group(0)
        if word in FOREIGN_OPENERS or is_common_word(word):
            return m.group(0)
        return m.group(1) + m.group(2)

    return _NAME_NUMBER.sub(sub, text)


def _plain(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def numbers_in(text: str) -> set[float]:
    """Every number in ``text`` as a value (``262,000`` and ``262K`` both give 262000); an ISO
    date gives its year only (its month and day are a date, :func:`dates_in`, not the numbers
    4 and 16)."""
    values: set[float] = set()
    text = _iso_years(_plain(text))
    for m in _NUM.finditer(text):
        value = float(m.group(1).replace(",", ""))
        unit = (m.group(2) or "").lower()
        if unit in _SCALES:
            value *= _SCALES[unit]
        values.add(round(value, 6))
    for m in _NUM_WORD.finditer(text):
        values.add(float(_NUMBER_WORDS[m.group(1).lower()]))
    return values


def dates_in(text: str) -> set[tuple[int, int]]:
    """``(month, day)`` of every day-of-month date (``March 3``, ``3 March``, ``Mar. 3rd``,
    ``2026-03-03``, ``the third of March``)."""
    text = day_digits(text)
    out = {(MONTHS[m.group(1).lower()], int(m.group(2))) for m in _DATE_MD.finditer(text)}
    out |= {(MONTHS[m.group(2).lower()], int(m.group(1))) for m in _DATE_DM.finditer(text)}
    out |= {(int(m.group(2)), int(m.group(3))) for m in _DATE_ISO.finditer(text)}
    return out


def _iso_years(text: str) -> str:
    """``text`` with each ISO date cut to its year: its month and day are checked as a date."""
    return _DATE_ISO.sub(lambda m: m.group(1), text)


def names_in(text: str) -> set[str]:
    """Capitalised words that name something (people, places, products, weekdays)."""
    out: set[str] = set()
    for m in _CAPITALISED.finditer(_plain(text)):
        word = m.group(1)
        word = re.sub(r"'s$", "", word)
        low = word.lower()
        if low in COMMON_CAPITALISED or low in MONTHS:
            continue
        out.add(word)
    return out


@dataclass
class RuleResult:
    ok: bool
    coverage: float
    missing: list[str]


def _date_days(dates: set[tuple[int, int]]) -> set[float]:
    return {float(d) for _, d in dates}


def _difference(value: float, numbers: set[float]) -> bool:
    """Whether ``value`` is the difference of two numbers of ``numbers``."""
    return value > 0 and any(a - value in numbers for a in numbers if a > value)


_CAPITALISED_RUN = re.compile(r"\b[A-Z][\w'’]*(?:[ \t]+[A-Z][\w'’]*)+")


def _abbreviates(name: str, text: str) -> bool:
    """Whether ``name`` is an abbreviation the text spells out: the initials of consecutive
    capitalised words ("GPL" for "General Public License", "MPL" for "Mozilla Public License")."""
    if not (2 <= len(name) <= 6 and name.isalpha() and name.isupper()):
        return False
    return any(
        name in "".join(w[0] for w in run.split()).upper() for run in _CAPITALISED_RUN.findall(text)
    )


_BOUND = re.compile(
    r"\b(more than|over|at least|upwards of|fewer than|less than|under|at most|about|around|"
    r"roughly|nearly|almost|some|approximately)\s+(?=\d|(?:" + "|".join(_NUMBER_WORDS) + r")\b)",
    re.I,
)
_STRICT = {
    "more than": 1,
    "over": 1,
    "upwards of": 1,
    "fewer than": -1,
    "less than": -1,
    "under": -1,
}
"""Bounds that the very number does not make true ("fewer than four" for "four"), and their
direction."""


def _bounds(claim: str) -> dict[float, str]:
    """The numbers a claim gives as bounds or round figures ("more than 200 million": 2e8 ->
    "more than")."""
    out: dict[float, str] = {}
    plain = _plain(claim)
    for m in _BOUND.finditer(plain):
        figure = " ".join(plain[m.end() :].split()[:2])  # "200 million", "30 years"
        for v in numbers_in(figure):
            out.setdefault(v, m.group(1).lower())
    return out


def _within(value: float, bound: str, n: float) -> bool:
    """Whether the text's number ``n`` makes the claim's bound true: "more than 200" for 203,
    "fewer than 10" for 8, "about 600" for 590 (within a tenth)."""
    if not bound or n <= 0 or not 0.5 <= n / value <= 2:
        return False  # another magnitude or another quantity
    direction = _STRICT.get(bound)
    if direction is not None:
        return n > value if direction > 0 else n < value
    if bound == "at least":
        return n >= value
    if bound == "at most":
        return n <= value
    return abs(n - value) <= 0.1 * value  # about, around, roughly, nearly, almost, some


def _versioned(name: str, claim: str, cited_plain: str, context_plain: str) -> bool:
    """Whether a name with its version ("Python 3.11", folded to "Python3") is named: the text
    gives that version ("version 3.11"), or the word is in the text or its document's name and
    the number in the text."""
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    if not m:
        return False
    word = m.group(1)
    full = re.search(rf"\b{word}(\d+(?:\.\d+)*)", claim)
    version = full.group(1) if full else m.group(2)
    low = word.lower()
    v = re.escape(version)
    if re.search(rf"\b(?:version|release|v)\s*{v}(?![\d]|\.\d)", cited_plain):
        return True  # "Changed in version 3.11": the version of what the document is about
    return (low in cited_plain or low in context_plain) and bool(
        re.search(rf"(?<![\d.]){v}(?![\d]|\.\d)", cited_plain)
    )


def check_rules(claim: str, cited_text: str, context: str = "", heading: str = "") -> RuleResult:
    """Numbers, dates and names of the claim must be in the cited text; words mostly too.

    ``context`` is the text just before the citation in its file: a name the cited sentence
    refers to by a pronoun ("He did not respond") may be found there. Numbers and dates must be
    in the cited text itself, or in ``heading``, the headings the cited text sits under: a
    release note's item says what changed, its heading in which version and on which day."""
    claim, cited_text, context, heading = (
        fold_name_digits(t) for t in (claim, cited_text, context, heading)
    )
    words_text = cited_text
    if heading:
        cited_text = f"{heading}\n{cited_text}"
    missing: list[str] = []
    claim_dates, cited_dates = dates_in(claim), dates_in(cited_text)
    # reasons come in a fixed order (dates, numbers, then names as the claim says them)
    for d in sorted(claim_dates - cited_dates):
        missing.append(f"date {d[0]}/{d[1]}")
    cited_numbers = numbers_in(cited_text)
    # numbers that are the day of a date in the claim are checked as dates; a number the text
    # gives as the difference of two of its own ("from 23% to 27%": "four points"; "2019 ...
    # 2023": "four years") is a reading of the text, left to the word checks and the judge
    bounds = _bounds(claim)
    text_bounds = _bounds(cited_text)
    for m in re.finditer(r"(\d[\d,.]*)\+", _plain(cited_text)):  # "90,000+ enterprises"
        for v in numbers_in(m.group(1)):
            text_bounds.setdefault(v, "more than")
    for value in sorted(numbers_in(_iso_years(claim)) - _date_days(claim_dates)):
        bound = bounds.get(value, "")
        if value in cited_numbers and bound in _STRICT:
            # "fewer than four" is not said by "at least four": the text must put the same bound
            # on it, or give another number that makes it true
            said = _STRICT.get(text_bounds.get(value, "")) == _STRICT[bound]
            if not said and not any(_within(value, bound, n) for n in cited_numbers):
                missing.append(f"{bound} {value:g}")
            continue
        if value in cited_numbers or _difference(value, cited_numbers):
            continue
        if any(_within(value, bounds.get(value, ""), n) for n in cited_numbers):
            continue
        missing.append(f"number {value:g}")
    cited_plain = fold_accents(_plain(cited_text).lower())
    for m in _MULTIPLE.finditer(claim):
        word = m.group(0).lower()
        factor = next(f for stem_, f in _MULTIPLES.items() if word.startswith(stem_))
        same = [s for s, f in _MULTIPLES.items() if f == factor]
        if not any(re.search(rf"\b{s}", cited_plain) for s in same) and not (
            {factor, factor * 100} & cited_numbers
        ):
            missing.append(word)
    context_plain = fold_accents(_plain(context).lower())
    # "'Not yet,' said her father": the cited text names who spoke; that someone named before
    # it spoke is no reason to read it as theirs ("Eleanor said ...")
    speaker_named = _SPOKEN_BY.search(cited_text) is not None
    # "Maria Keller" is named when the text says "Keller": a full name counts if one of its parts is
    # there (a different person shares none of them: "Tom Berg" for "Maria Keller")
    named_in_full = {
        w
        for full in _full_names(claim)
        if any(w.lower() in cited_plain for w in full.split())
        for w in full.split()
    }
    first = _OPENER.match(claim)
    opener = ""
    if first and _common_opener(first.group(1), cited_plain, not first.group(2)):
        opener = first.group(1)
    german = language(claim) == "de"
    for name in sorted(names_in(claim), key=lambda n: (claim.find(n), n)):
        low = fold_accents(name.lower())
        if low in cited_plain or name in named_in_full or name == opener:
            continue
        # "Contributors" for "Contributor"; "Library-based" for "Library"
        if low.endswith("s") and len(low) > 3 and low[:-1] in cited_plain:
            continue
        parts = [fold_accents(w.lower()) for w in name.split("-") if w[:1].isupper()]
        if "-" in name and parts and all(w in cited_plain for w in parts):
            continue
        if (
            context_plain
            and low in context_plain
            and not (speaker_named and re.search(rf"\b{re.escape(name)}\s+{_SPEECH}", claim))
        ):
            continue
        if german and _inflected(low, cited_plain):
            continue  # a noun in another case or number: "Pumpen" for "Pumpe"
        if _abbreviates(name, f"{cited_text}\n{context}"):
            continue
        if _versioned(name, claim, cited_plain, context_plain):
            continue
        missing.append(name)
    for run in _CJK_RUN.findall(claim):
        pairs = {run[i : i + 2] for i in range(len(run) - 1)}
        if pairs and sum(p in cited_text for p in pairs) / len(pairs) < 0.5:
            missing.append(run)
    claim_tokens = set(tokenize(claim))
    pool = set(tokenize(words_text))
    coverage = len(claim_tokens & pool) / len(claim_tokens) if claim_tokens else 0.0
    return RuleResult(not missing, coverage, missing)


_SPEECH = (
    r"(?:said|says|say|asked|asks|replied|replies|answered|answers|told|tells|added|adds|"
    r"cried|shouted|whispered|insisted|admitted|explained|argued|claimed|warned)\b"
)
"""A verb that gives what someone said."""
_SPOKEN_BY = re.compile(
    rf"[\"”’'],?\s+{_SPEECH}\s+(?!(?:he|she|they|I|we|you|it)\b)\w|"
    rf"[\"”’'],?\s+(?!(?:he|she|they|I|we|you|it)\b)(?:[A-Z]\w+|(?:the|her|his|my|their)\s+\w+)"
    rf"\s+{_SPEECH}"
)
"""Words in quotation marks given to a speaker who is named, not "he" or "she": '..." said
her father', '..." Silas said'."""

_OPENERS = frozenset(
    "whoever whatever whichever once option tens hundreds thousands dozens millions each every "
    "any no none neither either both all some many most few several such even only just thus "
    "hence therefore otherwise instead likewise similarly unlike like whether because unless "
    "until rather perhaps often sometimes always never".split()
)


_OPENER = re.compile(r"\s*(?:[-*•]\s+|\(?\d{1,3}[.)]\s+)?[\"'“‘(]*([\w'’-]+)(\s+[A-Z][\w'’-]*)?")
"""A claim's first word, behind a list mark or a quote; with the next word when that is
capitalised too (a name of two words: "Victor Hugo")."""


def _common_opener(word: str, cited_plain: str, alone: bool = False) -> bool:
    """Whether the first word of a claim is an ordinary word capitalised by position ("Losing
    its ...", "Once you ...", "Whoever conveys ...", "Even when ...", "Usually ...", "Im
    Protokoll ..."), not a name; ``alone``: not followed by another capitalised word, so that
    an ordinary English word ("Operators close ...", "Afterwards ...") is one too."""
    low = fold_accents(word.lower())
    return (
        low in STOPWORDS
        or low in PREPOSITIONS
        or low in _OPENERS
        or low in FOREIGN_OPENERS
        or (alone and is_common_word(low))
        or (low.endswith("ing") and len(low) > 5)
        or (low.endswith("ly") and len(low) > 5)  # "Typically", "Usually"
        or re.search(rf"(?<![\w])({re.escape(low)})(?![\w])", cited_plain) is not None
        and re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", cited_plain) is None
    )


_INFLECTIONS = ("ern", "en", "er", "es", "n", "e", "s")


def _inflected(low: str, cited_plain: str) -> bool:
    """Whether a German noun is in the cited text in another case or number: the same stem of
    four letters or more with another ending ("pumpen", "vorstandes" for "Pumpe", "Vorstand")."""
    stems = {low} | {
        low[: -len(x)] for x in _INFLECTIONS if low.endswith(x) and len(low) - len(x) >= 4
    }
    for stem in stems:
        for m in re.finditer(rf"(?<![\w]){re.escape(stem)}(\w*)", cited_plain):
            if m.group(1) in ("", *_INFLECTIONS):
                return True
    return False


def is_claim(sentence: str) -> bool:
    """Whether an answer sentence states something (abstentions and fragments do not). Two
    words state something when both are names or values: a two-column table row quoted as
    it stands ("DE Germany", "Lab manager | Kim"), not "See above"."""
    low = sentence.lower()
    if any(m in low for m in prompts.CANNOT_ANSWER_MARKERS):
        return False
    words = re.findall(r"\w+", sentence)
    if len(words) == 2 and all(w[0].isupper() or w[0].isdigit() for w in words):
        return True
    return len(words) >= 3 or bool(_CJK_RUN.search(sentence))


def judge_messages(claim: str, evidence: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": prompts.JUDGE_SYSTEM},
        {"role": "user", "content": prompts.JUDGE_USER.format(evidence=evidence, claim=claim)},
    ]


MIN_COVERAGE = 0.3
"""Below this share of its content words in the cited text, a claim is not supported."""
CONTRADICTION_COVERAGE = 0.6
"""A claim is called contradicted only when most of its words are in the text it cites (it is
about the same thing); otherwise a finding makes it unsupported."""
RULES_ONLY_COVERAGE = 0.75
"""Without a judge, the share of content words the cited text must hold."""
SURE_THRESHOLD = 0.7
"""The judge's P(yes) from which a supported claim is sure rather than tentative (the default
of ``RAG_SURE_THRESHOLD``)."""


class Checker:
    """Tests claims against cited text: rules first, then the judge (when there is one)."""

    def __init__(
        self,
        judge: Judge | None = None,
        threshold: float = 0.5,
        context_of: Callable[[Citation], str] | None = None,
        sure: float = SURE_THRESHOLD,
    ) -> None:
        self.judge = judge
        self.threshold = threshold
        self.sure = sure
        """Judge probability from which a supported claim is sure, not tentative."""
        self.context_of = context_of
        """Text before a citation in its file (see :meth:`rag.sources.CorpusFiles.context`)."""

    @property
    def mode(self) -> str:
        return "rules+llm" if self.judge is not None else "rules"

    def assess(self, claim: str, evidence: str, context: str = "", heading: str = "") -> Assessment:
        """The verdict on one claim against one piece of text: the name/number rules, then the
        claim-to-clause alignment (:func:`rag.alignment.inspect`: a negated or opposite word or
        a value bound to another event is a contradiction; a wider scope, an added cause or
        another unit is unsupported), then the judge for whatever is left. ``heading``: the
        headings the text sits under, read when the claim's numbers, dates or names are there
        (the judge then reads them too)."""
        if quotes_whole_sentence(claim, evidence):
            return Assessment("supported", 1.0, "the claim quotes the cited text")
        # a question says nothing is so: "Do they ship abroad?" neither supports nor contradicts
        # "They ship abroad"; its answer does ("No.")
        stated = statements(evidence)
        if not stated.strip():
            return Assessment("unsupported", 0.0, ASKS_ONLY)
        rules = check_rules(claim, evidence, context)
        under = ""  # the headings the claim's values were found in
        if not rules.ok and heading:
            with_heading = check_rules(claim, evidence, context, heading)
            if with_heading.ok:
                rules, under = with_heading, heading
        if not rules.ok:
            return Assessment(
                "unsupported",
                round(0.2 * rules.coverage, 3),
                "not in the cited text: " + ", ".join(rules.missing[:4]),
            )
        if rules.coverage < MIN_COVERAGE:
            return Assessment(
                "unsupported",
                round(0.4 * rules.coverage, 3),
                "the cited text is about something else",
            )
        found = inspect(claim, stated)
        if found.findings:
            first = found.contradiction or found.findings[0]
            if first.contradicts and found.coverage >= CONTRADICTION_COVERAGE:
                return Assessment(
                    "contradicted",
                    0.0,
                    f"the cited text says otherwise: {first.detail}",
                    first.text,
                )
            return Assessment("unsupported", round(0.3 * rules.coverage, 3), first.detail)
        if self.judge is None:
            # the words the claim shares with a question are not said by its answer
            said = rules if stated == evidence else check_rules(claim, stated, context)
            ok = said.coverage >= RULES_ONLY_COVERAGE
            return Assessment(
                "supported" if ok else "unsupported",
                round(said.coverage, 3),
                "words and names match (no judge read it)" if ok else "few words match",
                tentative=ok,
            )
        sentences = aligned_sentences(claim, evidence)
        if under:
            sentences = f"{under}:\n{sentences}"
        p = self.judge.yes_probability(judge_messages(claim, sentences))
        ok = p >= self.threshold
        tentative = ok and p < self.sure
        return Assessment(
            "supported" if ok else "unsupported",
            round(p, 3),
            (
                "the judge finds it stated, but only just: read the quote"
                if tentative
                else "the judge finds it stated"
                if ok
                else "the judge finds it not stated"
            ),
            tentative=tentative,
        )

    def support(self, claim: str, evidence: str, context: str = "") -> tuple[bool, float, str]:
        """``(supported, score, reason)`` for one claim against one piece of text."""
        a = self.assess(claim, evidence, context)
        return a.verdict == "supported", a.score, a.reason

    def check(self, claim: str, cited: Sequence[Citation]) -> SentenceCheck:
        """The verdict on one sentence given the citations it carries: supported when one
        citation (or all of them read together) supports it; contradicted when one states the
        opposite and none supports it."""
        numbers = [c.n for c in cited]
        if not cited:
            return SentenceCheck(text=claim, verdict="uncited", score=0.0, reason="no citation")
        contexts = {c.n: self.context_of(c) if self.context_of else "" for c in cited[:3]}
        best: tuple[Assessment, Citation] | None = None
        against: tuple[Assessment, Citation] | None = None
        # the likeliest citation first (rules alone): once one supports the claim, the others
        # are not read (each may cost a judge call)
        for c in sorted(cited[:3], key=lambda c: rule_rank(claim, [c]), reverse=True):
            a = self.assess(claim, c.quote, contexts[c.n], c.heading or "")
            if a.verdict == "contradicted" and against is None:
                against = (a, c)
            if best is None or (a.ok, a.score) > (best[0].ok, best[0].score):
                best = (a, c)
            if a.ok:
                break
        assert best is not None
        if not best[0].ok and len(cited) > 1:
            joined = " ".join(c.quote for c in cited[:3])
            a = self.assess(claim, joined, contexts[cited[0].n])
            if a.ok or a.score > best[0].score:
                a.reason += " (citations taken together)"
                best = (a, best[1])
        if not best[0].ok and against is not None:
            a, c = against
            return SentenceCheck(
                text=claim,
                citations=numbers,
                verdict="contradicted",
                score=0.0,
                reason=a.reason,
                contradiction=c,
            )
        a, c = best
        return SentenceCheck(
            text=claim,
            citations=numbers,
            verdict="supported" if a.ok else "unsupported",
            score=max(0.0, min(1.0, a.score)),
            best_citation=c.n if a.ok else None,
            reason=a.reason,
            tentative=a.ok and a.tentative,
        )


ASKS_ONLY = "the cited text only asks a question: it states nothing"


@dataclass
class Assessment:
    """What the checker made of one claim against one piece of text."""

    verdict: Literal["supported", "unsupported", "contradicted"]
    score: float
    reason: str
    against: str = ""
    """With ``contradicted``: the clause of the text that states otherwise."""
    tentative: bool = False
    """Supported on a close call (see :attr:`rag.schema.SentenceCheck.tentative`)."""

    @property
    def ok(self) -> bool:
        return self.verdict == "supported"


@dataclass
class Support:
    """A verdict on a sentence and the citations it was reached with."""

    check: SentenceCheck
    cited: list[Citation]


def quotes_whole_sentence(claim: str, text: str) -> bool:
    """Whether ``claim`` is one or more whole sentences of ``text``, word for word (spacing and
    final punctuation aside): a quote needs no judge. Part of a sentence is no quote ("X
    happened" inside "It is false that X happened.")."""
    c = " ".join(claim.split()).rstrip(" .!?;:")
    t = " ".join(text.split())
    if len(c) < 12:
        return False
    start = t.find(c)
    while start != -1:
        before = t[:start].rstrip()
        after = t[start + len(c) :]
        if (not before or before[-1] in '.!?:;"”)]') and (not after or after[0] in ".!?;:"):
            return True
        start = t.find(c, start + 1)
    return False


def overlaps(a: Span, b: Span) -> bool:
    """Whether two spans share characters of one file."""
    return a.file == b.file and a.char_start < b.char_end and b.char_start < a.char_end


def rule_rank(claim: str, cited: Sequence[Citation]) -> tuple[bool, float, int]:
    """How well ``cited`` (taken together) holds ``claim`` by the rules alone: names and numbers
    first (a question, which states nothing, never holds them), then word coverage (a group
    pays a little per extra citation), then the shorter."""
    text = " ".join(c.quote for c in cited)
    rules = check_rules(claim, text)
    ok = rules.ok and bool(statements(text).strip())
    return (ok, rules.coverage - 0.01 * (len(cited) - 1), -sum(len(c.quote) for c in cited))


def find_support(
    checker: Checker,
    claim: str,
    options: Sequence[Sequence[Citation]],
    *,
    judge_calls: int,
    avoid: Sequence[Span] = (),
) -> Support | None:
    """The one support search (answers re-cite with it, drafts find sources with it): the best of
    ``options`` (each one citation, or citations read together) for ``claim``.

    Options are ranked by :func:`rule_rank` and checked in that order until one is supported;
    the judge reads at most ``judge_calls`` of them (options the rules reject cost nothing).
    Options overlapping ``avoid`` (text already read) are skipped. ``None`` when no option is
    left; otherwise the supported option, or the best-scoring one."""
    ranked = sorted(
        (list(o) for o in options if o and not any(overlaps(c, t) for c in o for t in avoid)),
        key=lambda o: rule_rank(claim, o),
        reverse=True,
    )
    best: Support | None = None
    judged = 0
    for group in ranked:
        rules = check_rules(claim, " ".join(c.quote for c in group))
        if checker.judge is not None and rules.ok and rules.coverage >= MIN_COVERAGE:
            if judged >= judge_calls:
                break
            judged += 1
        check = checker.check(claim, group)
        ok = check.verdict == "supported"
        if best is None or (ok, check.score) > (
            best.check.verdict == "supported",
            best.check.score,
        ):
            best = Support(check, group)
        if ok:
            break
    return best


def faithfulness(checks: Sequence[SentenceCheck]) -> float | None:
    """Supported claim sentences over claim sentences (None when there is no claim)."""
    claims = [c for c in checks if is_claim(c.text)]
    if not claims:
        return None
    return round(sum(c.verdict == "supported" for c in claims) / len(claims), 4)


def slot_values(question: str, text: str) -> set[str]:
    """The values a sentence gives for the kind of fact the question asks (dates for "when",
    numbers for "how many", people for "who"; :func:`rag.questions.asked_slot`)."""
    slot = asked_slot(question)
    if slot == "when":
        days = {f"{m}/{d}" for m, d in dates_in(text)}
        weekdays = {w for w in re.findall(r"\b(\w+day)\b", text.lower()) if w in _NOT_NAMES}
        return days | weekdays
    if slot == "how_many":
        return {f"{v:g}" for v in numbers_in(text)}
    if slot == "who":
        asked = {w.lower() for w in names_in(question)}
        # people named as the source of a statement are not an answer to "who"
        text = _ATTRIBUTION.sub(" ", text)
        return {n for n in _full_names(text) if not {w.lower() for w in n.split()} & asked}
    return set()


_ATTRIBUTION = re.compile(
    r"\b(?:by|to|from|told|according to|said|says|wrote)\s+(?:[A-Z][\w'’-]+\s?){1,3}"
)
_FULL_NAME = re.compile(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)\b")


def _full_names(text: str) -> set[str]:
    """Runs of two or more capitalised words (``Maria Keller``): likely people."""
    out = set()
    for m in _FULL_NAME.finditer(_plain(text)):
        words = [w for w in m.group(1).split() if w.lower() not in COMMON_CAPITALISED]
        if len(words) >= 2:
            out.add(" ".join(words))
    return out


def values_disagree(values: set[str], other: set[str]) -> bool:
    """Whether two sources' values for the asked fact (:func:`slot_values`) disagree: sources
    that share a value agree on it (one may just say less)."""
    return values.isdisjoint(other)


def find_conflicts(
    question: str, checks: Sequence[SentenceCheck], citations: Sequence[Citation]
) -> list[Conflict]:
    """Supported sentences, citing different files, that give different values for the asked
    fact (different people for "who", dates for "when", numbers for "how many")."""
    by_n = {c.n: c for c in citations}
    sides: list[tuple[set[str], ConflictSide]] = []
    for check in checks:
        if check.verdict != "supported":
            continue
        cited = [by_n[n] for n in check.citations if n in by_n]
        values = slot_values(question, " ".join(c.quote for c in cited))
        if not values:
            continue
        files = sorted({c.file for c in cited})
        sides.append(
            (values, ConflictSide(statement=check.text, files=files, citations=check.citations))
        )
    out: list[ConflictSide] = []
    for i, (values, side) in enumerate(sides):
        for other_values, other in sides[:i] + sides[i + 1 :]:
            if set(side.files) & set(other.files):
                continue
            if values_disagree(values, other_values) and side not in out:
                out.append(side)
    if len(out) < 2:
        return []
    return [Conflict(claim=question.strip(), sides=out)]
