"""The chat that shows, and checks, its sources: ``rag ui`` (``streamlit run rag/ui/app.py``).

Two pages share one sidebar (backend, passages, strict mode, the index): **Ask** (a chat whose
answers cite source lines, each sentence checked) and **Check a draft** (a writer's text checked
sentence by sentence). Settings come from ``rag.config.get_settings()`` (environment and .env).

Nothing heavy happens before the first paint: models load in a background thread after the page
is drawn (once per process, ``st.cache_resource``), or on the first question.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from rag.llm.choose import BACKENDS, effective_backend
from rag.ui.components import (
    build_index_ui,
    cached_status,
    code_md,
    esc_md,
    index_message,
    inject_css,
    ollama_known,
    ollama_up,
    one_line,
)

UI_DIR = Path(__file__).resolve().parent
STATUS_EVERY_S = 1.0
"""How often the sidebar's model status redraws itself."""
BACKEND_HELP = {
    "auto": "Ollama if a server answers, else the embedded model",
    "ollama": "a model served by Ollama",
    "embedded": "the small model built in (llama.cpp, on this machine)",
    "extractive": "no language model: quote the best passages verbatim",
}


# --- settings and cheap status (cached briefly: reruns happen on every click) -----------------


def load_settings() -> Any:
    from rag.config import get_settings

    try:
        return get_settings()
    except Exception as exc:  # a bad RAG_* value: one line, not a traceback
        st.error(f"Invalid setting: {' '.join(str(exc).split())[:300]}")
        st.stop()


def corpus_dir(settings: Any) -> Path:
    """The folder citations point into (:func:`rag.index.status.corpus_root`)."""
    from rag.index.status import corpus_root

    return corpus_root(settings)[0]


def snapshot_dir(settings: Any) -> Path | None:
    """Where the live index keeps converted documents' text (:func:`rag.index.status.snapshot_dir`)."""
    from rag.index.status import snapshot_dir as live_snapshots

    return live_snapshots(settings)


# --- background warm-up -----------------------------------------------------------------------


@dataclass
class Warmup:
    """Models loading in a daemon thread after the first paint."""

    done: threading.Event = field(default_factory=threading.Event)
    loaded: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    server: str | None = None
    """The ``rag serve`` that answers the questions (its models are warm), if one does."""

    def elapsed(self) -> float:
        return self.seconds if self.done.is_set() else time.perf_counter() - self.started

    def run(self, settings: Any, backend: str, ollama: bool) -> None:
        time.sleep(0.5)  # let the page reach the browser first
        t0 = time.perf_counter()
        try:
            from rag.client import find_server

            url = find_server(settings)
            if url:  # its models answer the questions: nothing to load here
                self.server = url
                return
            from rag.retrieval import retrieve

            retrieve(settings, "warm up the index and the embedding model")
            self.loaded.append("index and embedding model")
            if effective_backend(backend, ollama) == "embedded":
                from rag.llm import EmbeddedLLM
                from rag.llm.gguf import weights_ready

                if weights_ready(settings.cache_dir):  # never assemble 1 GB unasked
                    EmbeddedLLM.from_settings(settings).load()
                    self.loaded.append("embedded model")
        except Exception as exc:
            self.error = one_line(exc)
        finally:
            self.seconds = time.perf_counter() - t0
            self.done.set()


@st.cache_resource(show_spinner=False)
def warm_up(index_dir: str, generation: str, backend: str, _settings: Any, ollama: bool) -> Warmup:
    """Start loading the models once per process per index generation and backend."""
    w = Warmup()
    threading.Thread(
        target=w.run, args=(_settings, backend, ollama), name="rag-warmup", daemon=True
    ).start()
    return w


# --- indexing ---------------------------------------------------------------------------------


