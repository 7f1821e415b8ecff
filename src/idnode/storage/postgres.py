"""PostgreSQL backend: psycopg 3 with a connection pool.

The tables mirror the SQLite ones; text keys use the ``"C"`` collation so that key order is
byte order, which the prefix range ``[P/, P0)`` and keyset paging rely on.

Every write transaction first takes a transaction-level advisory lock (one per schema).
Writers from all processes therefore run one at a time and draw ``txlog`` ids in commit
order, so a mirror that reads the log after id *n* can never miss an entry that commits
later with a smaller id.

``?schema=name`` in the URL puts the tables in that schema (created when missing); the
parameter is removed before the URL reaches libpq.

The reverse index is two tables whose b-tree primary key is the index, all text
``COLLATE "C"`` so that range scans follow byte order whatever the database's locale:
``value_index (type, data, key, idx)`` and ``value_index_rev (type, rdata, key, idx)``.
``handle_counts (prefix, n)`` counts handles per prefix. A search filters a range of one of
them with ``LIKE … ESCAPE``, inside one repeatable-read transaction.

The digests (:mod:`.digest`) are ``record_hashes (bucket, key, hash)`` and
``bucket_digests (bucket, xor, n)``. A mirror copies its primary's log ids into ``txlog``
(``OVERRIDING SYSTEM VALUE``) and moves the identity's sequence past them with ``setval``,
which no rollback undoes: at worst a later local id skips some numbers.
"""

from __future__ import annotations

import logging
import re
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from idnode.errors import ConfigError, StorageError
from idnode.identifiers.value import HandleValue
from idnode.protocol.constants import MAX_VALUES_PER_HANDLE
from idnode.storage.base import Store
from idnode.storage.contract import (
    META_JOB,
    SCHEMA_VERSION,
    Upgrade,
    check_schema_version,
    decode_value_list,
    prunable_prefix,
    upgrade_meta,
)
from idnode.storage.index import DEFAULT_INDEX_TYPES, Criterion, IndexEntry
from idnode.storage.ops import OP_CREATE, Record, Txn
from idnode.storage.plans import PlannedRow, RunPlan

__all__ = ["SCHEMA_VERSION", "PostgresStore", "redact_url", "split_url"]

log = logging.getLogger(__name__)

# The layout of SCHEMA_VERSION, kept in ``meta``; a newer one is refused, an older upgraded.

# First half of the advisory lock key ("idno"); the second half is derived from the schema.
_LOCK_CLASS = 0x69646E6F
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

_DDL = (
    # Version 4: a record is one row, its values encoded as the log entry encodes them.
    'CREATE TABLE IF NOT EXISTS handles ('
    ' key text COLLATE "C" PRIMARY KEY, handle text NOT NULL, vals bytea NOT NULL)',
    'CREATE TABLE IF NOT EXISTS txlog ('
    ' id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ts double precision NOT NULL,'
    ' op text NOT NULL, key text NOT NULL, handle text NOT NULL, vals bytea NOT NULL)',
    'CREATE TABLE IF NOT EXISTS homed (prefix text COLLATE "C" PRIMARY KEY)',
    'CREATE TABLE IF NOT EXISTS meta (k text PRIMARY KEY, v text NOT NULL)',
    # Version 2: the reverse index and the per-prefix handle counts.
    'CREATE TABLE IF NOT EXISTS value_index ('
    ' type text COLLATE "C" NOT NULL, data text COLLATE "C" NOT NULL,'
    ' key text COLLATE "C" NOT NULL, idx bigint NOT NULL, PRIMARY KEY (type, data, key, idx))',
    'CREATE TABLE IF NOT EXISTS value_index_rev ('
    ' type text COLLATE "C" NOT NULL, rdata text COLLATE "C" NOT NULL,'
    ' key text COLLATE "C" NOT NULL, idx bigint NOT NULL, PRIMARY KEY (type, rdata, key, idx))',
    'CREATE TABLE IF NOT EXISTS handle_counts ('
    ' prefix text COLLATE "C" PRIMARY KEY, n bigint NOT NULL)',
    # Version 3: the digests.
    'CREATE TABLE IF NOT EXISTS record_hashes ('
    ' bucket integer NOT NULL, key text COLLATE "C" NOT NULL, hash bytea NOT NULL,'
    ' PRIMARY KEY (bucket, key))',
    'CREATE TABLE IF NOT EXISTS bucket_digests ('
    ' bucket integer PRIMARY KEY, xor bytea NOT NULL, n bigint NOT NULL)',
)

