"""Real document folders: PDF, HTML, Word and text of any name, each converted (or sniffed) by
content, indexed with a text snapshot, and cited as exactly as a .txt file (page and span)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from rag import formats
from rag.config import Settings
from rag.corpus import read_source, read_text, sha256_bytes
from rag.formats import Unreadable, sniff
from rag.index import store
from rag.index.build import EmptyCorpusError, build_index
from rag.index.status import index_status, snapshot_dir
from rag.retrieval import retrieve
from rag.sources import CorpusFiles, page_png, quote_is_exact, source_html, source_view
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parent.parent

PIER = "The new pier opened on 3 May 2025."
BOARD = "Mirela Oduya chairs the harbour board since 2019."


# --- building documents --------------------------------------------------------------------


def make_pdf(pages: list[list[str]], encrypt: str | None = None) -> bytes:
    """A PDF with one text line per entry (reportlab), page by page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, encrypt=encrypt)
    for lines in pages:
        y = 800.0
        for line in lines:
            c.drawString(72, y, line)
            y -= 16
        c.showPage()
    c.save()
    return buf.getvalue()


def make_docx(blocks: list[tuple[str, int | None]]) -> bytes:
    """A .docx of paragraphs (``level``: a heading) and one small table at the end."""
    import docx

    document = docx.Document()
    for text, level in blocks:
        if level is None:
            document.add_paragraph(text)
        else:
            document.add_heading(text, level)
    table = document.add_table(rows=2, cols=2)
    for (r, col), value in {(0, 0): "Year", (0, 1): "Ships", (1, 0): "2025", (1, 1): "41"}.items():
        table.cell(r, col).text = value
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


REPORT_PAGES = [
    ["Annual report of the harbour board.", "The board met twelve times in the year."],
    ["Works on the waterfront.", PIER, "It cost four million euros to build."],
    ["Outlook.", "Dredging of the inner basin starts in spring."],
]

PAGE_HTML = f"""<!DOCTYPE html>
<html><head><title>Harbour news</title><style>p {{ color: red }}</style>
<script>document.write("tracking pixel loaded")</script></head>
<body><nav><a href="/">Home</a> <a href="/about">About us</a></nav>
<header>Site-wide banner text</header>
<main><h1>Harbour news</h1><p>Ferries now run every hour in summer.</p>
<h2>People</h2><p>{BOARD}</p></main>
<footer>Copyright footer text</footer></body></html>
"""


