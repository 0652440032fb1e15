"""Synthetic material for the benchmarks: English-like prose documents of any size (as text, and
as PDFs with a text layer), and a real index generation of any number of chunks built from them
(only the vectors are synthetic).
"""

from __future__ import annotations

import hashlib
import random
import shutil
import textwrap
import time
from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings

SayFn = Callable[[str], None]


def say_nothing(_message: str) -> None:
    pass


def say_stderr(message: str) -> None:
    import sys

    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- synthetic prose ------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


_FIRST = _words(
    "Anna Ben Chen Dara Elif Farid Grace Hiro Ines Jun Kofi Lena Mateo Nadia Omar Priya Quinn "
    "Rosa Sven Tariq Uma Viktor Wen Xia Yusuf Zara Liang Mei Aiko Bruno Carla Dmitri Esther Felix "
    "Gita Hana Ivan Julia Kenji Laila Marco Nina Oren Paula Rahul Sofia Tomas Ursula Vera Wei"
)
_LAST = _words(
    "Alvarez Becker Chowdhury Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kim Lopez Moreau "
    "Novak Okafor Petrov Quispe Rossi Sato Tanaka Ueda Varga Wang Xu Yamamoto Zhang Li Liu Huang "
    "Zhou Schmidt Costa Silva Nakamura Park Singh Gupta Mensah Andersen Kowalski Nguyen Ortiz"
)
_PLACES = _words(
    "Hangzhou Shanghai Beijing Shenzhen Singapore Tokyo Seoul Berlin Paris London Nairobi Lagos "
    "Toronto Boston Austin Seattle Madrid Lisbon Warsaw Prague Vienna Zurich Oslo Helsinki Dublin "
    "Mumbai Bangalore Jakarta Manila Sydney Melbourne Auckland Santiago Lima Bogota Cairo Istanbul"
)
_MONTHS = _words(
    "January February March April May June July August September October November December"
)
_NOUNS = _words(
    "model team company report market engineer researcher analyst investor product release "
    "benchmark dataset server cluster budget policy board strategy platform license partner "
    "contract customer user developer community startup laboratory university student paper "
    "experiment result score metric version update feature interface network memory processor "
    "chip factory supplier shipment price revenue profit loss quarter forecast decision meeting "
    "interview statement announcement rumour leak source official regulator court ruling law "
    "agency ministry committee election campaign survey poll region city province border port "
    "river bridge railway airport harbour storm drought harvest crop farmer village hospital "
    "doctor patient vaccine trial study journal editor article headline reader audience station "
    "channel broadcast festival museum gallery artist album concert stadium league player coach "
    "season match goal record injury transfer fund bank loan bond currency inflation rate tax "
    "reform union strike worker wage pension contractor engine vehicle battery charger grid plant "
    "turbine pipeline reservoir satellite rocket mission telescope sensor camera drone robot"
)
_VERBS = _words(
    "announced released confirmed denied reported expected delayed launched acquired sold built "
    "tested trained measured published reviewed approved rejected criticised praised questioned "
    "described explained predicted estimated doubled halved raised cut extended replaced joined "
    "left led hired promoted warned urged signed cancelled opened closed expanded reduced moved "
    "shipped upgraded patched ranked overtook surpassed matched missed beat lost won funded "
    "audited investigated settled appealed recorded noticed discovered compared summarised"
)
_ADJECTIVES = _words(
    "new large small early late senior junior public private open closed global local regional "
    "national rapid slow strong weak stable volatile quarterly annual recent former current "
    "official unofficial critical minor major key central remote secure unexpected surprising "
    "modest significant detailed brief internal external experimental commercial technical "
    "financial political legal medical rural urban coastal northern southern eastern western"
)
_ADVERBS = _words(
    "quickly slowly quietly publicly reportedly sharply steadily briefly largely partly "
    "eventually initially recently formally openly repeatedly"
)
_DETS = ("the", "the", "the", "a", "its", "their", "this", "another", "every")
_LINKERS = (", and ", ", while ", " because ", ", but ", " after ", " before ", "; ", ", so ")
_SAY = ("said", "told reporters", "wrote in a post", "said in a statement", "added")
_SYLLABLES = _words(
    "ka lo mi ta ren vo shi nu pe ra zen qi lu ma dor ve xi ba cor ti an el os ul ix yo fen "
    "gar hol jin kel mor nax pry quo rus sel tor vin wex zul"
)


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("s", "ch", "sh", "x")):
        return noun + "es"
    return noun + "s"


