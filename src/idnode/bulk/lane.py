"""One lane of an import: check a batch's rows, stamp and prepare its creates, write it.

A record holds what the SNMS API would register for the row: the template check's values
(2000 and up), TEMPLATE_ID (1000) and TEMPLATE (1001) built as the API builds them
(:mod:`idnode.templates.records`), and an HS_ADMIN at 100. Unique (唯一) items and references
are checked as the API checks them (:mod:`.registry`).

Per row the cost is one template check (the compiled fast path,
:mod:`idnode.templates.compiled`, which makes the values' wire forms) and a handle split (the
prefix's key, homing and shared values are worked out once per prefix); per batch one plan
of new records made before the write (:mod:`idnode.storage.plans`) and one group commit.
Handles found stored are then read and compared without timestamps, so re-importing the
same data counts as done. A dry run, a batch that names a handle twice and a template with
unique or reference items go through :meth:`Store.apply` of ``CreateHandle`` operations
instead (a dry run and a repeated handle read first).

A lane holds no state about other batches beyond caches of what the store answered, so the
import can run a second lane in a worker process (:mod:`.worker`) as long as batches are
written in order.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter

from idnode.bulk.limits import DEFAULT_BATCH
from idnode.bulk.registry import Registry, Unchecked
from idnode.bulk.source import Row
from idnode.errors import HandleExists, RegistryError, TemplateViolation, TooManyValues
from idnode.identifiers.handle import Handle, handle_key, prefix_handle
from idnode.identifiers.value import HandleValue, Reference
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.protocol.constants import MAX_HANDLE_LENGTH
from idnode.storage import CreateHandle, Store, WriteResult
from idnode.storage.contract import decode_value_list
from idnode.storage.core import check_utf8
from idnode.storage.creates import Prepared
from idnode.storage.plans import RunPlan
from idnode.templates import Template, cited_version, template_values, validate
from idnode.templates.compiled import compiled

__all__ = ["ADMIN_INDEX", "Batch", "JobOptions", "Lane", "Outcome", "Problem",
           "few_collections"]

#: IDIS convention: the record's administrator at index 100
ADMIN_INDEX = 100
_DEFAULT_ADMIN_INDEX = 200
#: allocations between collections of the young generation while importing (default 700)
_GC_YOUNG = 100_000
#: handles up to this many characters cannot exceed Handle.parse's limit in bytes (UTF-8
#: takes at most 4 a character)
_SHORT_HANDLE = MAX_HANDLE_LENGTH // 4

_by_index = attrgetter("index")
_Shape = tuple[tuple[int, str, bytes, int, int, int, tuple[Reference, ...]], ...]
#: (row number, handle, reasons, whether a conflict rather than a bad row)
Problem = tuple[int, str, list[str], bool]

# stamping values made for this batch in place skips HandleValue's checks on every value
_set_timestamp = HandleValue.__dict__["timestamp"].__set__
_new = object.__new__
_set_text, _set_key = (Handle.__dict__[name].__set__ for name in ("text", "key"))
_set_handle, _set_values, _set_overwrite, _set_expect = (
    CreateHandle.__dict__[name].__set__ for name in ("handle", "values", "overwrite", "expect"))


def _handle(text: str, key: str) -> Handle:
    """``Handle(text, key)`` in half the time (it checks nothing; a frozen dataclass's
    __init__ sets each field the slow way)."""
    handle: Handle = _new(Handle)
    _set_text(handle, text)
    _set_key(handle, key)
    return handle


def _create(handle: Handle, values: tuple[HandleValue, ...]) -> CreateHandle:
    """``CreateHandle(handle, values)`` in half the time: its only check (``values`` made a
    tuple) holds here."""
    op: CreateHandle = _new(CreateHandle)
    _set_handle(op, handle)
    _set_values(op, values)
    _set_overwrite(op, False)
    _set_expect(op, None)
    return op


@dataclass(frozen=True, slots=True)
class JobOptions:
    batch: int = DEFAULT_BATCH
    dry_run: bool = False
    overwrite: bool = False
    #: ``(index, handle)`` of the administrator; None: the prefix handle's HS_ADMIN
    admin: tuple[int, str] | None = None
    #: the node home's unique-value claims file (:mod:`idnode.templates.claims`), shared
    #: with its serving workers; None: claims stay within the import
    claims: str | None = None
    #: the store's URL with its password (a worker process opens the store with it)
    url: str | None = None


#: a good row: the row, its handle text and key, its home prefix, the values the template
#: check gave (stamped; None when only their wire forms were made), those wire forms joined
#: in index order when made, and how many values there are
_Good = tuple[Row, str, str, str, list[HandleValue] | None, bytes | None, int]


@dataclass(slots=True)
class Batch:
    """One batch's rows: read, checked and stamped, then planned or prepared
    (:meth:`Lane.seal`)."""

    rows: list[_Good] = field(default_factory=list)
    #: rows that failed their checks, reported with the batch's other outcomes
    bad: list[tuple[int, str, list[str]]] = field(default_factory=list)
    #: the usual batch: its records planned as one run of new records (.storage.plans),
    #: and each planned record's row
    plan: RunPlan | None = None
    owners: list[Row] = field(default_factory=list)
    #: otherwise one create per row of ``rows``, and what the store works out for each
    #: beforehand
    ops: list[CreateHandle] = field(default_factory=list)
    prepared: list[Prepared | RegistryError | None] = field(default_factory=list)
    read: int = 0
    end: int = 0
    last_row: int = 0
    #: the timestamp of the batch's values (taken when it is read)
    stamp: int = 0


@dataclass(slots=True)
class Outcome:
    """What writing one batch did (plain data: a worker process sends it back)."""

    read: int = 0
    created: int = 0
    unchanged: int = 0
    overwritten: int = 0
    #: bad rows and conflicts, not yet in row order
    problems: list[Problem] = field(default_factory=list)


def _shape(values: Iterable[HandleValue]) -> _Shape:
    return tuple(sorted((v.index, v.type, v.data, v.ttl_type, v.ttl, v.permissions,
                         v.references) for v in values))


@contextmanager
def few_collections() -> Iterator[None]:
    """Run with the cyclic garbage collector's young generation collected only every
    ``_GC_YOUNG`` allocations, and the old ones (almost) never: a batch's rows are thousands
    of containers that live until it is written, so with the default thresholds they are
    promoted and traversed again and again (a third of the import's time, measured). Rows
    make no reference cycles; memory is freed as usual, by reference counting."""
    before = gc.get_threshold()
    gc.set_threshold(_GC_YOUNG, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class Lane:
    def __init__(self, store: Store, template: Template, options: JobOptions) -> None:
        self.store, self.template, self.options = store, template, options
        self._form = compiled(template)
        self._homed: dict[str, bool] = {}
        #: the handle prefix as written → (its key with the slash, its home prefix), for
        #: homed prefixes: later rows of the prefix skip Handle.parse
        self._prefixes: dict[str, tuple[str, str]] = {}
        self._node: dict[str, tuple[HandleValue, ...]] = {}
        #: raises ImportRefused before any row when a unique item's type is not indexed
        self.registry = Registry(store, template, keep_all=options.dry_run,
                                 claims=None if options.dry_run else options.claims)
        if not options.dry_run:
            store.bulk_writes()  # see tidy()

    # -- reading ------------------------------------------------------------------------
    def read(self, rows: Iterable[Row]) -> Batch:
        """Check ``rows``, one batch of them."""
        batch = Batch(stamp=int(time.time()))
        good, bad, check, stamp = batch.rows, batch.bad, self._check, batch.stamp
        prefixes = self._prefixes
        # planned batches need only the values' wire forms (.storage.plans)
        wires_of = self._form.encoded if self._planned else None
        checked_of = self._form.checked
        plain = not self.registry.active
        row: Row | None = None
        for row in rows:
            # inline, the usual row: a prefix seen before (see _check), data plainly right
            text = row.handle
            prefix, _, suffix = text.partition("/")
            known = prefixes.get(prefix)
            if plain and known is not None and suffix and len(text) <= _SHORT_HANDLE and \
                    text.isprintable() and row.problem is None:
                if wires_of is not None:
                    wires = wires_of(row.data, stamp)
                    if wires is not None:
                        good.append((row, text, known[0] + suffix, known[1], None, wires[1],
                                     wires[0]))
                        continue
                else:
                    found = checked_of(row.data, stamp)
                    if found is not None:
                        good.append((row, text, known[0] + suffix, known[1], found[0],
                                     found[1], len(found[0])))
                        continue
            checked = check(row, stamp)
            if isinstance(checked, list):
                bad.append((row.number, text, checked))
            else:
                good.append((row, *checked))
        if row is not None:
            batch.read, batch.end, batch.last_row = len(good) + len(bad), row.end, row.number
        return batch

    @property
    def _planned(self) -> bool:
        """Whether batches are written as planned runs (:meth:`seal`)."""
        return not self.options.dry_run and not self.registry.active

    def _check(self, row: Row, stamp: int,
               ) -> tuple[str, str, str, list[HandleValue], bytes | None, int] | list[str]:
        """The handle's text and key, its home prefix, the values to store (stamped
        ``stamp``), their wire forms if made and their count, or the reasons the row is
        bad."""
        if row.problem is not None:
            return [row.problem]
        text = row.handle
        prefix, _, suffix = text.partition("/")
        known = self._prefixes.get(prefix)
        # what Handle.parse would check, for a prefix already seen: a suffix, the length, no
        # control characters (those are not printable)
        if known is not None and suffix and len(text) <= _SHORT_HANDLE and text.isprintable():
            handle, home = _handle(text, known[0] + suffix), known[1]
        else:
            try:
                handle = Handle.parse(text)
            except RegistryError as exc:
                return [f"handle: {exc}"]
            if handle.is_prefix_handle:
                return ["handle: prefix handles (0.NA/…) are not imported"]
            home = handle.home_prefix
            if not self._is_homed(home):
                return [f"handle: prefix {handle.prefix} is not homed in this node's store"]
            try:
                check_utf8(text)  # a lone surrogate (from JSON) passes Handle.parse
            except RegistryError as exc:
                return [f"handle: {exc}"]
            if home not in self._node:  # what every record under it holds
                self._node[home] = self._node_values(handle)
            self._prefixes[prefix] = (handle.key[:len(prefix) + 1], home)
        registry = self.registry
        if not registry.active:
            found = self._form.checked(row.data, stamp)
            if found is not None:
                return text, handle.key, home, found[0], found[1], len(found[0])
            try:  # not plainly right: the full check decides, and words why
                values = validate(self.template, row.data)
            except TemplateViolation as exc:
                return exc.problems
        else:
            try:
                values = registry.validate(handle, row.data)
            except TemplateViolation as exc:
                return exc.problems
            except Unchecked as exc:
                return [str(exc)]
            registry.accept(handle, row.number, values)
        for value in values:  # fresh from the check, seen by no one else
            _set_timestamp(value, stamp)
        return text, handle.key, home, values, None, len(values)

    def _is_homed(self, prefix: str) -> bool:
        homed = self._homed.get(prefix)
        if homed is None:
            homed = self._homed[prefix] = self.store.is_homed(prefix)
        return homed

    def _node_values(self, handle: Handle) -> tuple[HandleValue, ...]:
        """HS_ADMIN, TEMPLATE_ID and TEMPLATE of records under ``handle``'s home prefix."""
        prefix = handle.home_prefix
        version = cited_version(self.template, handle.prefix)
        return (HandleValue(ADMIN_INDEX, "HS_ADMIN", self._admin_data(prefix)),
                *template_values(self.registry.template_id, version))

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
    def seal(self, batch: Batch) -> None:
        """Plan the batch's records, or make its creates and let the store work them out,
        before the write: in a worker process this overlaps the other lane's write."""
        self.registry.sealed()
        stamp = batch.stamp
        # home → the values every record under it holds, stamped, and their wire forms
        shared: dict[str, tuple[tuple[HandleValue, ...], bytes]] = {}
        for home, common in self._node.items():
            stamped = tuple(value.with_timestamp(stamp) for value in common)
            shared[home] = stamped, b"".join(value.to_wire() for value in stamped)
        if self._planned and self._plan(batch, shared):
            return
        ops, encoded = batch.ops, []
        for _, text, key, home, values, wire, count in batch.rows:
            node, node_wire = shared[home]
            given = values if values is not None else \
                _decoded(key, count.to_bytes(4, "big") + (wire or b""))
            ops.append(_create(_handle(text, key), (*node, *given)))
            # the record's encoding, so the store need not encode each value again (it uses
            # this only if the values are in index order, as the template's 2000s are)
            encoded.append(None if wire is None else b"".join((
                (len(node) + len(given)).to_bytes(4, "big"), node_wire, wire)))
        if not self.options.dry_run:
            batch.prepared = self.store.prepare_creates(ops, encoded)

    def _plan(self, batch: Batch,
              shared: dict[str, tuple[tuple[HandleValue, ...], bytes]]) -> bool:
        """Plan the batch as one run of new records (.storage.plans), each encoded from its
        node values and the wire forms the template check made; False when it names a
        handle twice (it is then written create by create, see :meth:`write`)."""
        records: list[tuple[str, str, bytes]] = []
        owners, bad, limit = batch.owners, batch.bad, self.store.max_values
        for row, text, key, home, values, made, given in batch.rows:
            node, node_wire = shared[home]
            # made by the full check, the values in the order it gave them
            wire = made if made is not None else b"".join(
                value.to_wire() for value in sorted(values or (), key=_by_index))
            count = given + len(node)
            if count > limit:
                bad.append((row.number, text, [str(TooManyValues(count=count, limit=limit))]))
                continue
            records.append((key, text, b"".join((count.to_bytes(4, "big"), node_wire, wire))))
            owners.append(row)
        if len({key for key, _, _ in records}) != len(records):
            del owners[:]
            batch.bad = bad[:len(bad) - (len(batch.rows) - len(records))]
            return False
        types = {item.type for item in self.template.items}
        types.update(value.type for common in self._node.values() for value in common)
        batch.plan = self.store.plan_new(records, types)
        return True

    def write(self, batch: Batch) -> Outcome:
        """Compare with what is stored, then one group commit. The batch written before
        must have committed."""
        outcome = Outcome(batch.read, problems=[(number, handle, reasons, False)
                                                for number, handle, reasons in batch.bad])
        plan = batch.plan
        if plan is not None:
            # The usual batch, planned whole: records whose handles are found stored are
            # not written but compared afterwards, so a batch of new records is not read
            # first.
            clashed = self.store.create_new(plan)
            outcome.created += len(plan.keys) - len(clashed)
            if clashed:
                self._merge([batch.owners[n] for n in clashed],
                            [_create(_handle(text, key), _decoded(key, encoded))
                             for key, text, encoded in (plan.rows[n] for n in clashed)],
                            None, outcome)
            return outcome
        owners = [row for row, *_ in batch.rows]
        keys = [op.handle.key for op in batch.ops]
        if not self.options.dry_run and len(set(keys)) == len(keys):
            # distinct handles: as above, those found stored come back as HandleExists
            clashed = self._apply(batch.ops, batch.prepared, owners, outcome, clashes=True)
            if clashed:
                self._merge([owners[n] for n in clashed], [batch.ops[n] for n in clashed],
                            None, outcome)
            return outcome
        self._merge(owners, batch.ops, batch.prepared, outcome)
        return outcome

    def finish(self) -> None:
        """The job is done: the store's upkeep as after any write (see :meth:`tidy`)."""
        if not self.options.dry_run:
            self.store.end_bulk_writes()

    def tidy(self) -> None:
        """Checkpoint the store after a write, once the other lane may write: the copying of
        the write-ahead log into the database then overlaps that write instead of holding
        it up (measured: about a sixth of a batch's write)."""
        self.store.checkpoint()

    def _merge(self, owners: list[Row], given: list[CreateHandle],
               given_prepared: list[Prepared | RegistryError | None] | None,
               outcome: Outcome) -> None:
        """Write ``given`` creates by what is stored: a record stored with the same values
        is unchanged, with others a conflict (or overwritten with ``--overwrite``); a handle
        given twice counts once."""
        existing = self.store.get_records([op.handle.key for op in given])
        ops: list[CreateHandle] = []
        prepared: list[Prepared | RegistryError | None] = []
        rows: list[Row] = []
        seen: dict[str, tuple[CreateHandle, int]] = {}
        for n, (row, op) in enumerate(zip(owners, given, strict=True)):
            key = op.handle.key
            first = seen.get(key)
            if first is not None:
                if _shape(first[0].values) == _shape(op.values):
                    outcome.unchanged += 1
                else:
                    _conflict(outcome, row, f"given again with other values (first in row "
                                            f"{first[1]})")
                continue
            seen[key] = (op, row.number)
            old = existing.get(key)
            if old is None:
                ops.append(op)
                prepared.append(given_prepared[n] if given_prepared else None)
            elif _shape(old.values) == _shape(op.values):
                outcome.unchanged += 1
                continue
            elif not self.options.overwrite:
                _conflict(outcome, row, "exists with other values (use --overwrite to replace)")
                continue
            else:
                ops.append(CreateHandle(op.handle, op.values, overwrite=True))
                prepared.append(None)
            rows.append(row)
        self._apply(ops, prepared, rows, outcome)

    def _apply(self, ops: list[CreateHandle], prepared: list[Prepared | RegistryError | None],
               owners: list[Row], outcome: Outcome, *, clashes: bool = False) -> list[int]:
        """Write ``ops`` and count what happened (see :meth:`_count`)."""
        results: list[WriteResult] = [None] * len(ops) if self.options.dry_run else \
            self.store.apply(ops, prepared or None)
        return self._count(results, ops, owners, outcome, clashes=clashes)

    @staticmethod
    def _count(results: list[WriteResult], ops: list[CreateHandle], owners: list[Row],
               outcome: Outcome, *, clashes: bool) -> list[int]:
        """Count the results of writing ``ops``. With ``clashes``, creates of handles found
        stored are not counted but returned (their positions in ``ops``), to be compared."""
        clashed: list[int] = []
        for n, (op, row, result) in enumerate(zip(ops, owners, results, strict=True)):
            if isinstance(result, HandleExists):
                if clashes:
                    clashed.append(n)
                else:
                    _conflict(outcome, row, "created by someone else during the import")
            elif isinstance(result, RegistryError):
                outcome.problems.append((row.number, row.handle, [str(result)], False))
            elif op.overwrite:
                outcome.overwritten += 1
            else:
                outcome.created += 1
        return clashed


def _decoded(key: str, encoded: bytes) -> tuple[HandleValue, ...]:
    """The values of a planned record (made here: :class:`StorageError` only if not)."""
    return decode_value_list(key, encoded)


def _conflict(outcome: Outcome, row: Row, reason: str) -> None:
    outcome.problems.append((row.number, row.handle, [f"conflict: {reason}"], True))