def when(iso: str | None) -> str:
    if not iso:
        return "unknown"
    import datetime as dt

    try:
        built = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    ago = dt.datetime.now(dt.UTC) - built
    minutes = int(ago.total_seconds() // 60)
    if minutes < 1:
        rel = "just now"
    elif minutes < 60:
        rel = f"{minutes} min ago"
    elif minutes < 48 * 60:
        rel = f"{minutes // 60} h ago"
    else:
        rel = f"{minutes // 1440} days ago"
    return f"{built.astimezone().strftime('%Y-%m-%d %H:%M')} ({rel})"


# --- sidebar ----------------------------------------------------------------------------------


def backend_line(settings: Any, backend: str, reachable: bool) -> str:
    host = settings.ollama_host
    ollama_state = f"Ollama answered at `{host}`" if reachable else f"no Ollama server at `{host}`"
    from rag.llm.gguf import SPEC

    embedded = SPEC.filename.removesuffix(".gguf")
    if backend == "extractive":
        return "No language model: answers quote the best passages verbatim."
    if backend == "ollama":
        if reachable:
            return f"{ollama_state}; model **{esc_md(settings.ollama_model)}**."
        return f"⚠ {ollama_state}: start it with `ollama serve` or pick another backend."
    if backend == "embedded":
        return f"Model **{embedded}** on this machine ({ollama_state})."
    if effective_backend(backend, reachable) == "ollama":
        return f"In use: Ollama, model **{esc_md(settings.ollama_model)}** ({ollama_state})."
    return f"In use: embedded **{embedded}** ({ollama_state})."


def sidebar(settings: Any, status: dict[str, Any]) -> Any:
    """Draw the sidebar; returns the empty slot of the backend line when it is still to come."""
    with st.sidebar:
        st.markdown("### :material/menu_book: rag · research desk")
        st.caption(
            "Answers from your own documents. Every sentence cites its lines and is checked."
        )

        st.markdown("**Answering**")
        st.selectbox(
            "Backend",
            BACKENDS,
            index=BACKENDS.index(settings.backend) if settings.backend in BACKENDS else 0,
            key="backend",
            help="; ".join(f"{b}: {h}" for b, h in BACKEND_HELP.items()),
        )
        # Asking Ollama costs a network call and an import: on the first paint a known answer is
        # shown, a fresh one is asked after the page is drawn (see the end of this file). While
        # the models load, the end of the script keeps the loading line up to date.
        backend_slot = model_status(settings)
        st.slider(
            "Passages given to the model",
            min_value=1,
            max_value=20,
            value=min(settings.evidence_k, 20),
            key="evidence_k",
            help="How many source sentences the answer may draw on (RAG_EVIDENCE_K).",
        )
        st.toggle(
            "Strict mode",
            value=settings.strict,
            key="strict",
            help="Drop every sentence the checker does not find supported; abstain if none is left.",
        )

        st.markdown("**Index**")
        if status.get("error"):
            st.error(f"Cannot read the index: {esc_md(status['error'])}")
        folder = corpus_dir(settings)
        if status.get("exists"):
            st.markdown(
                f"{status['files']} files · {status['chunks']} chunks  \n"
                f"Built {when(status.get('built_at'))}  \n"
                f"Embedding model `{status.get('embed_model')}`"
            )
            st.caption(f"Corpus {code_md(str(folder))}")
            stale = status.get("stale") or {}
            changed = [f"{len(v)} {k}" for k, v in stale.items() if v]
            if changed:
                st.warning(f"The corpus changed since the build ({', '.join(changed)}): update it.")
        else:
            st.warning(f"No index yet in {code_md(str(settings.index_dir))}.")
            st.caption(f"Corpus {code_md(str(folder))}")
        rebuild = st.checkbox("Rebuild from scratch", key="rebuild", value=False)
        if st.button(
            "Update index" if status.get("exists") else "Build index",
            key="reindex",
            icon=":material/refresh:",
            width="stretch",
            help="Index new and changed files (all of them with 'Rebuild from scratch').",
        ):
            build_index_ui(settings, folder, rebuild, st.sidebar)
        index_message(st.sidebar)
    return backend_slot


def model_status(settings: Any) -> Any:
    """Which model answers and what is loaded, said once, here. Returns the empty slot of the
    backend line when Ollama's state is not known yet (filled after the page is drawn); keeps the
    loading line's slot for :func:`follow_warmup`."""
    backend_slot = st.empty()
    known = ollama_known(settings.ollama_host)
    backend = st.session_state.get("backend", settings.backend)
    if known is not None:
        backend_slot.caption(backend_line(settings, backend, known))
    loading_slot = st.empty()
    st.session_state["_loading_slot"] = loading_slot
    warm = st.session_state.get("_warm")
    if warm is None:
        if st.session_state.get("_index_exists"):
            loading_slot.caption("The models load in the background once the page is drawn…")
    else:
        loading_slot.caption(warm_line(warm))
    return backend_slot if known is None else None


def warm_line(warm: Warmup) -> str:
    if not warm.done.is_set():
        done = f" (ready: {', '.join(warm.loaded)})" if warm.loaded else ""
        return f"Loading the models in the background… {warm.elapsed():.0f} s{done}"
    if warm.error:
        return f"⚠ Models could not be preloaded: {esc_md(warm.error)}"
    if warm.server:
        return f"Questions go to `rag serve` at {code_md(warm.server)}: its models are loaded."
    return f"Loaded: {', '.join(warm.loaded)} ({warm.seconds:.1f} s)."


def follow_warmup(warm: Warmup, slot: Any) -> None:
    """Keep the sidebar's loading line current until the models are loaded. This holds the run
    open; any question or click interrupts it (the next run follows on where it left off)."""
    while not warm.done.wait(STATUS_EVERY_S):
        slot.caption(warm_line(warm))
    slot.caption(warm_line(warm))


# --- the app ----------------------------------------------------------------------------------


def main() -> None:
    """Draw the sidebar and the chosen page (Streamlit runs this on every interaction)."""
    st.set_page_config(
        page_title="rag · research desk",
        page_icon=":material/menu_book:",
        layout="centered",
        initial_sidebar_state="expanded",
    )
    inject_css()

    settings = load_settings()
    status = cached_status(str(settings.index_dir), settings)
    st.session_state["_corpus_dir"] = str(corpus_dir(settings))
    st.session_state["_snapshots"] = str(snapshot_dir(settings) or "")
    st.session_state["_index_exists"] = bool(status.get("exists"))
    st.session_state["_index_files"] = status.get("files")
    pending_backend_line = sidebar(settings, status)

    page = st.navigation(
        [
            st.Page(
                str(UI_DIR / "page_ask.py"), title="Ask", icon=":material/forum:", default=True
            ),
            st.Page(
                str(UI_DIR / "page_draft.py"),
                title="Check a draft",
                icon=":material/fact_check:",
                url_path="draft",
            ),
        ],
        position="top",
    )
    page.run()

    if pending_backend_line is not None:
        pending_backend_line.caption(
            backend_line(settings, st.session_state["backend"], ollama_up(settings.ollama_host))
        )

    if status.get("exists"):  # after the page is drawn: load models in the background
        backend = st.session_state.get("backend", settings.backend)
        warm = warm_up(
            str(settings.index_dir),
            str(status.get("generation")),
            backend,
            settings,
            backend == "auto" and ollama_up(settings.ollama_host),
        )
        st.session_state["_warm"] = warm
        slot = st.session_state.get("_loading_slot")
        if slot is not None:  # also after a long question: the line drawn before it is stale
            follow_warmup(warm, slot)


if __name__ == "__main__":
    main()