class ProseGenerator:
    """Deterministic English-like prose: names, places, dates, numbers, a long tail of rare
    terms (Zipf), sentences from 4 to 80+ words, quotes and abbreviations (``Dr.``)."""

    def __init__(self, seed: int = 0, rare_terms: int = 3000) -> None:
        self.rng = random.Random(seed)
        terms_rng = random.Random(seed + 7919)
        terms: list[str] = []
        seen: set[str] = set()
        while len(terms) < rare_terms:
            word = "".join(terms_rng.choice(_SYLLABLES) for _ in range(terms_rng.randint(2, 4)))
            if terms_rng.random() < 0.2:
                word += f"-{terms_rng.randint(1, 99)}"
            word = word.capitalize()
            if word not in seen:
                seen.add(word)
                terms.append(word)
        self.terms = terms
        self._term_cum = list(accumulate(1.0 / (r + 1) for r in range(len(terms))))

    # -- words and phrases -------------------------------------------------------------------

    def term(self) -> str:
        """A rare term: product names, labs, jargon (Zipf-distributed)."""
        x = self.rng.random() * self._term_cum[-1]
        return self.terms[min(bisect_left(self._term_cum, x), len(self.terms) - 1)]

    def person(self) -> str:
        r = self.rng
        name = f"{r.choice(_FIRST)} {r.choice(_LAST)}"
        return f"Dr. {name}" if r.random() < 0.08 else name

    def org(self) -> str:
        r = self.rng
        suffix = r.choice(("Labs", "Group", "Institute", "Capital", "Systems", "Media", "AI"))
        return f"{self.term()} {suffix}"

    def number(self) -> str:
        r = self.rng
        kind = r.random()
        if kind < 0.3:
            return f"{r.randint(2, 99)}%"
        if kind < 0.55:
            return f"{r.randint(1, 999):,}"
        if kind < 0.8:
            return f"{r.randint(1, 999) * 1000:,}"
        return f"{r.randint(1, 99)}.{r.randint(0, 9)} {r.choice(('million', 'billion'))}"

    def date(self) -> str:
        r = self.rng
        return f"{r.choice(_MONTHS)} {r.randint(1, 28)}, {r.randint(2015, 2026)}"

    def noun_phrase(self) -> str:
        r = self.rng
        parts = [r.choice(_DETS)]
        if r.random() < 0.5:
            parts.append(r.choice(_ADJECTIVES))
        noun = r.choice(_NOUNS)
        if parts[0] in ("the", "its", "their") and r.random() < 0.3:
            noun = _plural(noun)
        parts.append(noun)
        if r.random() < 0.3:
            parts += ["of", self.term()]
        return " ".join(parts)

    def subject(self) -> str:
        kind = self.rng.random()
        if kind < 0.35:
            return self.person()
        if kind < 0.55:
            return self.org()
        return self.noun_phrase()

    def clause(self) -> str:
        r = self.rng
        words = [self.subject()]
        if r.random() < 0.15:
            words.append(r.choice(_ADVERBS))
        words += [r.choice(_VERBS), self.noun_phrase()]
        extra = r.random()
        if extra < 0.2:
            words += ["in", r.choice(_PLACES)]
        elif extra < 0.35:
            words += ["on", self.date()]
        elif extra < 0.5:
            words += ["by", self.number()]
        elif extra < 0.6:
            words += ["with", self.number(), _plural(r.choice(_NOUNS))]
        return " ".join(words)

    def sentence(self) -> str:
        r = self.rng
        n = r.choices((1, 2, 3, 5, 8), weights=(50, 30, 12, 6, 2))[0]
        body = self.clause()
        for _ in range(n - 1):
            body += r.choice(_LINKERS) + self.clause()
        kind = r.random()
        if kind < 0.12:
            text = f'"{body[0].upper()}{body[1:]}," {self.person()} {r.choice(_SAY)}.'
        elif kind < 0.2:
            text = f"According to {self.org()}, {body}."
        elif kind < 0.24:
            text = f"{body[0].upper()}{body[1:]}?"
        else:
            text = f"{body[0].upper()}{body[1:]}."
        return text

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.choices((1, 2, 3, 4, 6))[0]))

    def title(self) -> str:
        r = self.rng
        return f"{self.term()} {r.choice(_NOUNS)} {r.choice(_VERBS)} in {r.choice(_PLACES)}"

    def document(self, paragraphs: int) -> str:
        """A news-like document: title, byline, paragraphs in one of three layouts (a line per
        paragraph, hard-wrapped lines, or one very long line), sometimes a bullet list."""
        r = self.rng
        paras = [self.paragraph() for _ in range(paragraphs)]
        if r.random() < 0.15:
            items = [f"- {self.noun_phrase()} {r.choice(_VERBS)} {self.number()}" for _ in range(4)]
            paras.insert(r.randint(0, len(paras)), "\n".join(items))
        head = [self.title(), f"By {self.person()} | {self.date()}"]
        layout = r.random()
        if layout < 0.6:
            body = "\n\n".join(paras)
        elif layout < 0.9:
            width = r.randint(60, 90)
            body = "\n\n".join(
                p if p.startswith("- ") else textwrap.fill(p, width=width) for p in paras
            )
        else:  # one long line, like a scraped page or a machine summary
            body = " ".join(p.replace("\n", " ") for p in paras)
        return "\n".join(head) + "\n\n" + body + "\n"


