"""Handle storage: one :class:`Store` API over SQLite (default), PostgreSQL and memory.

Open a store from a URL::

    store = open_store("sqlite:///var/lib/idnode/handles.db")
    store.create_handle(Handle.parse("88.1/abc"), [HandleValue(1, "URL", b"https://x")])
    store.get_record(Handle.parse("88.1/ABC").key)     # None: the suffix is case-sensitive

Writes can be grouped: :meth:`Store.apply` runs a list of operations (:mod:`.ops`) in one
database transaction, each inside its own savepoint, and journals every successful one in
the transaction log that mirrors follow (:meth:`Store.txns_after`).

Every write also keeps, in the same transaction, a reverse index of the values of the
indexed types (:meth:`Store.search`, rules in :mod:`.index`), a handle count per prefix
(:meth:`Store.count_handles`) and the digests that compare two stores bucket by bucket
(:meth:`Store.bucket_digests`, :mod:`.digest`).

A mirror follows a primary with :meth:`Store.replicate` (the primary's log entries, same
ids), starts from a dump with :meth:`Store.install_page` (which can set the log's floor,
:meth:`Store.position`) and is repaired with :meth:`Store.install`; the log is kept short
with :meth:`Store.prune_txns` and a demoted primary's divergent tail is cut with
:meth:`Store.truncate_txns_after`.
"""

from __future__ import annotations

from collections.abc import Sequence

from idnode.errors import ConfigError
from idnode.protocol.constants import MAX_VALUES_PER_HANDLE
from idnode.storage.base import Store, normalise_prefix
from idnode.storage.digest import BUCKETS, bucket_of, record_hash
from idnode.storage.index import DEFAULT_INDEX_TYPES
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
    "BUCKETS",
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
    "bucket_of",
    "normalise_prefix",
    "open_store",
    "record_hash",
]

_SYNC = ("full", "normal")


def open_store(url: str, *, max_values: int = MAX_VALUES_PER_HANDLE,
               sync: str = "full", index_types: Sequence[str] = DEFAULT_INDEX_TYPES) -> Store:
    """Open the store at ``url``, upgrading an older schema.

    Opening may run a bulk job before it returns: back-filling the reverse index, the handle
    counts and the digests of a store written by an older idnode, or rebuilding the index when
    ``index_types`` differs from the set it was built for. The job runs in transactions of a
    few thousand handles in key order, logs its progress at INFO (logger
    ``idnode.storage``) and resumes where it stopped if interrupted; processes opening the
    store meanwhile share the work. Every process sharing a store must use the same
    ``index_types``, and no older idnode may write to it during an upgrade.

    :param url: ``sqlite:///abs/path.db``, ``sqlite:relative/path.db``, ``memory:`` or
        ``postgresql://user@host:port/db[?schema=name]``.
    :param max_values: the most values one record may hold.
    :param sync: SQLite durability: ``"full"`` (fsync every commit) or ``"normal"`` (WAL is
        synced at checkpoints; a power cut may lose the last commits, never consistency).
        Other backends ignore it.
    :param index_types: the value types the reverse index holds (:meth:`Store.search`).
    :raises ConfigError: an unknown URL scheme or ``sync`` value, or an ``index_types``
        entry that may never be indexed (HS_SECKEY, HS_ADMIN, … see :mod:`.index`).
    :raises StorageError: the store cannot be opened, or was written by a newer idnode.
    """
    if sync not in _SYNC:
        raise ConfigError(key="sync", reason=f"{sync!r} is neither 'full' nor 'normal'")
    scheme = url.partition(":")[0].lower()
    if scheme == "sqlite":
        return SQLiteStore(sqlite_path(url), max_values=max_values, sync=sync,
                           index_types=index_types)
    if scheme == "memory":
        return MemoryStore(max_values=max_values, index_types=index_types)
    if scheme in ("postgresql", "postgres"):
        # Imported on demand: psycopg is only loaded by nodes that use it.
        from idnode.storage.postgres import PostgresStore

        return PostgresStore(url, max_values=max_values, index_types=index_types)
    raise ConfigError(key="storage", reason=f"unsupported store URL {url!r} "
                                            "(expected sqlite:, postgresql: or memory:)")
