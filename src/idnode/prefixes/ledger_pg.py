"""The prefix ledger in PostgreSQL: the node's database and ``?schema=``, a connection of
its own (psycopg 3). The SQL is :class:`~idnode.prefixes.ledger.Ledger`'s, with ``%s``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg

from idnode.errors import StorageError
from idnode.prefixes.ledger import _INDEX, Cursor, Execute, Ledger
from idnode.storage.postgres import redact_url, split_url
from idnode.storage.side import connect_postgres

__all__ = ["PostgresLedger"]

T = TypeVar("T")

#: advisory lock key ("idpf") serialising the first creation of the tables
_DDL_LOCK = 0x69647066
_DDL = (
    "CREATE TABLE IF NOT EXISTS prefix_applications (id bigserial PRIMARY KEY,"
    " prefix text NOT NULL, status text NOT NULL, applicant text NOT NULL,"
    " created double precision NOT NULL, updated double precision NOT NULL,"
    " form text NOT NULL, reason text NOT NULL DEFAULT '',"
    " withheld text NOT NULL DEFAULT '[]')",
    _INDEX,
    "CREATE TABLE IF NOT EXISTS prefix_audit (seq bigserial PRIMARY KEY,"
    " application bigint NOT NULL, at double precision NOT NULL, actor text NOT NULL,"
    " action text NOT NULL, detail text NOT NULL)",
)


class PostgresLedger(Ledger):
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

    def _transaction(self, what: str, fn: Callable[[Execute], T]) -> T:
        with self._lock:
            try:
                conn = self._db()

                def execute(query: str, args: Sequence[Any]) -> Cursor:
                    return conn.execute(query.replace("?", "%s"), tuple(args))

                with conn.transaction():
                    return fn(execute)
            except psycopg.Error as exc:
                if self._conn is not None and (self._conn.broken or self._conn.closed):
                    self._conn = None  # reconnect on the next call
                raise StorageError(reason=f"prefix ledger {self.url}: {what}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
