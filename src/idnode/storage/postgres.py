"""PostgreSQL backend: psycopg 3 with a connection pool.

The tables mirror the SQLite ones; text keys use the ``"C"`` collation so that key order is
byte order, which the prefix range ``[P/, P0)`` and keyset paging rely on.

Every write transaction first takes a transaction-level advisory lock (one per schema).
Writers from all processes therefore run one at a time and draw ``txlog`` ids in commit
order, so a mirror that reads the log after id *n* can never miss an entry that commits
later with a smaller id.

``?schema=name`` in the URL puts the tables in that schema (created when missing); the
parameter is removed before the URL reaches libpq.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from idnode.errors import ConfigError, StorageError
from idnode.identifiers.value import HandleValue, encode_values
from idnode.protocol.constants import MAX_VALUES_PER_HANDLE
from idnode.storage.base import (
    SCHEMA_VERSION,
    Store,
    check_schema_version,
    decode_value_list,
    record_from_rows,
    records_from_rows,
)
from idnode.storage.ops import Record, Txn

__all__ = ["SCHEMA_VERSION", "PostgresStore", "redact_url", "split_url"]

#: Version of the table layout below, kept in ``meta``; a newer schema is refused.

# First half of the advisory lock key ("idno"); the second half is derived from the schema.
_LOCK_CLASS = 0x69646E6F
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

_DDL = (
    'CREATE TABLE IF NOT EXISTS handles ('
    ' key text COLLATE "C" PRIMARY KEY, handle text NOT NULL)',
    'CREATE TABLE IF NOT EXISTS handle_values ('
    ' key text COLLATE "C" NOT NULL, idx bigint NOT NULL, wire bytea NOT NULL,'
    ' PRIMARY KEY (key, idx))',
    'CREATE TABLE IF NOT EXISTS txlog ('
    ' id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ts double precision NOT NULL,'
    ' op text NOT NULL, key text NOT NULL, handle text NOT NULL, vals bytea NOT NULL)',
    'CREATE TABLE IF NOT EXISTS homed (prefix text COLLATE "C" PRIMARY KEY)',
    'CREATE TABLE IF NOT EXISTS meta (k text PRIMARY KEY, v text NOT NULL)',
)

_GET = ("SELECT h.handle, v.wire FROM handles AS h"
        " LEFT JOIN handle_values AS v ON v.key = h.key WHERE h.key = %s ORDER BY v.idx")
_SCAN_FROM = "SELECT handle FROM handles WHERE key >= %s AND key < %s ORDER BY key LIMIT %s"
_SCAN_AFTER = "SELECT handle FROM handles WHERE key > %s AND key < %s ORDER BY key LIMIT %s"
_DUMP = ("SELECT h.key, h.handle, v.wire FROM"
         " (SELECT key, handle FROM handles WHERE key > %s ORDER BY key LIMIT %s) AS h"
         " LEFT JOIN handle_values AS v ON v.key = h.key ORDER BY h.key, v.idx")
_TXNS = "SELECT id, ts, op, key, handle, vals FROM txlog WHERE id > %s ORDER BY id LIMIT %s"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def split_url(url: str) -> tuple[str, str | None]:
    """``postgresql://…?schema=s&…`` → (the URL for libpq without ``schema``, ``s``).

    :raises ConfigError: not a PostgreSQL URL, or the schema is not a plain identifier.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(key="storage", reason=f"{redact_url(url)!r} is not a postgresql URL")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for name, value in query if name == "schema"]
    rest = [(name, value) for name, value in query if name != "schema"]
    schema = schemas[-1] if schemas else None
    if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
        raise ConfigError(key="storage", reason=f"schema {schema!r} is not a plain identifier")
    return urlunsplit(parts._replace(query=urlencode(rest))), schema


