"""What a question asks for (rag.questions): the kind of fact, whether a passage carries one,
the question's language and follow-ups made standalone. Examples are written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.questions import (
    asked_slot,
    carries,
    language,
    needs_context,
    standalone_question,
    subject_of,
)


@pytest.mark.parametrize(
    ("question", "slot"),
    [
        ("When did the company open its first office?", "when"),
        ("Who signed the agreement?", "who"),
        ("How many employees were laid off?", "how_many"),
        ("Where is the factory?", "where"),
        ("Why was the bridge closed?", "why"),
        ("What does the licence say about patents?", None),
        ("谁签署了协议？", "who"),
        ("Wann wurde das Gesetz verabschiedet?", "when"),
        ("Combien de personnes ont signé ?", "how_many"),
        ("How are doubtful cases resolved when deciding whether a product is covered?", None),
        ("What must you do in each file you change when modifying the work?", None),
        ("And when was the bridge reopened?", "when"),
        # after another question word, "when" sets a condition: the other word asks
        ("What error is raised when no handler is active?", None),
        ("Who led the museum when the new wing opened?", "who"),
        ("In what year did the museum reopen?", "when"),
        # a version is asked for by "which version", with or without the product's name
        ("In which Acme version was the loop statement added?", "version"),
        ("What release first shipped the new parser?", "version"),
        ("What does version 3 say about patents?", None),
        ("What is the version policy?", None),
    ],
)
def test_the_asked_kind_of_fact(question: str, slot: str | None) -> None:
    assert asked_slot(question) == slot


def test_a_passage_carries_the_asked_kind() -> None:
    assert carries("when", "The office opened in March 2004 in a former warehouse.")
    assert not carries("when", "The office is in a former warehouse by the river.")
    assert carries("how_many", "Some 240 workers lost their jobs.")
    assert carries("who", "The deal was signed by Maria Keller and Tom Berg.")
    assert carries("why", "The bridge was closed because of flooding.")
    # a purpose answers "why" as a cause does
    assert carries("why", "This is at odds with the aim of keeping the river open.")
    assert carries("why", "The purpose of the fence is to keep cattle off the road.")
    # and so does what a step is for ("so they can", "to avoid")
    assert carries("why", "Packages ship the tool so users can check each file before it runs.")
    assert carries("why", "The old copy is kept to avoid losing data if the write fails.")
    assert not carries("why", "Users can check each file before it runs.")
    assert not carries("why", "The copy is kept in a second folder so it is easy to find.")
    assert carries(None, "anything at all")
    # a stage of a process answers "when is it looked up?" as a date answers "when did it open?"
    assert carries("when", "Templates are compiled at load time; names are resolved at runtime.")
    assert not carries("when", "Names are resolved in the enclosing scope.")
    # a version is a dotted number or a numbered version, not any number word
    assert carries("version", "Changed in version 3.8: the loop may be empty.")
    assert carries("version", "New in release 7 of the tool.")
    assert not carries("version", "Each error is handled by at most one handler.")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Who signed the agreement?", "en"),
        ("谁签署了协议？", "zh"),
        ("Wer hat den Vertrag unterschrieben und wann?", "de"),
        ("Qui a signé le contrat et pourquoi ?", "fr"),
        ("¿Quién firmó el contrato y por qué?", "es"),
        # "la" is French and Spanish; the inverted mark and the interrogative are Spanish only
        ("¿Cuántas copias vende la editorial?", "es"),
        ("Chi ha firmato il contratto e quando?", "it"),
        ("Quem assinou o contrato e porquê?", "pt"),
        ("Кто подписал договор?", "ru"),
        ("契約に署名したのは誰ですか？", "ja"),  # kana among the characters: not Chinese
        ("누가 계약에 서명했습니까?", "ko"),
        ("من وقع العقد؟", "ar"),
        # English words that other languages also use ("do", "as") leave it English
        ("What do they do as a rule?", "en"),
        ("How do I do this?", "en"),
        ("Can I write `from os.path import *` inside a function body?", "en"),
        # statements too (a translated answer): the words of any sentence, not only questions
        ("Lin se unió a la empresa en julio de 2019 [1].", "es"),
        ("Lin a rejoint l'entreprise en juillet 2019.", "fr"),
        ("Lin ist im Juli 2019 zu der Firma gekommen.", "de"),
        ("Lin è entrato in azienda nel luglio 2019.", "it"),
        ("Lin entrou na empresa em julho de 2019.", "pt"),
        ("Lin joined the company in July 2019 [1].", "en"),
    ],
)
def test_language(text: str, lang: str) -> None:
    assert language(text) == lang


def test_a_text_with_no_telling_word_is_in_the_default_language() -> None:
    # names and figures only: nothing says which language; the caller says what to assume
    assert language("Qwen 3.5 262K?") == "en"
    assert language("Qwen 3.5 262K?", default="de") == "de"
    assert language("Who wrote it?", default="de") == "en"  # English words decide


def test_the_model_is_told_the_answer_language_when_it_is_not_the_documents() -> None:
    from rag.answering import answer_messages

    def told(lang: str, documents: str) -> str:
        user = answer_messages("Q?", [], lang, None, documents)[1]["content"]
        return user.split("\n")[-1] if "Write the answer in" in user else ""

    assert told("en", "en") == ""  # the common case: the prompt as before
    assert "Write the answer in Spanish" in told("es", "en")
    # an English question over German documents: told to answer in English
    assert "Write the answer in English" in told("en", "de")
    assert told("de", "de").startswith("Write the answer in German")


class TranslatingLLM:
    """Translates by a fixed table; records what it was asked."""

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.asked: list[str] = []

    def complete(self, messages: list[dict[str, str]], **kwargs: object) -> str:
        self.asked.append("\n".join(m["content"] for m in messages))
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


def test_a_question_in_another_language_is_translated_into_the_documents_language() -> None:
    from rag.answering import translate_question
    from rag.errors import LLMError

    asked = "¿Quién fundó el museo de Lima?"
    llm = TranslatingLLM("Who founded the Lima museum?\n(translated from Spanish)")
    assert translate_question(asked, "en", llm) == "Who founded the Lima museum?"  # type: ignore[arg-type]
    assert "into English" in llm.asked[0] and llm.asked[0].endswith(asked)
    # shown one translation first (from Spanish when the documents are English)
    assert "Who wrote the report, and in which year?" in llm.asked[0]
    # documents in German: the translation asked for is German
    german = TranslatingLLM("Wer hat das Museum in Lima gegründet?")
    assert translate_question(asked, "de", german) == "Wer hat das Museum in Lima gegründet?"  # type: ignore[arg-type]
    assert "into German" in german.asked[0]
    assert "Wer hat den Bericht geschrieben" in german.asked[0]
    # no model call when the question is in the documents' language already
    same = TranslatingLLM("unused")
    assert translate_question("Who founded it?", "en", same) is None  # type: ignore[arg-type]
    assert same.asked == []
    # no model, a failing model, or a "translation" in the wrong language: none
    assert translate_question(asked, "en", None) is None
    assert translate_question(asked, "en", TranslatingLLM(LLMError("down"))) is None  # type: ignore[arg-type]
    assert translate_question(asked, "en", TranslatingLLM("¿Quién fundó el museo?")) is None  # type: ignore[arg-type]
    assert translate_question(asked, "en", TranslatingLLM("")) is None  # type: ignore[arg-type]


def test_the_translation_is_told_the_documents_names_and_must_stay_a_question() -> None:
    from rag.answering import translate_question

    asked = "千里博物馆是谁建的？"
    llm = TranslatingLLM("Who built the Qianli Museum?")
    names = ["Qianli", "Marta", "UNESCO"]
    assert translate_question(asked, "en", llm, names) == "Who built the Qianli Museum?"  # type: ignore[arg-type]
    assert "Qianli, Marta, UNESCO" in llm.asked[0] and "Never answer" in llm.asked[0]
    # without names, no names line
    bare = TranslatingLLM("Who built the museum?")
    translate_question(asked, "en", bare)  # type: ignore[arg-type]
    assert "the way the documents write them" not in bare.asked[0]
    # a model that answers the question instead of translating it: no translation
    answering = TranslatingLLM("Marta built the Qianli Museum.")
    assert translate_question(asked, "en", answering, names) is None  # type: ignore[arg-type]
    # Greek ends a question with ";"
    greek = TranslatingLLM("Ποιος έχτισε το μουσείο;")
    assert translate_question(asked, "el", greek) == "Ποιος έχτισε το μουσείο;"  # type: ignore[arg-type]


def test_the_documents_frequent_names_are_names_met_inside_sentences() -> None:
    from rag.documents import frequent_names

    texts = [
        "The museum in Lima was built by Marta Ruiz for UNESCO. Visitors come every day.",
        "Since then, Marta has led the museum, and UNESCO pays for the roof. Lima grew.",
        "Visitors say the museum is the best in Lima; Marta agrees.",
        "An apple a day. The Apple trees in the garden, and apple pie for the Visitors.",
    ]
    names = frequent_names(texts)
    assert names[:3] == [
        "Marta",
        "Lima",
        "UNESCO",
    ]  # by how many texts hold them (inside a sentence)
    assert "Visitors" not in names  # a sentence's first word, or met once inside one
    assert "Apple" not in names  # written in lower case in more texts
    assert "Ruiz" not in names  # in one text only
    assert frequent_names(texts, limit=1) == ["Marta"]


def test_the_documents_language_is_the_language_of_most_of_their_text(tmp_path: Path) -> None:
    from rag.retrieval import documents_language
    from tests.conftest import indexed_corpus

    german = (
        "Das Museum wurde im Jahr 1912 von der Stadt gegründet und ist seitdem für alle offen.\n\n"
        "Die Sammlung wächst jedes Jahr, und die Besucher kommen aus dem ganzen Land.\n"
    )
    english = "The museum opened in 1912 and has been open to everyone since then.\n"
    settings = indexed_corpus(
        tmp_path, {"a.txt": german, "b.txt": german.replace("1912", "1913"), "c.txt": english}
    )
    assert documents_language(settings) == "de"


def test_follow_ups_take_the_previous_subject_without_a_word_count_rule() -> None:
    history = ["Who else left the research team besides Maria Keller?"]
    assert subject_of(history[0]) == "Maria Keller"
    rewritten = standalone_question("and when did she join the company?", history)
    assert rewritten == "When did Maria Keller join the company?"
    long = "and in which year did she first join the company as a full-time research engineer?"
    assert "Maria Keller" in standalone_question(long, history)
    fragment = standalone_question("and in 2020?", ["How many people did the firm hire?"])
    assert fragment == "How many people did the firm hire (in 2020)?"
    alone = "Who founded the Lima Museum?"
    assert standalone_question(alone, history) == alone
    assert standalone_question("and when did she join?", []) == "and when did she join?"


@pytest.mark.parametrize(
    ("question", "leans"),
    [
        ("and when did she join the company?", True),
        ("What about the licence?", True),
        ("When was it released?", True),
        ("她什么时候加入的？", True),
        ("Who founded the Lima Museum?", False),
        ("When did Maria Keller join the company?", False),
        ("Is that clause in version 3 of the Apache License?", False),
        ("How many models were released?", False),
    ],
)
def test_needs_context(question: str, leans: bool) -> None:
    assert needs_context(question) is leans


class CountingLLM:
    """Records every call; the rewrite it would give is never a good one."""

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, messages: object, **kwargs: object) -> str:
        self.calls += 1
        return "When did Maria Keller join the company?"


def test_a_question_that_stands_alone_is_not_sent_to_the_model_for_rewriting() -> None:
    from rag.answering import rewrite_followup

    llm = CountingLLM()
    history = ["Who else left the research team besides Maria Keller?"]
    alone = "Who founded the Lima Museum?"
    assert rewrite_followup(alone, history, llm) == alone  # type: ignore[arg-type]
    assert llm.calls == 0
    rewritten = rewrite_followup("and when did she join?", history, llm)  # type: ignore[arg-type]
    assert rewritten == "When did Maria Keller join the company?" and llm.calls == 1


def test_a_count_is_a_number_said_of_the_thing_counted() -> None:
    from rag.questions import counted_stems, gives_asked

    question = "How many people work at the museum?"
    assert counted_stems(question) == {"peopl", "work"}
    assert counted_stems("How many models were released?") == {"model"}
    assert gives_asked(question, "Some 240 people work there.")
    assert not gives_asked(question, "The museum reopened 24 hours after the storm.")
    assert not gives_asked(question, "The museum is by the river.")
    # "how much was she paid?": the number must be said of the paying
    assert counted_stems("How much was Maria Keller paid?") == {"paid"}
    assert not gives_asked("How much was Maria Keller paid?", "She was promoted at 32.")
    # a question that names nothing counted keeps the plain rule: any number
    assert gives_asked("How many of them left?", "Three left in May.")
    # other kinds of question are unchanged
    assert gives_asked("When did the museum reopen?", "It reopened in May 2004.")


def test_a_date_is_said_of_the_asked_event_when_the_event_is_named_near_it() -> None:
    from rag.questions import SAID_OF_WINDOW, said_of

    question = "When did Maria Keller start working at the Lima Museum?"
    # the date sits by a word of the question other than its main name: said of the event
    assert said_of(question, "Keller, who came to Lima in 2009, joined the museum in May 2012.")
    # a date of another event in her life is not ("born in 1981" is by her name only)
    assert not said_of(question, "Maria Keller, born in 1981, is a noted curator of textiles.")
    # within the window only: a date far from every asked word is not said of it
    far = "The museum " + "was praised by visiting critics for its work " + "x " * SAID_OF_WINDOW
    assert said_of(question, far.strip() + " in 2012.") is False
    assert said_of(question, "The museum reopened in 2012.")
    # a clause after a semicolon is read alone
    assert not said_of(question, "The museum is large; Keller was born in 1981.")
    # numbers: said of the thing counted or done
    assert said_of("How many visitors came in 2019?", "Some 40,000 visitors came.")
    assert not said_of("How many visitors came in 2019?", "Keller, 43, leads the team.")
    # kinds of fact this does not apply to, and questions that ask for no kind, always pass
    assert said_of("Who leads the museum?", "Keller, born in 1981, is a curator.")
    assert said_of("Tell me about the museum", "It has 12 rooms.")


@pytest.mark.parametrize(
    ("question", "previous", "standalone"),
    [
        (
            "When did he propose it?",
            "Who is the treasurer of the Harbour Trust?",
            "When did the treasurer of the Harbour Trust propose it?",
        ),
        (
            "and when did she join?",
            "Who was the first head of the lab?",
            "When did the first head of the lab join?",
        ),
        # "it" still means the named thing, and a named person stays the subject
        (
            "What is its budget?",
            "Who is the treasurer of the Harbour Trust?",
            "What is Harbour Trust's budget?",
        ),
        ("When did he join?", "Who else left besides Maria Keller?", "When did Maria Keller join?"),
    ],
)
def test_a_person_pronoun_after_a_who_holds_this_role_question(
    question: str, previous: str, standalone: str
) -> None:
    assert standalone_question(question, [previous]) == standalone


def test_a_speakers_turn_says_who_said_it() -> None:
    """A transcript's turn opens with its speaker: that is a name for a "who" question; a
    "Q:"/"A:" mark or an ordinary word ("Note:") is none."""
    from rag.questions import gives_asked

    question = "Who proposed closing the bridge?"
    assert gives_asked(question, "OSWIN: The beams are rotten. I'd propose we close the bridge.")
    assert carries("who", "[00:01:02] Pell: I object.")
    assert not gives_asked(question, "A: I'd propose we close the bridge.")
    assert not gives_asked(question, "Note: the bridge may be closed.")
    # the speaker the question names is no answer about someone else
    assert not gives_asked("Who did Oswin blame?", "OSWIN: the beams are rotten.")


def test_a_day_written_in_words_is_a_date() -> None:
    """Novels and deeds write a date's day in words: "the ninth of November" answers "when"."""
    from rag.questions import day_digits, gives_asked, said_of

    text = "They sailed for the island on the ninth of November, in a borrowed boat."
    question = "When did they sail for the island?"
    assert gives_asked(question, text) and said_of(question, text)
    assert day_digits("dated the twenty-second of August") == "dated the 22nd of August"
    assert day_digits("on August the thirty-first") == "on August 31st"
    assert day_digits("the thirtieth day of June") == "the 30th day of June"
    for plain in ("the first of all", "in May. The third step", "may the first one win"):
        assert day_digits(plain) == plain
