"""What a question asks for: the kind of answer (a version, a date, a person, a number, a place,
a reason), whether a passage carries one, the question's language, and a follow-up made
standalone.

Rules are about kinds of question, in English plus the common question words of Chinese,
German, French and Spanish; nothing here knows any document.
"""

from __future__ import annotations

import re
from typing import Literal

from rag.chunking import speaker_of
from rag.data import is_common_word

Slot = Literal["version", "when", "who", "how_many", "where", "why"]

_ASKS: list[tuple[Slot, re.Pattern[str]]] = [
    (
        # "in which (Python) version ...?", "what release added it?": a version number
        "version",
        re.compile(
            r"\b(?:which|what) (?:(?!(?:is|was|are|were|do|does|did|has|had|can|will)\b)"
            r"[\w.-]+ )?(?:version|release|edition)\b",
            re.I,
        ),
    ),
    (
        "how_many",
        re.compile(
            r"\b(how (many|much|long|old|big|large|often|far)|what (percentage|share|number|"
            r"amount|size)|wie (viele|viel|lange|alt)|combien|cu[aá]nt[oa]s?)\b|多少|几",
            re.I,
        ),
    ),
    (
        "when",
        re.compile(
            # "when" asks for a time; "when deciding …", "when you change …" set a condition
            r"\b(when(?!\s+(?:\w+ing|you|we|they|he|she|it|one|someone|a|an|the)\b)|"
            r"what (day|date|time|year|month)|which (day|date|year|month)|since when|"
            r"wann|quand|cu[aá]ndo|en qu[eé] (a[nñ]o|fecha))\b|何时|哪天|什么时候|哪一天|哪年",
            re.I,
        ),
    ),
    (
        "who",
        re.compile(
            r"\b(who|whom|whose|which (people|person|members|researchers|companies|company|firm)|"
            r"wer|wen|wem|qui|qui[eé]n(es)?)\b|谁",
            re.I,
        ),
    ),
    ("where", re.compile(r"\b(where|wo|o[uù]|d[oó]nde)\b|哪里|在哪", re.I)),
    ("why", re.compile(r"\b(why|warum|pourquoi|por qu[eé])\b|为什么|为何", re.I)),
]

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_CAPITALISED = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:-[a-zß-öø-ÿ]+)?"
_OPENERS = (
    r"(?:In|On|At|By|For|From|To|With|As|Of|See|This|That|These|Those|A|An|And|But|Or|If|"
    r"When|While|After|Before|Since)"
)
_HAS: dict[Slot, re.Pattern[str]] = {
    "version": re.compile(r"\b\d+\.\d+(?:\.\d+)*\b|\b(?:version|release|edition|v)\s?\d+\b", re.I),
    "when": re.compile(
        rf"\b{_MONTH}\s+\d{{1,2}}\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}|"
        rf"\b{_MONTH}\s+(?:of\s+)?(?:19|20)\d\d\b|\b(?:19|20)\d\d\b|"
        r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|\b(?:yesterday|today|tonight|"
        r"last (?:week|month|year)|this (?:week|month|year)|(?:early|late|mid)[- ](?:19|20)\d\d)\b|"
        r"\b\d{1,2}[:.]\d\d\s*(?:a\.?m\.?|p\.?m\.?)?|\b\d{1,2}\s*(?:a\.?m\.?|p\.?m\.?)|"
        r"\d{1,2}/\d{1,2}|\d+\s*(?:hours?|days?|weeks?|months?|years?)\s+(?:after|before|ago|later)|"
        r"[0-9一二三四五六七八九十]+\s*[年月日号]|"
        # a stage of a process, for "when is it looked up?": "at runtime", "at compile time"
        r"\bat (?:run[- ]?time|compile[- ]?time|import time|definition time|start-?up|exit)\b",
        re.I,
    ),
    "who": re.compile(
        # a run of capitalised words ("Tomás Ortega"), not one opened by a sentence's first
        # word ("In Debian")
        rf"\b(?!{_OPENERS}\b){_CAPITALISED}(?:-{_CAPITALISED})*(?: {_CAPITALISED})+\b|"
        r"\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+[A-Z]|"
        r"\b(?:he|she|they)\b|[\u4e00-\u9fff]{2,4}(?=[，,。]|是|为|表示)"
    ),
    "how_many": re.compile(
        r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
        r"thirty|forty|fifty|hundred|thousand|million|billion|dozen|several|half)\b|"
        r"[一二三四五六七八九十百千万亿两]",
        re.I,
    ),
    "where": re.compile(
        r"\b(?:in|at|from|to|near|based in|headquartered in)\s+(?:the\s+)?[A-Z][\w-]+", re.M
    ),
    "why": re.compile(
        r"\b(?:because|due to|owing to|as a result|so that|in order to|reason|since|thanks to|"
        r"after|amid|following|caused|led to|hence|therefore|aims?|purpose|goal|intended)\b|"
        r"\bso (?:he|she|it|we|they|you|one|users?|people|programs?) (?:can|could|may|might|"
        r"will|would|do not|don't|won't|need not)\b|"
        r"\bto (?:avoid|prevent|ensure|make sure|allow|let|enable)\b|"
        r"因为|由于|所以",
        re.I,
    ),
}


_ASKING_BEFORE = re.compile(r"\b(?:what|which|who|whom|whose|how|why|where)\b", re.I)
"""A question word before "when" makes the "when" a condition ("What is raised when no
handler is active?" asks for a thing, not a time)."""


def asked_slot(question: str) -> Slot | None:
    """The kind of fact a question asks for, if it asks for one of these kinds."""
    for slot, pattern in _ASKS:
        m = pattern.search(question)
        if m is None:
            continue
        if (
            slot == "when"
            and m.group(0).lower() == "when"
            and _ASKING_BEFORE.search(question[: m.start()])
        ):
            continue
        return slot
    return None


_WORD = re.compile(r"(?<![\w'’-])([^\W\d_][\w'’-]*)")
_FUNCTION_WORDS = frozenset(
    "the and are was were has have had will can could would should may might must its their his "
    "her our your this that these those with from into onto over under about than then there "
    "which what who whom when where why how many much did does been being not all any some "
    "also only such very".split()
)
_COUNTED = re.compile(r"\bhow (?:many|much)\s+([^?,;]*)", re.I)
_COUNT_STOP = frozenset(
    "are is was were do does did have has had will can could would should must may in on at of "
    "for to by with under from after before the a an".split()
)


def word_stems(text: str, common_only: bool = False) -> set[str]:
    """Content words of ``text``, without an -ing/-ed/-s ending, by their first five letters
    ("joined" and "join" meet as "join"); ``common_only``: only words written in lower case
    (what is done, not who does it)."""
    words = [w.lower() for w in _WORD.findall(text) if not common_only or w[:1].islower()]
    return {_stem(w) for w in words if len(w) > 2 and w not in _FUNCTION_WORDS}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:5]


