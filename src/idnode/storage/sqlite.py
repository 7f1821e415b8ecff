"""SQLite backend: the default store, one file shared by any number of processes.

- WAL journal, so readers never block the writer; ``synchronous=FULL`` unless
  ``sync="normal"`` is asked for (then a power cut may lose the last commits, never
  consistency).
- Writes go through one writer connection per process (behind the store's write lock) and
  ``BEGIN IMMEDIATE``, which makes SQLite serialise writers across processes; ``txlog`` ids
  are therefore assigned in commit order. ``busy_timeout`` lets processes wait their turn.
- Reads use one connection per thread, so readers never share a connection.
- Tables are ``WITHOUT ROWID`` and keyed by what they are looked up by. A record is one row
  of ``handles (key, handle, vals)``: its values in index order, each in its wire form,
  encoded as the log entry encodes them (:func:`~idnode.identifiers.value.encode_values`).
  One row per record (schema 4; 3 and older kept a row per value) halves what a bulk
  registration writes, and a read is one b-tree lookup.
- The reverse index is two such tables whose primary key is the index:
  ``value_index (type, data, key, idx)`` and ``value_index_rev (type, rdata, key, idx)``
  (``rdata``: the data reversed). ``handle_counts (prefix, n)`` counts handles per prefix.
  Searches filter a range of one of them with ``GLOB``, inside one read transaction.
- The digests (:mod:`.digest`): ``record_hashes (bucket, key, hash)``, keyed by bucket so a
  bucket's hashes are one range, and ``bucket_digests (bucket, xor, n)``. Record hashes are
  first appended to ``hash_log`` (in write order, a cheap append) and folded into
  ``record_hashes`` in sorted passes once :data:`FOLD_AT` of them have gathered: writing
  each straight into its bucket would touch one page per record (the buckets are spread by
  a hash), where a fold touches each page once for many. Reading a bucket's hashes overlays
  the log's entries for it, a scan bounded by about ``FOLD_AT``.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

from idnode.errors import ConfigError, StorageError
from idnode.identifiers.value import HandleValue
from idnode.protocol.constants import MAX_VALUES_PER_HANDLE
from idnode.storage import sqlite_log as txlog
from idnode.storage.base import Store
from idnode.storage.contract import (
    BATCH_SIZE,
    META_JOB,
    SCHEMA_VERSION,
    Upgrade,
    check_schema_version,
    decode_value_list,
    upgrade_meta,
)
from idnode.storage.index import DEFAULT_INDEX_TYPES, Criterion, IndexEntry
from idnode.storage.ops import OP_CREATE, Record, Txn
from idnode.storage.plans import PlannedRow, RunPlan
from idnode.storage.turns import WriterTurns
from idnode.storage.txruns import encode_run

__all__ = ["BULK_FOLD", "FOLD_AT", "FOLD_MIN", "SCHEMA_VERSION", "SQLiteStore", "sqlite_path"]

log = logging.getLogger(__name__)

# The layout of SCHEMA_VERSION, kept in ``meta``; a newer file is refused, an older upgraded.

_HANDLES = ("CREATE TABLE IF NOT EXISTS {name} ("
            " key TEXT PRIMARY KEY, handle TEXT NOT NULL, vals BLOB NOT NULL) WITHOUT ROWID")
_DDL = (
    _HANDLES.format(name="handles"),
    # AUTOINCREMENT: ids are never reused, even once old entries are pruned.
    "CREATE TABLE IF NOT EXISTS txlog ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, op TEXT NOT NULL,"
    " key TEXT NOT NULL, handle TEXT NOT NULL, vals BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS homed (prefix TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID",
    # Version 2: the reverse index and the per-prefix handle counts.
    "CREATE TABLE IF NOT EXISTS value_index ("
    " type TEXT NOT NULL, data TEXT NOT NULL, key TEXT NOT NULL, idx INTEGER NOT NULL,"
    " PRIMARY KEY (type, data, key, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS value_index_rev ("
    " type TEXT NOT NULL, rdata TEXT NOT NULL, key TEXT NOT NULL, idx INTEGER NOT NULL,"
    " PRIMARY KEY (type, rdata, key, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS handle_counts ("
    " prefix TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
    # Version 3: the digests.
    "CREATE TABLE IF NOT EXISTS record_hashes ("
    " bucket INTEGER NOT NULL, key TEXT NOT NULL, hash BLOB NOT NULL,"
    " PRIMARY KEY (bucket, key)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS bucket_digests ("
    " bucket INTEGER PRIMARY KEY, xor BLOB NOT NULL, n INTEGER NOT NULL) WITHOUT ROWID",
    # Version 4: record hashes not yet folded into record_hashes (hash NULL: the record is
    # gone); a rowid table, so appending is cheap and min/max(seq) are one seek each.
    "CREATE TABLE IF NOT EXISTS hash_log ("
    " seq INTEGER PRIMARY KEY, bucket INTEGER NOT NULL, key TEXT NOT NULL, hash BLOB)",
    # Version 5: runs of log entries (.txruns) with ids first..last, which no txlog row has.
    "CREATE TABLE IF NOT EXISTS txruns ("
    " first INTEGER PRIMARY KEY, last INTEGER NOT NULL, ts REAL NOT NULL, body BLOB NOT NULL)",
)
#: Logged record hashes that make a write transaction fold the oldest of them into
#: ``record_hashes``: at least FOLD_MIN, and twice what it logged itself, so the log stays
#: near FOLD_AT and each write pays for about its own hashes (never for the whole log at
#: once, which on a store larger than the page cache would be a long stall).
FOLD_AT = 65_536
FOLD_MIN = 16_384
#: During bulk writes (:meth:`SQLiteStore.bulk_writes`) the log is folded whole once it holds
#: this many hashes, or a sixteenth of the store's records if more: a fold rewrites the pages
#: of ``record_hashes`` it touches (hashes are spread over them by bucket), so the more it
#: folds at once the fewer pages per hash (measured, 1 million imported rows: 68,000 rows/s
#: folding 16,384 at a time; see docs/benchmarks.md).
BULK_FOLD = 262_144

_GET = "SELECT handle, vals FROM handles WHERE key = ?"
_SCAN_FROM = "SELECT handle FROM handles WHERE key >= ? AND key < ? ORDER BY key LIMIT ?"
_SCAN_AFTER = "SELECT handle FROM handles WHERE key > ? AND key < ? ORDER BY key LIMIT ?"
_DUMP = "SELECT key, handle, vals FROM handles WHERE key > ? ORDER BY key LIMIT ?"
_RANGE_TO = "SELECT key, handle, vals FROM handles WHERE key > ?{through} ORDER BY key"
_BUCKET_HASHES = "SELECT key, hash FROM record_hashes WHERE bucket = ? ORDER BY key"
# Bounded by FOLD_AT rows: the log has no index by bucket (keeping one would cost what the
# log saves).
_BUCKET_LOGGED = "SELECT key, hash FROM hash_log WHERE bucket = ? ORDER BY seq"
# A fold of the entries up to a seq: each key's last among them wins, because the entries
# are written in (bucket, key, seq) order and each replaces the one before; a NULL hash (the
# record is gone) is written as an empty blob, then those keys' rows are deleted. No GROUP
# BY: sorting the entries once is the whole cost (half that of picking each key's last
# first, measured). A later entry of the same key stays logged, and wins when a bucket is
# read.
_FOLD = ("INSERT OR REPLACE INTO record_hashes (bucket, key, hash)"
         " SELECT bucket, key, coalesce(hash, x'') FROM hash_log WHERE seq <= ?1"
         " ORDER BY bucket, key, seq")
_FOLD_GONE = ("DELETE FROM record_hashes WHERE hash = x'' AND (bucket, key) IN"
              " (SELECT bucket, key FROM hash_log WHERE seq <= ?1 AND hash IS NULL)")
_LOGGED_SPAN = "SELECT (SELECT MIN(seq) FROM hash_log), (SELECT MAX(seq) FROM hash_log)"
_INDEX = ("INSERT OR IGNORE INTO value_index (type, data, key, idx) VALUES (?, ?, ?, ?)",
          "INSERT OR IGNORE INTO value_index_rev (type, rdata, key, idx) VALUES (?, ?, ?, ?)")
_UNINDEX = ("DELETE FROM value_index WHERE type = ? AND data = ? AND key = ? AND idx = ?",
            "DELETE FROM value_index_rev WHERE type = ? AND rdata = ? AND key = ? AND idx = ?")
#: keys per ``IN (…)`` list (SQLite allows a few thousand parameters)
_KEYS_PER_QUERY = 500
_KEYS_IN = "SELECT key FROM handles WHERE key IN ({marks})"
_COUNT = ("INSERT INTO handle_counts (prefix, n) VALUES (?, ?)"
          " ON CONFLICT (prefix) DO UPDATE SET n = n + excluded.n")
# The exact-match page: one range of value_index's key, already in key order.
_EXACT = ("SELECT i.key, h.handle FROM value_index AS i JOIN handles AS h ON h.key = i.key"
          " WHERE i.type = ? AND i.data = ? AND i.key {op} ?{stop} ORDER BY i.key LIMIT ?")
# At most ``cap`` + 1 entries of a range are counted: a bounded walk of the index.
_EXCEEDS = ("SELECT count(*) FROM (SELECT 1 FROM {table} WHERE type = ? AND {column} >= ?"
            "{high} LIMIT ?)")
# A wildcard match: the range, filtered by GLOB, then ordered by key (bounded by the caller).
_RANGE = ("SELECT m.key, h.handle FROM (SELECT DISTINCT key FROM {table}"
          " WHERE type = ? AND {column} >= ?{high} AND {column} GLOB ? AND key >= ?{stop}"
          " ORDER BY key LIMIT ?) AS m JOIN handles AS h ON h.key = m.key ORDER BY m.key")
_KEYS = ("SELECT key FROM {table} WHERE type = ? AND {column} >= ?{high} AND {column} GLOB ?"
         " AND key >= ?{stop} LIMIT ?")
_MANY = "SELECT key, handle, vals FROM handles WHERE key IN ({marks})"
_SYNC_MODES = {"full": "FULL", "normal": "NORMAL"}
#: pages in the write-ahead log at which a commit checkpoints, once checkpoints are deferred
#: (SQLite's default is 1,000): 64 MiB of 4 KiB pages
DEFERRED_CHECKPOINT = 16_384


def sqlite_path(url: str) -> str:
    """The file path of ``sqlite:///abs/path.db`` or ``sqlite:relative/path.db``.

    :raises ConfigError: not a ``sqlite:`` URL or no path.
    """
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.lower() != "sqlite":
        raise ConfigError(key="storage", reason=f"{url!r} is not a sqlite: URL")
    if rest.startswith("//"):
        rest = rest[2:]  # sqlite:///abs → /abs, sqlite://rel → rel
    if not rest:
        raise ConfigError(key="storage", reason=f"{url!r} names no file")
    return rest


class _Reader:
    """Holds one thread's read connection; dropped (and closed) with the thread."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


