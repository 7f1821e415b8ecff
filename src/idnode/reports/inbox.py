"""The receiver's inbox: report batches and high-water marks in the node's own database.

Batches are numbered per *channel*: (source prefix, reporter, stream); ``reporter`` names one
reporting server of the source's site ("" when the source has one). Two tables next to the
node's (same SQLite file through a connection of its own, or the same PostgreSQL database and
schema), created when missing::

    report_marks   (source, reporter, stream) → mark (highest seq applied), received (time)
    report_batches (source, reporter, stream, seq) → received, identity, digest, items (JSON)

:meth:`Inbox.receive` stores a batch and its new mark in **one** transaction, after
checking the mark inside it: ``seq <= mark`` is a duplicate (nothing written), ``seq ==
mark + 1`` is applied, anything else is a gap. A duplicate whose stored content differs is a
``conflict``: the sender's numbering is not the one this inbox saw.

Connections open on first use, so a node that never receives a report never touches the
tables. Calls block; the web face runs them on a thread. One lock serialises the calls of
a process; transactions serialise processes.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from idnode.errors import ConfigError, StorageError
from idnode.storage.side import connect_sqlite

__all__ = ["Channel", "Inbox", "Received", "SQLiteInbox", "StoredBatch", "StreamMark",
           "open_inbox"]

T = TypeVar("T")

_SQLITE_DDL = (
    "CREATE TABLE IF NOT EXISTS report_marks (source TEXT NOT NULL, reporter TEXT NOT NULL,"
    " stream TEXT NOT NULL, mark INTEGER NOT NULL, received REAL NOT NULL,"
    " PRIMARY KEY (source, reporter, stream)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS report_batches (source TEXT NOT NULL, reporter TEXT NOT NULL,"
    " stream TEXT NOT NULL, seq INTEGER NOT NULL, received REAL NOT NULL,"
    " identity TEXT NOT NULL, digest TEXT NOT NULL, items TEXT NOT NULL,"
    " PRIMARY KEY (source, reporter, stream, seq)) WITHOUT ROWID",
)
_MARK = "SELECT mark FROM report_marks WHERE source = ? AND reporter = ? AND stream = ?"
_DIGEST = ("SELECT digest FROM report_batches"
           " WHERE source = ? AND reporter = ? AND stream = ? AND seq = ?")


@dataclass(frozen=True, slots=True)
class Channel:
    """What a seq counts in: one stream of one reporter of one source."""

    source: str
    reporter: str
    stream: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.source, self.reporter, self.stream


@dataclass(frozen=True, slots=True)
class Received:
    """The outcome of :meth:`Inbox.receive`: ``applied``, ``duplicate``, ``conflict`` or
    ``gap``, and the mark after it."""

    outcome: str
    mark: int


@dataclass(frozen=True, slots=True)
class StoredBatch:
    seq: int
    received: float
    identity: str
    items: str  # JSON text


@dataclass(frozen=True, slots=True)
class StreamMark:
    source: str
    reporter: str
    stream: str
    mark: int
    received: float


class Inbox(ABC):
    """Received report batches, exactly once per (channel, seq)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @abstractmethod
    def mark(self, channel: Channel) -> int:
        """The highest seq applied in ``channel``; 0 before the first."""

    @abstractmethod
    def receive(self, channel: Channel, seq: int, items: str, digest: str, identity: str,
                now: float) -> Received:
        """Store the batch and advance the mark in one transaction (see the module)."""

    @abstractmethod
    def batches(self, channel: Channel, after: int, limit: int) -> list[StoredBatch]:
        """Stored batches with a seq above ``after``, oldest first."""

    @abstractmethod
    def marks(self, source: str | None = None) -> list[StreamMark]:
        """Every channel's mark, or those of one source."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection. Idempotent."""


def _decide(mark: int, seq: int, stored_digest: str | None, digest: str) -> str | None:
    """``duplicate``/``conflict``/``gap`` for a batch that is not applied, else None."""
    if seq <= mark:
        return "conflict" if stored_digest not in (None, digest) else "duplicate"
    return None if seq == mark + 1 else "gap"