class PostgresStore(Store):
    """A store in a PostgreSQL database (optionally in one schema of it).

    :param url: ``postgresql://user[:password]@host[:port]/db[?schema=name]``.
    :param pool_size: the most connections held open.
    :param connect_timeout: seconds allowed for connecting.
    :raises StorageError: the server cannot be reached, or its schema is newer than this
        version of idnode.
    """

    kind = "postgresql"
    driver_errors = (psycopg.Error,)

    def __init__(self, url: str, *, max_values: int = MAX_VALUES_PER_HANDLE,
                 pool_size: int = 8, connect_timeout: float = 10.0) -> None:
        super().__init__(redact_url(url), max_values=max_values)
        self._conninfo, self._schema = split_url(url)
        self._conn: psycopg.Connection[Any] | None = None  # the write transaction's
        self._lock_key = self._init_schema(connect_timeout)
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self._conninfo, min_size=1, max_size=pool_size, open=False,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(connect_timeout))},
            configure=self._configure, name="idnode-store")
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except psycopg.Error as exc:
            self._pool.close()
            raise StorageError(reason=f"cannot connect to {self.url}: {exc}") from exc

    # -- opening ------------------------------------------------------------------------
    def _search_path(self) -> sql.Composed:
        assert self._schema is not None
        return sql.SQL("SET search_path TO {}").format(sql.Identifier(self._schema))

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        if self._schema is not None:
            conn.execute(self._search_path())

    def _init_schema(self, connect_timeout: float) -> int:
        """Create the schema and tables when missing, check the version; the lock key."""
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True,
                                   connect_timeout=max(1, round(connect_timeout)))
        except psycopg.Error as exc:
            raise StorageError(reason=f"cannot connect to {self.url}: {exc}") from exc
        try:
            with conn, conn.transaction():
                if self._schema is None:
                    row = conn.execute("SELECT current_schema()").fetchone()
                    if row is None or row[0] is None:
                        raise StorageError(reason=f"{self.url}: no schema in search_path")
                    schema = str(row[0])
                else:
                    schema = self._schema
                lock_key = _lock_key(schema)
                # Serialises concurrent first opens as well as writers.
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, lock_key))
                if self._schema is not None:
                    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        sql.Identifier(self._schema)))
                    conn.execute(self._search_path())
                self._check_version(conn)
                for statement in _DDL:
                    conn.execute(statement)
                conn.execute("INSERT INTO meta (k, v) VALUES ('schema_version', %s)"
                             " ON CONFLICT (k) DO NOTHING", (str(SCHEMA_VERSION),))
        except psycopg.Error as exc:
            raise StorageError(reason=f"cannot open {self.url}: {exc}") from exc
        return lock_key

    def _check_version(self, conn: psycopg.Connection[Any]) -> None:
        row = conn.execute("SELECT to_regclass('meta')").fetchone()
        if row is None or row[0] is None:
            return
        row = conn.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()
        check_schema_version(None if row is None else row[0], str(self.url))

    # -- write contract -----------------------------------------------------------------
    def _transaction(self) -> AbstractContextManager[None]:
        return self._transaction_cm()

    @contextmanager
    def _transaction_cm(self) -> Iterator[None]:
        # Pipeline mode: statements whose results nobody reads (savepoints, inserts, the log
        # entry) are sent without waiting, so an operation costs about one round trip (its
        # _load) instead of seven. Errors still surface before the commit completes.
        with self._pool.connection() as conn, conn.pipeline(), conn.transaction():
            # First statement: ids are drawn only while holding the lock, so in commit order.
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, self._lock_key))
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None

    def _savepoint(self) -> AbstractContextManager[None]:
        return self._savepoint_cm()

    @contextmanager
    def _savepoint_cm(self) -> Iterator[None]:
        # Plain SQL rather than a nested conn.transaction(), which would wait for the server
        # (a pipeline sync) on entry and exit.
        conn = self._writer()
        conn.execute("SAVEPOINT op")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO SAVEPOINT op")
            conn.execute("RELEASE SAVEPOINT op")
            raise
        conn.execute("RELEASE SAVEPOINT op")

    def _writer(self) -> psycopg.Connection[Any]:
        assert self._conn is not None, "write outside a transaction"
        return self._conn

    def _load(self, key: str) -> Record | None:
        return record_from_rows(key, self._writer().execute(_GET, (key,)).fetchall())

    def _put(self, key: str, handle: str | None, values: Sequence[HandleValue],
             removed: Sequence[int]) -> None:
        conn = self._writer()
        if handle is not None:
            conn.execute("INSERT INTO handles (key, handle) VALUES (%s, %s)"
                         " ON CONFLICT (key) DO UPDATE SET handle = excluded.handle",
                         (key, handle))
        if removed:
            conn.execute("DELETE FROM handle_values WHERE key = %s AND idx = ANY(%s)",
                         (key, list(removed)))
        if values:
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO handle_values (key, idx, wire) VALUES (%s, %s, %s)"
                    " ON CONFLICT (key, idx) DO UPDATE SET wire = excluded.wire",
                    [(key, value.index, value.to_wire()) for value in values])

    def _drop(self, key: str) -> bool:
        # RETURNING, not rowcount: in pipeline mode only fetching waits for the result.
        conn = self._writer()
        if conn.execute("DELETE FROM handles WHERE key = %s RETURNING 1", (key,)).fetchone() \
                is None:
            return False
        conn.execute("DELETE FROM handle_values WHERE key = %s", (key,))
        return True

    def _set_homed(self, prefix: str, homed: bool) -> bool:
        statement = ("INSERT INTO homed (prefix) VALUES (%s) ON CONFLICT DO NOTHING RETURNING 1"
                     if homed else "DELETE FROM homed WHERE prefix = %s RETURNING 1")
        return self._writer().execute(statement, (prefix,)).fetchone() is not None

    def _append_txn(self, timestamp: float, op: str, key: str, handle: str,
                    values: tuple[HandleValue, ...]) -> None:
        self._writer().execute("INSERT INTO txlog (ts, op, key, handle, vals)"
                               " VALUES (%s, %s, %s, %s, %s)",
                               (timestamp, op, key, handle, encode_values(values)))

    # -- read contract ------------------------------------------------------------------
    def _fetch(self, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn:
            return conn.execute(statement, params).fetchall()

    def _get(self, key: str) -> Record | None:
        return record_from_rows(key, self._fetch(_GET, (key,)))

    def _exists(self, key: str) -> bool:
        return bool(self._fetch("SELECT 1 FROM handles WHERE key = %s", (key,)))

    def _scan_handles(self, start: str, inclusive: bool, stop: str, limit: int) -> list[str]:
        rows = self._fetch(_SCAN_FROM if inclusive else _SCAN_AFTER, (start, stop, limit))
        return [row[0] for row in rows]

    def _scan_records(self, after: str, limit: int) -> list[Record]:
        return records_from_rows(self._fetch(_DUMP, (after, limit)))

    def _is_homed(self, prefix: str) -> bool:
        return bool(self._fetch("SELECT 1 FROM homed WHERE prefix = %s", (prefix,)))

    def _homed(self) -> list[str]:
        return [row[0] for row in self._fetch("SELECT prefix FROM homed ORDER BY prefix", ())]

    def _last_txn_id(self) -> int:
        rows = self._fetch("SELECT MAX(id) FROM txlog", ())
        return int(rows[0][0]) if rows[0][0] is not None else 0

    def _txns_after(self, txn_id: int, limit: int) -> list[Txn]:
        rows = self._fetch(_TXNS, (txn_id, limit))
        return [Txn(row[0], row[1], row[2], row[3], row[4],
                    decode_value_list(row[3], bytes(row[5]))) for row in rows]

    def _close(self) -> None:
        self._pool.close()


def _lock_key(schema: str) -> int:
    """A signed 32-bit number naming ``schema``'s write lock."""
    crc = zlib.crc32(schema.encode("utf-8"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc
