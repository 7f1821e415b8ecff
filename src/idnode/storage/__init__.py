"""Handle storage: one :class:`Store` API over SQLite (default), PostgreSQL and memory.

Open a store from a URL::

    store = open_store("sqlite:///var/lib/idnode/handles.db")
    store.create_handle(Handle.parse("88.1/abc"), [HandleValue(1, "URL", b"https://x")])
    store.get_record(Handle.parse("88.1/ABC").key)     # None: the suffix is case-sensitive

Writes can be grouped: :meth:`Store.apply` runs a list of operations (:mod:`.ops`) in one
database transaction, each inside its own savepoint, and journals every successful one in
the transaction log that mirrors follow (:meth:`Store.txns_after`).
"""

from __future__ import annotations

from idnode.errors import ConfigError
from idnode.protocol.constants import MAX_VALUES_PER_HANDLE
from idnode.storage.base import Store, normalise_prefix
from idnode.storage.memory import MemoryStore
from idnode.storage.ops import (
    AddValues,
    CreateHandle,
    DeleteHandle,
    HomePrefix,
    ModifyValues,
    Record,
    RemoveValues,
    Txn,
    UnhomePrefix,
    WriteOp,
    WriteResult,
)
from idnode.storage.sqlite import SQLiteStore, sqlite_path

__all__ = [
    "AddValues",
    "CreateHandle",
    "DeleteHandle",
    "HomePrefix",
    "MemoryStore",
    "ModifyValues",
    "Record",
    "RemoveValues",
    "SQLiteStore",
    "Store",
    "Txn",
    "UnhomePrefix",
    "WriteOp",
    "WriteResult",
    "normalise_prefix",
    "open_store",
]

_SYNC = ("full", "normal")


def open_store(url: str, *, max_values: int = MAX_VALUES_PER_HANDLE,
               sync: str = "full") -> Store:
    """Open the store at ``url``.

    :param url: ``sqlite:///abs/path.db``, ``sqlite:relative/path.db``, ``memory:`` or
        ``postgresql://user@host:port/db[?schema=name]``.
    :param max_values: the most values one record may hold.
    :param sync: SQLite durability: ``"full"`` (fsync every commit) or ``"normal"`` (WAL is
        synced at checkpoints; a power cut may lose the last commits, never consistency).
        Other backends ignore it.
    :raises ConfigError: an unknown URL scheme or ``sync`` value.
    :raises StorageError: the store cannot be opened.
    """
    if sync not in _SYNC:
        raise ConfigError(key="sync", reason=f"{sync!r} is neither 'full' nor 'normal'")
    scheme = url.partition(":")[0].lower()
    if scheme == "sqlite":
        return SQLiteStore(sqlite_path(url), max_values=max_values, sync=sync)
    if scheme == "memory":
        return MemoryStore(max_values=max_values)
    if scheme in ("postgresql", "postgres"):
        # Imported on demand: psycopg is only loaded by nodes that use it.
        from idnode.storage.postgres import PostgresStore

        return PostgresStore(url, max_values=max_values)
    raise ConfigError(key="storage", reason=f"unsupported store URL {url!r} "
                                            "(expected sqlite:, postgresql: or memory:)")
