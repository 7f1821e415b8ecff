"""Connections for tables that other subsystems keep beside the node's store, in the same
database (the report inbox, the prefix ledger): opened on first use, their tables created.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from idnode.errors import StorageError

if TYPE_CHECKING:  # psycopg is imported only by nodes on PostgreSQL
    import psycopg

__all__ = ["connect_postgres", "connect_sqlite"]


def connect_sqlite(path: str, ddl: Sequence[str], what: str) -> sqlite3.Connection:
    """An autocommit connection to the SQLite file at ``path`` (fsync per commit) with the
    tables of ``ddl``; ``what`` names the subsystem in errors.

    :raises StorageError: the file cannot be opened or the tables created.
    """
    conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = FULL")  # what was acknowledged is kept
        for statement in ddl:
            conn.execute(statement)
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(reason=f"{what} {path}: {exc}") from exc
    return conn


def connect_postgres(conninfo: str, schema: str | None, ddl: Sequence[str], lock: int,
                     timeout: float) -> psycopg.Connection[Any]:
    """An autocommit connection whose search path is ``schema`` (created if missing), with
    the tables of ``ddl``; the advisory ``lock`` keeps workers starting together from
    creating them at once."""
    import psycopg
    from psycopg import sql
    conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=max(1, round(timeout)))
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            if schema is not None:
                name = sql.Identifier(schema)
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
                conn.execute(sql.SQL("SET search_path TO {}").format(name))
            for statement in ddl:
                conn.execute(statement)
    except BaseException:
        conn.close()
        raise
    return conn
