"""The SQLite transaction log: ``txlog`` rows and ``txruns`` rows read as one log.

A single write is logged as a ``txlog`` row; a run of creates as one ``txruns`` row whose
entries have the consecutive ids ``first..last`` (:mod:`.txruns`). Both draw ids from
``txlog``'s AUTOINCREMENT mark, so ids never collide and never go back. Every function here
takes the connection to use: the writer inside a write transaction, or a reader.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from idnode.storage.contract import prunable_prefix
from idnode.storage.ops import OP_CREATE
from idnode.storage.txruns import encode_run, run_entries

__all__ = ["append_body", "append_run", "cut", "delete", "newest_id", "nth_newest_id", "oldest_id",
           "prunable_ids", "rows_after"]

#: a log entry as a ``txlog`` row: (id, ts, op, key, handle, encoded values)
Row = tuple[Any, ...]

_TXNS = "SELECT id, ts, op, key, handle, vals FROM txlog WHERE id > ? ORDER BY id LIMIT ?"
# The runs holding entries after an id, in id order: the one that holds the id itself, if
# any, and those after it (runs never overlap, so ``first`` orders them).
_RUNS_AFTER = ("SELECT first, last, ts, body FROM txruns WHERE first >= coalesce("
               "(SELECT MAX(first) FROM txruns WHERE first <= ?1), 0) AND last > ?1"
               " ORDER BY first")
_NEWEST_IDS = ("SELECT (SELECT MAX(id) FROM txlog),"
               " (SELECT last FROM txruns WHERE first = (SELECT MAX(first) FROM txruns))")
_OLDEST_IDS = "SELECT (SELECT MIN(id) FROM txlog), (SELECT MIN(first) FROM txruns)"
_NEXT_ID = "SELECT seq FROM sqlite_sequence WHERE name = 'txlog'"
# Walking down the log from its newest end (nth_newest_id).
_NO_ID = 2**63 - 1
_RUN_BELOW = "SELECT first, last FROM txruns WHERE first < ? ORDER BY first DESC LIMIT 1"
_COUNT_BETWEEN = "SELECT count(*) FROM txlog WHERE id > ? AND id < ?"
_NTH_BETWEEN = ("SELECT id FROM txlog WHERE id > ? AND id < ? ORDER BY id DESC"
                " LIMIT 1 OFFSET ?")
# In id order from the oldest: retention stops at the first entry still young enough, so a
# prune reads what it deletes plus one page, however long the log.
_PRUNABLE = "SELECT id, ts FROM txlog WHERE id > ? AND id < ? ORDER BY id LIMIT ?"
_PRUNABLE_RUNS = ("SELECT first, ts, last FROM txruns WHERE first > ? AND first < ?"
                  " ORDER BY first LIMIT ?")
#: run ids per ``IN (…)`` list
_IDS_PER_QUERY = 500


def append_run(conn: sqlite3.Connection, ts: float,
               entries: Sequence[tuple[str, str, bytes]]) -> int:
    """Log ``(key, handle, encoded values)`` creates as one run; the last id it took (the
    caller moves AUTOINCREMENT's mark up to it, as for a copied entry)."""
    return append_body(conn, ts, len(entries), encode_run(entries))


def append_body(conn: sqlite3.Connection, ts: float, count: int, body: bytes) -> int:
    """:func:`append_run` of ``count`` entries already encoded as ``body``."""
    row = conn.execute(_NEXT_ID).fetchone()
    first = (0 if row is None else int(row[0])) + 1
    last = first + count - 1
    conn.execute("INSERT INTO txruns (first, last, ts, body) VALUES (?, ?, ?, ?)",
                 (first, last, ts, body))
    return last


def newest_id(conn: sqlite3.Connection) -> int:
    # b-tree seeks: a bare MAX over the rowid, the newest run by its key.
    ids = [int(i) for i in conn.execute(_NEWEST_IDS).fetchone() if i is not None]
    return max(ids, default=0)


def oldest_id(conn: sqlite3.Connection) -> int:
    ids = [int(i) for i in conn.execute(_OLDEST_IDS).fetchone() if i is not None]
    return min(ids, default=0)


def rows_after(conn: sqlite3.Connection, txn_id: int, limit: int) -> list[Row]:
    """The first ``limit`` entries after ``txn_id``, as rows (in one read transaction)."""
    rows = conn.execute(_TXNS, (txn_id, limit)).fetchall()
    # Entries of runs past the limit's last row cannot be among the first ``limit``.
    bound = rows[-1][0] if len(rows) == limit else None
    logged = 0
    for first, _, ts, body in conn.execute(_RUNS_AFTER, (txn_id,)):
        if logged >= limit or (bound is not None and first > bound):
            break
        for entry_id, key, handle, encoded, _ in run_entries(first, body, txn_id):
            rows.append((entry_id, ts, OP_CREATE, key, handle, encoded))
            logged += 1
            if logged >= limit:
                break
    rows.sort(key=_first)
    return rows[:limit]


def nth_newest_id(conn: sqlite3.Connection, n: int) -> int | None:
    """The id of the ``n``-th newest entry: a walk down the runs, newest first, counting
    the txlog rows between them."""
    remaining, below = n, _NO_ID
    while True:
        run = conn.execute(_RUN_BELOW, (below,)).fetchone()
        floor = -1 if run is None else int(run[1])
        between = int(conn.execute(_COUNT_BETWEEN, (floor, below)).fetchone()[0])
        if between >= remaining:
            row = conn.execute(_NTH_BETWEEN, (floor, below, remaining - 1)).fetchone()
            return int(row[0])
        if run is None:
            return None
        first, size = int(run[0]), floor - int(run[0]) + 1
        if size >= remaining - between:
            return floor - (remaining - between) + 1
        remaining -= between + size
        below = first


def prunable_ids(conn: sqlite3.Connection, after: int, below: int, before: float,
                 limit: int) -> list[int]:
    """Ids of the oldest entries after ``after`` written before ``before``, all below
    ``below``; a run is listed by its first id, and only if all of it is below."""
    rows: list[tuple[int, float, int]] = [
        (int(i), float(ts), int(i)) for i, ts in conn.execute(_PRUNABLE, (after, below, limit))]
    rows += [(int(first), float(ts), int(last))
             for first, ts, last in conn.execute(_PRUNABLE_RUNS, (after, below, limit))]
    rows.sort()
    # The log is pruned from its oldest end only: stop at a run that reaches ``below``.
    ids = prunable_prefix(rows[:limit], before)
    for n, (_, _, last) in enumerate(rows[:len(ids)]):
        if last >= below:
            return ids[:n]
    return ids


def delete(conn: sqlite3.Connection, ids: Sequence[int], below: int, before: float) -> int:
    """Delete the entries of :func:`prunable_ids` that are still below ``below`` and older
    than ``before``; how many entries went."""
    deleted = conn.executemany("DELETE FROM txlog WHERE id = ? AND id < ? AND ts < ?",
                               [(txn_id, below, before) for txn_id in ids]).rowcount
    # A run goes whole, once all of it may go.
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start:start + _IDS_PER_QUERY]
        statement = ("SELECT first, last FROM txruns"  # noqa: S608 (only ?s)
                     f" WHERE first IN ({', '.join('?' * len(chunk))})"
                     " AND last < ? AND ts < ?")
        runs = conn.execute(statement, (*chunk, below, before)).fetchall()
        conn.executemany("DELETE FROM txruns WHERE first = ?", [(run[0],) for run in runs])
        deleted += sum(int(last) - int(first) + 1 for first, last in runs)
    return deleted


def cut(conn: sqlite3.Connection, after: int) -> list[Row]:
    """Delete the entries after ``after`` (a run that holds it keeps its entries up to
    there) and return them, oldest first."""
    rows = conn.execute("DELETE FROM txlog WHERE id > ?"
                        " RETURNING id, ts, op, key, handle, vals", (after,)).fetchall()
    for first, _, ts, body in conn.execute(_RUNS_AFTER, (after,)).fetchall():
        start: int | None = None
        for txn_id, key, handle, encoded, at in run_entries(first, body, after):
            start = at if start is None else start
            rows.append((txn_id, ts, OP_CREATE, key, handle, encoded))
        if first > after:
            conn.execute("DELETE FROM txruns WHERE first = ?", (first,))
        else:
            conn.execute("UPDATE txruns SET last = ?, body = ? WHERE first = ?",
                         (after, body[:start], first))
    rows.sort(key=_first)  # RETURNING follows no order
    return rows


def _first(row: Row) -> int:
    return int(row[0])