def counted_stems(question: str) -> set[str]:
    """What a "how many / how much" question counts ("models" in "How many new models were
    released?"; "paid" in "How much was she paid?"), as :func:`word_stems`; empty for other
    questions."""
    m = _COUNTED.search(question)
    if not m:
        return set()
    words: list[str] = []
    for word in m.group(1).split()[:4]:
        if word.lower() in _COUNT_STOP:
            break
        words.append(word)
    if not words:  # "how much was she paid?": what is counted is what is done
        return word_stems(m.group(1), common_only=True)
    return word_stems(" ".join(words[:3]))


_WHO_IS = re.compile(
    r"\bwho\s+(?:is|was|are|were)\s+(?:the|an?)\s+([^\W\d_]+(?:[ -][^\W\d_]+)?)", re.I
)
_WHO_NAMED = re.compile(r"\b(?i:who\s+(?:is|was|are|were))\s+[A-Z]")
_NOT_HEAD = frozenset("in of at on for from with to by who that which".split())
_SAID_TO_BE = (
    r"\b(?!(?:who|what|which)\b)[\w-]+\s+(?:is|was|are|were)\s+(?:\([^)]*\)\s+|\w+ly\s+)?"
    r"(?:the|an?)\s+"
)
"""Someone said to be the asked thing ("Root is (typically) the superuser")."""
_ASKED_NAME = re.compile(r"(?<=[\s«“\"'(])[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")
"""A run of capitalised words of a question, not at its start: a name it gives ("Debian",
"Mozilla Public License")."""