def docs_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.pdf").write_bytes(make_pdf(REPORT_PAGES))
    (folder / "news.html").write_text(PAGE_HTML, encoding="utf-8")
    (folder / "minutes.docx").write_bytes(
        make_docx(
            [
                ("Board minutes", 0),
                ("Fleet", 1),
                ("The harbour counted forty-one ships at anchor in August.", None),
            ]
        )
    )
    (folder / "LICENSE").write_text(
        "Permission is granted to copy this harbour guide freely.\n", encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def docs_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A folder of one PDF, one web page, one Word file and one extension-less text, indexed."""
    root = tmp_path_factory.mktemp("docs")
    corpus = docs_corpus(root / "corpus")
    s = make_settings(corpus_dir=corpus, index_dir=root / "index", backend="extractive")
    build_index(s)
    return s


# --- sniffing ------------------------------------------------------------------------------


def test_text_is_sniffed_by_content_not_by_name() -> None:
    assert sniff(b"MIT License\n\nPermission is hereby granted", "LICENSE") == "text"
    assert sniff(b"a,b\n1,2\n", "data.csv") == "text"
    assert sniff(b"Title\n=====\n", "notes.rst") == "text"
    assert sniff(b"I am plain text despite my name.\n", "fake.pdf") == "text"
    assert sniff(b"I am plain text despite my name.\n", "fake.html") == "text"
    assert sniff(PAGE_HTML.encode(), "saved-page.txt") == "html"
    assert sniff(b"<p>A fragment</p><div>of a page</div>", "part.htm") == "html"
    assert sniff(make_pdf([["x"]]), "no-suffix") == "pdf"
    assert sniff(make_docx([("x", None)]), "draft") == "docx"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "PNG image"),
        (b"\x00\x01\x02binary" * 10, "binary"),
        ("café".encode("latin-1"), "UTF-8"),
        ("hi".encode("utf-16"), "UTF-16"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, ".doc"),
    ],
)
def test_neither_text_nor_a_known_format_says_why(data: bytes, reason: str) -> None:
    with pytest.raises(Unreadable, match=reason):
        sniff(data, "file")


# --- conversion ----------------------------------------------------------------------------


def test_pdf_text_layer_page_by_page() -> None:
    converted = formats.pdf_to_text(make_pdf(REPORT_PAGES))
    layout = converted.layout
    assert layout.kind == "pdf" and len(layout.pages) == 3
    at = converted.text.index(PIER)
    assert layout.page_of(at) == 2 and layout.page_of(0) == 1
    a, b = layout.page_span(2, len(converted.text))
    assert converted.text[a:b].splitlines() == REPORT_PAGES[1]


def test_bad_pdfs_are_refused_with_reasons() -> None:
    with pytest.raises(Unreadable, match="encrypted"):
        formats.pdf_to_text(make_pdf([["secret minutes"]], encrypt="hunter2"))
    with pytest.raises(Unreadable, match="damaged"):
        formats.pdf_to_text(make_pdf(REPORT_PAGES)[:400])
    with pytest.raises(Unreadable, match="scanned"):
        formats.pdf_to_text(make_pdf([[], []]))
    partly = formats.pdf_to_text(make_pdf([["Some text."], []]))
    assert partly.layout.notes == ["1 of 2 pages have no text layer (scanned?)"]


def test_a_500_page_pdf_converts_fast_or_is_refused_over_the_limit() -> None:
    data = make_pdf([[f"Page {i} of the long register, entry {i}."] for i in range(1, 501)])
    converted = formats.pdf_to_text(data)
    assert len(converted.layout.pages) == 500
    at = converted.text.index("Page 377 of")
    assert converted.layout.page_of(at) == 377
    with pytest.raises(Unreadable, match="500 pages is over the limit of 100"):
        formats.pdf_to_text(data, max_pages=100)


def test_html_main_text_without_scripts_styles_and_navigation() -> None:
    converted = formats.html_to_text(PAGE_HTML.encode())
    text = converted.text
    assert BOARD in text and "Ferries now run every hour in summer." in text
    for gone in ("tracking pixel", "color: red", "About us", "banner", "Copyright footer"):
        assert gone not in text
    assert converted.layout.heading_of(text.index(BOARD)) == "Harbour news › People"
    page = b"<html><body><p>No main element &amp; still read.</p><script>x()</script></body></html>"
    assert formats.html_to_text(page).text == "No main element & still read.\n"


def test_a_20_mb_web_page_converts_in_one_pass() -> None:
    para = "<p>The tide tables are printed at the harbour office every week.</p>\n"
    data = "<!doctype html><html><body>" + para * (20_000_000 // len(para)) + "</body></html>"
    converted = formats.html_to_text(data.encode())
    assert converted.text.count("tide tables") == 20_000_000 // len(para)


def test_docx_paragraphs_headings_and_tables() -> None:
    converted = formats.docx_to_text(
        make_docx([("Report", 0), ("Fleet", 1), ("Forty-one ships were at anchor.", None)])
    )
    text = converted.text
    assert text.startswith("Report\n\nFleet\n\nForty-one ships were at anchor.")
    assert "Year | Ships\n\n2025 | 41" in text
    assert converted.layout.heading_of(text.index("Forty-one")) == "Report › Fleet"


def test_a_docx_that_is_a_zip_of_something_else() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("holiday/photo1.txt", "not a document")
    with pytest.raises(Unreadable, match="not a Word document"):
        sniff(buf.getvalue(), "report.docx")
    with pytest.raises(Unreadable, match="not a Word document"):
        formats.docx_to_text(buf.getvalue())
    with pytest.raises(Unreadable, match="damaged"):
        sniff(b"PK\x03\x04 broken zip", "report.docx")


# --- indexing and citing -------------------------------------------------------------------


def test_index_converts_each_format_and_keeps_snapshots(docs_index: Settings) -> None:
    info = index_status(docs_index)
    assert info["formats"] == {"docx": 1, "html": 1, "pdf": 1, "text": 1}
    assert info["skipped"] == {}
    gen_dir = docs_index.index_dir / info["generation"]
    manifest = store.read_manifest(gen_dir)
    pdf = manifest.files["report.pdf"]
    assert pdf.kind == "pdf" and pdf.pages == 3
    original = (docs_index.corpus_dir / "report.pdf").read_bytes()
    assert pdf.sha256 == sha256_bytes(original)  # keyed on the original file
    saved = formats.load_snapshot(store.snapshot_dir(gen_dir), pdf.sha256)
    assert saved is not None and PIER in saved.text
    # the one reader gives the snapshot for converted files, the bytes for text
    snaps = snapshot_dir(docs_index)
    assert read_text(docs_index.corpus_dir, "report.pdf", snaps) == saved.text
    assert read_text(docs_index.corpus_dir, "LICENSE", snaps).startswith("Permission is granted")


def test_pdf_citation_end_to_end_page_and_span(docs_index: Settings) -> None:
    found = retrieve(docs_index, "When did the new pier open?")
    ev = next(e for e in found.evidence if e.file == "report.pdf" and PIER in e.text)
    assert ev.page == 2
    snaps = snapshot_dir(docs_index)
    text = read_text(docs_index.corpus_dir, "report.pdf", snaps)
    assert text[ev.char_start : ev.char_end] == ev.text
    assert quote_is_exact(docs_index.corpus_dir, ev, ev.text, snaps)

    from rag import ask

    answer = ask("When did the new pier open?", docs_index)
    cited = [c for c in answer.citations + answer.closest if c.file == "report.pdf"]
    assert cited, answer
    c = cited[0]
    assert c.page == 2 and text[c.char_start : c.char_end] == c.quote
    view = source_view(docs_index.corpus_dir, c, snapshots=snaps)
    assert view.found == "exact" and view.kind == "pdf" and view.page == 2 and view.pages == 3
    assert "page 2 of 3" in source_html(view)
    png = page_png(docs_index.corpus_dir, view)
    assert png is not None and highlighted_pixels(png) > 200
    part = page_png(docs_index.corpus_dir, view, around=True)  # the part around the quote
    assert part is not None and highlighted_pixels(part) == highlighted_pixels(png)
    assert len(part) < len(png)


def highlighted_pixels(png: bytes) -> int:
    """Pixels of the highlight colour (yellow over white paper) in a drawn page."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int(((r > 240) & (g > 215) & (g < 250) & (b > 100) & (b < 190)).sum())


def test_html_and_docx_citations_carry_the_heading(docs_index: Settings) -> None:
    corpus = CorpusFiles(docs_index.corpus_dir, snapshot_dir(docs_index))
    html_text = corpus.text("news.html") or ""
    a = html_text.index(BOARD)
    c = corpus.citation("news.html", a, a + len(BOARD))
    assert c.quote == BOARD and c.heading == "Harbour news › People" and c.page is None
    assert corpus.quote_is_exact(c, BOARD)
    view = source_view(docs_index.corpus_dir, c, snapshots=corpus.snapshots)
    assert view.highlighted_text == BOARD and view.kind == "html"
    docx_text = corpus.text("minutes.docx") or ""
    assert "<" not in html_text and "forty-one ships" in docx_text
    s = next(x for x in corpus.sentences("minutes.docx") if "forty-one" in x.text)
    assert s.heading == "Board minutes › Fleet"


def test_draft_cites_pdf_pages(docs_index: Settings, tmp_path: Path) -> None:
    from rag.drafts import check_draft, read_draft

    draft = (
        "The pier opened on 3 May 2025 [report.pdf:p2:2].\n\n"
        "It cost four million euros to build [report.pdf:p2].\n\n"
        "Dredging starts in spring [report.pdf:p9].\n"
    )
    report = check_draft(draft, docs_index)
    first, second, third = report.sentences
    assert first.verdict == "supported" and first.citation is not None
    assert first.citation.quote == PIER and first.citation.page == 2
    assert first.source == "report.pdf:5 (p.2)"
    assert second.verdict == "supported" and second.citation is not None
    assert second.citation.page == 2
    assert third.verdict == "bad_citation" and "page 9 does not exist" in third.reason
    # a Word draft is read as its text
    (tmp_path / "draft.docx").write_bytes(
        make_docx([("My article", 1), ("The pier opened on 3 May 2025 [report.pdf:p2:2].", None)])
    )
    text = read_draft(tmp_path / "draft.docx")
    assert "[report.pdf:p2:2]" in text
    assert check_draft(text, docs_index).sentences[0].verdict == "supported"


def refuse(*_: Any, **__: Any) -> Any:
    raise AssertionError("an unchanged document was read or converted again")


def test_bad_documents_are_skipped_with_reasons_and_never_break_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = docs_corpus(tmp_path / "corpus")
    s = make_settings(corpus_dir=corpus, index_dir=tmp_path / "index", max_pdf_pages=50)
    first = build_index(s)
    live = first.generation
    (corpus / "locked.pdf").write_bytes(make_pdf([["secret minutes"]], encrypt="pw"))
    (corpus / "broken.pdf").write_bytes(make_pdf(REPORT_PAGES)[:500])
    (corpus / "scan.pdf").write_bytes(make_pdf([[], [], []]))
    (corpus / "register.pdf").write_bytes(make_pdf([[f"Entry {i}."] for i in range(60)]))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("photos/a.jpg", b"\xff\xd8\xff")
    (corpus / "fake.docx").write_bytes(zbuf.getvalue())
    (corpus / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(2000))
    with open(corpus / "huge.html", "wb") as fh:
        fh.write(b"<!doctype html><html><body>")
        fh.write(b"<p>All work and no play makes a long page.</p>" * (21_000_000 // 48))
    r = build_index(s)
    assert set(r.skipped) == {
        "locked.pdf",
        "broken.pdf",
        "scan.pdf",
        "register.pdf",
        "fake.docx",
        "photo.jpg",
        "huge.html",
    }
    assert "encrypted" in r.skipped["locked.pdf"]
    assert "damaged" in r.skipped["broken.pdf"]
    assert "scanned" in r.skipped["scan.pdf"] and "OCR" in r.skipped["scan.pdf"]
    assert "60 pages is over the limit of 50" in r.skipped["register.pdf"]
    assert "not a Word document" in r.skipped["fake.docx"]
    assert "JPEG" in r.skipped["photo.jpg"]
    assert "MB" in r.skipped["huge.html"]
    # nothing changed that was indexed: the live generation was kept, and status says why
    assert store.current_generation(s.index_dir) == live and not r.wrote
    info = index_status(s)
    assert set(info["skipped"]) == set(r.skipped) and info["files"] == 4
    assert not any(info["stale"].values())
    # unchanged skipped files are not read again (a scan is not re-examined at every build) ...
    monkeypatch.setattr(formats, "pdf_to_text", refuse)
    again = build_index(s)
    assert again.skipped == r.skipped and not again.wrote
    monkeypatch.undo()
    # ... unless the limits that skipped them changed
    raised = build_index(s.model_copy(update={"max_pdf_pages": 100}))
    assert raised.added == ["register.pdf"] and "register.pdf" not in raised.skipped


def test_unchanged_pdf_is_not_converted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = docs_corpus(tmp_path / "corpus")
    s = make_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    first = build_index(s)
    assert first.converted["report.pdf"] == "pdf, 3 pages" and first.pdf_pages == 3
    monkeypatch.setattr(formats, "pdf_to_text", refuse)
    monkeypatch.setattr(formats, "html_to_text", refuse)
    monkeypatch.setattr(formats, "docx_to_text", refuse)
    pdf = corpus / "report.pdf"
    os.utime(pdf, ns=(pdf.stat().st_atime_ns, pdf.stat().st_mtime_ns + 10**9))  # touched only
    noop = build_index(s)
    assert not noop.wrote and not noop.converted and "report.pdf" in noop.unchanged
    # a new text file: a new generation, which carries the unchanged snapshots over
    (corpus / "notes.rst").write_text("Harbour notes\n=============\n\nTide at six.\n", "utf-8")
    grown = build_index(s)
    assert grown.wrote and grown.added == ["notes.rst"] and not grown.converted
    snaps = snapshot_dir(s)
    assert snaps is not None and grown.generation in str(snaps)
    monkeypatch.undo()
    source = read_source(s.corpus_dir, "report.pdf", snaps)
    assert source.layout is not None and len(source.layout.pages) == 3
    sha = store.read_manifest(s.index_dir / grown.generation).files["report.pdf"].sha256
    assert formats.load_snapshot(snaps, sha) is not None


def test_an_index_inside_the_corpus_folder_is_not_indexed(tmp_path: Path) -> None:
    corpus = docs_corpus(tmp_path / "corpus")
    s = make_settings(corpus_dir=corpus, index_dir=corpus / "index")
    first = build_index(s)
    assert sorted(first.added) == ["LICENSE", "minutes.docx", "news.html", "report.pdf"]
    again = build_index(s)  # the snapshots, manifest and chunks written there are not documents
    assert not again.wrote and not again.added and not again.skipped
    assert not any(index_status(s)["stale"].values())
    assert store.inside_index(corpus, corpus)("CURRENT")
    assert not store.inside_index(corpus, corpus)("notes/CURRENT.txt")


def test_extensionless_text_folder_indexes_from_the_cli(tmp_path: Path) -> None:
    corpus = tmp_path / "licences"
    corpus.mkdir()
    for name in ("LICENSE", "COPYING", "GPL-3"):
        (corpus / name).write_text(
            f"{name}: you may copy and share this text under the stated terms.\n", "utf-8"
        )
    (corpus / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "index")}
    run = subprocess.run(
        [sys.executable, "-m", "rag.cli", "index", str(corpus), "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "3 added" in run.stdout
    assert "skipped logo.png: a PNG image, not a document" in run.stderr
    status = subprocess.run(
        [sys.executable, "-m", "rag.cli", "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert status.returncode == 0, status.stderr
    assert "formats    3 text" in status.stdout
    assert "skipped    logo.png: a PNG image" in status.stdout


def test_a_folder_of_only_unreadable_files_is_one_clear_error(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "scan.pdf").write_bytes(make_pdf([[]]))
    s = make_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    with pytest.raises(EmptyCorpusError, match=r"no readable documents .* \(1 skipped\)"):
        build_index(s)


def test_docx_numbered_list_items_keep_their_numbers() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Shutdown", style="Heading 1")
    for step in ("Close the door.", "Switch off the compressor.", "Wait six hours."):
        document.add_paragraph(step, style="List Number")
    document.add_paragraph("Spare keys are in the office.", style="List Bullet")
    document.add_paragraph("Sign the log.")
    buf = io.BytesIO()
    document.save(buf)
    text = formats.docx_to_text(buf.getvalue()).text
    # "the third step" can be found: Word keeps the numbers out of the paragraphs' text
    assert "1. Close the door.\n\n2. Switch off the compressor.\n\n3. Wait six hours." in text
    assert "\nSpare keys are in the office." in text  # a bullet gets no number
    assert "\nSign the log." in text and "Shutdown\n" in text


LISTS_PAGE = b"""<!doctype html><html><body><main>
<h2>Replacing the filter <a class="anchor" href="#f">&para;</a></h2>
<p>Follow these steps:</p>
<ol><li>Switch off the pump.</li><li><p>Open the lid.</p></li><li>Lift the old filter out.</li></ol>
<ol start="7"><li>Close the lid.</li></ol>
<p>The pump looks for its spare filter in this order:</p>
<ul><li>the drawer under the tank,</li><li>the shelf by the door.</li></ul>
<dl>
<dt><code>flow_max</code><a href="#x"> &para;</a></dt>
<dd><p>The highest flow in litres per minute.</p></dd>
<dt>flow_min</dt><dd>The lowest flow.</dd>
</dl>
<p>Clean the lid every week.</p>
</main></body></html>"""


def test_html_lists_keep_their_marks_and_terms_head_their_definitions() -> None:
    """A web page's numbered list keeps its numbers ("the third step"), a bulleted one its
    bullets (a list a sentence introduces), and a definition sits under its term, as a Word
    document's list and a heading do; a generator's anchor mark is no text."""
    converted = formats.html_to_text(LISTS_PAGE)
    lines = [ln for ln in converted.text.splitlines() if ln]
    assert lines[0] == "Replacing the filter"
    assert "1. Switch off the pump." in lines and "2. Open the lid." in lines
    assert "3. Lift the old filter out." in lines and "7. Close the lid." in lines
    assert "• the drawer under the tank," in lines
    assert "flow_max" in lines
    text = converted.text
    layout = converted.layout
    assert layout.heading_of(text.index("The highest flow")) == "Replacing the filter › flow_max"
    assert layout.heading_of(text.index("The lowest flow")) == "Replacing the filter › flow_min"
    assert layout.heading_of(text.index("Clean the lid")) == "Replacing the filter"
