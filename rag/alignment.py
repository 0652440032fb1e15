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

from rag.chunking import sentence_spans
from rag.lexical import STOPWORDS, stem

_WORD = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W\d_](?:[\w'’-]*\w)?", re.UNICODE)
_CLAUSE_BREAK = re.compile(
    r"[;:—–]|,\s+(?=(?:and|but|while|whereas|which|who|whom|where|when|although|though|"
    r"so|or|yet|because|since|unless|if|provided|except|including|excluding|leaving|"
    r"surpassing|suggesting)\b)|,\s+[\"“]|\s+-\s+|\.\s",
    re.I,
)

NEGATIONS = frozenset(
    """not no never none nor neither nobody nothing nowhere without cannot cant dont doesnt
    didnt isnt arent wasnt werent wont wouldnt shouldnt couldnt hasnt havent hadnt neednt
    lack lacks lacked fail fails failed unable excluding except""".split()
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

_CAUSE_IN_TEXT = re.compile(
    r"\b(because|due to|owing to|thanks to|as a result|in order to|so that|in an effort to|why|"
    r"for fear|led to|leading to|caused|result|hence|therefore|thus|consequently|reason|so)\b",
    re.I,
)
_CAUSE = re.compile(
    r"\b(because|due to|owing to|thanks to|as a result of|in order to|so that|in an effort to|"
    r"which is why|that is why|for fear|led to|leading to|caused by|resulted in|since (?=\w+ "
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


def _opposites() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for left, right in _OPPOSITES:
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

    @property
    def low(self) -> str:
        return self.text.lower().replace("’", "'").replace("'", "")

    @property
    def content(self) -> bool:
        return self.low not in STOPWORDS and self.low not in NEGATIONS and len(self.low) > 1


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Sentences cut further at clause boundaries (semicolons, colons, parentheses, dashes, and
    a comma before a conjunction or a relative pronoun)."""
    out: list[tuple[int, int]] = []
    for a, b in sentence_spans(text) or [(0, len(text))]:
        pos = a
        for m in _CLAUSE_BREAK.finditer(text, a, b):
            if m.start() > pos:
                out.append((pos, m.start()))
            pos = m.end()
        if b > pos:
            out.append((pos, b))
    return [(a, b) for a, b in out if text[a:b].strip()] or [(0, len(text))]


def tokens(text: str) -> list[Token]:
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
        out.append(Token(word, stem(word), m.start(), ci))
    return out


@dataclass
class Finding:
    """One reason to doubt a claim, with the words of the text it rests on."""

    kind: str  # negation | opposite | binding | scope | cause | unit
    detail: str
    text: str = ""

    @property
    def contradicts(self) -> bool:
        return self.kind in ("negation", "opposite", "binding")


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


def _unit_after(toks: list[Token], i: int) -> tuple[int, str] | None:
    """The unit (family index, stem) within three words after a number."""
    for j in range(i + 1, min(len(toks), i + 4)):
        s = toks[j].stem.lower()
        if toks[j].text == "%":
            s = "%"
        for fam, units in enumerate(_UNITS):
            if s in units or s.rstrip("s") in units:
                return fam, s.rstrip("s")
        if toks[j].low in _MAGNITUDE or toks[j].low.rstrip("s") in _MAGNITUDE:
            continue
        if toks[j].clause != toks[i].clause:
            break
    return None


def _value_kind(toks: list[Token], i: int) -> str | None:
    """``number``, ``date`` or ``name`` for a token that carries a value, else ``None``."""
    tok = toks[i]
    if tok.low in _MONTHS and tok.text[:1].isupper():
        return "date"
    if re.fullmatch(r"(?:1[89]|20)\d\d", tok.text):
        return "date"
    if _value_key(tok) is not None:
        return "number"
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
    "the a an this that these those any each every such its your their his her our my no some "
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


def _nearest_value(toks: list[Token], w: int, kind: str, reach: int, side: int) -> int | None:
    """The token of ``kind`` nearest to token ``w`` on one side (-1 left, +1 right), within its
    clause."""
    k = w + side
    while 0 <= k < len(toks) and abs(k - w) <= reach and toks[k].clause == toks[w].clause:
        if _value_kind(toks, k) == kind:
            return k
        k += side
    return None


def _on_side(toks: list[Token], w: int, side: int, stems: set[str], reach: int = 14) -> bool:
    """Whether one of ``stems`` stands on that side of token ``w`` in its clause (an apposition
    may sit between a subject and its verb: "Lin, a leader of the X team, announced")."""
    k = w + side
    while 0 <= k < len(toks) and abs(k - w) <= reach and toks[k].clause == toks[w].clause:
        if toks[k].stem in stems:
            return True
        k += side
    return False


def _name_run(toks: list[Token], k: int) -> set[str]:
    """The stems of the capitalised run a name token belongs to ("Maria Keller")."""
    run = {toks[k].stem}
    for step in (-1, 1):
        j = k + step
        while (
            0 <= j < len(toks) and toks[j].text[:1].isupper() and toks[j].clause == toks[k].clause
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
        for kind in ("date", "number", "name"):
            for side in (-1, 1):
                mine = _nearest_value(ct, i, kind, 3, side)
                if mine is None or ct[mine].stem not in t_set:
                    continue
                own = _name_run(ct, mine) if kind == "name" else {ct[mine].stem}
                rivals: list[tuple[int, int]] = []
                for w in (j for j, s in enumerate(t_stems) if s == tok.stem):
                    theirs = _nearest_value(tt, w, kind, 6, side)
                    if theirs is None:
                        continue
                    if tt[theirs].stem in own or _on_side(tt, w, side, own):
                        rivals = []
                        break
                    if kind != "name" or tt[theirs].stem in claim_stems:
                        rivals.append((w, theirs))
                if rivals:
                    w, theirs = rivals[0]
                    return w, mine, theirs
    return None


def _is_negation(tok: Token) -> bool:
    return tok.low in NEGATIONS or tok.stem == "not"


def _parity(toks: list[Token], clause: int) -> int:
    """Negations in a clause, mod 2 ("neither ... nor" counts once)."""
    inside = [t for t in toks if t.clause == clause]
    n = sum(1 for t in inside if _is_negation(t))
    lows = {t.low for t in inside}
    if "neither" in lows and "nor" in lows:
        n -= 1
    return n % 2


def _governed(toks: list[Token]) -> list[int]:
    """Tokens a negation governs: the first content word after each negation (not in
    "whether or not", "not only")."""
    out = []
    for i, t in enumerate(toks):
        if not _is_negation(t):
            continue
        before = toks[i - 1].low if i > 0 else ""
        after = toks[i + 1].low if i + 1 < len(toks) else ""
        if before == "or" or after in ("only", "just", "merely"):
            continue
        for k in range(i + 1, min(len(toks), i + 4)):
            if toks[k].content and toks[k].clause == t.clause:
                out.append(k)
                break
    return out


def _negation_flip(ct: list[Token], tt: list[Token]) -> tuple[int, bool] | None:
    """A word governed by a negation on one side whose clause polarity differs on the other:
    ``(index in the text, whether the claim negates it)``."""
    t_stems = [t.stem for t in tt]
    c_stems = [t.stem for t in ct]
    for i in _governed(ct):
        places = [j for j, s in enumerate(t_stems) if s == ct[i].stem]
        if places and all(_parity(tt, tt[j].clause) != _parity(ct, ct[i].clause) for j in places):
            return places[0], bool(_parity(ct, ct[i].clause))
    for j in _governed(tt):
        places = [i for i, s in enumerate(c_stems) if s == tt[j].stem]
        if places and all(_parity(ct, ct[i].clause) != _parity(tt, tt[j].clause) for i in places):
            return j, bool(_parity(ct, ct[places[0]].clause))
    return None


def inspect(claim: str, cited: str) -> Inspection:
    """Align ``claim`` to ``cited`` and list what the text says differently."""
    ct = tokens(claim)
    tt = tokens(cited)
    t_stems = [t.stem for t in tt]
    t_set = set(t_stems)
    content = [i for i, t in enumerate(ct) if t.content]
    shared = [i for i in content if ct[i].stem in t_set]
    coverage = len(shared) / len(content) if content else 0.0
    found: list[Finding] = []
    cited_low = " ".join(cited.lower().split())

    # negation: the word a negation governs, negated on one side only (by clause parity, so a
    # double negative reads as positive)
    flip = _negation_flip(ct, tt)
    if flip is not None:
        j, claim_neg = flip
        found.append(
            Finding(
                "negation",
                f"the text {'does not negate' if claim_neg else 'negates'} \u201c{tt[j].text}\u201d",
                _clause_text(cited, tt, j),
            )
        )

    # opposite words: the claim's word is absent, its opposite present
    for i in content:
        s = ct[i].stem
        if s in t_set:
            continue
        opposite = OPPOSITES.get(s, set()) & t_set
        if opposite:
            j = t_stems.index(sorted(opposite)[0])
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
    binding = _binding(ct, tt, t_set)
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

    # scope: all/only/must where the text says some/one of/may
    claim_low = " ".join(claim.lower().split())
    conditional = re.search(r"\b(provided|only if|required|shall|must|need)\b", cited_low)
    strong = [
        t
        for t in ct
        if t.low in STRONG_SCOPE and t.stem not in t_set and not (t.low == "must" and conditional)
    ]
    weak_in_text = any(t.low in WEAK_SCOPE for t in tt) or any(
        p in cited_low for p in _WEAK_PHRASES
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
                    "cause", f"the text does not say \u201c{m.group(1)} {reason.strip()[:60]}\u201d"
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
