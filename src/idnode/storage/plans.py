"""Runs of new records planned whole before their transaction.

A run of creates (:mod:`.creates`) still works out, inside the write transaction, which
records it writes and what that does to the digests, the counts and the log. Planned, a
group of new records of distinct handles has all of that made beforehand (:class:`RunPlan`),
outside the database's write lock: the write then checks that none of the handles exists
and hands the database the rows. The bulk importer plans one batch in one process while
another process writes the batch before, so only the database's own work is serialised.

Two ways in:

- :meth:`PlannedRuns.plan_run` plans creates already prepared (:meth:`prepare_creates`) for
  :meth:`~idnode.storage.base.Store.apply`, which returns the plan's results when it holds
  and otherwise runs the creates as :mod:`.creates` does (the SNMS batch API).
- :meth:`PlannedRuns.plan_new` plans records given as encoded values, with no
  :class:`~idnode.identifiers.value.HandleValue` made for them (the importer, whose template
  check makes the values' wire forms directly); :meth:`PlannedRuns.create_new` writes those
  whose handles do not exist and names the others.

Either way the result equals the same creates run one by one (the tests compare them).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from typing import NamedTuple

from idnode.errors import RegistryError, StorageError, TooManyValues
from idnode.identifiers.handle import ascii_upper
from idnode.storage.contract import decode_value_list
from idnode.storage.core import prefix_of
from idnode.storage.creates import Prepared, RunCreates, new_record
from idnode.storage.digest import hashes_and_buckets
from idnode.storage.index import IndexEntry, index_entries
from idnode.storage.ops import OP_CREATE, WriteOp, WriteResult

__all__ = ["PlannedRow", "PlannedRuns", "RunPlan"]

#: a new record as planned: key, handle text, values encoded (``encode_values``, in index
#: order)
PlannedRow = tuple[str, str, bytes]


class RunPlan(NamedTuple):
    """New records of distinct handles worked out before their transaction: everything the
    write does when none of the handles exists yet. A plan is written once, by the store
    object that made it (``backend`` is that store's own)."""

    keys: list[str]
    rows: list[PlannedRow]
    entries: list[tuple[str, list[IndexEntry]]]
    #: the record hashes as the digests log them: (bucket, key, hash), in order
    hashes: list[tuple[int, str, bytes]]
    #: bucket → [XOR of its new hashes, how many]
    deltas: dict[int, list[int]]
    counts: list[tuple[str, int]]
    #: one result per create when all are created (plans of prepared creates only)
    results: list[WriteResult] | None
    #: what the backend made of the rows beforehand (:meth:`PlannedRuns._plan_rows`)
    backend: object


class PlannedRuns(RunCreates):
    """Plans runs of new records outside the write lock, and writes them."""

    def plan_run(self, ops: Sequence[WriteOp],
                 prepared: Sequence[Prepared | RegistryError | None]) -> RunPlan | None:
        """Plan ``ops`` as one run, given their :meth:`prepare_creates`; None unless all are
        plain creates of distinct handles whose values passed their checks. Hand the plan
        to :meth:`apply` with the same ``ops`` and ``prepared``."""
        items = [item for item in prepared if type(item) is Prepared]
        if len(items) != len(ops) or len(ops) < 2:
            return None
        keys = [item.key for item in items]
        if len(set(keys)) != len(keys):
            return None
        return self._plan(keys, [(item.key, item.text, item.encoded) for item in items],
                          [(item.bucket, item.key, item.digest) for item in items],
                          [(item.key, item.entries) for item in items if item.entries],
                          [new_record(item.text, item.key, item.values) for item in items])

    def plan_new(self, records: Sequence[PlannedRow], types: Collection[str]) -> RunPlan:
        """Plan new records ``(key, handle text, encoded values)`` for :meth:`create_new`.

        The caller vouches for what a create would check: the handles are valid and
        distinct, and the values valid and encoded in index order, as a template check
        makes them. ``types``: the types the values may have (their index entries are
        worked out only when one of them is indexed).

        :raises ValueError: a handle given twice.
        :raises TooManyValues: a record holds more values than this store keeps (check
            against ``max_values`` first).
        """
        keys = [key for key, _, _ in records]
        if len(set(keys)) != len(keys):
            raise ValueError("a planned run names a handle twice")
        limit = self.max_values
        most = max((int.from_bytes(encoded[:4], "big") for _, _, encoded in records), default=0)
        if most > limit:
            raise TooManyValues(count=most, limit=limit)
        hashes = hashes_and_buckets(records)
        entries: list[tuple[str, list[IndexEntry]]] = []
        indexed = self.index_types
        if any(ascii_upper(kind) in indexed for kind in types):
            for key, _, encoded in records:
                found = index_entries(key, decode_value_list(key, encoded), indexed)
                if found:
                    entries.append((key, found))
        return self._plan(keys, list(records), hashes, entries, None)

    def create_new(self, plan: RunPlan) -> list[int]:
        """Write the records of :meth:`plan_new`'s ``plan`` in one transaction, except those
        whose handles exist; their positions in the plan are returned (nothing of them is
        written).

        :raises StorageError: the transaction could not be committed; nothing was written.
        """
        with self._write_lock:
            self._check_open()
            try:
                with self._writing():
                    existing = self._insert_planned(plan)
                    clashed = [n for n, key in enumerate(plan.keys) if key in existing] \
                        if existing else []
                    if clashed:  # nothing written: the others, planned again
                        plan = self._without(plan, existing)
                        if plan.keys and self._insert_planned(plan):  # under the lock: never
                            raise StorageError(reason="a handle was created inside the "
                                                      "write transaction of a planned run")
                    if plan.keys:
                        self._finish_run_plan(plan)
                return clashed
            except StorageError:
                raise
            except self.driver_errors as exc:
                self._fail("writing", exc)

    # -- inside the write transaction ---------------------------------------------------
    def _planned_run(self, ops: Sequence[WriteOp],
                     prepared: Sequence[Prepared | RegistryError | None],
                     plan: RunPlan) -> list[WriteResult]:
        """Write the planned ``ops``: as planned when none of their handles exists (the
        plan's own results list is returned), else one by one as :meth:`_create_run` does."""
        if plan.results is None:
            raise ValueError("a plan of encoded records goes to create_new(), not apply()")
        if self._insert_planned(plan):  # nothing written
            return self._create_run(ops, prepared)
        self._finish_run_plan(plan)
        return plan.results

    def _finish_run_plan(self, plan: RunPlan) -> None:
        """All but the records of a planned run, once they are written."""
        pending = self._buffered()
        pending.counts.extend(plan.counts)
        pending.planned.append((plan.hashes, plan.deltas))
        self._log_planned(plan, time.time())
        if plan.entries:
            self._index_many(plan.entries)

    # -- backends -----------------------------------------------------------------------
    def _plan_rows(self, rows: Sequence[PlannedRow]) -> object:
        """What a backend makes of a planned run's rows before the transaction (a log
        entry's encoding, say); :meth:`_log_planned` gets it back."""
        return None

    def _insert_planned(self, plan: RunPlan) -> set[str]:
        """Write a planned run's records if none of their handles exists (and return an
        empty set), else write nothing and return the keys that exist. By default through
        the run methods, with the values decoded; SQL backends override this and
        :meth:`_log_planned` to write the encoded rows as they are."""
        existing = self._existing_keys(plan.keys)
        if not existing:
            self._insert_records([(key, text, decode_value_list(key, encoded), encoded)
                                  for key, text, encoded in plan.rows])
        return existing

    def _log_planned(self, plan: RunPlan, timestamp: float) -> None:
        """Log a planned run's records, written by :meth:`_insert_planned`."""
        self._append_txns([(timestamp, OP_CREATE, key, text, decode_value_list(key, encoded),
                            encoded) for key, text, encoded in plan.rows])

    # -- making plans ---------------------------------------------------------------------
    def _plan(self, keys: list[str], rows: list[PlannedRow], hashes: list[tuple[int, str, bytes]],
              entries: list[tuple[str, list[IndexEntry]]],
              results: list[WriteResult] | None) -> RunPlan:
        deltas: dict[int, list[int]] = {}
        for bucket, _, digest in hashes:
            pending = deltas.get(bucket)
            if pending is None:
                deltas[bucket] = [int.from_bytes(digest, "big"), 1]
            else:
                pending[0] ^= int.from_bytes(digest, "big")
                pending[1] += 1
        counts: dict[str, int] = {}
        prefix, length = "", 0
        for key in keys:  # runs are mostly of one prefix: compare, rather than split, each
            if key[length:length + 1] != "/" or not key.startswith(prefix):
                prefix = prefix_of(key)
                length = len(prefix)
            counts[prefix] = counts.get(prefix, 0) + 1
        return RunPlan(keys, rows, entries, hashes, deltas, list(counts.items()), results,
                       self._plan_rows(rows))

    def _without(self, plan: RunPlan, existing: Collection[str]) -> RunPlan:
        """``plan`` without the records of ``existing`` keys (planned again: rare)."""
        kept = [n for n, key in enumerate(plan.keys) if key not in existing]
        return self._plan([plan.keys[n] for n in kept], [plan.rows[n] for n in kept],
                          [plan.hashes[n] for n in kept],
                          [entry for entry in plan.entries if entry[0] not in existing],
                          None if plan.results is None else [plan.results[n] for n in kept])