def _gives_who(question: str, text: str) -> bool:
    """Whether ``text`` names someone for a "who" question: a name that is not one the question
    already gives ("Debian Policy" does not say who the superuser in Debian is), or, for "who
    is the superuser?", what the text says is the superuser ("Root is (typically) the
    superuser"). A question about a named person ("Who is Bao Yu?") takes any name."""
    if _WHO_NAMED.search(question):
        return carries("who", text)
    m = _WHO_IS.search(question)
    if m:
        words = re.split(r"[ -]", m.group(1))
        cut = next((i for i, w in enumerate(words) if w.lower() in _NOT_HEAD), len(words))
        thing = r"[ -]".join(re.escape(w) for w in words[:cut])
        if thing and re.search(_SAID_TO_BE + thing + r"\b", text, re.I):
            return True
    asked = [run for run in map(_name_words, _ASKED_NAME.findall(question)) if run]
    speaker = _speaker_name(text)
    if speaker:
        named = _name_words(speaker)
        if not any(run <= named or named <= run for run in asked):
            return True
    for found in _HAS["who"].finditer(text):
        if found.group(0).lower() == "they":  # as often things ("whether they have a suffix")
            continue
        named = _name_words(found.group(0))
        if not any(run <= named or named <= run for run in asked):
            return True
    return False


def _speaker_name(text: str) -> str | None:
    """The name of the speaker whose turn ``text`` opens: a turn says who said it ("DEV: I'd
    propose ..."). None when it opens no turn, or its label names no one: a single letter
    ("Q:", "A:") or only ordinary words ("Note:", "Interviewer:")."""
    label = speaker_of(text)
    if not label or len(label) < 2 or all(is_common_word(w) for w in label.split()):
        return None
    return label


def _name_words(name: str) -> set[str]:
    return {re.sub(r"['’]s$", "", w.lower()) for w in re.split(r"[\s.-]+", name) if w}


def gives_asked(question: str, text: str) -> bool:
    """Whether ``text`` holds a value of the kind ``question`` asks for; for a count, a number
    said of the thing counted (a sentence with "24 hours" does not say how many people); for
    a person, one the question does not already name (:func:`_gives_who`)."""
    slot = asked_slot(question)
    if slot == "who":
        return _gives_who(question, text)
    if not carries(slot, text):
        return False
    counted = counted_stems(question) if slot == "how_many" else set()
    return not counted or bool(counted & word_stems(text))


SAID_OF_WINDOW = 8
"""Words either side of a value within which the thing asked about must be named for the
value to be said of it (:func:`said_of`)."""
_BOUND: frozenset[Slot] = frozenset({"version", "when", "how_many", "where"})


