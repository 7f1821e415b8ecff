"""The import job: validate rows, group them into batches, write each batch in one commit.

A record holds what the SNMS API would register for the row: the template check's values
(2000 and up), TEMPLATE_ID (1000) and TEMPLATE (1001) built as the API builds them
(:mod:`idnode.templates.records`), and an HS_ADMIN at 100. Unique (唯一) items and references
are checked as the API checks them (:mod:`.registry`).

Per row the cost is one :func:`idnode.templates.validate` call and a tuple compare (plus, for
templates with unique or reference items only, an index lookup per unique value and a read
per referenced identifier); per batch one snapshot read of the existing records
(:meth:`Store.get_records`) and one :meth:`Store.apply` of ``CreateHandle`` operations (group
commit; new records are written as one run, see :mod:`idnode.storage.creates`). Existing
records are compared without timestamps, so re-importing the same data counts as done. A
batch is written on a thread of its own while the next is read and checked; outcomes and
checkpoints stay in order.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from idnode.bulk.limits import DEFAULT_BATCH
from idnode.bulk.registry import Registry, Unchecked
from idnode.bulk.report import Report
from idnode.bulk.source import Row
from idnode.errors import HandleExists, RegistryError, TemplateViolation
from idnode.identifiers.handle import Handle, handle_key, prefix_handle
from idnode.identifiers.value import HandleValue, Reference
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.storage import CreateHandle, Store
from idnode.storage.creates import Prepared
from idnode.templates import Template, cited_version, template_values, validate

__all__ = ["ADMIN_INDEX", "Counts", "ImportJob", "JobOptions"]

#: IDIS convention: the record's administrator at index 100
ADMIN_INDEX = 100
_DEFAULT_ADMIN_INDEX = 200

_Shape = tuple[tuple[int, str, bytes, int, int, int, tuple[Reference, ...]], ...]


@dataclass(slots=True)
class Counts:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    overwritten: int = 0
    conflicts: int = 0
    bad: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class JobOptions:
    batch: int = DEFAULT_BATCH
    dry_run: bool = False
    overwrite: bool = False
    #: ``(index, handle)`` of the administrator; None: the prefix handle's HS_ADMIN
    admin: tuple[int, str] | None = None


#: called after each committed batch with (byte offset after it, its last row number)
OnBatch = Callable[[int, int], None]


@dataclass(slots=True)
class _Pending:
    rows: list[tuple[Row, Handle, list[HandleValue]]] = field(default_factory=list)
    #: rows that failed their checks, reported with the batch's other outcomes
    bad: list[tuple[int, str, list[str]]] = field(default_factory=list)
    #: the node's values (HS_ADMIN, TEMPLATE_ID, TEMPLATE) of each prefix in the batch,
    #: stamped when it is sealed
    node: dict[str, tuple[HandleValue, ...]] = field(default_factory=dict)
    #: one create per row of ``rows``, and what the store works out for each beforehand
    ops: list[CreateHandle] = field(default_factory=list)
    prepared: list[Prepared | RegistryError | None] = field(default_factory=list)
    read: int = 0
    end: int = 0
    last_row: int = 0


@dataclass(slots=True)
class _Outcome:
    """What writing one batch did, handed back to the reading thread."""

    created: int = 0
    unchanged: int = 0
    overwritten: int = 0
    #: (row number, handle, reasons, whether a conflict rather than a bad row)
    problems: list[tuple[int, str, list[str], bool]] = field(default_factory=list)


def _shape(values: Iterable[HandleValue]) -> _Shape:
    return tuple(sorted((v.index, v.type, v.data, v.ttl_type, v.ttl, v.permissions,
                         v.references) for v in values))


class ImportJob:
    def __init__(self, store: Store, template: Template, options: JobOptions, report: Report,
                 on_batch: OnBatch, counts: Counts | None = None) -> None:
        self.store, self.template, self.options = store, template, options
        self.report, self.on_batch = report, on_batch
        self.counts = counts or Counts()
        self._homed: dict[str, bool] = {}
        self._node: dict[str, tuple[HandleValue, ...]] = {}
        #: raises ImportRefused before any row when a unique item's type is not indexed
        self.registry = Registry(store, template, keep_all=options.dry_run)

    def run(self, rows: Iterable[Row]) -> Counts:
        """Import ``rows``. Batches are written on a thread of their own while the next one is
        read and checked; each batch's outcome is reported, and its checkpoint taken, in
        order. (Only the database's own work overlaps the checking: the drivers release the
        GIL per row stepped. Measured, that gains little; see docs/benchmarks.md.)"""
        size = self.options.batch
        with concurrent.futures.ThreadPoolExecutor(1, "idnode-import") as writer:
            inflight: tuple[_Pending, concurrent.futures.Future[_Outcome]] | None = None
            pending = _Pending()
            for row in rows:
                self.counts.rows += 1
                pending.read += 1
                pending.end, pending.last_row = row.end, row.number
                checked = self._check(row)
                if isinstance(checked, list):
                    pending.bad.append((row.number, row.handle, checked))
                else:
                    pending.rows.append((row, *checked))
                    prefix = checked[0].home_prefix
                    if prefix not in pending.node:
                        pending.node[prefix] = self._node_values(checked[0])
                if pending.read >= size:  # bad rows count too: checkpoints keep coming
                    self._seal(pending)
                    self._settle(inflight)
                    inflight = pending, writer.submit(self._write, pending)
                    pending = _Pending()
            if pending.read:
                self._seal(pending)
            self._settle(inflight)
            if pending.read:
                self._settle((pending, writer.submit(self._write, pending)))
        return self.counts

    def _settle(self, inflight: tuple[_Pending, concurrent.futures.Future[_Outcome]] | None,
                ) -> None:
        """Wait for a batch's write; report its rows in row order; take its checkpoint."""
        if inflight is None:
            return
        pending, future = inflight
        outcome = future.result()  # a storage failure surfaces here, before any checkpoint
        counts = self.counts
        counts.created += outcome.created
        counts.unchanged += outcome.unchanged
        counts.overwritten += outcome.overwritten
        problems = [(number, handle, reasons, False) for number, handle, reasons in pending.bad]
        problems.extend(outcome.problems)
        problems.sort(key=lambda problem: problem[0])
        for number, handle, reasons, conflict in problems:
            if conflict:
                counts.conflicts += 1
            else:
                counts.bad += 1
            self.report.add(number, handle, reasons)
        self.on_batch(pending.end, pending.last_row)

    # -- one row ----------------------------------------------------------------------
    def _check(self, row: Row) -> tuple[Handle, list[HandleValue]] | list[str]:
        """The handle and values to store, or the reasons the row is bad."""
        if row.problem is not None:
            return [row.problem]
        try:
            handle = Handle.parse(row.handle)
        except RegistryError as exc:
            return [f"handle: {exc}"]
        if handle.is_prefix_handle:
            return ["handle: prefix handles (0.NA/…) are not imported"]
        if not self._is_homed(handle.home_prefix):
            return [f"handle: prefix {handle.prefix} is not homed in this node's store"]
        registry = self.registry
        if not registry.active:
            try:
                return handle, validate(self.template, row.data)
            except TemplateViolation as exc:
                return exc.problems
        try:
            values = registry.validate(handle, row.data)
        except TemplateViolation as exc:
            return exc.problems
        except Unchecked as exc:
            return [str(exc)]
        registry.accept(handle, row.number, values)
        return handle, values

    def _is_homed(self, prefix: str) -> bool:
        homed = self._homed.get(prefix)
        if homed is None:
            homed = self._homed[prefix] = self.store.is_homed(prefix)
        return homed

    def _node_values(self, handle: Handle) -> tuple[HandleValue, ...]:
        """HS_ADMIN, TEMPLATE_ID and TEMPLATE of records under ``handle``'s home prefix."""
        prefix = handle.home_prefix
        values = self._node.get(prefix)
        if values is None:
            version = cited_version(self.template, handle.prefix)
            values = self._node[prefix] = (
                HandleValue(ADMIN_INDEX, "HS_ADMIN", self._admin_data(prefix)),
                *template_values(self.registry.template_id, version))
        return values

    def _admin_data(self, prefix: str) -> bytes:
        if self.options.admin is not None:
            index, admin = self.options.admin
            return AdminData(ALL_PERMISSIONS, admin, index).to_bytes()
        record = self.store.get_record(handle_key(prefix_handle(prefix)))
        for value in record.values if record is not None else ():
            if value.type == "HS_ADMIN":
                return value.data  # the prefix's own administrator (group) administers it
        return AdminData(ALL_PERMISSIONS, f"{prefix}/ADMIN", _DEFAULT_ADMIN_INDEX).to_bytes()

    # -- one batch ----------------------------------------------------------------------
    def _seal(self, pending: _Pending) -> None:
        """On the reading thread: stamp the batch's values and let the store work out its
        creates, so that the writing thread only decides and writes."""
        self.registry.sealed()
        stamp = int(time.time())
        node = {prefix: tuple(v.with_timestamp(stamp) for v in values)
                for prefix, values in pending.node.items()}
        ops = pending.ops
        for _, handle, values in pending.rows:
            for value in values:
                # fresh objects from validate(), seen by no one else: stamping them in
                # place saves re-running HandleValue's checks on every value
                object.__setattr__(value, "timestamp", stamp)
            ops.append(CreateHandle(handle, (*node[handle.home_prefix], *values)))
        if not self.options.dry_run:
            pending.prepared = self.store.prepare_creates(ops)

    def _write(self, pending: _Pending) -> _Outcome:
        """On the writing thread: compare with what is stored, then one group commit."""
        outcome = _Outcome()
        existing = self.store.get_records([op.handle.key for op in pending.ops])
        ops: list[CreateHandle] = []
        prepared: list[Prepared | RegistryError | None] = []
        owners: list[Row] = []
        seen: dict[str, tuple[CreateHandle, int]] = {}

        def conflict(row: Row, reason: str) -> None:
            outcome.problems.append((row.number, row.handle, [f"conflict: {reason}"], True))

        for n, ((row, _, _), op) in enumerate(zip(pending.rows, pending.ops, strict=True)):
            key = op.handle.key
            first = seen.get(key)
            if first is not None:
                if _shape(first[0].values) == _shape(op.values):
                    outcome.unchanged += 1
                else:
                    conflict(row, f"given again with other values (first in row {first[1]})")
                continue
            seen[key] = (op, row.number)
            old = existing.get(key)
            if old is None:
                ops.append(op)
                prepared.append(pending.prepared[n] if pending.prepared else None)
            elif _shape(old.values) == _shape(op.values):
                outcome.unchanged += 1
                continue
            elif not self.options.overwrite:
                conflict(row, "exists with other values (use --overwrite to replace)")
                continue
            else:
                ops.append(CreateHandle(op.handle, op.values, overwrite=True))
                prepared.append(None)
            owners.append(row)
        results = [] if self.options.dry_run else self.store.apply(ops, prepared)
        for n, (op, row) in enumerate(zip(ops, owners, strict=True)):
            result = results[n] if results else None
            if isinstance(result, HandleExists):
                conflict(row, "created by someone else during the import")
            elif isinstance(result, RegistryError):
                outcome.problems.append((row.number, row.handle, [str(result)], False))
            elif op.overwrite:
                outcome.overwritten += 1
            else:
                outcome.created += 1
        return outcome
