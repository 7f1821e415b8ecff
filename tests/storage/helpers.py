"""Small builders shared by the storage tests."""

from __future__ import annotations

import sqlite3
from typing import Any

from idnode.identifiers.handle import Handle
from idnode.identifiers.value import PERM_DEFAULT, HandleValue, Reference
from idnode.storage import Store, bucket_of, record_hash
from idnode.storage.contract import decode_value_list
from idnode.storage.txruns import run_entries


def h(text: str) -> Handle:
    """A parsed handle."""
    return Handle.parse(text)


def v(index: int, data: str = "x", type_: str = "URL", *, ttl: int = 86400,
      timestamp: int = 0, permissions: int = PERM_DEFAULT,
      references: tuple[Reference, ...] = ()) -> HandleValue:
    """A value with text data."""
    return HandleValue(index, type_, data.encode(), ttl=ttl, timestamp=timestamp,
                       permissions=permissions, references=references)


def expected_digests(store: Store) -> dict[int, tuple[bytes, int, list[tuple[str, bytes]]]]:
    """The digests recomputed from the records: bucket → (xor, count, hashes by key)."""
    out: dict[int, tuple[bytes, int, list[tuple[str, bytes]]]] = {}
    for rec in store.dump(limit=100_000):
        bucket = bucket_of(rec.key)
        xor, count, hashes = out.get(bucket, (bytes(16), 0, []))
        digest = record_hash(rec)
        xor = bytes(a ^ b for a, b in zip(xor, digest, strict=True))
        out[bucket] = (xor, count + 1, [*hashes, (rec.key, digest)])
    return {bucket: (xor, count, sorted(hashes))
            for bucket, (xor, count, hashes) in out.items()}


def check_digests(store: Store) -> None:
    """The maintained digests are exactly those of the records."""
    expected = expected_digests(store)
    assert store.bucket_digests() == [(bucket, xor, count) for bucket, (xor, count, _)
                                      in sorted(expected.items())]
    for bucket, (_, _, hashes) in expected.items():
        assert store.bucket_hashes(bucket) == hashes


def to_value_rows(conn: sqlite3.Connection) -> None:
    """Rewrite a schema-5 store in the layout of schema 3 and older: a row per value in
    ``handle_values``, every record hash folded into ``record_hashes``, and every log entry
    a row of ``txlog``."""
    for first, ts, body in conn.execute("SELECT first, ts, body FROM txruns").fetchall():
        conn.executemany("INSERT INTO txlog (id, ts, op, key, handle, vals)"
                         " VALUES (?, ?, 'create', ?, ?, ?)",
                         [(txn_id, ts, key, handle, vals)
                          for txn_id, key, handle, vals, _ in run_entries(first, body)])
    conn.execute("DROP TABLE txruns")
    conn.execute("CREATE TABLE old_handles (key TEXT PRIMARY KEY, handle TEXT NOT NULL)"
                 " WITHOUT ROWID")
    conn.execute("CREATE TABLE handle_values (key TEXT NOT NULL, idx INTEGER NOT NULL,"
                 " wire BLOB NOT NULL, PRIMARY KEY (key, idx)) WITHOUT ROWID")
    for key, handle, vals in conn.execute("SELECT key, handle, vals FROM handles").fetchall():
        conn.execute("INSERT INTO old_handles VALUES (?, ?)", (key, handle))
        conn.executemany("INSERT INTO handle_values VALUES (?, ?, ?)",
                         [(key, value.index, value.to_wire())
                          for value in decode_value_list(key, vals)])
    conn.execute("DROP TABLE handles")
    conn.execute("ALTER TABLE old_handles RENAME TO handles")
    for bucket, key, digest in conn.execute(
            "SELECT bucket, key, hash FROM hash_log ORDER BY seq").fetchall():
        if digest is None:
            conn.execute("DELETE FROM record_hashes WHERE bucket = ? AND key = ?", (bucket, key))
        else:
            conn.execute("INSERT OR REPLACE INTO record_hashes VALUES (?, ?, ?)",
                         (bucket, key, digest))
    conn.execute("DROP TABLE hash_log")


def pg_to_value_rows(conn: Any, schema: str) -> None:
    """:func:`to_value_rows` for a PostgreSQL schema (``conn``: a psycopg connection in
    autocommit mode)."""
    conn.execute(f"CREATE TABLE {schema}.handle_values (key text COLLATE \"C\" NOT NULL,"
                 " idx bigint NOT NULL, wire bytea NOT NULL, PRIMARY KEY (key, idx))")
    for key, vals in conn.execute(f"SELECT key, vals FROM {schema}.handles").fetchall():
        for value in decode_value_list(key, bytes(vals)):
            conn.execute(f"INSERT INTO {schema}.handle_values VALUES (%s, %s, %s)",
                         (key, value.index, value.to_wire()))
    conn.execute(f"ALTER TABLE {schema}.handles DROP COLUMN vals")
