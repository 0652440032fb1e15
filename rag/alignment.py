"""Claim-to-clause alignment: where in the cited text a claim's facts stand together, and the
cheap, deterministic signs that the text says something else.

A writer's false claims are rarely about another topic: they reuse the source's own words and
change one thing. :func:`inspect` aligns each content word of the claim to the cited text and
looks for the changes that matter:

- ``negation``: a word the two share is negated on one side only ("may not count" / "counts");
- ``opposite``: the claim uses a word whose opposite the text uses instead (praised/criticized,
  joined/left, permit/prohibit, retain/waive);
- ``binding``: a value of the claim (number, date, section, name) stands in the text in a clause
  that holds none of the claim's words around it, while those words stand beside another value
  (the date of one event given to another; two people's roles swapped);
- ``scope``: the claim says all/every/only/must/the first where the text says some/several/one
  of/may;
- ``cause``: the claim gives a reason (because, due to, in order to, thanks to) that the text does
  not state;
- ``unit``: a number with another unit of the same kind (months/years, MB/GB, words/tokens), or a
  magnitude word (thousands/millions) that no number of the text has.

Each finding names the text it rests on. The checker (:mod:`rag.verify`) turns ``negation``,
``opposite`` and ``binding`` into the verdict ``contradicted`` and the others into
``unsupported``; what no rule finds is left to the judge. The word lists are English and about
kinds of change, never about any document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.chunking import sentence_spans
from rag.lexical import STOPWORDS, stem

_WORD = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W\d_](?:[\w'’-]*\w)?", re.UNICODE)
_CLAUSE_BREAK = re.compile(
    r"[;:—–]|,[”\"’]?\s+(?=(?:and|but|while|whereas|which|who|whom|where|when|although|though|"
    r"so|or|yet|because|since|unless|if|provided|except|including|excluding|leaving|"
    r"surpassing|suggesting)\b)|,\s+[\"“]|[”\"],?\s+(?=[a-z])|\s+-\s+|\.\s|"
    r"\s(?=(?:and|but)\s+(?:there|it|they|he|she|we)\s+(?:is|are|was|were|isn|aren|wasn|weren|"
    r"has|have|had|hasn|haven|hadn|does|do|did|doesn|don|didn|can|cannot|will|won)\b)|"
    r"\s(?=(?:even though|although|even if|whereas)\b)",
    re.I,
)

_TERM = re.compile(r"[\"“]([^\W\d_][\w'’-]*)[*]?(?:\(\))?[\"”]")
_QUOTED_TERM = re.compile(r"[\"“][^\s\"“”]+$")
"""A single word in quotes just before a closing quote: a term of the text ("except", "__exit__()")."""

NEGATIONS = frozenset(
    """not no never none nor neither nobody nothing nowhere without cannot cant dont doesnt
    didnt isnt arent wasnt werent wont wouldnt shouldnt couldnt hasnt havent hadnt neednt
    lack lacks lacked fail fails failed unable excluding except disclaim disclaims disclaimed
    """.split()
)

# Opposites: each group's words contradict every word of the other group of the same pair.
_OPPOSITES = [
    ("join enter", "leave left depart quit exit resign"),
    ("hire appoint recruit", "fire dismiss sack lay"),
    ("promote", "demote"),
    ("praise commend applaud laud welcome", "criticize criticise condemn blame attack"),
    ("confirm admit acknowledge", "deny dispute"),
    (
        "rise rose increase grow grew gain climb surge boost accelerate strengthen",
        "fall fell drop decrease decline shrink shrank lose lost slump slow weaken dismantle setback",
    ),
    ("accept approve agree", "reject refuse decline disagree oppose"),
    ("support", "oppose"),
    ("allow permit authorize authorise", "prohibit forbid ban bar prevent restrict disallow"),
    ("grant give", "revoke withdraw"),
    ("include", "exclude omit"),
    ("add", "remove delete"),
    ("retain keep preserve", "remove waive abandon surrender relinquish discard strip"),
    ("waive abandon surrender relinquish", "retain keep reserve assert"),
    ("open", "close closed"),
    ("buy purchase acquire", "sell sold divest"),
    ("start begin launch open", "end stop halt shut cancel discontinue"),
    ("terminate", "reinstate restore continue"),
    ("win won", "lose lost"),
    ("succeed", "fail"),
    ("create build form", "destroy dismantle dissolve disband"),
    ("like love", "dislike hate"),
    ("before earlier", "after later"),
    ("first earliest", "last latest final"),
    ("more", "less fewer"),
    ("higher larger bigger greater", "lower smaller less fewer"),
    ("above", "below"),
    ("maximum", "minimum"),
    ("public", "private"),
    ("voluntary", "forced involuntary"),
    ("temporary temporarily", "permanent permanently"),
    ("always", "never"),
    ("among", "outside"),
    ("receive", "distribute send give"),
    ("mourn mourning", "celebrate celebration"),
    ("require requirement", "waive"),
    ("remember", "forget"),
    ("private", "public"),
    ("internal", "external"),
    ("success", "failure"),
    ("strong", "weak"),
    ("spur foster encourage enable boost", "stifle hinder hamper curb suppress discourage"),
    ("merge integrate combine unify consolidate", "split separate divide spin"),
    ("disclose reveal announce known", "unknown undisclosed secret conceal"),
    ("give donate", "sell"),
    ("free", "paid"),
    ("valid", "invalid void"),
    ("legal lawful", "illegal unlawful"),
    ("true", "false"),
    ("success succeed", "collapse"),
]

STRONG_SCOPE = frozenset(
    "all every each always only sole solely entire whole none never must will first largest "
    "biggest greatest best most every everyone everything entirely completely".split()
)
WEAK_SCOPE = frozenset(
    "some several many few one may might could can often usually sometimes certain part "
    "partly among other others most".split()
)
_WEAK_PHRASES = ("one of", "some of", "part of", "among the", "at your option", "at least")
_CONDITIONS = ("only if", "but only", "provided that", "unless", "except")
"""A condition in the text narrows it too ("always" where the text says "only if"), unless the
claim states a condition of its own ("only if" for "provided that")."""
_CLAIM_CONDITION = re.compile(r"\b(if|unless|provided|as long as|except)\b")
_RESTRICTION = re.compile(r"\bonly (?:for|when|if|after|before|while|where|within|right|in)\b")
"""The text narrows what it says to some cases ("reliable only right after ...", "only for
classes defined ..."): narrower than a claim's "always" or "every"."""

_CAUSE_IN_TEXT = re.compile(
    r"\b(because|due to|owing to|thanks to|as a result|in order to|so that|in an effort to|why|"
    r"for fear|led to|leading to|caused|result|hence|therefore|thus|consequently|reason|so|"
    r"driven|prompted|triggered|sparked|fuell?ed|spurred|motivated|in response)\b",
    re.I,
)
_CAUSE = re.compile(
    r"\b(because|due to|owing to|thanks to|as a result of|in order to|so that|in an effort to|"
    r"which is why|that is why|for fear|led to|leading to|caused by|resulted in|driven by|"
    r"prompted by|triggered by|sparked by|fuell?ed by|spurred by|motivated by|in response to|"
    r"since (?=\w+ "
    r"(?:was|were|is|are|had|has|did|does|could|would|wanted|needed)))\b",
    re.I,
)

_UNITS: list[frozenset[str]] = [
    frozenset("second minute hour day week month year decade century".split()),
    frozenset("byte kb mb gb tb kilobyte megabyte gigabyte terabyte".split()),
    frozenset("token word character sentence line page file paragraph".split()),
    frozenset("percent % point".split()),
    frozenset("dollar cent yuan rmb euro pound yen".split()),
    frozenset("meter metre kilometer kilometre mile foot inch".split()),
]
_MAGNITUDE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "hundred": 100, "dozen": 12,
}  # fmt: skip
_MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


