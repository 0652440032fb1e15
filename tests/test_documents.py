"""Which documents a question names, and retrieval that answers from the named one."""

from __future__ import annotations

from pathlib import Path

from rag.answering import ask, format_passages
from rag.config import Settings
from rag.documents import DocumentNames, initials, is_name, name_text, name_tokens
from rag.index.build import build_index
from rag.retrieval import retrieve
from tests.conftest import make_settings

LICENCES = {
    "GPL-2.txt": "GNU GENERAL PUBLIC LICENSE\nVersion 2, June 1991\n\nSome text.",
    "GPL-3.txt": "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n\nSome text.",
    "LGPL-3.txt": "GNU LESSER GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n\nText.",
    "notes.txt": "Meeting notes\n\nWe met.",
}


def names(texts: dict[str, str]) -> DocumentNames:
    return DocumentNames({f: name_tokens(t, f) for f, t in texts.items()})


def test_a_name_is_the_file_name_the_title_and_its_short_lines() -> None:
    text = "Apache License\nVersion 2.0, January 2004\n" + "A long line of prose. " * 5
    assert name_text(text, "legal/Apache-2.0.txt") == (
        "Apache 2.0\nApache License\nVersion 2.0, January 2004"
    )
    assert initials("GNU Lesser General Public License") == {"glgpl", "lgpl"}
    # a headline is what an article is about, not its name
    assert not is_name("Is the Museum on the Brink of a Major Change?")
    assert not is_name("The museum closes its east wing for good")
    assert is_name("The Artistic License") and is_name("GNU GENERAL PUBLIC LICENSE")
    assert name_text("Is the Museum on the Brink?\nBy A. Writer", "0a1f.txt") == "0a1f"


def test_the_named_document_is_the_one_the_question_names() -> None:
    dn = names(LICENCES)
    assert dn.named("Under GPL version 3, may I charge a fee?") == {"GPL-3.txt": 1.0}
    assert set(dn.named("What does the LGPL say about linking?")) == {"LGPL-3.txt"}
    both = dn.named("How do GPL version 2 and GPL version 3 define source code?")
    assert set(both) == {"GPL-2.txt", "GPL-3.txt"}
    # lower-case words say what the question is about, not where to look
    assert dn.named("What did we say about general public meetings?") == {}
    # a number alone names nothing; nor does a word every name has
    assert dn.named("What happened in version 3 on June 29?") == {}
    assert dn.named("Which License is this?") == {}


def test_a_question_naming_a_document_is_answered_from_it(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    same = (
        "Each party must give notice within 30 days. Notice must be given in writing. "
        "Either party may end the agreement at any time."
    )
    (corpus / "Harbor-Lease.txt").write_text(
        "Harbor Lease Agreement\n\n" + same.replace("30", "45") + "\n", encoding="utf-8"
    )
    (corpus / "Garden-Lease.txt").write_text(
        "Garden Lease Agreement\n\n" + same + "\n", encoding="utf-8"
    )
    (corpus / "Office-Lease.txt").write_text(
        "Office Lease Agreement\n\n" + same.replace("30", "60") + "\n", encoding="utf-8"
    )
    settings: Settings = make_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    for file, days in (("Harbor-Lease.txt", "45"), ("Garden-Lease.txt", "30")):
        name = file.split("-")[0]
        ev = retrieve(settings, f"Under the {name} Lease, within how many days is notice due?")
        assert ev.evidence[0].file == file and days in ev.evidence[0].text
        assert ev.named == {file: 1.0}
        # the model is told which document each passage comes from
        title = name + " Lease Agreement"
        assert ev.labels[file] == f"{file[:-4]} ({title})"
        assert f"[1] ({file[:-4]} ({title})) " in format_passages(ev.evidence, ev.labels)
    plain = retrieve(settings, "Within how many days is notice due?")
    assert plain.named == {} and plain.labels == {}
    assert format_passages(plain.evidence, plain.labels).startswith("[1] Each party")
    # the extractive answer quotes the named document only
    a = ask("Under the Office Lease, within how many days is notice due?", settings)
    assert not a.abstained and {c.file for c in a.citations} == {"Office-Lease.txt"}
    assert "60" in a.answer and "45" not in a.answer


def test_a_word_nearly_every_document_uses_names_none() -> None:
    """A folder about one thing ("Acme") with one document called "The Acme Debugger": a
    question saying "Acme" is about the folder's subject, not about that document."""
    body = "\n\nAcme programs are made of statements; each of them is described below."
    texts = {f: title + body for f, title in (("debugger.txt", "The Acme Debugger"), ("loops.txt", "Loops"), ("errors.txt", "Errors"), ("imports.txt", "Imports"))}  # fmt: skip
    tokens = {f: name_tokens(t, f) for f, t in texts.items()}
    in_texts = {"acme": 4, "debugger": 1, "loop": 1, "error": 1, "import": 1}
    spread = DocumentNames(tokens, in_texts=in_texts)
    assert spread.named("Which Acme error model is used?") == {}
    assert spread.named("What does the Acme Debugger do?") == {"debugger.txt": 1.0}
    # without knowing what the texts hold, the title word names its document as before
    assert DocumentNames(tokens).named("Which Acme error model is used?") == {"debugger.txt": 1.0}


def test_the_index_counts_the_documents_whose_text_holds_a_name_word(tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for name, title, body in (
        ("debugger", "The Acme Debugger", "The debugger steps through Acme programs line by line."),
        ("loops", "Loops", "Acme loops repeat a block while a condition holds true."),
        ("errors", "Errors", "Acme programs stop at an error unless a handler catches it."),
        ("imports", "Imports", "An Acme import statement loads a module and binds its name."),
    ):
        more = "Each part of it is described in the sections that follow, with examples."
        (corpus / f"{name}.txt").write_text(f"{title}\n\n{body}  {more}\n", encoding="utf-8")
    settings: Settings = make_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings)
    assert retrieve(settings, "How do Acme programs handle an error?").named == {}
    assert retrieve(settings, "What does the Acme Debugger do?").named == {"debugger.txt": 1.0}