class SQLiteStore(Store):
    """A store in one SQLite file.

    :param path: the database file; created (mode 0600) when missing, but not its directory.
    :param sync: ``"full"`` (fsync every commit) or ``"normal"``.
    :param busy_timeout: seconds to wait for another process's write transaction.
    :raises StorageError: the directory is missing, the file is not a database, or its schema
        is newer than this version of idnode.
    """

    kind = "sqlite"
    driver_errors = (sqlite3.Error,)

    def __init__(self, path: str, *, max_values: int = MAX_VALUES_PER_HANDLE,
                 sync: str = "full", busy_timeout: float = 10.0,
                 index_types: Sequence[str] = DEFAULT_INDEX_TYPES) -> None:
        if sync not in _SYNC_MODES:
            raise ConfigError(key="sync", reason=f"{sync!r} is neither 'full' nor 'normal'")
        self.path = os.path.abspath(path)
        super().__init__(f"sqlite://{self.path}", max_values=max_values,
                         index_types=index_types)
        self._sync = _SYNC_MODES[sync]
        #: logged hashes folded whole at once during bulk writes (0: not bulk, see FOLD_AT)
        self._bulk_fold = 0
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        self._create_file()
        self._turns = WriterTurns(self.path)
        try:
            self._writer = self._connect()
        except sqlite3.Error as exc:
            raise StorageError(reason=f"cannot open {self.path}: {exc}") from exc
        try:
            self._init_schema()
        except BaseException:
            self._writer.close()
            raise
        self._finish_open()

    # -- opening ------------------------------------------------------------------------
    def _create_file(self) -> None:
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            raise StorageError(reason=f"cannot open {self.path}: "
                                      f"directory {directory} does not exist")
        try:
            # Created here rather than by SQLite so the mode is 0600; SQLite gives the
            # -wal and -shm files the same mode.
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise StorageError(reason=f"cannot create {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly; check_same_thread=False
        # because the writer moves between threads (under the write lock) and close() may
        # run on any thread.
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA synchronous = {self._sync}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _init_schema(self) -> None:
        writer = self._writer
        try:
            mode = writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StorageError(reason=f"{self.path}: cannot switch to WAL (mode {mode})")
            writer.execute("BEGIN IMMEDIATE")
            try:
                version = self._check_version(writer)
                job = None if version is None else writer.execute(
                    "SELECT v FROM meta WHERE k = ?", (META_JOB,)).fetchone()
                if version is not None and version < 4:
                    self._merge_values()
                for statement in _DDL:  # IF NOT EXISTS: also adds the tables of newer versions
                    writer.execute(statement)
                self._upgrade(upgrade_meta(version, self.index_types, self.path,
                                           None if job is None else str(job[0])))
                writer.execute("COMMIT")
            except BaseException:
                writer.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StorageError(reason=f"cannot open {self.path}: {exc}") from exc

    def _merge_values(self) -> None:
        """Schema 3 and older → 4: each record's value rows become one ``vals`` blob in its
        handle row, in one pass over the records in key order (inside the opening
        transaction: an interrupted upgrade leaves the old layout whole)."""
        writer = self._writer
        if writer.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                          " AND name = 'handle_values'").fetchone() is None:
            return
        log.info("%s: moving each record's values into its handle row (schema 4)", self.path)
        writer.execute(_HANDLES.format(name="handles_v4"))
        rows = writer.execute("SELECT h.key, h.handle, v.wire FROM handles AS h"
                              " LEFT JOIN handle_values AS v ON v.key = h.key"
                              " ORDER BY h.key, v.idx")
        insert = writer.cursor()
        batch: list[tuple[str, str, bytes]] = []
        moved = 0
        for key, group in itertools.groupby(rows, key=lambda row: row[0]):
            chunk = list(group)
            wires = [bytes(row[2]) for row in chunk if row[2] is not None]
            batch.append((key, chunk[0][1], len(wires).to_bytes(4, "big") + b"".join(wires)))
            if len(batch) >= BATCH_SIZE:
                insert.executemany("INSERT INTO handles_v4 VALUES (?, ?, ?)", batch)
                moved += len(batch)
                batch.clear()
        insert.executemany("INSERT INTO handles_v4 VALUES (?, ?, ?)", batch)
        moved += len(batch)
        writer.execute("DROP TABLE handle_values")
        writer.execute("DROP TABLE handles")
        writer.execute("ALTER TABLE handles_v4 RENAME TO handles")
        log.info("%s: %d records moved", self.path, moved)

    def _upgrade(self, upgrade: Upgrade) -> None:
        if "record_hashes" in upgrade.clear:
            self._writer.execute("DELETE FROM hash_log")  # the digests' back-fill refills both
        for table in upgrade.clear:  # a back-fill starts from empty tables
            self._writer.execute(f"DELETE FROM {table}")  # noqa: S608 (constant names)
        for name, value in upgrade.meta.items():
            self._set_meta(name, value)

    def _check_version(self, conn: sqlite3.Connection) -> int | None:
        has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                " AND name = 'meta'").fetchone()
        if has_meta is None:
            return None
        row = conn.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()
        # No version recorded: taken for the oldest layout and upgraded (from empty tables).
        return check_schema_version(1 if row is None else row[0], str(self.path))

    def _reader(self) -> sqlite3.Connection:
        holder: _Reader | None = getattr(self._local, "reader", None)
        if holder is not None:
            return holder.conn
        self._check_open()
        conn = self._connect()
        conn.execute("PRAGMA query_only = ON")  # a reader must never write by accident
        holder = _Reader(conn)
        self._local.reader = holder
        with self._readers_lock:
            self._readers.add(holder)
        return conn

    # -- write contract -----------------------------------------------------------------
    def _transaction(self) -> AbstractContextManager[None]:
        return self._transaction_cm()

    @contextmanager
    def _transaction_cm(self) -> Iterator[None]:
        writer = self._writer
        # Writers across processes queue for their turn (.turns), then IMMEDIATE takes the
        # file's write lock at once.
        self._turns.take(self._busy_timeout)
        try:
            writer.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._rollback()
                raise
            try:
                writer.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StorageError(reason=f"commit to {self.path} failed: {exc}") from exc
        finally:
            self._turns.give_back()

    def _rollback(self) -> None:
        if self._writer.in_transaction:
            try:
                self._writer.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error that brought us here is the one to report

    def _savepoint(self) -> AbstractContextManager[None]:
        return self._savepoint_cm()

    @contextmanager
    def _savepoint_cm(self) -> Iterator[None]:
        writer = self._writer
        writer.execute("SAVEPOINT op")
        try:
            yield
        except BaseException:
            writer.execute("ROLLBACK TO op")
            writer.execute("RELEASE op")
            raise
        writer.execute("RELEASE op")

    def _load(self, key: str) -> Record | None:
        return _record(key, self._writer.execute(_GET, (key,)).fetchone())

    def _load_range(self, after: str, through: str | None) -> list[Record]:
        statement = _RANGE_TO.format(through="" if through is None else " AND key <= ?")
        return _records(self._writer.execute(statement, (after, *_opt(through))))

    def _put(self, record: Record) -> None:
        self._writer.execute("INSERT INTO handles (key, handle, vals) VALUES (?, ?, ?)"
                             " ON CONFLICT (key) DO UPDATE SET handle = excluded.handle,"
                             " vals = excluded.vals",
                             (record.key, record.handle, self._encode(record.values)))

    # -- runs of new records (.creates): one multi-row statement per table ---------------
    def _existing_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for n in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[n:n + _KEYS_PER_QUERY]
            statement = _KEYS_IN.format(marks=", ".join("?" * len(chunk)))
            found.update(row[0] for row in self._writer.execute(statement, chunk))
        return found

    def _insert_records(self, rows: Sequence[tuple[str, str, tuple[HandleValue, ...],
                                                    bytes]]) -> None:
        self._writer.executemany("INSERT INTO handles (key, handle, vals) VALUES (?, ?, ?)",
                                 [(key, handle, encoded) for key, handle, _, encoded in rows])

    # -- bulk writes and checkpoints ----------------------------------------------------
    def bulk_writes(self) -> None:
        with self._write_lock:
            self._check_open()
            writer = self._writer
            writer.execute(f"PRAGMA wal_autocheckpoint = {DEFERRED_CHECKPOINT}")
            records = writer.execute("SELECT coalesce(sum(n), 0) FROM handle_counts").fetchone()
            self._bulk_fold = max(BULK_FOLD, int(records[0]) // 16)

    def end_bulk_writes(self) -> None:
        with self._write_lock:
            self._check_open()
            if not self._bulk_fold:
                return
            self._bulk_fold = 0
            try:
                with self._transaction():
                    # the job's hashes folded, but for a log shorter than other writes
                    # leave it (they fold once it reaches FOLD_AT)
                    low, high = self._writer.execute(_LOGGED_SPAN).fetchone()
                    if high is not None and high - low + 1 >= FOLD_AT:
                        self._fold_hashes(high - FOLD_AT // 2)
                self._writer.execute("PRAGMA wal_autocheckpoint = 1000")  # SQLite's default
            except sqlite3.Error as exc:
                self._fail("folding the logged record hashes", exc)
        self.checkpoint()

    def checkpoint(self) -> None:
        # PASSIVE: copies the committed frames while another process writes (it takes no
        # write lock, and no turn). The log restarts from its beginning only when a write
        # begins with all of it copied; so a commit still checkpoints once the log has
        # grown to DEFERRED_CHECKPOINT pages, and that commit has little left to copy.
        with self._write_lock:
            self._check_open()
            try:
                self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                self._fail("checkpointing", exc)

    def _plan_rows(self, rows: Sequence[PlannedRow]) -> object:
        return encode_run(rows)

    def _insert_planned(self, plan: RunPlan) -> set[str]:
        # Inserted at once, existing handles left alone; the usual run has none, so this
        # saves asking for them first. If one exists, the savepoint undoes the rest.
        writer = self._writer
        writer.execute("SAVEPOINT planned")
        try:
            inserted = writer.executemany("INSERT OR IGNORE INTO handles (key, handle, vals)"
                                          " VALUES (?, ?, ?)", plan.rows).rowcount
            if inserted == len(plan.rows):
                return set()
            writer.execute("ROLLBACK TO planned")
        finally:
            writer.execute("RELEASE planned")
        return self._existing_keys(plan.keys)

    def _log_planned(self, plan: RunPlan, timestamp: float) -> None:
        self._reserve_txn_ids(txlog.append_body(self._writer, timestamp, len(plan.rows),
                                                cast(bytes, plan.backend)))

    def _index_many(self, rows: Sequence[tuple[str, Sequence[IndexEntry]]]) -> None:
        forward, reverse = _INDEX
        self._writer.executemany(forward, [(t, data, key, idx) for key, entries in rows
                                           for t, data, idx in entries])
        self._writer.executemany(reverse, [(t, data[::-1], key, idx) for key, entries in rows
                                           for t, data, idx in entries])

    def _append_txns(self, rows: Sequence[tuple[float, str, str, str,
                                                 tuple[HandleValue, ...], bytes]]) -> None:
        writer = self._writer
        if len(rows) < 2 or any(op != OP_CREATE or ts != rows[0][0]
                                for ts, op, *_ in rows):
            writer.executemany("INSERT INTO txlog (ts, op, key, handle, vals)"
                               " VALUES (?, ?, ?, ?, ?)",
                               [(ts, op, key, handle, encoded)
                                for ts, op, key, handle, _, encoded in rows])
            return
        self._reserve_txn_ids(txlog.append_run(
            writer, rows[0][0], [(key, handle, encoded)
                                 for _, _, key, handle, _, encoded in rows]))

    def _drop(self, key: str) -> Record | None:
        writer = self._writer
        row = writer.execute("DELETE FROM handles WHERE key = ? RETURNING handle, vals",
                             (key,)).fetchone()
        return _record(key, row)

    def _index(self, key: str, entries: Sequence[IndexEntry]) -> None:
        self._write_entries(_INDEX, key, entries)

    def _unindex(self, key: str, entries: Sequence[IndexEntry]) -> None:
        self._write_entries(_UNINDEX, key, entries)

    def _write_entries(self, statements: tuple[str, str], key: str,
                       entries: Sequence[IndexEntry]) -> None:
        forward, reverse = statements
        self._writer.executemany(forward, [(t, data, key, idx) for t, data, idx in entries])
        self._writer.executemany(reverse,
                                 [(t, data[::-1], key, idx) for t, data, idx in entries])

    def _count(self, prefix: str, delta: int) -> None:
        self._writer.execute(_COUNT, (prefix, delta))

    def _meta(self, name: str) -> str | None:
        row = self._writer.execute("SELECT v FROM meta WHERE k = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, name: str, value: str | None) -> None:
        if value is None:
            self._writer.execute("DELETE FROM meta WHERE k = ?", (name,))
        else:
            self._writer.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
                                 (name, value))

    def _clear_index(self) -> None:
        # No WHERE: SQLite frees the pages without visiting the rows.
        self._writer.execute("DELETE FROM value_index")
        self._writer.execute("DELETE FROM value_index_rev")

    def _load_batch(self, after: str, limit: int) -> list[Record]:
        return _records(self._writer.execute(_DUMP, (after, limit)))

    def _write_hashes(self, rows: Sequence[tuple[int, str, bytes]],
                      gone: Sequence[tuple[int, str]]) -> None:
        writer = self._writer
        if rows:
            writer.executemany("INSERT INTO hash_log (bucket, key, hash) VALUES (?, ?, ?)",
                               rows)
        if gone:
            writer.executemany("INSERT INTO hash_log (bucket, key, hash) VALUES (?, ?, NULL)",
                               gone)
        low, high = writer.execute(_LOGGED_SPAN).fetchone()
        # seq has no gaps: a fold removes the oldest entries, and only appends follow
        if high is None:
            return
        if self._bulk_fold:  # see BULK_FOLD
            if high - low + 1 >= self._bulk_fold:
                self._fold_hashes(high)
        elif high - low + 1 >= FOLD_AT:
            self._fold_hashes(low + max(FOLD_MIN, 2 * (len(rows) + len(gone))) - 1)

    def _fold_hashes(self, through: int) -> None:
        """Move the logged record hashes up to seq ``through`` into ``record_hashes``,
        written in (bucket, key) order. All in SQL: the rows never pass through Python."""
        writer = self._writer
        writer.execute(_FOLD, (through,))
        writer.execute(_FOLD_GONE, (through,))
        writer.execute("DELETE FROM hash_log WHERE seq <= ?", (through,))

    def _load_buckets(self, buckets: Sequence[int]) -> dict[int, tuple[bytes, int]]:
        found: dict[int, tuple[bytes, int]] = {}
        # Chunks well under SQLite's parameter limit.
        for start in range(0, len(buckets), 500):
            chunk = buckets[start:start + 500]
            statement = ("SELECT bucket, xor, n FROM bucket_digests"  # noqa: S608 (only ?s)
                         f" WHERE bucket IN ({', '.join('?' * len(chunk))})")
            for bucket, xor, count in self._writer.execute(statement, tuple(chunk)):
                found[int(bucket)] = (bytes(xor), int(count))
        return found

    def _write_buckets(self, rows: Sequence[tuple[int, bytes, int]],
                       gone: Sequence[int]) -> None:
        if gone:
            self._writer.executemany("DELETE FROM bucket_digests WHERE bucket = ?",
                                     [(bucket,) for bucket in gone])
        if rows:
            self._writer.executemany("INSERT OR REPLACE INTO bucket_digests (bucket, xor, n)"
                                     " VALUES (?, ?, ?)", rows)

    def _set_homed(self, prefix: str, homed: bool) -> bool:
        statement = ("INSERT OR IGNORE INTO homed (prefix) VALUES (?)" if homed
                     else "DELETE FROM homed WHERE prefix = ?")
        return self._writer.execute(statement, (prefix,)).rowcount > 0

    def _load_homed(self) -> set[str]:
        return {row[0] for row in self._writer.execute("SELECT prefix FROM homed")}

    def _append_txn(self, timestamp: float, op: str, key: str, handle: str,
                    values: tuple[HandleValue, ...]) -> None:
        self._writer.execute("INSERT INTO txlog (ts, op, key, handle, vals)"
                             " VALUES (?, ?, ?, ?, ?)",
                             (timestamp, op, key, handle, self._encode(values)))

    def _copy_txn(self, txn: Txn) -> None:
        # An explicit id also moves AUTOINCREMENT's high-water mark (sqlite_sequence) up.
        self._writer.execute("INSERT INTO txlog (id, ts, op, key, handle, vals)"
                             " VALUES (?, ?, ?, ?, ?, ?)",
                             (txn.txn_id, txn.timestamp, txn.op, txn.key, txn.handle,
                              self._encode(txn.values)))

    def _reserve_txn_ids(self, upto: int) -> None:
        # AUTOINCREMENT hands out max(its high-water mark, the largest id) + 1.
        writer = self._writer
        writer.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'txlog' AND seq < ?",
                       (upto, upto))
        writer.execute("INSERT INTO sqlite_sequence (name, seq) SELECT 'txlog', ?"
                       " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'txlog')",
                       (upto,))

    def _newest_txn_id(self) -> int:
        return txlog.newest_id(self._writer)

    def _nth_newest_txn_id(self, n: int) -> int | None:
        return txlog.nth_newest_id(self._writer, n)

    def _delete_txns(self, ids: Sequence[int], below: int, before: float) -> int:
        return txlog.delete(self._writer, ids, below, before)

    def _cut_txns(self, after: int) -> list[Txn]:
        return [_txn(row) for row in txlog.cut(self._writer, after)]

    # -- read contract ------------------------------------------------------------------
    def _get(self, key: str) -> Record | None:
        return _record(key, self._reader().execute(_GET, (key,)).fetchone())

    def _exists(self, key: str) -> bool:
        row = self._reader().execute("SELECT 1 FROM handles WHERE key = ?", (key,)).fetchone()
        return row is not None

    def _scan_handles(self, start: str, inclusive: bool, stop: str, limit: int) -> list[str]:
        rows = self._reader().execute(_SCAN_FROM if inclusive else _SCAN_AFTER,
                                      (start, stop, limit)).fetchall()
        return [row[0] for row in rows]

    def _scan_records(self, after: str, limit: int) -> list[Record]:
        return _records(self._reader().execute(_DUMP, (after, limit)))

    def _is_homed(self, prefix: str) -> bool:
        row = self._reader().execute("SELECT 1 FROM homed WHERE prefix = ?",
                                     (prefix,)).fetchone()
        return row is not None

    def _homed(self) -> list[str]:
        rows = self._reader().execute("SELECT prefix FROM homed ORDER BY prefix").fetchall()
        return [row[0] for row in rows]

    def _last_txn_id(self) -> int:
        return txlog.newest_id(self._reader())

    def _txns_after(self, txn_id: int, limit: int) -> list[Txn]:
        with self._reading():  # one snapshot for the rows and the runs
            rows = txlog.rows_after(self._reader(), txn_id, limit)
        return [_txn(row) for row in rows]

    def _oldest_txn_id(self) -> int:
        return txlog.oldest_id(self._reader())

    def _prunable_txn_ids(self, after: int, below: int, before: float,
                          limit: int) -> list[int]:
        return txlog.prunable_ids(self._reader(), after, below, before, limit)

    def _read_meta(self, name: str) -> str | None:
        row = self._reader().execute("SELECT v FROM meta WHERE k = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _bucket_digests(self) -> list[tuple[int, bytes, int]]:
        rows = self._reader().execute("SELECT bucket, xor, n FROM bucket_digests"
                                      " ORDER BY bucket").fetchall()
        return [(int(row[0]), bytes(row[1]), int(row[2])) for row in rows]

    def _bucket_hashes(self, bucket: int) -> list[tuple[str, bytes]]:
        with self._reading():  # the table and the log from one snapshot
            conn = self._reader()
            hashes = {str(key): bytes(digest)
                      for key, digest in conn.execute(_BUCKET_HASHES, (bucket,))}
            for key, digest in conn.execute(_BUCKET_LOGGED, (bucket,)):
                if digest is None:
                    hashes.pop(str(key), None)
                else:
                    hashes[str(key)] = bytes(digest)
        return sorted(hashes.items())

    def _count_of(self, prefix: str) -> int:
        row = self._reader().execute("SELECT n FROM handle_counts WHERE prefix = ?",
                                     (prefix,)).fetchone()
        return 0 if row is None else int(row[0])

    # -- searches -----------------------------------------------------------------------
    def _reading(self) -> AbstractContextManager[None]:
        return self._reading_cm()

    @contextmanager
    def _reading_cm(self) -> Iterator[None]:
        # One read transaction: in WAL mode, every statement in it sees the same snapshot.
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _exact_keys(self, type_: str, data: str, start: str, inclusive: bool,
                    stop: str | None, limit: int) -> list[tuple[str, str]]:
        statement = _EXACT.format(op=">=" if inclusive else ">",
                                  stop="" if stop is None else " AND i.key < ?")
        params = (type_, data, start, *(() if stop is None else (stop,)), limit)
        return [(row[0], row[1]) for row in self._reader().execute(statement, params)]

    def _range_exceeds(self, criterion: Criterion, cap: int) -> bool:
        table, column = _side(criterion)
        statement = _EXCEEDS.format(table=table, column=column,
                                    high=_bound(column, criterion.high))
        params = (criterion.type, criterion.low, *_opt(criterion.high), cap + 1)
        return int(self._reader().execute(statement, params).fetchone()[0]) > cap

    def _range_keys(self, criterion: Criterion, start: str, stop: str | None,
                    limit: int) -> list[tuple[str, str]]:
        table, column = _side(criterion)
        statement = _RANGE.format(table=table, column=column,
                                  high=_bound(column, criterion.high),
                                  stop="" if stop is None else " AND key < ?")
        params = (criterion.type, criterion.low, *_opt(criterion.high), criterion.glob(),
                  start, *_opt(stop), limit)
        return [(row[0], row[1]) for row in self._reader().execute(statement, params)]

    def _range_key_set(self, criterion: Criterion, start: str, stop: str | None,
                       limit: int) -> set[str]:
        table, column = _side(criterion)
        statement = _KEYS.format(table=table, column=column,
                                 high=_bound(column, criterion.high),
                                 stop="" if stop is None else " AND key < ?")
        params = (criterion.type, criterion.low, *_opt(criterion.high), criterion.glob(),
                  start, *_opt(stop), limit)
        return {row[0] for row in self._reader().execute(statement, params)}

    def _get_many(self, keys: Sequence[str]) -> dict[str, Record]:
        if not keys:
            return {}
        statement = _MANY.format(marks=", ".join("?" * len(keys)))
        return {record.key: record
                for record in _records(self._reader().execute(statement, tuple(keys)))}

    def _close(self) -> None:
        with self._readers_lock:
            readers = list(self._readers)
            self._readers.clear()
        for holder in readers:
            holder.conn.close()
        self._writer.close()
        self._turns.close()


def _record(key: str, row: Sequence[Any] | None) -> Record | None:
    """A record from its ``(handle, vals)`` row."""
    return None if row is None else Record(row[0], key, decode_value_list(key, row[1]))


def _records(rows: Iterable[Sequence[Any]]) -> list[Record]:
    """Records from ``(key, handle, vals)`` rows."""
    return [Record(row[1], row[0], decode_value_list(row[0], row[2])) for row in rows]


def _txn(row: Sequence[Any]) -> Txn:
    """A log entry from its ``(id, ts, op, key, handle, vals)`` row."""
    return Txn(row[0], row[1], row[2], row[3], row[4], decode_value_list(row[3], row[5]))


def _side(criterion: Criterion) -> tuple[str, str]:
    """The table and column ``criterion`` is scanned on."""
    return ("value_index_rev", "rdata") if criterion.reverse else ("value_index", "data")


def _bound(column: str, high: str | None) -> str:
    return "" if high is None else f" AND {column} < ?"


def _opt(value: str | None) -> tuple[str, ...]:
    return () if value is None else (value,)
