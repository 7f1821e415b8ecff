"""The report inbox in PostgreSQL: the node's database and ``?schema=``, a connection of its
own (psycopg 3). Items are kept as ``jsonb`` so operators can query them in SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from idnode.errors import StorageError
from idnode.reports.inbox import Channel, Inbox, Received, StoredBatch, StreamMark, _decide
from idnode.storage.postgres import redact_url, split_url
from idnode.storage.side import connect_postgres

__all__ = ["PostgresInbox"]

T = TypeVar("T")

#: advisory lock key ("idrp") serialising the first creation of the tables
_DDL_LOCK = 0x69647270
_DDL = (
    "CREATE TABLE IF NOT EXISTS report_marks (source text NOT NULL, reporter text NOT NULL,"
    " stream text NOT NULL, mark bigint NOT NULL, received double precision NOT NULL,"
    " PRIMARY KEY (source, reporter, stream))",
    "CREATE TABLE IF NOT EXISTS report_batches (source text NOT NULL,"
    " reporter text NOT NULL, stream text NOT NULL, seq bigint NOT NULL,"
    " received double precision NOT NULL, identity text NOT NULL, digest text NOT NULL,"
    " items jsonb NOT NULL, PRIMARY KEY (source, reporter, stream, seq))",
)
_MARK = "SELECT mark FROM report_marks WHERE source = %s AND reporter = %s AND stream = %s"
_DIGEST = ("SELECT digest FROM report_batches"
           " WHERE source = %s AND reporter = %s AND stream = %s AND seq = %s")


class _Refused(Exception):
    def __init__(self, outcome: str, mark: int) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.mark = mark


class PostgresInbox(Inbox):
    def __init__(self, url: str, *, connect_timeout: float = 10.0) -> None:
        super().__init__()
        self.url = redact_url(url)
        self._conninfo, self._schema = split_url(url)
        self._timeout = connect_timeout
        self._conn: psycopg.Connection[Any] | None = None

    def _db(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = connect_postgres(self._conninfo, self._schema, _DDL, _DDL_LOCK,
                                          self._timeout)
        return self._conn

    def _run(self, what: str, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        with self._lock:
            try:
                return fn(self._db())
            except psycopg.Error as exc:
                if self._conn is not None and (self._conn.broken or self._conn.closed):
                    self._conn = None  # reconnect on the next call
                raise StorageError(reason=f"report inbox {self.url}: {what}: {exc}") from exc

    def mark(self, channel: Channel) -> int:
        def read(conn: psycopg.Connection[Any]) -> int:
            row = conn.execute(_MARK, channel.key).fetchone()
            return 0 if row is None else int(row[0])
        return self._run("reading a mark", read)

    def receive(self, channel: Channel, seq: int, items: str, digest: str, identity: str,
                now: float) -> Received:
        def store(conn: psycopg.Connection[Any]) -> Received:
            try:
                with conn.transaction():
                    # The row exists before it is locked, so concurrent first batches of a
                    # channel queue on it instead of racing.
                    conn.execute("INSERT INTO report_marks (source, reporter, stream, mark,"
                                 " received) VALUES (%s, %s, %s, 0, 0) ON CONFLICT DO NOTHING",
                                 channel.key)
                    row = conn.execute(_MARK + " FOR UPDATE", channel.key).fetchone()
                    mark = 0 if row is None else int(row[0])
                    stored = None
                    if seq <= mark:
                        found = conn.execute(_DIGEST, (*channel.key, seq)).fetchone()
                        stored = None if found is None else str(found[0])
                    refused = _decide(mark, seq, stored, digest)
                    if refused is not None:
                        raise _Refused(refused, mark)  # rolls the placeholder row back
                    conn.execute("INSERT INTO report_batches (source, reporter, stream, seq,"
                                 " received, identity, digest, items)"
                                 " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                                 (*channel.key, seq, now, identity, digest, items))
                    conn.execute("UPDATE report_marks SET mark = %s, received = %s"
                                 " WHERE source = %s AND reporter = %s AND stream = %s",
                                 (seq, now, *channel.key))
            except _Refused as refused_batch:
                return Received(refused_batch.outcome, refused_batch.mark)
            return Received("applied", seq)
        return self._run("storing a batch", store)

    def batches(self, channel: Channel, after: int, limit: int) -> list[StoredBatch]:
        def read(conn: psycopg.Connection[Any]) -> list[StoredBatch]:
            rows = conn.execute("SELECT seq, received, identity, items::text FROM report_batches"
                                " WHERE source = %s AND reporter = %s AND stream = %s AND seq > %s"
                                " ORDER BY seq LIMIT %s",
                                (*channel.key, after, limit)).fetchall()
            return [StoredBatch(int(r[0]), float(r[1]), str(r[2]), str(r[3])) for r in rows]
        return self._run("listing batches", read)

    def marks(self, source: str | None = None) -> list[StreamMark]:
        def read(conn: psycopg.Connection[Any]) -> list[StreamMark]:
            query = ("SELECT source, reporter, stream, mark, received FROM report_marks"
                     " WHERE mark > 0")
            args: tuple[str, ...] = ()
            if source is not None:
                query += " AND source = %s"
                args = (source,)
            rows = conn.execute(query + " ORDER BY source, reporter, stream",
                                args).fetchall()
            return [StreamMark(str(r[0]), str(r[1]), str(r[2]), int(r[3]), float(r[4]))
                    for r in rows]
        return self._run("listing marks", read)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