def said_of(question: str, text: str) -> bool:
    """Whether a value of the asked kind in ``text`` is said of what the question asks about:
    within :data:`SAID_OF_WINDOW` words of one of the question's words other than its main
    name ("April 2023" in "became part of the project in April 2023" for "When did Maria start
    on the project?"; not "born in 1993"). True for the kinds of fact this does not apply to
    (people, reasons) and for questions that ask for no kind."""
    slot = asked_slot(question)
    if slot not in _BOUND:
        return True
    subject = subject_of(question) or ""
    about = word_stems(question) - word_stems(subject)
    if not about:
        return True
    for part in re.split(r"[;:]|\n", day_digits(text)):
        values = list(_HAS[slot].finditer(part))
        if not values:
            continue
        words = [(m.start(), _stem(m.group(1).lower())) for m in _WORD.finditer(part)]
        for v in values:
            before = [w for pos, w in words if pos < v.start()][-SAID_OF_WINDOW:]
            after = [w for pos, w in words if pos >= v.end()][:SAID_OF_WINDOW]
            if about & set(before + after):
                return True
    return False


def carries(slot: Slot | None, text: str) -> bool:
    """Whether ``text`` holds a value of the asked kind (a date for "when", ...). True when
    the question asks for no particular kind."""
    if slot is None:
        return True
    if slot == "who" and _speaker_name(text):
        return True
    return _HAS[slot].search(_LABEL.sub(" ", day_digits(text))) is not None


_LABEL = re.compile(r"^[ \t]*\(?\d{1,3}(?:\.\d{1,3})*[.)]\s+", re.M)
"""A numbered item's or section's number ("3. ", "1.12. "), which is no value of the text."""


LIST_NOUNS = "step item point stage phase task rule"
"""What a question calls an item of a numbered list ("the third step", "item 2")."""
ORDINALS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split()
"""Ordinal words; ``ORDINALS[n - 1]`` is the n-th."""
_DAY_WORD = (
    r"(?:(?:twenty|thirty)[- ]?(?:"
    + "|".join(ORDINALS[:9])
    + r")|"
    + "|".join(ORDINALS)
    + r"|thirtieth)"
)
_DAY_BEFORE_MONTH = re.compile(rf"\b({_DAY_WORD})(?=\s+(?:day\s+)?of\s+{_MONTH}(?!\w))", re.I)
_DAY_AFTER_MONTH = re.compile(rf"\b({_MONTH}(?<!\.)\s+)(?:the\s+)?({_DAY_WORD})\b", re.I)


def day_digits(text: str) -> str:
    """``text`` with the day of a date written in words in digits: "the ninth of November" ->
    "the 9th of November", "August the twenty-second" -> "August 22nd" (a novel's, a deed's
    dates). Nothing else changes."""

    def number(word: str) -> str:
        word = word.lower()
        if word == "thirtieth":
            return "30th"
        tens, _, unit = re.sub(r"^(twenty|thirty)[- ]?", r"\1 ", word).rpartition(" ")
        n = {"": 0, "twenty": 20, "thirty": 30}[tens] + ORDINALS.index(unit) + 1
        return f"{n}{_suffix(n)}"

    text = _DAY_BEFORE_MONTH.sub(lambda m: number(m.group(1)), text)
    return _DAY_AFTER_MONTH.sub(
        # a month is written with a capital ("may the first one win" gives no date)
        lambda m: m.group(1) + number(m.group(2)) if m.group(1)[0].isupper() else m.group(0),
        text,
    )


_POSITION = re.compile(
    r"\b(?:(" + "|".join(ORDINALS) + r")|(\d{1,2})(?:st|nd|rd|th)|"
    r"(?:" + "|".join(LIST_NOUNS.split()) + r"|no\.?|number)\s*(\d{1,2})(?!\d|\.\d|,\d))\b",
    re.I,
)
_ITEM = re.compile(
    r"^[ \t]*(?:(?:" + "|".join(LIST_NOUNS.split()) + r")\s+)?(\d{1,2})[.):]\s", re.I | re.M
)
"""A numbered list item's number at the start of its line ("3. Open the vent",
"Step 3: Open the vent")."""


