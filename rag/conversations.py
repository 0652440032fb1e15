"""Conversations kept on this machine: a small SQLite file (``Settings.conversations_path``,
by default in the index folder) holding each conversation's turns (question, checked answer,
the passages read) so that a reload or a later visit finds them again.

Nothing here talks to a model: the chat stores what :func:`rag.answering.ask` returned.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from rag.schema import Answer, Evidence

TITLE_CHARS = 80
"""A conversation is listed by its first question, cut to this many characters."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
"""


class Turn(BaseModel):
    """One question of a conversation and what came of it."""

    id: int = Field(ge=1)
    question: str
    answer: Answer | None = None
    error: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    """The passages retrieval found for the question (shown first, while the answer is written)."""
    asked_at: str = ""


class ConversationInfo(BaseModel):
    """A conversation as the sidebar lists it."""

    id: str
    title: str
    created_at: str
    updated_at: str
    turns: int


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def conversation_title(question: str) -> str:
    flat = " ".join(question.split())
    if len(flat) <= TITLE_CHARS:
        return flat
    cut = flat[: TITLE_CHARS - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > TITLE_CHARS // 2 else cut) + "…"


class ConversationStore:
    """The conversations in one SQLite file (created on first write)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=5.0)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.executescript(_SCHEMA)
            with db:
                yield db
        finally:
            db.close()

    def create(self, first_question: str) -> str:
        """A new conversation named after its first question; returns its id."""
        cid = uuid.uuid4().hex[:12]
        stamp = now()
        with self._db() as db:
            db.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?,?,?,?)",
                (cid, conversation_title(first_question), stamp, stamp),
            )
        return cid

    def save_turn(self, conversation_id: str, turn: Turn) -> None:
        """Add (or replace) the turn numbered ``turn.id``."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO turns (conversation_id, seq, data) VALUES (?,?,?)",
                (conversation_id, turn.id, turn.model_dump_json()),
            )
            db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now(), conversation_id)
            )

    def turns(self, conversation_id: str) -> list[Turn]:
        """The turns of a conversation in order (none when it does not exist)."""
        if not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute(
                "SELECT data FROM turns WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
            ).fetchall()
        out: list[Turn] = []
        for (data,) in rows:
            try:
                out.append(Turn.model_validate_json(data))
            except ValueError:  # written by an older version: skipped, not fatal
                continue
        return out

    def get(self, conversation_id: str) -> ConversationInfo | None:
        found = [c for c in self.recent(limit=None) if c.id == conversation_id]
        return found[0] if found else None

    def recent(self, limit: int | None = 20) -> list[ConversationInfo]:
        """Conversations, the most recently used first."""
        if not self.path.exists():
            return []
        sql = (
            "SELECT c.id, c.title, c.created_at, c.updated_at, COUNT(t.seq) FROM conversations c "
            "LEFT JOIN turns t ON t.conversation_id = c.id GROUP BY c.id "
            "ORDER BY c.updated_at DESC, c.created_at DESC"
        )
        with self._db() as db:
            rows = db.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        return [
            ConversationInfo(id=r[0], title=r[1], created_at=r[2], updated_at=r[3], turns=r[4])
            for r in rows
        ]

    def delete(self, conversation_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