_GET = "SELECT handle, vals FROM handles WHERE key = %s"
_SCAN_FROM = "SELECT handle FROM handles WHERE key >= %s AND key < %s ORDER BY key LIMIT %s"
_SCAN_AFTER = "SELECT handle FROM handles WHERE key > %s AND key < %s ORDER BY key LIMIT %s"
_DUMP = "SELECT key, handle, vals FROM handles WHERE key > %s ORDER BY key LIMIT %s"
_TXNS = "SELECT id, ts, op, key, handle, vals FROM txlog WHERE id > %s ORDER BY id LIMIT %s"
_RANGE_TO = "SELECT key, handle, vals FROM handles WHERE key > %s{through} ORDER BY key"
# In id order from the oldest, stopping at the first young entry (see sqlite.py).
_PRUNABLE = "SELECT id, ts FROM txlog WHERE id > %s AND id < %s ORDER BY id LIMIT %s"
_BUCKET_HASHES = "SELECT key, hash FROM record_hashes WHERE bucket = %s ORDER BY key"
_DROP = "DELETE FROM handles WHERE key = %s RETURNING handle, vals"
_PUT = ("INSERT INTO handles (key, handle, vals) VALUES (%s, %s, %s)"
        " ON CONFLICT (key) DO UPDATE SET handle = excluded.handle, vals = excluded.vals")
# Schema 3 and older → 4, in the opening transaction: each record's value rows become its
# vals (a count, then the wires by index), in one statement.
_MERGE_VALUES = (
    "ALTER TABLE handles ADD COLUMN vals bytea",
    "UPDATE handles AS h SET vals = (SELECT int4send(count(*)::int4)"
    " || coalesce(string_agg(v.wire, ''::bytea ORDER BY v.idx), ''::bytea)"
    " FROM handle_values AS v WHERE v.key = h.key)",
    "ALTER TABLE handles ALTER COLUMN vals SET NOT NULL",
    "DROP TABLE handle_values",
)
# Moves the identity's sequence up to %s (never down); setval is not transactional.
_RESERVE = ("SELECT setval(s, %s) FROM"
            " (SELECT pg_get_serial_sequence('txlog', 'id')::regclass AS s) AS q"
            " WHERE COALESCE(pg_sequence_last_value(s), 0) < %s")
_INDEX = ("INSERT INTO value_index (type, data, key, idx) VALUES (%s, %s, %s, %s)"
          " ON CONFLICT DO NOTHING",
          "INSERT INTO value_index_rev (type, rdata, key, idx) VALUES (%s, %s, %s, %s)"
          " ON CONFLICT DO NOTHING")
# Many rows in one statement: arrays unnested server-side (one Bind, one round trip, and no
# per-row statement overhead; COPY would be faster still but is not allowed in pipeline mode).
_HANDLES_MANY = ("INSERT INTO handles (key, handle, vals)"
                 " SELECT * FROM unnest(%s::text[], %s::text[], %s::bytea[])")
# WITH ORDINALITY … ORDER BY: log ids are assigned in the order given.
_TXNS_MANY = ("INSERT INTO txlog (ts, op, key, handle, vals)"
              " SELECT ts, op, key, handle, vals FROM unnest(%s::float8[], %s::text[],"
              " %s::text[], %s::text[], %s::bytea[]) WITH ORDINALITY"
              " AS t(ts, op, key, handle, vals, n) ORDER BY n")