PDF_LINES_PER_PAGE = 30
PDF_LINE_CHARS = 80


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF (one Helvetica text line per entry, A4 pages) with a real text layer:
    what a word processor's "export as PDF" gives, without any PDF library."""
    n = len(pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        (
            "<< /Type /Pages /Kids ["
            + " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
            + f"] /Count {n} >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, lines in enumerate(pages):
        shown = " T* ".join(f"({_pdf_string(line)}) Tj" for line in lines)
        stream = f"BT /F1 10 Tf 13 TL 56 790 Td {shown} ET".encode("latin-1", "replace")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents " + f"{5 + 2 * i} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def pdf_pages_of(gen: ProseGenerator, pages: int) -> list[list[str]]:
    """Prose wrapped into PDF lines, ``pages`` pages of :data:`PDF_LINES_PER_PAGE` lines."""
    out: list[list[str]] = []
    lines: list[str] = [gen.title()]
    while len(out) < pages:
        while len(lines) < PDF_LINES_PER_PAGE:
            lines += textwrap.wrap(gen.paragraph(), width=PDF_LINE_CHARS) + [""]
        out.append(lines[:PDF_LINES_PER_PAGE])
        lines = lines[PDF_LINES_PER_PAGE:]
    return out


def make_corpus(
    folder: Path,
    files: int,
    *,
    seed: int = 0,
    paragraphs: tuple[int, int] = (1, 4),
    pdfs: int = 0,
    pdf_pages: int = 10,
) -> dict[str, Any]:
    """Write ``files`` synthetic ``.txt`` documents (deterministic for a seed) into ``folder``,
    spread over a few sub-folders, and ``pdfs`` PDFs of ``pdf_pages`` pages; returns counts."""
    gen = ProseGenerator(seed)
    total = 0
    for i in range(files):
        text = gen.document(gen.rng.randint(*paragraphs))
        path = folder / f"d{i % 20:02d}" / f"doc{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        total += len(text.encode("utf-8"))
    for i in range(pdfs):
        data = make_pdf(pdf_pages_of(gen, pdf_pages))
        path = folder / "pdf" / f"report{i:04d}.pdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
    return {
        "files": files + pdfs,
        "bytes": total,
        "seed": seed,
        "pdfs": pdfs,
        "pdf_pages": pdfs * pdf_pages,
    }


def change_files(folder: Path, fraction: float, *, seed: int = 0) -> list[str]:
    """Append a paragraph to ``fraction`` of the ``.txt`` files (at least one); their paths."""
    paths = sorted(folder.rglob("*.txt"))
    rng = random.Random(seed + 1)
    picked = rng.sample(paths, max(1, round(len(paths) * fraction)))
    gen = ProseGenerator(seed + 2)
    for path in picked:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("\n" + gen.paragraph() + "\n")
    return [p.relative_to(folder).as_posix() for p in picked]


# --- rag bench retrieval --------------------------------------------------------------------


def _synthetic_vectors(
    embedder: Any, sentences: list[str], n: int, seed: int, mix: int = 3, noise: float = 0.35
) -> np.ndarray:
    """``n`` unit vectors made from real embeddings of ``sentences``: each a random convex
    combination of ``mix`` of them plus Gaussian noise (norm about ``noise``), normalised."""
    basis = np.asarray(embedder.encode(sentences), dtype=np.float32)
    rng = np.random.default_rng(seed)
    dim = basis.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    step = 10_000
    for a in range(0, n, step):
        b = min(n, a + step)
        idx = rng.integers(0, len(basis), size=(b - a, mix))
        w = rng.dirichlet(np.ones(mix), size=b - a).astype(np.float32)
        v = np.einsum("nk,nkd->nd", w, basis[idx])
        v += rng.normal(0.0, noise / np.sqrt(dim), size=v.shape).astype(np.float32)
        out[a:b] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def build_synthetic_index(
    settings: Settings,
    chunks: int,
    *,
    seed: int = 0,
    basis_sentences: int = 3000,
    say: SayFn | None = None,
) -> dict[str, Any]:
    """Write a real index generation of at least ``chunks`` chunks into ``settings.index_dir``
    from synthetic documents written to ``settings.corpus_dir``.

    Chunks, sentences and spans come from the real ``chunk_document``; the BM25 index from the
    real ``LexicalIndex.build``; the Chroma collection is written through the same
    ``ChromaVectorStore`` nodes and metadata as ``rag index``. Only the vectors are synthetic:
    made from real embeddings of ``basis_sentences`` sentences (see :func:`_synthetic_vectors`)
    instead of embedding every chunk, which would take hours on a small CPU."""
    say = say or say_nothing
    from rag.chunking import chunk_document
    from rag.embeddings import get_embedder
    from rag.index import store
    from rag.index.build import GenerationWriter
    from rag.schema import Chunk

    info: dict[str, Any] = {}
    corpus, index_dir = settings.corpus_dir, settings.index_dir
    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.rmtree(corpus, ignore_errors=True)
    say(f"writing and chunking synthetic documents until {chunks:,} chunks ...")
    t = time.perf_counter()
    gen = ProseGenerator(seed)
    all_chunks: list[Chunk] = []
    files: dict[str, store.FileEntry] = {}
    i = 0
    while len(all_chunks) < chunks:
        text = gen.document(gen.rng.randint(10, 40))
        rel = f"d{i % 50:02d}/doc{i:06d}.txt"
        path = corpus / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        path.write_bytes(data)
        st = path.stat()
        sha = hashlib.sha256(data).hexdigest()
        doc_chunks = chunk_document(rel, text, sha, settings.chunk_size, settings.chunk_overlap)
        all_chunks.extend(doc_chunks)
        files[rel] = store.FileEntry(
            sha256=sha, size=st.st_size, mtime_ns=st.st_mtime_ns, chunks=[c.id for c in doc_chunks]
        )
        i += 1
    info["files"] = i
    info["chunks"] = len(all_chunks)
    info["chunking_s"] = round(time.perf_counter() - t, 2)

    say(f"embedding {basis_sentences} real sentences, making {len(all_chunks):,} vectors ...")
    t = time.perf_counter()
    embedder = get_embedder(settings.embed_model, settings.embed_batch_size)
    rng = random.Random(seed + 3)
    picks = [rng.choice(rng.choice(all_chunks).sentences).text for _ in range(basis_sentences)]
    vectors = _synthetic_vectors(embedder, picks, len(all_chunks), seed)
    info["vectors_s"] = round(time.perf_counter() - t, 2)

    with GenerationWriter(settings, embedder.dim) as writer:
        say(f"writing Chroma collection ({len(all_chunks):,} vectors, HNSW) ...")
        t = time.perf_counter()
        writer.add(all_chunks, vectors.tolist())
        info["chroma_s"] = round(time.perf_counter() - t, 2)
        say("writing chunks.jsonl, BM25 index and manifest ...")
        t = time.perf_counter()
        writer.finish(root=corpus, files=dict(files), chunks=all_chunks)
        info["store_s"] = round(time.perf_counter() - t, 2)
    generation = writer.generation
    info["generation"] = generation
    ordered = sorted(all_chunks, key=lambda c: (c.file, c.char_start, c.char_end))
    info["queries_pool"] = _make_queries(ordered, seed)
    return info


_QUESTION_OPENERS = ("What", "Who", "When", "Why", "How", "Where", "Which")


def _make_queries(chunks: list[Any], seed: int, n: int = 200) -> list[str]:
    """Questions built from words of random chunks (so BM25 and dense search both have work)."""
    from rag.lexical import STOPWORDS

    rng = random.Random(seed + 5)
    out = []
    for _ in range(n):
        sent = rng.choice(rng.choice(chunks).sentences).text
        words = [w.strip('.,;:"?!') for w in sent.split()]
        words = [w for w in words if w and w.lower() not in STOPWORDS]
        if not words:
            continue
        a = rng.randint(0, max(0, len(words) - 4))
        picked = words[a : a + rng.randint(3, 7)]
        out.append(f"{rng.choice(_QUESTION_OPENERS)} {' '.join(picked)}?")
    return out