ANTONYMS_FILE = Path(__file__).parent / "data" / "antonyms.tsv"
"""WordNet's direct antonyms (verbs, adjectives): built by ``python -m rag.data.build_antonyms``."""


def _wordnet_pairs() -> list[tuple[str, str]]:
    try:
        lines = ANTONYMS_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []  # the lists above still hold
    return [
        (a, b)
        for line in lines
        if line and not line.startswith("#")
        for a, b in [line.split("\t", 1)]
    ]


def _opposites() -> dict[str, set[str]]:
    """Stem -> the stems of its opposites: the groups above, then WordNet's antonym pairs."""
    table: dict[str, set[str]] = {}
    for left, right in [*_OPPOSITES, *_wordnet_pairs()]:
        a = {stem(w) for w in left.split()}
        b = {stem(w) for w in right.split()}
        for w in a:
            table.setdefault(w, set()).update(b - a)
        for w in b:
            table.setdefault(w, set()).update(a - b)
    return table


OPPOSITES = _opposites()


@dataclass(frozen=True)
class Token:
    text: str
    stem: str
    start: int
    clause: int
    term: bool = False
    """A word the cited text names in quotes (a keyword, a command): a name, never a negation."""

    @property
    def low(self) -> str:
        return _fold(self.text)

    @property
    def content(self) -> bool:
        if self.term:
            return len(self.low) > 1
        return self.low not in STOPWORDS and self.low not in NEGATIONS and len(self.low) > 1


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Sentences cut further at clause boundaries (semicolons, colons, parentheses, dashes, a
    comma before a conjunction or a relative pronoun, "and" / "but" before a new subject and
    its verb: "used without X and there isn't Y" is two clauses, and "although", "even though",
    "even if", "whereas" with or without a comma)."""
    out: list[tuple[int, int]] = []
    for a, b in sentence_spans(text) or [(0, len(text))]:
        pos = a
        for m in _CLAUSE_BREAK.finditer(text, a, b):
            if m.group(0)[:1] in '”"' and _QUOTED_TERM.search(
                text, max(a, m.start() - 40), m.start()
            ):
                continue  # 'an "except" clause': a quoted term, not the end of a quotation
            if m.start() > pos:
                out.append((pos, m.start()))
            pos = m.end()
        if b > pos:
            out.append((pos, b))
    return [(a, b) for a, b in out if text[a:b].strip()] or [(0, len(text))]


def _fold(word: str) -> str:
    """A word lower-cased, without apostrophes: how words are compared ("Didn’t" -> "didnt")."""
    return word.lower().replace("’", "'").replace("'", "")


def quoted_terms(text: str) -> frozenset[str]:
    """Single words the text sets in quotes ('an "except" clause', '"next" and "step"'): terms it
    names, such as keywords and commands, not words it uses."""
    return frozenset(_fold(m.group(1)) for m in _TERM.finditer(text))


def tokens(text: str, terms: frozenset[str] = frozenset()) -> list[Token]:
    """The words of ``text`` with their stems and clause numbers; a word in ``terms`` (see
    :func:`quoted_terms`) is marked as a term."""
    spans = clause_spans(text)
    out: list[Token] = []
    ci = 0
    for m in _WORD.finditer(text):
        while ci + 1 < len(spans) and m.start() >= spans[ci][1]:
            ci += 1
        word = m.group(0)
        low = word.lower().replace("’", "'")
        # "didn't" -> one negation token
        if low.endswith("n't"):
            out.append(Token(word, "not", m.start(), ci))
            continue
        out.append(Token(word, stem(word), m.start(), ci, _fold(word) in terms))
    return out


@dataclass
class Finding:
    """One reason to doubt a claim, with the words of the text it rests on."""

    kind: str  # negation | opposite | binding | scope | cause | unit
    detail: str
    text: str = ""

    @property
    def contradicts(self) -> bool:
        return self.kind in ("negation", "opposite", "binding", "roles")


@dataclass
class Inspection:
    coverage: float
    findings: list[Finding] = field(default_factory=list)

    @property
    def contradiction(self) -> Finding | None:
        return next((f for f in self.findings if f.contradicts), None)


def _value_key(tok: Token) -> str | None:
    if re.fullmatch(r"\d+(?:[.,]\d+)*%?", tok.text):
        return tok.text.replace(",", "").rstrip("%")
    if tok.low in _NUMBER_WORDS:
        return str(_NUMBER_WORDS[tok.low])
    return None


def _numbers(toks: list[Token]) -> list[tuple[int, float]]:
    out = []
    for i, t in enumerate(toks):
        key = _value_key(t)
        if key is None:
            continue
        try:
            value = float(key)
        except ValueError:
            continue
        nxt = toks[i + 1].low if i + 1 < len(toks) else ""
        scale = _MAGNITUDE.get(nxt.rstrip("s"), 1.0)
        out.append((i, value * scale))
    return out


def _unit(tok: Token) -> tuple[int, str] | None:
    """``(family index, singular stem)`` when the token is a unit (hours, GB, tokens, %)."""
    s = "%" if tok.text == "%" else tok.stem.lower().rstrip("s")
    return next(((fam, s) for fam, units in enumerate(_UNITS) if s in units), None)


def _unit_after(toks: list[Token], i: int) -> tuple[int, str] | None:
    """The unit (family index, stem) within three words after a number."""
    for j in range(i + 1, min(len(toks), i + 4)):
        unit = _unit(toks[j])
        if unit is not None:
            return unit
        if toks[j].low in _MAGNITUDE or toks[j].low.rstrip("s") in _MAGNITUDE:
            continue
        if toks[j].clause != toks[i].clause:
            break
    return None


_MEASURES = frozenset("old young tall short long wide high deep thick heavy large".split())


def _measure_word(toks: list[Token], i: int) -> bool:
    """Whether ``toks[i]`` names what a measure measures ("32 years *old*", "6 feet *tall*"):
    after a unit it is no quality, so it has no opposite ("old" is not "young")."""
    return toks[i].low in _MEASURES and i > 0 and _unit(toks[i - 1]) is not None


_CODE = re.compile(r"[A-Z][A-Za-z]?\d+[A-Za-z]?")


def _value_kind(toks: list[Token], i: int) -> str | None:
    """``number``, ``date`` or ``name`` for a token that carries a value, else ``None``."""
    tok = toks[i]
    if tok.low in _MONTHS and tok.text[:1].isupper():
        return "date"
    if re.fullmatch(r"(?:1[89]|20)\d\d", tok.text):
        return "date"
    if _value_key(tok) is not None:
        return "number"
    if _CODE.fullmatch(tok.text) or tok.term:
        # a grade, model or part code ("P9", "A100", "X2"), or a term the text quotes ("next",
        # "step"): which one matters
        return "name"
    first_in_clause = i == 0 or toks[i - 1].clause != tok.clause
    if (
        tok.text[:1].isupper()
        and not tok.text.isupper()
        and tok.low not in STOPWORDS
        and not first_in_clause
        and not _determined(toks, i)
    ):
        return "name"
    return None


_DETERMINERS = frozenset(
    "the a an this these those any each every such its your their his her our my no some "
    "all".split()
)


def _determined(toks: list[Token], i: int) -> bool:
    """Whether a capitalised run starts after a determiner ("the Work", "a Derivative Work"):
    a defined term, not a person's or company's name."""
    j = i
    while j > 0 and toks[j - 1].text[:1].isupper() and toks[j - 1].clause == toks[i].clause:
        j -= 1
    return j > 0 and toks[j - 1].low in _DETERMINERS


_LABELS = frozenset(
    "section sections version chapter article paragraph clause page step item part number figure "
    "table exhibit schedule appendix subsection".split()
)


def _window(toks: list[Token], i: int, side: int, reach: int) -> list[int]:
    """The tokens on one side of token ``i`` (-1 left, +1 right), nearest first, at most
    ``reach`` away and within its clause."""
    out = []
    k = i + side
    while 0 <= k < len(toks) and abs(k - i) <= reach and toks[k].clause == toks[i].clause:
        out.append(k)
        k += side
    return out


def _nearest_value(toks: list[Token], w: int, kind: str, reach: int, side: int) -> int | None:
    """The token of ``kind`` nearest to token ``w`` on one side (-1 left, +1 right), within its
    clause."""
    return next((k for k in _window(toks, w, side, reach) if _value_kind(toks, k) == kind), None)


def _on_side(toks: list[Token], w: int, side: int, stems: set[str], reach: int = 14) -> bool:
    """Whether one of ``stems`` stands on that side of token ``w`` in its clause (an apposition
    may sit between a subject and its verb: "Ruiz, a leader of the X team, announced")."""
    return any(toks[k].stem in stems for k in _window(toks, w, side, reach))


def _name_run(toks: list[Token], k: int, *, owner: bool = False) -> set[str]:
    """The stems of the capitalised run a name token belongs to ("Maria Keller"). ``owner``:
    a possessive ends the run ("the firm's Lee": only lee; "Tom Lee's": tom, lee)."""
    run = {toks[k].stem}
    for step in (-1, 1):
        j = k + step
        while (
            0 <= j < len(toks)
            and toks[j].text[:1].isupper()
            and toks[j].clause == toks[k].clause
            and not (owner and _possessive(toks[j] if step < 0 else toks[j - 1]))
        ):
            run.add(toks[j].stem)
            j += step
    return run


def _binding(ct: list[Token], tt: list[Token], t_set: set[str]) -> tuple[int, int, int] | None:
    """``(word in text, value in claim, other value in text)`` when a shared word has one value
    beside it in the claim and, on the same side, another value of the same kind everywhere in
    the text (for names, another name of the claim: roles swapped)."""
    claim_stems = {t.stem for t in ct}
    t_stems = [t.stem for t in tt]
    for i, tok in enumerate(ct):
        if not tok.content or tok.stem not in t_set or tok.low in _LABELS:
            continue
        if tok.text[:1].isupper() or _value_kind(ct, i) is not None:
            continue
        # a unit belongs to its number ("32 years old" / "the past two years"): units are
        # compared by the unit check, not bound to events
        kinds = ("name",) if _unit(tok) is not None else ("date", "number", "name")
        for kind in kinds:
            for side in (-1, 1):
                mine = _nearest_value(ct, i, kind, 3, side)
                if mine is None or ct[mine].stem not in t_set:
                    continue
                own = _name_run(ct, mine) if kind == "name" else {ct[mine].stem}
                # the claim may itself give the word twice, with each value ("A reached 23%,
                # B reached 27%")
                for i2, other in enumerate(ct):
                    if i2 != i and other.stem == tok.stem:
                        v = _nearest_value(ct, i2, kind, 3, side)
                        if v is not None:
                            own = own | {ct[v].stem}
                rivals: list[tuple[int, int]] = []
                for w in (j for j, s in enumerate(t_stems) if s == tok.stem):
                    theirs = _nearest_value(tt, w, kind, 6, side)
                    if theirs is None:
                        continue
                    if tt[theirs].stem in own or _on_side(tt, w, side, own):
                        rivals = []
                        break
                    if kind == "name" and _on_side(tt, w, -side, own, 6):
                        # "the Nova members" / "members of the Nova team"
                        rivals = []
                        break
                    if kind != "name" or tt[theirs].stem in claim_stems or own & t_set:
                        rivals.append((w, theirs))
                if rivals:
                    w, theirs = rivals[0]
                    return w, mine, theirs
    return None


_RELATIONS = frozenset("into to from than by for with like over against".split())
"""Words that tie two parties of a clause together ("A into B", "A than B", "A to B")."""
_PARTIES = frozenset("you we they".split())
_PASSIVE = frozenset("is are was were be been being get gets got".split())


def _party(tok: Token) -> bool:
    return (tok.content and _value_key(tok) is None) or tok.low in _PARTIES


def _named(tok: Token) -> bool:
    return tok.text[:1].isupper() or tok.low in _PARTIES or tok.term


def _passive(toks: list[Token], i: int) -> bool:
    return any(toks[k].low in _PASSIVE for k in range(max(0, i - 2), i)) or any(
        toks[k].low == "by" for k in range(i + 1, min(len(toks), i + 3))
    )


def _places(toks: list[Token]) -> dict[str, list[int]]:
    """Where each stem stands among ``toks``, in order."""
    out: dict[str, list[int]] = {}
    for i, t in enumerate(toks):
        out.setdefault(t.stem, []).append(i)
    return out


_CONTRACTED_IS = frozenset("its thats theres hes shes whats heres lets whos wheres".split())
"""Words that end in "'s" without owning anything ("It's", "That's")."""


def _apostrophe_s(text: str) -> bool:
    """Whether ``text`` ends in "'s" (or "’s"): a possessive, or "is" / "has" contracted."""
    return text.replace("’", "'").endswith("'s")


def _possessive(tok: Token) -> bool:
    """A capitalised name that owns what follows ("Lee's")."""
    return tok.text[:1].isupper() and _apostrophe_s(tok.text) and tok.low not in _CONTRACTED_IS


def _owners(toks: list[Token]) -> list[tuple[int, int]]:
    """``(owner, thing)`` pairs: "Lee's departure" and "the departure of (the firm's) Lee"."""
    out = []
    for i, t in enumerate(toks):
        nxt = next((k for k in range(i + 1, min(len(toks), i + 3)) if toks[k].content), None)
        if _possessive(t) and nxt is not None and not toks[nxt].text[:1].isupper():
            out.append((i, nxt))
        if t.low == "of" and i > 0 and toks[i - 1].content and not _named(toks[i - 1]):
            # the first run of capitalised words that is not itself an owner ("of the firm's
            # Lee": Lee)
            k = i + 1
            while k < min(len(toks), i + 7) and toks[k].clause == t.clause:
                if not toks[k].text[:1].isupper():
                    k += 1
                    continue
                end = k
                while (
                    end + 1 < len(toks)
                    and toks[end + 1].text[:1].isupper()
                    and not _possessive(toks[end])
                ):
                    end += 1
                if not _possessive(toks[end]):
                    out.append((k, i - 1))
                    break
                k = end + 1
    return out


def _bare(name: str) -> str:
    """A name without its possessive "'s"."""
    return re.sub(r"['’]s$", "", name)


def _other_owner(ct: list[Token], tt: list[Token]) -> tuple[int, int, int] | None:
    """``(claim owner, text owner, claim thing)`` when the claim gives a thing to one named
    party ("the departure of Lee") and the text gives that thing only to another one it also
    names ("Kim's departure"): whose it is, reversed."""
    t_names = {t.stem for t in tt if t.text[:1].isupper()}
    text_owners: dict[str, list[int]] = {}
    for o, w in _owners(tt):
        text_owners.setdefault(tt[w].stem, []).append(o)
    for o, w in _owners(ct):
        theirs = text_owners.get(ct[w].stem, [])
        mine = _name_run(ct, o, owner=True)
        if (
            theirs
            and mine & t_names
            and all(not mine & _name_run(tt, j, owner=True) for j in theirs)
        ):
            return o, theirs[0], w
    return None


def _swap(ct: list[Token], tt: list[Token], t_set: set[str]) -> tuple[int, int, int] | None:
    """``(anchor in the text, party a, party b in the claim)`` when two parties of the claim stand
    on either side of a word they share with the text ("product managers must think like
    researchers") and the text has them the other way round at every place of that word
    ("researchers must think like product managers"): who did what to whom, reversed. A change of
    voice ("was praised by") is not a reversal, so passives are left out."""
    t_places = _places(tt)
    for i, tok in enumerate(ct):
        if tok.stem not in t_set or not (tok.content or tok.low in _RELATIONS):
            continue
        if tok.text[:1].isupper() or _value_key(tok) is not None or _passive(ct, i):
            continue
        left = [k for k in _window(ct, i, -1, 5) if _party(ct[k]) and ct[k].stem in t_set]
        right = [k for k in _window(ct, i, 1, 5) if _party(ct[k]) and ct[k].stem in t_set]
        for a in left:
            for b in right:
                sa, sb = ct[a].stem, ct[b].stem
                if sa == sb or sa == tok.stem or sb == tok.stem:
                    continue
                if tok.low in _RELATIONS and not (_named(ct[a]) and _named(ct[b])):
                    continue  # "for a fee ... for this Package": too loose without names
                swapped, kept = None, False
                for j in t_places[tok.stem]:
                    if tt[j].low != tok.low:  # "reacted strongly" / "strong reactions"
                        continue
                    if _passive(tt, j):
                        kept = True
                        break
                    tl = {tt[k].stem for k in _window(tt, j, -1, 5)}
                    tr = {tt[k].stem for k in _window(tt, j, 1, 5)}
                    if sa in tl or sb in tr:
                        kept = True
                        break
                    if sb in tl and sa in tr and swapped is None:
                        swapped = j
                if swapped is not None and not kept:
                    return swapped, a, b
    return None


_PERSONS = frozenset({"you", "we"})
"""Pronouns that name a party of their own (a licence's "You"), not one named before."""
_SUBJECT_SKIPS = frozenset("only then also just still first later already otherwise".split())
"""Words that may stand between a subject and its verb ("You explicitly state", "each
Contributor must agree"), besides auxiliaries, negations and adverbs in -ly."""


def _adverbial(tok: Token) -> bool:
    """An adverb, which is never the verb of a subject ("explicitly", "otherwise")."""
    return tok.low in _SUBJECT_SKIPS or _adverb(tok.low)


def _subject(toks: list[Token], i: int) -> int | None:
    """The named party right before word ``i`` (past auxiliaries, negations and adverbs), when
    ``i`` reads as its verb: "Ana wrote", "the Licensor explicitly states", "each Contributor
    must agree". ``None`` for a possessive ("Ana's review"), a passive ("was praised") or a
    word with no named party before it."""
    if _passive(toks, i):
        return None
    for k in _window(toks, i, -1, 4):
        t = toks[k]
        if t.low in _AUXILIARIES or _adverbial(t) or _is_negation(t):
            continue
        if (
            (t.content or t.low in _PERSONS)
            and _named(t)
            and not _apostrophe_s(t.text)
            and _value_key(t) is None
        ):
            return k
        return None
    return None


def _subject_group(toks: list[Token], k: int, text: str) -> set[str]:
    """The stems of subject ``k``'s name and of the names joined to it by "and" / "or" / a
    comma list ("Lee and Kim wrote", "Lee, Kim and Park wrote"); not a name set off before it
    by a comma alone ("directed at Lee, Kim wrote")."""
    group = {toks[k].stem}
    j = k
    while j > 0 and toks[j - 1].clause == toks[k].clause:
        between = text[toks[j - 1].start + len(toks[j - 1].text) : toks[j].start]
        prev = toks[j - 1]
        if prev.text[:1].isupper() and not between.strip() and not _apostrophe_s(prev.text):
            group.add(prev.stem)  # "Maria Keller"
            j -= 1
        elif prev.low in ("and", "or") and j >= 2 and _named(toks[j - 2]):
            group.add(toks[j - 2].stem)
            j -= 2
        elif (
            "," in between
            and prev.low not in ("and", "or")
            and _named(prev)
            and any(toks[m].low in ("and", "or") for m in range(j, k))
        ):
            group.add(prev.stem)
            j -= 1
        else:
            break
    return group


def _other_subject(
    ct: list[Token], tt: list[Token], t_set: set[str], claim: str, cited: str
) -> tuple[int, int, int, int] | None:
    """``(claim subject, claim verb, text subject, text verb)`` when the claim gives an act to
    one named party ("Lee wrote") and the text, wherever it has that act, gives it to another party the
    claim also names ("Kim wrote", the claim naming Kim elsewhere), while the text names the
    claim's party too: who did it, reversed. A party on the verb's side of the clause in the
    other text ("Lee and Kim wrote") keeps it."""
    c_stems = {t.stem for t in ct}
    t_places = _places(tt)
    for i, tok in enumerate(ct):
        if not tok.content or _named(tok) or _value_key(tok) is not None or _adverbial(tok):
            continue
        s = _subject(ct, i)
        places = t_places.get(tok.stem, [])
        if s is None or not places:
            continue
        mine = _subject_group(ct, s, claim)
        if not mine & t_set:
            continue
        theirs = [(j, _subject(tt, j)) for j in places]
        if any(k is None or mine & _subject_group(tt, k, cited) for j, k in theirs):
            continue
        j, k = theirs[0]
        assert k is not None
        other = _subject_group(tt, k, cited)
        if other & c_stems and not other & mine:
            return s, i, k, j
    return None


def _of_frames(toks: list[Token]) -> list[tuple[str, int, str]]:
    """``(thing, modifier, head)`` for "the authors of previous versions": the thing, the index
    of the modifier, the head it modifies (a determiner between them aside)."""
    out = []
    for i, t in enumerate(toks):
        if t.low != "of" or i == 0 or not toks[i - 1].content:
            continue
        k = [m for m in _window(toks, i, 1, 3) if toks[m].low not in _DETERMINERS]
        if (
            len(k) >= 2
            and k[1] == k[0] + 1
            and all(toks[m].content and not _named(toks[m]) for m in k[:2])
        ):
            out.append((toks[i - 1].stem, k[0], toks[k[1]].stem))
    return out


def _other_modifier(ct: list[Token], tt: list[Token], t_set: set[str]) -> tuple[int, int] | None:
    """``(claim modifier, text modifier)`` when the claim says "the authors of modified
    versions" where the text says "the authors of previous versions" and the claim gives the
    text's modifier to something else ("the problems of previous versions"): two things'
    modifiers swapped."""
    c_stems = {t.stem for t in ct}
    t_frames = _of_frames(tt)
    for thing, m, head in _of_frames(ct):
        theirs = [k for th, k, hd in t_frames if th == thing and hd == head]
        if not theirs or any(tt[k].stem == ct[m].stem for k in theirs):
            continue
        k = theirs[0]
        if ct[m].stem in t_set and tt[k].stem in c_stems:
            return m, k
    return None


def _voice(ct: list[Token], tt: list[Token]) -> tuple[int, int] | None:
    """``(claim agent, text verb)`` when the claim puts a verb in the passive ("a block that
    was invoked by the caller") where the text has it active in the same order ("a block that
    invoked the caller"): the same two parties, the roles reversed. A passive that turns the
    parties round ("the caller was invoked by the block") says what the text says."""
    t_places = _places(tt)
    for i, tok in enumerate(ct):
        if not tok.content or _named(tok) or _adverbial(tok) or i + 1 >= len(ct):
            continue
        by = i + 1
        if ct[by].low != "by" or not any(ct[k].low in _PASSIVE for k in _window(ct, i, -1, 4)):
            continue
        agent = next((k for k in _window(ct, by, 1, 3) if ct[k].content), None)
        if agent is None:
            continue
        places = t_places.get(tok.stem, [])
        # active wherever the text has the verb, with the claim's agent as its object
        if places and all(
            not _passive(tt, j)
            and ct[agent].stem in {tt[k].stem for k in _window(tt, j, 1, 3) if tt[k].content}
            for j in places
        ):
            return agent, places[0]
    return None


def _is_negation(tok: Token) -> bool:
    return not tok.term and (tok.low in NEGATIONS or tok.stem == "not")


_ARTICLES = frozenset({"a", "an", "the"})


_CONTRASTS = {"than": "rather", "of": "instead", "from": "far"}
"""Words that deny what follows them after the word before them: "rather than", "instead of",
"far from"."""


def _negates(toks: list[Token], i: int) -> bool:
    """Whether token ``i`` is a negation: a negative word, or the second word of "rather than",
    "instead of", "far from"; not a word right after an article ("an except clause" names a
    clause, it excludes nothing)."""
    if i > 0 and toks[i - 1].low in _ARTICLES and toks[i - 1].clause == toks[i].clause:
        return False
    before = _CONTRASTS.get(toks[i].low)
    return _is_negation(toks[i]) or (before is not None and i > 0 and toks[i - 1].low == before)


_AUXILIARIES = frozenset(
    """do does did is are was were be been am will would shall should may might can could must
    has have had need dare ought""".split()
)
_CLAUSE_NEGATIONS = frozenset("not never neither nor cannot none nobody nothing nowhere".split())


def _clause_level(toks: list[Token], i: int) -> bool:
    """Whether negation ``i`` negates its clause ("does not bring", "never", "neither ... nor")
    rather than one word ("a work not based on", "without permission")."""
    tok = toks[i]
    if tok.stem == "not" and tok.low not in NEGATIONS | {"not"}:  # a contraction: "didn't"
        return True
    if tok.low in _CLAUSE_NEGATIONS and tok.low != "not":
        return True
    prev = toks[i - 1] if i > 0 and toks[i - 1].clause == tok.clause else None
    if prev is not None and _apostrophe_s(prev.text.lower()):
        return True  # "it's not", "that's not": "is" / "has" contracted
    return (prev is not None and prev.low in _AUXILIARIES) or (
        tok.low in NEGATIONS and tok.low.endswith("nt")
    )


_COMPARATIVES = frozenset(
    "more less fewer later earlier longer shorter greater higher lower".split()
)


def _adverb(low: str) -> bool:
    """An adverb in -ly ("immediately", "directly"), not "apply", "family" or "only"."""
    return len(low) > 5 and low.endswith("ly") and not low.endswith(("ply", "ily"))


_CORRECTIONS = frozenset(
    "in on at by to for from with into of as through under within a an the rather instead".split()
)
"""Words after the "but" of "not A but B" that start the B it puts in A's place."""


def _corrected(toks: list[Token], i: int) -> bool:
    """Whether negation ``i`` is corrected in the next clause: "not resolved in A, but in B"
    says where it is resolved; it denies A, not the verb."""
    t = toks[i]
    for k in range(i + 1, min(len(toks) - 1, i + 14)):
        if toks[k].clause > t.clause + 1:
            break
        if toks[k].low == "but" and toks[k].clause == t.clause + 1:
            return toks[k + 1].low in _CORRECTIONS
    return False


def _governed_by(toks: list[Token], i: int) -> int | None:
    """The word negation ``i`` governs: the first content word after it in its clause (none in
    "whether or not", "not only")."""
    t = toks[i]
    before = toks[i - 1].low if i > 0 else ""
    after = toks[i + 1].low if i + 1 < len(toks) else ""
    if after in _ARTICLES and i + 2 < len(toks):
        after = toks[i + 2].low  # "not the only one"
    if before == "or" or after in ("only", "just", "merely"):
        return None
    corrected = _corrected(toks, i)
    if after in _COMPARATIVES and i + 2 < len(toks) and toks[i + 2].low == "than":
        return None  # "no more than", "not later than": a bound, not a denial
    for k in range(i + 1, min(len(toks), i + 5)):
        w = toks[k]
        if w.clause != t.clause:
            break
        # "not your choice", "not immediately clear": past a determiner or an adverb in -ly
        if w.content and w.low not in _DETERMINERS and not _adverb(w.low):
            after_verb = [n for n in (k + 1, k + 2) if n < len(toks)]
            p = next((n for n in after_verb if toks[n].low in _CORRECTIONS), None)
            if corrected and p is not None:
                # "not resolved (up) in A, but in B": what is denied is A, not the verb
                return next(
                    (
                        n
                        for n in range(p + 1, min(len(toks), p + 5))
                        if toks[n].clause == t.clause and toks[n].content
                    ),
                    None,
                )
            return k
    return None


def _polarity(toks: list[Token]) -> list[int]:
    """Per token, 1 when it reads as negated: the clause's negations that negate the whole
    clause, plus a negation of the word alone ("not based", "without permission"), mod 2; so
    "Neither party may use it without permission" reads "permission" as positive."""
    clause_count: dict[int, int] = {}
    local: dict[int, int] = {}
    for i, t in enumerate(toks):
        if not _negates(toks, i):
            continue
        k = _governed_by(toks, i)
        if k is None:
            continue
        if _clause_level(toks, i):
            clause_count[t.clause] = clause_count.get(t.clause, 0) + 1
        else:
            local[k] = local.get(k, 0) + 1
    for c in list(clause_count):
        lows = {t.low for t in toks if t.clause == c}
        if "neither" in lows and "nor" in lows:
            clause_count[c] -= 1
    return [(clause_count.get(t.clause, 0) + local.get(i, 0)) % 2 for i, t in enumerate(toks)]


_ABILITY = frozenset("possible allowed permitted able".split())
"""Words whose denial denies the act after them: "it is not possible to mix A and B" says that
A and B are not mixed."""


def _governed(toks: list[Token]) -> list[int]:
    """Tokens a negation governs (see :func:`_governed_by`), and the verb after a denied
    "possible to" / "allowed to" ("not possible to *mix*")."""
    out = []
    for i in range(len(toks)):
        if _negates(toks, i) and (k := _governed_by(toks, i)) is not None:
            out.append(k)
            if (
                toks[k].low in _ABILITY
                and k + 2 < len(toks)
                and toks[k + 1].low == "to"
                and toks[k + 2].clause == toks[k].clause
            ):
                out.append(k + 2)
    return out


_EXCLUSIONS = frozenset("without excluding except".split())


def _double_negatives(toks: list[Token]) -> set[int]:
    """Clauses that deny one thing and exclude another ("may not be used without permission",
    "excluding notices that do not pertain"): they state a requirement, which a claim may say
    in positive words ("needs permission", "notices that pertain"), so no word of theirs is
    read as negated or not."""
    denied = {t.clause for i, t in enumerate(toks) if _negates(toks, i) and _clause_level(toks, i)}
    return {t.clause for t in toks if t.low in _EXCLUSIONS and not t.term and t.clause in denied}


def _negation_flip(
    ct: list[Token], tt: list[Token], cp: list[int], tp: list[int]
) -> tuple[int, bool] | None:
    """A word governed by a negation on one side that reads with the other polarity wherever it
    stands on the other side: ``(index in the text, whether the claim negates it)``. A text that
    states the word both ways ("may charge for support ... may not charge for the program")
    flips nothing. ``cp``/``tp``: :func:`_polarity` of each side."""
    t_places, c_places = _places(tt), _places(ct)
    c_double, t_double = _double_negatives(ct), _double_negatives(tt)
    for i in _governed(ct):
        places = t_places.get(ct[i].stem, [])
        if ct[i].clause in c_double or any(tt[j].clause in t_double for j in places):
            continue
        if cp[i] and any(not cp[k] for k in c_places[ct[i].stem]):
            continue  # "from the date it was applied, not from the date of the judgment"
        if places and all(tp[j] != cp[i] for j in places) and not _same_words(ct, i, tt, places):
            return places[0], bool(cp[i])
    for j in _governed(tt):
        places = c_places.get(tt[j].stem, [])
        if tt[j].clause in t_double or any(ct[i].clause in c_double for i in places):
            continue
        if _absent(tt, j, ct, places):
            continue
        polarities = {cp[i] for i in places}
        text_polarities = {tp[k] for k in t_places[tt[j].stem]}
        if (
            len(polarities) == 1
            and not text_polarities & polarities
            and not _same_words(tt, j, ct, places)
        ):
            return j, bool(cp[places[0]])
        if len(polarities) == 2 and len(text_polarities) == 1:
            # the claim says it both ways ("may not remove ... except that you may remove"),
            # the text one way only: the other way is the claim's own
            other = [i for i in places if cp[i] not in text_polarities]
            if not _same_words(tt, j, ct, other):
                return j, bool(cp[other[0]])
    return None


_ABSENCE = frozenset("gone absent missing away".split())
"""Words that say what "without" says: "once its core staff were gone" for "without its core
staff"."""


def _absent(tt: list[Token], j: int, ct: list[Token], places: list[int]) -> bool:
    """Whether the text denies word ``j`` in a way the claim says in other words where it names
    it: "without X" / "once X was gone" (absent, missing); "except when X" / "unless X"."""
    before = [tt[k].low for k in range(max(0, j - 4), j)]
    clauses = {ct[i].clause for i in places}
    said = {t.low for t in ct if t.clause in clauses}
    if "without" in before:
        return bool(said & _ABSENCE)
    if "except" in before and ({"when", "if"} & set(before)):
        return "unless" in said
    return False


_TEMPORAL = frozenset({"before", "after"})
"""Stopwords that still have an opposite: which of two steps comes first. They contradict only
before the same event ("after X is done" / "before X is done"), since "A before B" says what
"B after A" says."""


def _next_content(toks: list[Token], i: int) -> str:
    """The stem of the first content word after ``i`` in its clause ("" if none)."""
    for t in toks[i + 1 : i + 4]:
        if t.clause != toks[i].clause:
            break
        if t.content:
            return t.stem
    return ""


def _same_words(toks: list[Token], k: int, other: list[Token], places: list[int]) -> bool:
    """Whether the negation that governs word ``k`` stands right before the same word on the
    other side too ("an except clause" / 'an "except" clause'): both sides say the same words,
    whatever their clause boundaries make of them."""
    negators = {toks[n].low for n in range(max(0, k - 4), k) if _negates(toks, n)}
    return any(j > 0 and other[j - 1].low in negators for j in places)


_CELLS = re.compile(r"\s*\|\s*|\t+")


def _table_rows(text: str) -> list[tuple[int, int]]:
    """The data rows of a table in ``text`` (lines of cells split by "|" or tabs, or CSV records
    with the same number of commas), as character spans; none when fewer than two. A row
    without a digit whose cells are single words is the header: its words name columns."""
    lines, pos = [], 0
    for line in text.split("\n"):
        lines.append((pos, pos + len(line), line))
        pos += len(line) + 1
    piped = [(a, b, ln) for a, b, ln in lines if len([c for c in _CELLS.split(ln) if c]) >= 2]
    commas = [ln.count(",") for _, _, ln in lines if ln.count(",") >= 2 and ". " not in ln]
    if len(piped) < 2 and len(commas) >= 2 and len(set(commas)) == 1:
        piped = [(a, b, ln) for a, b, ln in lines if ln.count(",") == commas[0]]
        cells = [[c.strip() for c in ln.split(",")] for _, _, ln in piped]
    else:
        cells = [[c for c in _CELLS.split(ln) if c.strip()] for _, _, ln in piped]
    rows = [
        (a, b)
        for (a, b, ln), cs in zip(piped, cells, strict=True)
        if re.search(r"\d", ln) or not all(len(c.split()) == 1 for c in cs)
        if not re.fullmatch(r"[\s|:=+-]*", ln)
    ]
    return rows if len(rows) >= 2 else []


def _other_row(
    ct: list[Token], tt: list[Token], rows: list[tuple[int, int]]
) -> tuple[int, int] | None:
    """``(name in the claim, word in the text)`` when the cited text is a table (``rows``, see
    :func:`_table_rows`) and a word the claim says of a name stands only in other rows than the
    name's ("Kim is the safety officer" against "Lee | safety officer" and "Kim | lab manager")."""
    if not rows:
        return None

    row_of = [next((r for r, (a, b) in enumerate(rows) if a <= t.start < b), None) for t in tt]
    in_rows: dict[str, set[int]] = {}
    outside: set[str] = set()
    for t, r in zip(tt, row_of, strict=True):
        if r is None:
            outside.add(t.stem)
        else:
            in_rows.setdefault(t.stem, set()).add(r)
    names = [
        i
        for i, t in enumerate(ct)
        if t.content and t.text[:1].isupper() and t.stem in in_rows and t.stem not in outside
    ]
    if not names:
        return None
    mine = set().union(*(in_rows[ct[i].stem] for i in names))
    name_stems = {ct[i].stem for i in names}
    for t in ct:
        if not (t.content or _value_key(t)) or t.stem in name_stems or t.stem in outside:
            continue
        theirs = in_rows.get(t.stem, set())
        if theirs and not theirs & mine:
            r = min(theirs)
            return names[0], next(
                j for j, u in enumerate(tt) if u.stem == t.stem and row_of[j] == r
            )
    return None


def inspect(claim: str, cited: str) -> Inspection:
    """Align ``claim`` to ``cited`` and list what the text says differently."""
    terms = quoted_terms(cited)
    ct = tokens(claim, terms)
    tt = tokens(cited, terms)
    t_stems = [t.stem for t in tt]
    t_set = set(t_stems)
    content = [i for i, t in enumerate(ct) if t.content]
    shared = [i for i in content if ct[i].stem in t_set]
    coverage = len(shared) / len(content) if content else 0.0
    found: list[Finding] = []
    cited_low = " ".join(cited.lower().split())

    # negation: the word a negation governs, negated on one side only (by clause and word
    # polarity, so a double negative reads as positive)
    cp, tp = _polarity(ct), _polarity(tt)
    flip = _negation_flip(ct, tt, cp, tp)
    if flip is not None:
        j, claim_neg = flip
        found.append(
            Finding(
                "negation",
                f"the text {'does not negate' if claim_neg else 'negates'} \u201c{tt[j].text}\u201d",
                _clause_text(cited, tt, j),
            )
        )

    # opposite words: the claim's word is absent, its opposite present (with the same polarity:
    # "not voluntary" agrees with "involuntary")
    for i in [*content, *(i for i, t in enumerate(ct) if t.low in _TEMPORAL)]:
        s = ct[i].stem
        if s in t_set or _measure_word(ct, i):
            continue
        opposite = OPPOSITES.get(s, set()) & t_set
        places = [j for j, t in enumerate(tt) if t.stem in opposite and tp[j] == cp[i]]
        if ct[i].low in _TEMPORAL:  # "after A, B" / "B before A": the same order, other words
            places = [j for j in places if _next_content(tt, j) == _next_content(ct, i) != ""]
        elif i > 0 and ct[i - 1].low in _DETERMINERS and (head := _next_content(ct, i)) in t_set:
            # "the last item" / "the first suite ... the next item": a modifier's opposite said
            # of another thing than the one the claim's word is said of
            places = [j for j in places if _next_content(tt, j) in (head, "")]
        if places:
            j = places[0]
            found.append(
                Finding(
                    "opposite",
                    f"the claim says \u201c{ct[i].text}\u201d, the text \u201c{tt[j].text}\u201d",
                    _clause_text(cited, tt, j),
                )
            )
            break

    # binding: a word of the claim whose nearest value (date, number, name) in the text is
    # another one (the date of one event given to another; two people's roles swapped)
    # (a table's rows are checked as rows below: its header's words are no values)
    rows = _table_rows(cited)
    binding = None if rows else _binding(ct, tt, t_set)
    if binding is not None:
        w, mine, theirs = binding
        found.append(
            Finding(
                "binding",
                f"the text puts \u201c{tt[w].text}\u201d with \u201c{tt[theirs].text}\u201d, "
                f"not with \u201c{ct[mine].text}\u201d",
                _clause_text(cited, tt, w),
            )
        )

    # rows: in a table, a name and the facts the claim gives it stand in one row
    row = _other_row(ct, tt, rows)
    if row is not None:
        i, j = row
        found.append(
            Finding(
                "binding",
                f"the text's table gives \u201c{tt[j].text}\u201d in another row than "
                f"\u201c{ct[i].text}\u201d",
                _clause_text(cited, tt, j),
            )
        )

    # roles: two parties on either side of a shared word, the other way round in the text
    swap = _swap(ct, tt, t_set)
    if swap is not None:
        j, a, b = swap
        found.append(
            Finding(
                "roles",
                f"the text has \u201c{ct[b].text}\u201d before \u201c{tt[j].text}\u201d and "
                f"\u201c{ct[a].text}\u201d after it, the other way round",
                _clause_text(cited, tt, j),
            )
        )

    # subjects: the claim gives an act to one party, the text to another it also names
    subject = _other_subject(ct, tt, t_set, claim, cited) if swap is None else None
    if subject is not None:
        mine, act, theirs, verb = subject
        found.append(
            Finding(
                "roles",
                f"the text says \u201c{tt[theirs].text} {tt[verb].text}\u201d, "
                f"not \u201c{ct[mine].text} {ct[act].text}\u201d",
                _clause_text(cited, tt, verb),
            )
        )
    # modifiers: "the authors of modified versions" where the text has "of previous versions"
    modifier = _other_modifier(ct, tt, t_set) if swap is None else None
    if modifier is not None:
        cm, tm = modifier
        found.append(
            Finding(
                "roles",
                f"the text says \u201c{tt[tm].text} {tt[tm + 1].text}\u201d there, "
                f"not \u201c{ct[cm].text} {ct[cm + 1].text}\u201d",
                _clause_text(cited, tt, tm),
            )
        )
    # voice: the claim's passive keeps the text's order ("invoked by X" / "invoked X")
    voice = _voice(ct, tt) if swap is None and subject is None else None
    if voice is not None:
        agent, verb = voice
        found.append(
            Finding(
                "roles",
                f"the text says \u201c{tt[verb].text}\u201d the {ct[agent].text}, "
                f"not \u201c{tt[verb].text} by\u201d it: the roles reversed",
                _clause_text(cited, tt, verb),
            )
        )

    # owners: the claim gives a thing to one party, the text to another ("Kim's departure")
    owner = _other_owner(ct, tt) if swap is None else None
    if owner is not None:
        mine, theirs, thing = owner
        found.append(
            Finding(
                "roles",
                f"the text gives the {ct[thing].text} to “{_bare(tt[theirs].text)}”, "
                f"not to “{ct[mine].text}”",
                _clause_text(cited, tt, theirs),
            )
        )

    # scope: all/only/must where the text says some/one of/may
    claim_low = " ".join(claim.lower().split())
    conditional = re.search(r"\b(provided|only if|required|shall|must|need)\b", cited_low)
    strong = [
        t
        for k, t in enumerate(ct)
        if t.low in STRONG_SCOPE
        and t.stem not in t_set
        and not (t.low == "must" and conditional)
        # "only if" / "only when" states a condition, not a scope
        and not (t.low == "only" and k + 1 < len(ct) and ct[k + 1].low in ("if", "when", "where"))
        # "not the only one", "not all": a denied scope is a narrow one
        and not any(_negates(ct, n) for n in range(max(0, k - 2), k))
    ]
    weak_in_text = (
        any(t.low in WEAK_SCOPE for t in tt)
        or any(p in cited_low for p in _WEAK_PHRASES)
        or (
            (any(p in cited_low for p in _CONDITIONS) or _RESTRICTION.search(cited_low))
            and not _CLAIM_CONDITION.search(claim_low)
        )
    )
    if strong and weak_in_text:
        found.append(
            Finding("scope", f"the claim says \u201c{strong[0].text}\u201d; the text is narrower")
        )
    elif any(
        p in cited_low and p not in claim_low for p in ("one of", "some of", "among the")
    ) and re.search(r"\bthe (?:\w+est|most \w+|first|only|largest|biggest)\b", claim_low):
        found.append(Finding("scope", "the text says \u201cone of\u201d, the claim does not"))

    # cause: a reason the text does not give
    m = _CAUSE.search(claim)
    if m:
        reason = claim[m.end() :]
        reason_stems = {t.stem for t in tokens(reason) if t.content}
        held = len(reason_stems & t_set) / len(reason_stems) if reason_stems else 1.0
        if not _CAUSE_IN_TEXT.search(cited) or held < 0.6:
            found.append(
                Finding(
                    "cause",
                    f"the text does not say \u201c{m.group(1)} "
                    f"{re.split(r'[,;:]', reason.strip())[0][:60]}\u201d",
                )
            )

    # units and magnitudes
    t_numbers = _numbers(tt)
    for i, value in _numbers(ct):
        unit = _unit_after(ct, i)
        if unit is None:
            continue
        same = [j for j, v in t_numbers if abs(v - value) < 1e-9]
        text_units = [u for j in same if (u := _unit_after(tt, j)) is not None]
        if text_units and all(u[0] == unit[0] and u[1] != unit[1] for u in text_units):
            found.append(
                Finding("unit", f"the text gives {ct[i].text} {text_units[0][1]}, not {unit[1]}")
            )
            break
    # a unit word swapped in the same phrase ("over the past month" / "over the past year")
    if not any(f.kind == "unit" for f in found):
        for i, tok in enumerate(ct):
            unit = _unit(tok)
            if unit is None or tok.stem in t_set or i == 0:
                continue
            before = ct[i - 1].stem
            other = next(
                (
                    j
                    for j in range(1, len(tt))
                    if tt[j - 1].stem == before
                    and (their_unit := _unit(tt[j])) is not None
                    and their_unit[0] == unit[0]
                ),
                None,
            )
            if other is not None:
                found.append(
                    Finding(
                        "unit",
                        f"the text says \u201c{tt[other].text}\u201d, not \u201c{tok.text}\u201d",
                        _clause_text(cited, tt, other),
                    )
                )
                break
    for i, tok in enumerate(ct):
        mag = _MAGNITUDE.get(tok.low.rstrip("s"))
        plural = tok.low.endswith("s")
        if mag is None or not plural or (i > 0 and _value_key(ct[i - 1]) is not None):
            continue
        if tok.stem in t_set:
            continue
        values = [v for _, v in t_numbers if v >= 100]
        if values and not any(mag <= v < mag * 1000 for v in values):
            found.append(Finding("unit", f"no number of the text is in the {tok.low}"))
            break
    return Inspection(coverage=coverage, findings=found)


def _clause_text(text: str, toks: list[Token], j: int) -> str:
    spans = clause_spans(text)
    a, b = spans[min(toks[j].clause, len(spans) - 1)]
    return " ".join(text[a:b].split())


def aligned_sentences(claim: str, text: str, most: int = 2) -> str:
    """The sentences of ``text`` that hold the claim's words (at most ``most``, chosen greedily by
    the claim words they add, in text order, whitespace folded): what the judge reads, so that a
    small model looks at the clause that should state the claim, not a whole passage."""
    spans = sentence_spans(text) or [(0, len(text))]
    if len(spans) <= 1:
        return text
    want = {t.stem for t in tokens(claim) if t.content}
    sentences = [text[a:b] for a, b in spans]
    stems = [{t.stem for t in tokens(s) if t.content} for s in sentences]
    chosen: list[int] = []
    left = set(want)
    for _ in range(most):
        i = max(range(len(sentences)), key=lambda k: (len(stems[k] & left), -k))
        if i in chosen or not stems[i] & left:
            break
        chosen.append(i)
        left -= stems[i]
    return " ".join(" ".join(sentences[i].split()) for i in sorted(chosen))