class SQLiteInbox(Inbox):
    """The inbox in a SQLite file (``:memory:`` for a memory store)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect_sqlite(self.path, _SQLITE_DDL, "report inbox")
        return self._conn

    def _run(self, what: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                return fn(self._db())
            except sqlite3.Error as exc:
                raise StorageError(reason=f"report inbox {self.path}: {what}: {exc}") from exc

    def mark(self, channel: Channel) -> int:
        def read(db: sqlite3.Connection) -> int:
            row = db.execute(_MARK, channel.key).fetchone()
            return 0 if row is None else int(row[0])
        return self._run("reading a mark", read)

    def receive(self, channel: Channel, seq: int, items: str, digest: str, identity: str,
                now: float) -> Received:
        def store(db: sqlite3.Connection) -> Received:
            db.execute("BEGIN IMMEDIATE")  # the write lock first: the mark cannot move
            try:
                row = db.execute(_MARK, channel.key).fetchone()
                mark = 0 if row is None else int(row[0])
                stored = None
                if seq <= mark:
                    found = db.execute(_DIGEST, (*channel.key, seq)).fetchone()
                    stored = None if found is None else str(found[0])
                refused = _decide(mark, seq, stored, digest)
                if refused is not None:
                    db.execute("ROLLBACK")
                    return Received(refused, mark)
                db.execute("INSERT INTO report_batches (source, reporter, stream, seq,"
                           " received, identity, digest, items)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (*channel.key, seq, now, identity, digest, items))
                db.execute("INSERT INTO report_marks (source, reporter, stream, mark,"
                           " received) VALUES (?, ?, ?, ?, ?)"
                           " ON CONFLICT (source, reporter, stream) DO UPDATE"
                           " SET mark = excluded.mark, received = excluded.received",
                           (*channel.key, seq, now))
                db.execute("COMMIT")
                return Received("applied", seq)
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return self._run("storing a batch", store)

    def batches(self, channel: Channel, after: int, limit: int) -> list[StoredBatch]:
        def read(db: sqlite3.Connection) -> list[StoredBatch]:
            rows = db.execute("SELECT seq, received, identity, items FROM report_batches"
                              " WHERE source = ? AND reporter = ? AND stream = ? AND seq > ?"
                              " ORDER BY seq LIMIT ?",
                              (*channel.key, after, limit)).fetchall()
            return [StoredBatch(int(r[0]), float(r[1]), str(r[2]), str(r[3])) for r in rows]
        return self._run("listing batches", read)

    def marks(self, source: str | None = None) -> list[StreamMark]:
        def read(db: sqlite3.Connection) -> list[StreamMark]:
            sql = "SELECT source, reporter, stream, mark, received FROM report_marks"
            args: tuple[str, ...] = ()
            if source is not None:
                sql += " WHERE source = ?"
                args = (source,)
            rows = db.execute(sql + " ORDER BY source, reporter, stream", args).fetchall()
            return [StreamMark(str(r[0]), str(r[1]), str(r[2]), int(r[3]), float(r[4]))
                    for r in rows]
        return self._run("listing marks", read)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def open_inbox(storage_url: str) -> Inbox:
    """The inbox in the database of the node's ``storage_url`` (not connected yet).

    :raises ConfigError: an unsupported URL.
    """
    scheme = storage_url.partition(":")[0].lower()
    if scheme == "sqlite":
        from idnode.storage.sqlite import sqlite_path
        return SQLiteInbox(sqlite_path(storage_url))
    if scheme == "memory":
        return SQLiteInbox(":memory:")  # lives as long as the process, like the store
    if scheme in ("postgresql", "postgres"):
        from idnode.reports.inbox_pg import PostgresInbox
        return PostgresInbox(storage_url)
    raise ConfigError(key="storage.url", reason=f"no report inbox for {scheme!r} storage")