_INDEX_MANY = ("INSERT INTO value_index (type, data, key, idx)"
               " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[])"
               " ON CONFLICT DO NOTHING",
               "INSERT INTO value_index_rev (type, rdata, key, idx)"
               " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[])"
               " ON CONFLICT DO NOTHING")
# The callers give each key (bucket) once, as ON CONFLICT DO UPDATE requires.
_HASHES_MANY = ("INSERT INTO record_hashes (bucket, key, hash)"
                " SELECT * FROM unnest(%s::integer[], %s::text[], %s::bytea[])"
                " ON CONFLICT (bucket, key) DO UPDATE SET hash = excluded.hash")
_BUCKETS_MANY = ("INSERT INTO bucket_digests (bucket, xor, n)"
                 " SELECT * FROM unnest(%s::integer[], %s::bytea[], %s::bigint[])"
                 " ON CONFLICT (bucket) DO UPDATE SET xor = excluded.xor, n = excluded.n")
_UNINDEX = ("DELETE FROM value_index WHERE type = %s AND data = %s AND key = %s AND idx = %s",
            "DELETE FROM value_index_rev"
            " WHERE type = %s AND rdata = %s AND key = %s AND idx = %s")
_COUNT = ("INSERT INTO handle_counts (prefix, n) VALUES (%s, %s)"
          " ON CONFLICT (prefix) DO UPDATE SET n = handle_counts.n + excluded.n")
_EXACT = ("SELECT i.key, h.handle FROM value_index AS i JOIN handles AS h ON h.key = i.key"
          " WHERE i.type = %s AND i.data = %s AND i.key {op} %s{stop} ORDER BY i.key LIMIT %s")
_EXCEEDS = ("SELECT count(*) FROM (SELECT 1 FROM {table} WHERE type = %s AND {column} >= %s"
            "{high} LIMIT %s) AS r")
_RANGE = ("SELECT m.key, h.handle FROM (SELECT DISTINCT key FROM {table}"
          " WHERE type = %s AND {column} >= %s{high} AND {column} LIKE %s ESCAPE '\\'"
          " AND key >= %s{stop} ORDER BY key LIMIT %s) AS m"
          " JOIN handles AS h ON h.key = m.key ORDER BY m.key")
_KEYS = ("SELECT key FROM {table} WHERE type = %s AND {column} >= %s{high}"
         " AND {column} LIKE %s ESCAPE '\\' AND key >= %s{stop} LIMIT %s")
