"""The ledger of prefix applications and their audit trail, in tables beside the node's own
(the same SQLite file through a connection of its own, or the same PostgreSQL database and
``?schema=``), created when missing::

    prefix_applications (id, prefix, status, applicant, created, updated, form JSON,
                         reason, withheld JSON)
    prefix_audit        (seq, application, at, actor, action, detail)

Real-name data (实名信息) is personal data, so it stays here, readable only through the
operator's interfaces, and never becomes a handle value: not in resolution, the transaction
log, mirrors or escrow copies. A partial unique index allows one live (pending, approved or
suspended) application per prefix. A change of status is compare-and-set on the status and
writes its audit row in the same transaction.

Calls block (the web face runs them on a thread); one lock serialises a process's calls.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from idnode.auth.identity import Identity
from idnode.errors import ConfigError, StorageError
from idnode.prefixes.application import Application, Form
from idnode.storage.side import connect_sqlite

__all__ = ["AuditEntry", "Ledger", "SQLiteLedger", "open_ledger"]

T = TypeVar("T")

_SELECT = ("SELECT id, prefix, status, applicant, created, updated, form, reason, withheld"
           " FROM prefix_applications")
_INDEX = ("CREATE UNIQUE INDEX IF NOT EXISTS prefix_applications_live"
          " ON prefix_applications (prefix)"
          " WHERE status IN ('pending', 'approved', 'suspended')")
_SQLITE_DDL = (
    "CREATE TABLE IF NOT EXISTS prefix_applications (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " prefix TEXT NOT NULL, status TEXT NOT NULL, applicant TEXT NOT NULL,"
    " created REAL NOT NULL, updated REAL NOT NULL, form TEXT NOT NULL,"
    " reason TEXT NOT NULL DEFAULT '', withheld TEXT NOT NULL DEFAULT '[]')",
    _INDEX,
    "CREATE TABLE IF NOT EXISTS prefix_audit (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " application INTEGER NOT NULL, at REAL NOT NULL, actor TEXT NOT NULL,"
    " action TEXT NOT NULL, detail TEXT NOT NULL)",
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    application: int
    at: float
    actor: str
    action: str
    detail: str


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


#: ``execute(sql, args)`` inside one transaction; SQL uses ``?`` placeholders.
Execute = Callable[[str, Sequence[Any]], Cursor]


def _form_from_json(text: str) -> Form:
    obj = json.loads(text)
    admin = obj["admin"]
    return Form(obj["prefix"], obj["organisation"], obj["creditCode"],
                obj["contact"]["name"], obj["contact"]["phone"], obj["contact"]["email"],
                obj["route"]["mode"] == "hosted", tuple(obj["route"].get("servers", ())),
                Identity(admin["handle"], int(admin["index"])), admin.get("pubkey"),
                admin.get("secret"))


def _application(row: Sequence[Any]) -> Application:
    return Application(int(row[0]), str(row[1]), str(row[2]), str(row[3]), float(row[4]),
                       float(row[5]), _form_from_json(str(row[6])), str(row[7]), str(row[8]))


class Ledger(ABC):
    """Applications and their audit trail. Statuses and actions: :mod:`.application`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @abstractmethod
    def _transaction(self, what: str, fn: Callable[[Execute], T]) -> T:
        """Run ``fn`` in one transaction (rolled back if it raises)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection. Idempotent."""

    def insert(self, form: Form, applicant: str, now: float) -> int | None:
        """Store a pending application and its ``apply`` audit row; None when the prefix
        already has a live application."""
        def run(execute: Execute) -> int | None:
            live = execute("SELECT id FROM prefix_applications WHERE prefix = ?"
                           " AND status IN ('pending', 'approved', 'suspended')",
                           (form.prefix,)).fetchone()
            if live is not None:
                return None
            row = execute("INSERT INTO prefix_applications (prefix, status, applicant,"
                          " created, updated, form) VALUES (?, 'pending', ?, ?, ?, ?)"
                          " RETURNING id",
                          (form.prefix, applicant, now, now,
                           json.dumps(form.to_json(), ensure_ascii=False))).fetchone()
            ident = int(row[0])
            execute("INSERT INTO prefix_audit (application, at, actor, action, detail)"
                    " VALUES (?, ?, ?, 'apply', ?)", (ident, now, applicant, form.prefix))
            return ident
        return self._transaction("storing an application", run)

    def get(self, ident: int) -> Application | None:
        def run(execute: Execute) -> Application | None:
            row = execute(_SELECT + " WHERE id = ?",
                          (ident,)).fetchone()
            return None if row is None else _application(row)
        return self._transaction("reading an application", run)

    def find(self, status: str | None = None, prefix: str | None = None, *,
             after: int = 0, limit: int = 100) -> list[Application]:
        """Applications with an id above ``after``, oldest first."""
        def run(execute: Execute) -> list[Application]:
            sql = _SELECT + " WHERE id > ?"
            args: list[Any] = [after]
            if status is not None:
                sql += " AND status = ?"
                args.append(status)
            if prefix is not None:
                sql += " AND prefix = ?"
                args.append(prefix)
            rows = execute(sql + " ORDER BY id LIMIT ?", [*args, limit]).fetchall()
            return [_application(r) for r in rows]
        return self._transaction("listing applications", run)

    def transition(self, ident: int, expected: str, status: str, *, actor: str, action: str,
                   detail: str, now: float, reason: str | None = None,
                   withheld: str | None = None, forget_secret: bool = False) -> bool:
        """Move ``ident`` from ``expected`` to ``status`` and audit it; False if its status
        was no longer ``expected``."""
        def run(execute: Execute) -> bool:
            row = execute("SELECT status, form FROM prefix_applications WHERE id = ?",
                          (ident,)).fetchone()
            if row is None or row[0] != expected:
                return False
            form = None
            if forget_secret:  # in the identity handle now; no second copy kept here
                obj = json.loads(str(row[1]))
                obj["admin"].pop("secret", None)
                form = json.dumps(obj, ensure_ascii=False)
            execute("UPDATE prefix_applications SET status = ?, updated = ?,"
                    " reason = COALESCE(?, reason), withheld = COALESCE(?, withheld),"
                    " form = COALESCE(?, form) WHERE id = ?",
                    (status, now, reason, withheld, form, ident))
            execute("INSERT INTO prefix_audit (application, at, actor, action, detail)"
                    " VALUES (?, ?, ?, ?, ?)", (ident, now, actor, action, detail))
            return True
        return self._transaction(f"recording {action}", run)

    def audit(self, ident: int | None = None) -> list[AuditEntry]:
        """The audit trail of one application, or of all, in order."""
        def run(execute: Execute) -> list[AuditEntry]:
            sql = "SELECT seq, application, at, actor, action, detail FROM prefix_audit"
            args: list[Any] = []
            if ident is not None:
                sql += " WHERE application = ?"
                args.append(ident)
            rows = execute(sql + " ORDER BY seq", args).fetchall()
            return [AuditEntry(int(r[0]), int(r[1]), float(r[2]), str(r[3]), str(r[4]),
                               str(r[5])) for r in rows]
        return self._transaction("reading the audit trail", run)


class SQLiteLedger(Ledger):
    """The ledger in a SQLite file (``:memory:`` for a memory store)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect_sqlite(self.path, _SQLITE_DDL, "prefix ledger")
        return self._conn

    def _transaction(self, what: str, fn: Callable[[Execute], T]) -> T:
        with self._lock:
            try:
                db = self._db()
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(db.execute)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                raise StorageError(reason=f"prefix ledger {self.path}: {what}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def open_ledger(storage_url: str) -> Ledger:
    """The ledger in the database of the node's ``storage_url`` (not connected yet).

    :raises ConfigError: an unsupported URL.
    """
    scheme = storage_url.partition(":")[0].lower()
    if scheme == "sqlite":
        from idnode.storage.sqlite import sqlite_path
        return SQLiteLedger(sqlite_path(storage_url))
    if scheme == "memory":
        return SQLiteLedger(":memory:")  # lives as long as the process, like the store
    if scheme in ("postgresql", "postgres"):
        from idnode.prefixes.ledger_pg import PostgresLedger
        return PostgresLedger(storage_url)
    raise ConfigError(key="storage.url", reason=f"no prefix ledger for {scheme!r} storage")