LAST = -1
"""The place "the last step" asks about (:func:`asked_position`): whatever number the list's
last item has."""
_LAST_PLACE = re.compile(
    r"\b(?:last|final)\s+(?:" + "|".join(LIST_NOUNS.split()) + r")s?\b|"
    r"\b(?:" + "|".join(LIST_NOUNS.split()) + r")s?\s+(?:\w+\s+){0,2}?(?:comes?|is|was|goes)\s+"
    r"(?:the\s+)?(?:last|final)\b",
    re.I,
)


def asked_position(question: str) -> int | None:
    """The place in a numbered list a question asks about: "the third step", "the 2nd item",
    "step 3", or :data:`LAST` for "the last step" / "which step comes last"; None when it names
    none ("for the first time" asks for no place, "last year" none either)."""
    if _LAST_PLACE.search(question):
        return LAST
    for m in _POSITION.finditer(question):
        if re.match(r"\s+time\b", question[m.end() :], re.I):
            continue
        word, suffixed, numbered = m.groups()
        if word:
            return ORDINALS.index(word.lower()) + 1
        return int(suffixed or numbered)
    return None


def item_numbers(text: str) -> list[int]:
    """The numbers of the numbered list items ``text`` holds, in order ("3. Open the vent." ->
    [3])."""
    return [int(m.group(1)) for m in _ITEM.finditer(text)]


def position_words(text: str, last: bool = False) -> str:
    """How a numbered list item is named in a question, for matching words: "3. Open the vent"
    is the "third" "3rd" "step" (or item, point ...), and the "last" or "final" one when it
    ends its list (``last``); empty for text that holds no numbered item."""
    places = [f"{ORDINALS[n - 1]} {n}{_suffix(n)}" for n in item_numbers(text) if 0 < n <= len(ORDINALS)]  # fmt: skip
    if places and last:
        places.append("last final")
    return " ".join([*places, LIST_NOUNS]) if places else ""


def at_place(position: int, text: str, last: bool = False) -> bool:
    """Whether ``text`` holds the numbered item at the asked place (:func:`asked_position`):
    the item with that number, or for :data:`LAST`, an item that ends its list (``last``)."""
    if position == LAST:
        return last and bool(item_numbers(text))
    return position in item_numbers(text)


def _suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana (Japanese also writes CJK characters)
    ("zh", _CJK),
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
"""Languages told by their script alone (a Cyrillic text is taken for Russian)."""
_LETTER = re.compile(r"[^\W\d_]")
_STOP: dict[str, frozenset[str]] = {
    "de": frozenset(
        "der die das und ist wer wann wie was warum nicht ein eine mit für von den dem des im zu "
        "auf sich wurde sind auch nach bei".split()
    ),
    "fr": frozenset(
        "le la les et est qui quand comment quoi pourquoi un une des du pour de en a à dans avec "
        "sur il elle au aux sont selon été".split()
    ),
    "es": frozenset(
        "el la los las y es quién cuándo cómo qué por un una del para cuál cuáles cuánto "
        "cuántos cuánta cuántas dónde ¿ ¡ de en a al se su sus con fue según también pero más".split()
    ),
    "it": frozenset(
        "il gli della che chi quando perché non sono nel alla anche di del per è stato degli "
        "nella".split()
    ),
    "pt": frozenset(
        "os quem quando porque não uma são também você pelo de em com foi ao pela seu sua dos "
        "na".split()
    ),
    "en": frozenset("the and is who when how what why a an of for to in did does was".split()),
}
"""The commonest words of the languages written in Latin letters, by which
:func:`language` tells them: question words and the words of any sentence (articles,
prepositions, "is" and "was")."""
LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ru": "Russian",
    "ar": "Arabic",
    "he": "Hebrew",
    "el": "Greek",
    "hi": "Hindi",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
}


