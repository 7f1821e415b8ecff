"""The import job: validate rows, group them into batches, write each batch in one commit.

What a batch's rows become, and how they are checked and written, is :mod:`.lane`'s. This
module runs the lanes and keeps the job's promises: batches commit in file order, their
bad rows and conflicts are reported in row order, and a checkpoint is taken only after its
batch (and every one before) has committed.

One lane in this process writes each batch as soon as it is checked. A thread for the
writes does not help: the database driver releases the GIL for each row it steps but must
take it back for the next, so the threads take turns (measured slower: 25,500–26,000
rows/s with one against 27,400–27,500 without). For a large input a second lane runs in a
worker process (:mod:`.worker`) and the two take batches in turn: each checks and prepares
its batch while the other writes, past the GIL (about 41,000 rows/s; the writes, one at a
time, are then the limit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice

from idnode.bulk import limits
from idnode.bulk.lane import ADMIN_INDEX, JobOptions, Lane, Outcome, few_collections
from idnode.bulk.report import Report
from idnode.bulk.source import RawRecord, Row, Rows
from idnode.bulk.worker import Worker, can_serve
from idnode.storage import Store
from idnode.templates import Template

__all__ = ["ADMIN_INDEX", "Counts", "ImportJob", "JobOptions"]


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


#: called after each committed batch with (byte offset after it, its last row number)
OnBatch = Callable[[int, int], None]


def _row_batches(rows: Iterable[Row], size: int) -> Iterator[Iterable[Row]]:
    """``rows`` in batches of ``size``, until one is empty. Of :class:`Rows`, each batch is
    parsed at once (:meth:`~.source.Parser.rows`: faster than row by row)."""
    if isinstance(rows, Rows):
        yield from map(rows.parser.rows, rows.batches(size))
        return
    it = iter(rows)
    while True:
        yield islice(it, size)


class ImportJob:
    def __init__(self, store: Store, template: Template, options: JobOptions, report: Report,
                 on_batch: OnBatch, counts: Counts | None = None) -> None:
        self.store, self.template, self.options = store, template, options
        self.report, self.on_batch = report, on_batch
        self.counts = counts or Counts()
        #: raises ImportRefused before any row when a unique item's type is not indexed
        self.lane = Lane(store, template, options)

    def run(self, rows: Iterable[Row]) -> Counts:
        """Import ``rows`` (with a worker process when they are :class:`Rows` of a large
        input and its batches need nothing of each other; see :meth:`_split`)."""
        try:
            with few_collections():
                if isinstance(rows, Rows) and self._split(rows.remaining):
                    self._run_split(rows)
                else:
                    self._run_here(rows)
            self.lane.finish()
        finally:
            self.lane.registry.close()
        return self.counts

    def _run_here(self, rows: Iterable[Row]) -> None:
        lane = self.lane
        for some in _row_batches(rows, self.options.batch):
            batch = lane.read(some)  # bad rows count too: checkpoints keep coming
            if not batch.read:
                return
            lane.seal(batch)
            self._settle(lane.write(batch), batch.end, batch.last_row)
            lane.tidy()

    def _split(self, remaining: int) -> bool:
        """A worker process pays for a large input that it can share. Not for a dry run
        (nothing is written to overlap), nor for templates with unique or reference items:
        a batch's checks then depend on the rows of the batch before, which the other
        process holds."""
        return remaining >= limits.SPLIT_BYTES and not self.options.dry_run and \
            not self.lane.registry.active and can_serve(self.store, self.options)

    def _run_split(self, rows: Rows) -> None:
        """Batches alternate between this process's lane (the first, third, …) and the
        worker's. In each round this lane checks and prepares its batch while the worker
        writes the one before; once that has committed, the worker is handed the next batch
        to check and prepare while this lane writes."""
        lane, parse = self.lane, rows.parser.rows
        chunks = rows.batches(self.options.batch)
        worker = Worker(self.store, self.template, self.options, rows.parser)
        try:
            theirs: list[RawRecord] | None = None  # the worker's batch being written
            for own in chunks:
                batch = lane.read(parse(own))
                lane.seal(batch)
                following = next(chunks, None)
                before = None if theirs is None else worker.outcome()
                if following is not None:
                    worker.batch(following)
                try:
                    written = lane.write(batch)
                except BaseException:
                    if before is not None and theirs is not None:  # committed: kept
                        self._settle(before, theirs[-1][1], theirs[-1][0])
                    raise
                if following is not None:
                    worker.turn()
                # counted and checkpointed (a file written and synced) once the worker may
                # write: a checkpoint never runs ahead of a commit, nor holds one up
                if before is not None and theirs is not None:
                    self._settle(before, theirs[-1][1], theirs[-1][0])
                self._settle(written, batch.end, batch.last_row)
                lane.tidy()
                theirs = following
            if theirs is not None:
                self._settle(worker.outcome(), theirs[-1][1], theirs[-1][0])
        finally:
            worker.close()

    def _settle(self, outcome: Outcome, end: int, last_row: int) -> None:
        """Count a committed batch, report its rows in row order, take its checkpoint."""
        counts = self.counts
        counts.rows += outcome.read
        counts.created += outcome.created
        counts.unchanged += outcome.unchanged
        counts.overwritten += outcome.overwritten
        for number, handle, reasons, conflict in sorted(outcome.problems,
                                                        key=lambda problem: problem[0]):
            if conflict:
                counts.conflicts += 1
            else:
                counts.bad += 1
            self.report.add(number, handle, reasons)
        self.on_batch(end, last_row)
