"""The back-fill job: (re)building the reverse index, the handle counts and the digests from
the records.

:class:`Backfill` is the layer of :class:`~idnode.storage.base.Store` (see :mod:`.core`)
that runs the job recorded in ``meta`` (:class:`~idnode.storage.index.IndexJob`, written by
:func:`~idnode.storage.contract.upgrade_meta` or a rebuild) in resumable batches in key
order. :meth:`~idnode.storage.base.Store._finish_open` (on opening) and
:meth:`~idnode.storage.base.Store.rebuild_index` start it, handing down the batch size.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence

from idnode.storage.contract import META_JOB, META_TYPES
from idnode.storage.core import prefix_of
from idnode.storage.derived import DerivedData
from idnode.storage.index import IndexJob, decode_types, encode_types, index_entries
from idnode.storage.ops import Record

__all__ = ["Backfill"]

log = logging.getLogger("idnode.storage")


class Backfill(DerivedData):
    """Runs the back-fill job in batches, sharing it with other processes."""

    def _run_index_jobs(self, *, restart: bool, batch: int) -> None:
        """Run batches of the recorded back-fill until none is left. A new one is started
        when the index was built for other types than :attr:`index_types`, or ``restart``.

        Every batch is one write transaction that reads the job, indexes the next ``batch``
        handles and advances the job, so processes opening the same store at once share the
        work, and a crash loses at most one batch.
        """
        done, began, reported = 0, time.monotonic(), time.monotonic()
        while True:
            with self._write_lock, self._writing():
                job = IndexJob.decode(self._meta(META_JOB))
                if job is not None and job.index and job.types == self.index_types:
                    restart = False  # a job for these types is a rebuild already under way
                if job is None:
                    built = decode_types(self._meta(META_TYPES))
                    if built == self.index_types and not restart:
                        return
                    restart = False
                    job = IndexJob(self.index_types, counts=False)
                    self._clear_index()
                    self._set_meta(META_TYPES, None)
                    log.info("%s: rebuilding the reverse index for %s", self.url,
                             ", ".join(sorted(job.types)) or "no types")
                elif job.index and job.types != self.index_types and not job.counts:
                    log.warning("%s: another process is re-indexing for %s, not %s as "
                                "configured here", self.url, sorted(job.types),
                                sorted(self.index_types))
                    return
                records = self._load_batch(job.after, batch)
                self._backfill(job, records)
                if len(records) < batch:
                    self._set_meta(META_JOB, None)
                    if job.index:
                        self._set_meta(META_TYPES, encode_types(job.types))
                else:
                    self._set_meta(META_JOB,
                                   dataclasses.replace(job, after=records[-1].key).encode())
            done += len(records)
            now = time.monotonic()
            if len(records) < batch:
                log.info("%s: back-fill done: %d handles in %.1f s", self.url, done,
                         now - began)
            elif now - reported >= 5:
                reported = now
                log.info("%s: back-fill: %d handles, up to %s", self.url, done,
                         records[-1].key)

    def _backfill(self, job: IndexJob, records: Sequence[Record]) -> None:
        counts: dict[str, int] = {}
        for record in records:
            if job.index:
                entries = index_entries(record.key, record.values, job.types)
                if entries:
                    self._index(record.key, entries)
            if job.digests:  # the digest tables were emptied when the job was recorded
                self._rehash(record.key, None, record)
            prefix = prefix_of(record.key)
            counts[prefix] = counts.get(prefix, 0) + 1
        if job.counts:
            for prefix, count in counts.items():
                self._count(prefix, count)