def language(text: str, default: str = "en") -> str:
    """A code of :data:`LANGUAGE_NAMES`: Chinese, Japanese, Korean, Russian, Arabic, Hebrew,
    Greek and Hindi by their script (when over 30% of the letters are in it), the languages
    written in Latin letters by their commonest words (``default`` when none is found)."""
    letters = len(_LETTER.findall(text))
    if letters:
        for code, script in _SCRIPTS:
            share = len(script.findall(text)) / letters
            if share > (0.05 if code == "ja" else 0.3):
                return code
    words = re.findall(r"[^\W\d_]+|[¿¡]", text.lower())
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOP.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    if scores[best] == 0:
        return default
    return best if scores[best] > scores["en"] else "en"


_REFERRING = re.compile(
    r"\b(he|him|his|she|her|hers|they|them|their|it|its|this|that|these|those|there|the same)\b",
    re.I,
)
_PERSONAL = re.compile(r"\b(he|him|his|she|her|hers|they|them|their)\b", re.I)
_LEAD = re.compile(
    r"^\s*(?:and|also|so|then|but|ok(?:ay)?|what about|how about|und|et|y)\b[\s,]*", re.I
)
_NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w'’-]*)*")
_WH = re.compile(
    r"^\s*(who|whom|what|when|where|why|how|which|did|does|do|is|are|was|were|can)\b", re.I
)
_SENTENCE_START = frozenset(
    "Who Whom What When Where Why How Which Did Does Do Is Are Was Were Can Could Would Should "
    "And Also So Then But The A An In On At Besides Apart".split()
)


def subject_of(question: str) -> str | None:
    """The main named thing of a question ("Maria Keller" in "Who else left besides Maria
    Keller?"): its longest capitalised run that is not a question word."""
    runs = []
    for m in _NAME.finditer(question):
        words = m.group(0).split()
        while words and words[0] in _SENTENCE_START:
            words = words[1:]
        if words:
            runs.append(" ".join(words))
    return max(runs, key=len) if runs else None


_CJK_REFERRING = re.compile(r"他们|她们|它们|他|她|它|这|那")


def needs_context(question: str) -> bool:
    """Whether a question leans on the conversation: it opens like a continuation ("and …",
    "what about …"), speaks of a person by pronoun, or points back ("it", "that", "there")
    without naming what it is about. A question that stands alone is searched as asked, so
    no model is called to rewrite it."""
    q = question.strip()
    if _LEAD.match(q) or _PERSONAL.search(q) or _CJK_REFERRING.search(q):
        return True
    return bool(_REFERRING.search(q)) and not subject_of(q)


_WHO_HOLDS = re.compile(r"^\s*who\s+(?:is|was|are|were)\s+(the\s+[^?？]+?)\s*[?？]?\s*$", re.I)
"""A question that asks who holds a role: a person pronoun after it means that person."""


def standalone_question(question: str, history: list[str]) -> str:
    """A follow-up made standalone from the previous question, by rule: a pronoun ("and when
    did he join?") takes the previous question's subject; a fragment with no question of its
    own ("and in 2020?", "what about the licence?") is read as the previous question about it.
    A question that stands alone is returned as it is."""
    q = question.strip()
    if not history:
        return q
    previous = history[-1].strip()
    subject = subject_of(previous)
    body = _LEAD.sub("", q, count=1)
    pattern = _PERSONAL if _PERSONAL.search(body) else _REFERRING
    personal = _PERSONAL.search(body)
    role = _WHO_HOLDS.match(previous)
    if personal and role:
        # "Who is the treasurer of the Trust?" -> "he" is the treasurer, not the Trust
        subject = role.group(1)
    if subject and (personal or (_REFERRING.search(body) and not subject_of(body))):
        replaced = pattern.sub(
            lambda m: (
                (subject + "'s")
                if m.group(1).lower() in ("his", "her", "their", "its")
                else subject
            ),
            body,
            count=1,
        )
        return replaced[:1].upper() + replaced[1:]
    if body != q and not _WH.match(body):
        # "and in 2020?" / "what about X?": the previous question, about the fragment
        return f"{previous.rstrip('?？ ')} ({body.rstrip('?？ ')})?"
    return q