_MANY = "SELECT key, handle, vals FROM handles WHERE key = ANY(%s)"


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
                 pool_size: int = 8, connect_timeout: float = 10.0,
                 index_types: Sequence[str] = DEFAULT_INDEX_TYPES) -> None:
        super().__init__(redact_url(url), max_values=max_values, index_types=index_types)
        self._conninfo, self._schema = split_url(url)
        self._conn: psycopg.Connection[Any] | None = None  # the write transaction's
        self._local = threading.local()  # .conn: the connection of a search's snapshot
        self._lock_key = self._init_schema(connect_timeout)
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self._conninfo, min_size=1, max_size=pool_size, open=False,
            # prepare_threshold=None: psycopg forgets its prepared statements on seeing a
            # ROLLBACK (also ROLLBACK TO SAVEPOINT) and, in pipeline mode, then runs one the
            # server no longer has; a group with a failing op would abort.
            kwargs={"autocommit": True, "connect_timeout": max(1, round(connect_timeout)),
                    "prepare_threshold": None},
            configure=self._configure, name="idnode-store")
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except psycopg.Error as exc:
            self._pool.close()
            raise StorageError(reason=f"cannot connect to {self.url}: {exc}") from exc
        self._finish_open()

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
                version = self._check_version(conn)
                job = None if version is None else conn.execute(
                    "SELECT v FROM meta WHERE k = %s", (META_JOB,)).fetchone()
                if version is not None and version < 4:
                    _merge_values(conn, self.url)
                for statement in _DDL:  # IF NOT EXISTS: also adds the tables of newer versions
                    conn.execute(statement)
                _upgrade(conn, upgrade_meta(version, self.index_types, self.url,
                                            None if job is None else str(job[0])))
        except psycopg.Error as exc:
            raise StorageError(reason=f"cannot open {self.url}: {exc}") from exc
        return lock_key

    def _check_version(self, conn: psycopg.Connection[Any]) -> int | None:
        row = conn.execute("SELECT to_regclass('meta')").fetchone()
        if row is None or row[0] is None:
            return None
        row = conn.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()
        # No version recorded: taken for the oldest layout and upgraded (from empty tables).
        return check_schema_version(1 if row is None else row[0], str(self.url))

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
        return _record(key, self._writer().execute(_GET, (key,)).fetchone())

    def _load_range(self, after: str, through: str | None) -> list[Record]:
        statement = _RANGE_TO.format(through="" if through is None else " AND key <= %s")
        return _records(self._writer().execute(statement, (after, *_opt(through))).fetchall())

    def _put(self, record: Record) -> None:
        self._writer().execute(_PUT, (record.key, record.handle, self._encode(record.values)))

    # -- runs of new records (.creates): one pipelined statement per table --------------
    def _existing_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        rows = self._writer().execute("SELECT key FROM handles WHERE key = ANY(%s)",
                                      (list(keys),)).fetchall()
        return {row[0] for row in rows}

    def _insert_records(self, rows: Sequence[tuple[str, str, tuple[HandleValue, ...],
                                                    bytes]]) -> None:
        self._writer().execute(_HANDLES_MANY, ([key for key, _, _, _ in rows],
                                               [handle for _, handle, _, _ in rows],
                                               [encoded for _, _, _, encoded in rows]))

    def _insert_planned(self, plan: RunPlan) -> set[str]:
        existing = self._existing_keys(plan.keys)
        if not existing:
            self._writer().execute(_HANDLES_MANY, _columns(plan.rows))
        return existing

    def _log_planned(self, plan: RunPlan, timestamp: float) -> None:
        keys, handles, encoded = _columns(plan.rows)
        self._writer().execute(_TXNS_MANY, ([timestamp] * len(keys), [OP_CREATE] * len(keys),
                                            keys, handles, encoded))

    def _index_many(self, rows: Sequence[tuple[str, Sequence[IndexEntry]]]) -> None:
        entries = [(t, data, key, idx) for key, entries in rows for t, data, idx in entries]
        if not entries:
            return
        types, datas, keys, indexes = (list(column) for column in zip(*entries, strict=True))
        forward, reverse = _INDEX_MANY
        conn = self._writer()
        conn.execute(forward, (types, datas, keys, indexes))
        conn.execute(reverse, (types, [data[::-1] for data in datas], keys, indexes))

    def _append_txns(self, rows: Sequence[tuple[float, str, str, str,
                                                 tuple[HandleValue, ...], bytes]]) -> None:
        self._writer().execute(_TXNS_MANY, ([row[0] for row in rows], [row[1] for row in rows],
                                            [row[2] for row in rows], [row[3] for row in rows],
                                            [row[5] for row in rows]))

    def _drop(self, key: str) -> Record | None:
        # RETURNING, not rowcount: in pipeline mode only fetching waits for the result.
        return _record(key, self._writer().execute(_DROP, (key,)).fetchone())

    def _index(self, key: str, entries: Sequence[IndexEntry]) -> None:
        self._write_entries(_INDEX, key, entries)

    def _unindex(self, key: str, entries: Sequence[IndexEntry]) -> None:
        self._write_entries(_UNINDEX, key, entries)

    def _write_entries(self, statements: tuple[str, str], key: str,
                       entries: Sequence[IndexEntry]) -> None:
        forward, reverse = statements
        with self._writer().cursor() as cursor:
            cursor.executemany(forward, [(t, data, key, idx) for t, data, idx in entries])
            cursor.executemany(reverse, [(t, data[::-1], key, idx) for t, data, idx in entries])

    def _count(self, prefix: str, delta: int) -> None:
        self._writer().execute(_COUNT, (prefix, delta))

    def _meta(self, name: str) -> str | None:
        row = self._writer().execute("SELECT v FROM meta WHERE k = %s", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, name: str, value: str | None) -> None:
        if value is None:
            self._writer().execute("DELETE FROM meta WHERE k = %s", (name,))
        else:
            self._writer().execute("INSERT INTO meta (k, v) VALUES (%s, %s)"
                                   " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                                   (name, value))

    def _clear_index(self) -> None:
        self._writer().execute("TRUNCATE value_index, value_index_rev")

    def _load_batch(self, after: str, limit: int) -> list[Record]:
        return _records(self._writer().execute(_DUMP, (after, limit)).fetchall())

    def _write_hashes(self, rows: Sequence[tuple[int, str, bytes]],
                      gone: Sequence[tuple[int, str]]) -> None:
        with self._writer().cursor() as cursor:
            if gone:
                cursor.executemany("DELETE FROM record_hashes WHERE bucket = %s AND key = %s",
                                   gone)
            if rows:
                cursor.execute(_HASHES_MANY, ([r[0] for r in rows], [r[1] for r in rows],
                                              [r[2] for r in rows]))

    def _load_buckets(self, buckets: Sequence[int]) -> dict[int, tuple[bytes, int]]:
        rows = self._writer().execute("SELECT bucket, xor, n FROM bucket_digests"
                                      " WHERE bucket = ANY(%s)", (list(buckets),)).fetchall()
        return {int(row[0]): (bytes(row[1]), int(row[2])) for row in rows}

    def _write_buckets(self, rows: Sequence[tuple[int, bytes, int]],
                       gone: Sequence[int]) -> None:
        conn = self._writer()
        if gone:
            conn.execute("DELETE FROM bucket_digests WHERE bucket = ANY(%s)", (list(gone),))
        if rows:
            conn.execute(_BUCKETS_MANY, ([r[0] for r in rows], [r[1] for r in rows],
                                         [r[2] for r in rows]))

    def _set_homed(self, prefix: str, homed: bool) -> bool:
        statement = ("INSERT INTO homed (prefix) VALUES (%s) ON CONFLICT DO NOTHING RETURNING 1"
                     if homed else "DELETE FROM homed WHERE prefix = %s RETURNING 1")
        return self._writer().execute(statement, (prefix,)).fetchone() is not None

    def _load_homed(self) -> set[str]:
        return {row[0] for row in self._writer().execute("SELECT prefix FROM homed")}

    def _append_txn(self, timestamp: float, op: str, key: str, handle: str,
                    values: tuple[HandleValue, ...]) -> None:
        self._writer().execute("INSERT INTO txlog (ts, op, key, handle, vals)"
                               " VALUES (%s, %s, %s, %s, %s)",
                               (timestamp, op, key, handle, self._encode(values)))

    def _copy_txn(self, txn: Txn) -> None:
        self._writer().execute("INSERT INTO txlog (id, ts, op, key, handle, vals)"
                               " OVERRIDING SYSTEM VALUE VALUES (%s, %s, %s, %s, %s, %s)",
                               (txn.txn_id, txn.timestamp, txn.op, txn.key, txn.handle,
                                self._encode(txn.values)))

    def _reserve_txn_ids(self, upto: int) -> None:
        self._writer().execute(_RESERVE, (upto, upto))

    def _newest_txn_id(self) -> int:
        row = self._writer().execute("SELECT MAX(id) FROM txlog").fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    def _nth_newest_txn_id(self, n: int) -> int | None:
        row = self._writer().execute("SELECT id FROM txlog ORDER BY id DESC LIMIT 1 OFFSET %s",
                                     (n - 1,)).fetchone()
        return None if row is None else int(row[0])

    def _delete_txns(self, ids: Sequence[int], below: int, before: float) -> int:
        row = self._writer().execute(
            "WITH d AS (DELETE FROM txlog WHERE id = ANY(%s) AND id < %s AND ts < %s"
            " RETURNING 1) SELECT count(*) FROM d", (list(ids), below, before)).fetchone()
        return 0 if row is None else int(row[0])

    def _cut_txns(self, after: int) -> list[Txn]:
        rows = self._writer().execute("DELETE FROM txlog WHERE id > %s"
                                      " RETURNING id, ts, op, key, handle, vals",
                                      (after,)).fetchall()
        rows.sort(key=lambda row: int(row[0]))  # RETURNING follows no order
        return [_txn(row) for row in rows]

    # -- read contract ------------------------------------------------------------------
    def _fetch(self, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        current: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if current is not None:
            return current.execute(statement, params).fetchall()
        with self._pool.connection() as conn:
            return conn.execute(statement, params).fetchall()

    def _get(self, key: str) -> Record | None:
        rows = self._fetch(_GET, (key,))
        return _record(key, rows[0] if rows else None)

    def _exists(self, key: str) -> bool:
        return bool(self._fetch("SELECT 1 FROM handles WHERE key = %s", (key,)))

    def _scan_handles(self, start: str, inclusive: bool, stop: str, limit: int) -> list[str]:
        rows = self._fetch(_SCAN_FROM if inclusive else _SCAN_AFTER, (start, stop, limit))
        return [row[0] for row in rows]

    def _scan_records(self, after: str, limit: int) -> list[Record]:
        return _records(self._fetch(_DUMP, (after, limit)))

    def _is_homed(self, prefix: str) -> bool:
        return bool(self._fetch("SELECT 1 FROM homed WHERE prefix = %s", (prefix,)))

    def _homed(self) -> list[str]:
        return [row[0] for row in self._fetch("SELECT prefix FROM homed ORDER BY prefix", ())]

    def _last_txn_id(self) -> int:
        rows = self._fetch("SELECT MAX(id) FROM txlog", ())
        return int(rows[0][0]) if rows[0][0] is not None else 0

    def _txns_after(self, txn_id: int, limit: int) -> list[Txn]:
        return [_txn(row) for row in self._fetch(_TXNS, (txn_id, limit))]

    def _oldest_txn_id(self) -> int:
        rows = self._fetch("SELECT MIN(id) FROM txlog", ())
        return int(rows[0][0]) if rows[0][0] is not None else 0

    def _prunable_txn_ids(self, after: int, below: int, before: float,
                          limit: int) -> list[int]:
        return prunable_prefix(self._fetch(_PRUNABLE, (after, below, limit)), before)

    def _read_meta(self, name: str) -> str | None:
        rows = self._fetch("SELECT v FROM meta WHERE k = %s", (name,))
        return str(rows[0][0]) if rows else None

    def _bucket_digests(self) -> list[tuple[int, bytes, int]]:
        rows = self._fetch("SELECT bucket, xor, n FROM bucket_digests ORDER BY bucket", ())
        return [(int(row[0]), bytes(row[1]), int(row[2])) for row in rows]

    def _bucket_hashes(self, bucket: int) -> list[tuple[str, bytes]]:
        return [(str(row[0]), bytes(row[1])) for row in self._fetch(_BUCKET_HASHES, (bucket,))]

    def _count_of(self, prefix: str) -> int:
        rows = self._fetch("SELECT n FROM handle_counts WHERE prefix = %s", (prefix,))
        return int(rows[0][0]) if rows else 0

    # -- searches -----------------------------------------------------------------------
    def _reading(self) -> AbstractContextManager[None]:
        return self._reading_cm()

    @contextmanager
    def _reading_cm(self) -> Iterator[None]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def _exact_keys(self, type_: str, data: str, start: str, inclusive: bool,
                    stop: str | None, limit: int) -> list[tuple[str, str]]:
        statement = _EXACT.format(op=">=" if inclusive else ">",
                                  stop="" if stop is None else " AND i.key < %s")
        rows = self._fetch(statement, (type_, data, start, *_opt(stop), limit))
        return [(row[0], row[1]) for row in rows]

    def _range_exceeds(self, criterion: Criterion, cap: int) -> bool:
        table, column = _side(criterion)
        statement = _EXCEEDS.format(table=table, column=column,
                                    high=_bound(column, criterion.high))
        rows = self._fetch(statement, (criterion.type, criterion.low, *_opt(criterion.high),
                                       cap + 1))
        return int(rows[0][0]) > cap

    def _range_keys(self, criterion: Criterion, start: str, stop: str | None,
                    limit: int) -> list[tuple[str, str]]:
        table, column = _side(criterion)
        statement = _RANGE.format(table=table, column=column,
                                  high=_bound(column, criterion.high),
                                  stop="" if stop is None else " AND key < %s")
        rows = self._fetch(statement, (criterion.type, criterion.low, *_opt(criterion.high),
                                       criterion.like(), start, *_opt(stop), limit))
        return [(row[0], row[1]) for row in rows]

    def _range_key_set(self, criterion: Criterion, start: str, stop: str | None,
                       limit: int) -> set[str]:
        table, column = _side(criterion)
        statement = _KEYS.format(table=table, column=column,
                                 high=_bound(column, criterion.high),
                                 stop="" if stop is None else " AND key < %s")
        rows = self._fetch(statement, (criterion.type, criterion.low, *_opt(criterion.high),
                                       criterion.like(), start, *_opt(stop), limit))
        return {row[0] for row in rows}

    def _get_many(self, keys: Sequence[str]) -> dict[str, Record]:
        if not keys:
            return {}
        rows = self._fetch(_MANY, (list(keys),))
        return {record.key: record for record in _records(rows)}

    def _close(self) -> None:
        self._pool.close()


def _upgrade(conn: psycopg.Connection[Any], upgrade: Upgrade) -> None:
    if upgrade.clear:  # a back-fill starts from empty tables
        conn.execute(sql.SQL("TRUNCATE {}").format(
            sql.SQL(", ").join(sql.Identifier(table) for table in upgrade.clear)))
    for name, value in upgrade.meta.items():
        if value is None:
            conn.execute("DELETE FROM meta WHERE k = %s", (name,))
        else:
            conn.execute("INSERT INTO meta (k, v) VALUES (%s, %s)"
                         " ON CONFLICT (k) DO UPDATE SET v = excluded.v", (name, value))


def _merge_values(conn: psycopg.Connection[Any], where: str) -> None:
    """Schema 3 and older → 4 (see ``_MERGE_VALUES``), unless done already."""
    row = conn.execute("SELECT to_regclass('handle_values')").fetchone()
    if row is None or row[0] is None:
        return
    log.info("%s: moving each record's values into its handle row (schema 4)", where)
    for statement in _MERGE_VALUES:
        conn.execute(statement)


def _record(key: str, row: Sequence[Any] | None) -> Record | None:
    """A record from its ``(handle, vals)`` row."""
    return None if row is None else Record(row[0], key, decode_value_list(key, bytes(row[1])))


def _records(rows: Iterable[Sequence[Any]]) -> list[Record]:
    """Records from ``(key, handle, vals)`` rows."""
    return [Record(row[1], row[0], decode_value_list(row[0], bytes(row[2]))) for row in rows]


def _txn(row: Sequence[Any]) -> Txn:
    """A log entry from its ``(id, ts, op, key, handle, vals)`` row."""
    return Txn(row[0], row[1], row[2], row[3], row[4], decode_value_list(row[3], bytes(row[5])))


def _lock_key(schema: str) -> int:
    """A signed 32-bit number naming ``schema``'s write lock."""
    crc = zlib.crc32(schema.encode("utf-8"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _side(criterion: Criterion) -> tuple[str, str]:
    """The table and column ``criterion`` is scanned on."""
    return ("value_index_rev", "rdata") if criterion.reverse else ("value_index", "data")


def _bound(column: str, high: str | None) -> str:
    return "" if high is None else f" AND {column} < %s"


def _opt(value: str | None) -> tuple[str, ...]:
    return () if value is None else (value,)


def _columns(rows: Sequence[PlannedRow]) -> tuple[list[str], list[str], list[bytes]]:
    """A planned run's rows as the arrays its statements unnest."""
    return [row[0] for row in rows], [row[1] for row in rows], [row[2] for row in rows]
