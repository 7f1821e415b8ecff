"""The primitives of replication and the transaction log's upkeep.

:class:`Replicated` is the layer of :class:`~idnode.storage.base.Store` (see :mod:`.core`)
that a mirror and its tools use: replaying a primary's log with its ids
(:meth:`~Replicated.replicate`), installing pages of a dump and repairing records
(:meth:`~Replicated.install_page`, :meth:`~Replicated.install`), how far the store has the
log (:meth:`~Replicated.position`), pruning and truncating the log, and the metadata other
subsystems keep in the store (:meth:`~Replicated.get_meta`, :meth:`~Replicated.set_meta`).
None of these writes is checked against the rules of the write operations: the primary
already applied them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from idnode.errors import InvalidHandle, StorageError
from idnode.identifiers.value import HandleValue
from idnode.storage.contract import META_FLOOR, META_JOB, META_TYPES
from idnode.storage.core import checked_record, normalise_prefix
from idnode.storage.derived import DerivedData
from idnode.storage.ops import (
    OP_ADD,
    OP_CREATE,
    OP_DELETE,
    OP_HOME,
    OP_MODIFY,
    OP_REMOVE,
    OP_UNHOME,
    Record,
    Txn,
)

__all__ = ["Replicated"]

_RECORD_OPS = frozenset({OP_CREATE, OP_ADD, OP_MODIFY, OP_REMOVE})


def _floor(text: str | None) -> int:
    return 0 if text is None else int(text)


def _check_meta_name(name: str) -> None:
    if not name or name.startswith("schema") or name in (META_TYPES, META_JOB, META_FLOOR):
        raise ValueError(f"meta name {name!r} is reserved for the store itself")


class Replicated(DerivedData):
    """Replaying, installing and repairing records; the log's position and upkeep."""

    # -- reads --------------------------------------------------------------------------
    def position(self) -> int:
        """How far this store has the log: the newest entry's id, or the floor when that is
        higher (a mirror loaded from a dump taken at position *T* has everything up to *T*
        without the entries; :meth:`install_page`)."""
        self._check_open()
        try:
            with self._reading():
                return max(self._last_txn_id(), _floor(self._read_meta(META_FLOOR)))
        except self.driver_errors as exc:
            self._fail("reading the transaction log", exc)

    def oldest_txn_id(self) -> int:
        """The id of the oldest log entry still kept; 0 when the log is empty."""
        self._check_open()
        try:
            return self._oldest_txn_id()
        except self.driver_errors as exc:
            self._fail("reading the transaction log", exc)

    def get_meta(self, name: str) -> str | None:
        """A metadata value kept for another subsystem (e.g. replication state); ``None``
        when unset.

        :raises ValueError: ``name`` is one the store keeps for itself (``schema…``, the
            index's, the back-fill's and the log floor's).
        """
        _check_meta_name(name)
        self._check_open()
        try:
            return self._read_meta(name)
        except self.driver_errors as exc:
            self._fail("reading metadata", exc)

    # -- replication ----------------------------------------------------------------------
    def replicate(self, txns: Sequence[Txn]) -> int:
        """Apply a primary's log entries (ascending ids) in one transaction, and append each
        to this store's log as it is: same id, timestamp, op, key, handle and values.

        Entries up to :meth:`position` are skipped, so a batch may be delivered again. A
        record entry (create, add, modify, remove) replaces the record with exactly its
        values (the after-image); delete drops the record if there is one; home and unhome
        set the prefix's state. Nothing is checked against this store's records: the primary
        already applied the rules.

        :returns: the new :meth:`position`.
        :raises StorageError: an id not greater than the one before it in ``txns``, an
            entry that is not a valid write (nothing is applied), or a failed commit.
        """
        for before, txn in pairwise(txns):
            if txn.txn_id <= before.txn_id:
                raise StorageError(reason=f"replicated txn ids not increasing: {txn.txn_id} "
                                          f"after {before.txn_id}")
        with self._write_lock:
            self._check_open()
            try:
                with self._writing():
                    position = self._write_position()
                    start = position
                    for txn in txns:
                        if txn.txn_id <= position:
                            continue
                        self._replay(txn)
                        self._copy_txn(txn)
                        position = txn.txn_id
                    if position > start:
                        self._reserve_txn_ids(position)
                return position
            except StorageError:
                raise
            except self.driver_errors as exc:
                self._fail("replicating", exc)

    def _replay(self, txn: Txn) -> None:
        if txn.op in _RECORD_OPS:
            try:
                record = checked_record(Record(txn.handle, txn.key, txn.values))
            except ValueError as exc:
                raise StorageError(reason=f"txn {txn.txn_id}: {exc}") from None
            self._replace(record, self._load(record.key))
        elif txn.op == OP_DELETE:
            dropped = self._drop(txn.key)
            if dropped is not None:
                self._forget(dropped)
        elif txn.op in (OP_HOME, OP_UNHOME):
            try:
                bare = normalise_prefix(txn.key)
            except InvalidHandle as exc:
                raise StorageError(reason=f"txn {txn.txn_id}: {exc}") from None
            self._set_homed(bare, txn.op == OP_HOME)
        else:
            raise StorageError(reason=f"txn {txn.txn_id}: unknown op {txn.op!r}")

    def install_page(self, records: Sequence[Record], *, after: str, through: str | None,
                     homed: Sequence[str] | None = None, floor: int | None = None) -> None:
        """Install one page of a dump, in one transaction and without logging it: afterwards
        the records with ``after < key <= through`` are exactly ``records`` (local ones in
        that range that are not among them are deleted). Takes time in proportion to the
        page and to the local records in its range, not to the store.

        :param through: the page's last key; ``None``: to the end of the key space.
        :param homed: when given, the whole set of homed prefixes (bare or ``0.NA/`` form).
        :param floor: when given, the log's floor: the position the dump was taken at
            (:meth:`position`); later local writes and :meth:`replicate` get larger ids.
        :raises ValueError: a record outside the range, a record that is not valid, a
            negative floor, or ``through < after``.
        :raises InvalidHandle: a homed prefix that is not a prefix.
        """
        if through is not None and through < after:
            raise ValueError(f"page range ({after!r}, {through!r}] is empty backwards")
        if floor is not None and floor < 0:
            raise ValueError(f"negative txn floor {floor}")
        page: dict[str, Record] = {}
        for given in records:
            record = checked_record(given)
            if record.key <= after or (through is not None and record.key > through):
                raise ValueError(f"{record.key!r} lies outside the page ({after!r}, "
                                 f"{through!r}]")
            page[record.key] = record
        bare = None if homed is None else {normalise_prefix(prefix) for prefix in homed}
        with self._write_lock:
            self._check_open()
            try:
                with self._writing():
                    local = {record.key: record for record in self._load_range(after, through)}
                    for key in local.keys() - page.keys():
                        dropped = self._drop(key)
                        if dropped is not None:
                            self._forget(dropped)
                    for key, record in page.items():
                        self._replace(record, local.get(key))
                    if bare is not None:
                        self._replace_homed(bare)
                    if floor is not None:
                        self._set_meta(META_FLOOR, str(floor))
                        self._reserve_txn_ids(floor)
            except self.driver_errors as exc:
                self._fail("installing a page", exc)

    def install(self, records: Mapping[str, Record | None]) -> None:
        """Repair the records of some keys, in one transaction and without logging it: each
        key gets its record, or is deleted where it maps to ``None``.

        :raises ValueError: a record that is not valid or not stored under its own key.
        """
        wanted: dict[str, Record | None] = {}
        for key, given in records.items():
            record = None if given is None else checked_record(given)
            if record is not None and record.key != key:
                raise ValueError(f"record {record.key!r} given for key {key!r}")
            wanted[key] = record
        with self._write_lock:
            self._check_open()
            try:
                with self._writing():
                    for key, record in wanted.items():
                        if record is not None:
                            self._replace(record, self._load(key))
                            continue
                        dropped = self._drop(key)
                        if dropped is not None:
                            self._forget(dropped)
            except self.driver_errors as exc:
                self._fail("installing records", exc)

    # -- the log's upkeep ---------------------------------------------------------------
    def _prune_txns(self, before: float, keep: int, batch: int) -> int:
        """:meth:`~idnode.storage.base.Store.prune_txns`, deleting at most ``batch`` entries
        per transaction."""
        if keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        self._check_open()
        deleted, after = 0, 0
        try:
            while True:
                ids = self._prunable_txn_ids(after, self._last_txn_id(), before, batch)
                if not ids:
                    return deleted
                with self._write_lock:
                    self._check_open()
                    with self._writing():
                        # Checked again under the lock: the log may have changed meanwhile.
                        below = self._nth_newest_txn_id(keep)
                        if below is not None:
                            deleted += self._delete_txns(ids, below, before)
                if below is None or len(ids) < batch:
                    return deleted
                after = ids[-1]
        except self.driver_errors as exc:
            self._fail("pruning the transaction log", exc)

    def truncate_txns_after(self, txn_id: int) -> list[Txn]:
        """Delete the log entries with an id greater than ``txn_id`` (a demoted primary's
        divergent tail) and return them, oldest first. The records stay as they are; the
        floor is lowered to ``txn_id`` if it was higher.

        :raises ValueError: ``txn_id`` is negative.
        """
        if txn_id < 0:
            raise ValueError(f"negative txn id {txn_id}")
        with self._write_lock:
            self._check_open()
            try:
                with self._writing():
                    tail = self._cut_txns(txn_id)
                    if _floor(self._meta(META_FLOOR)) > txn_id:
                        self._set_meta(META_FLOOR, str(txn_id))
                return tail
            except self.driver_errors as exc:
                self._fail("truncating the transaction log", exc)

    def set_meta(self, name: str, value: str | None) -> None:
        """Set (``None``: delete) a metadata value for another subsystem, in a transaction
        of its own.

        :raises ValueError: ``name`` is one the store keeps for itself (see
            :meth:`get_meta`).
        """
        _check_meta_name(name)
        with self._write_lock:
            self._check_open()
            try:
                with self._writing():
                    self._set_meta(name, value)
            except self.driver_errors as exc:
                self._fail("writing metadata", exc)

    # -- whole records ------------------------------------------------------------------
    def _replace(self, record: Record, old: Record | None) -> None:
        """Make ``record`` (checked) the stored record, whatever ``old`` was, with the index,
        the count and the digests; only what differs is written."""
        key = record.key
        changed: tuple[HandleValue, ...] = record.values
        removed: list[int] = []
        handle: str | None = record.handle
        if old is not None:
            before = {value.index: value for value in old.values}
            changed = tuple(value for value in record.values
                            if before.get(value.index) != value)
            kept = {value.index for value in record.values}
            removed = [index for index in before if index not in kept]
            handle = None if old.handle == record.handle else record.handle
        if handle is not None or changed or removed:
            self._put(record)
            self._reindex(key, () if old is None else old.values, changed, removed)
        if old is None:
            self._tally(key, 1)
        self._rehash(key, old, record)

    def _replace_homed(self, wanted: set[str]) -> None:
        current = self._load_homed()
        for prefix in sorted(current - wanted):
            self._set_homed(prefix, False)
        for prefix in sorted(wanted - current):
            self._set_homed(prefix, True)

    def _write_position(self) -> int:
        """:meth:`position` as the write transaction sees it."""
        return max(self._newest_txn_id(), _floor(self._meta(META_FLOOR)))
