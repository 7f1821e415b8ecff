"""One reporting cycle, synchronously (the :class:`~idnode.reports.reporter.Reporter` runs it
on its own thread).

A cycle, under ``reports/lock`` so two reporters never interleave:

1. load ``state.json``, reconciled with the outbox;
2. per stream, re-send the pending batches in seq order; the first one not acknowledged
   stops that stream (later seqs would only be refused), a connection failure stops all;
3. per configured stream, build new batches: items after the cursor, persisted with the
   advanced cursor (batch file, then ``state.json``) *before* they are sent, then sent
   when the stream is still flowing. At most :data:`MAX_BATCHES_PER_CYCLE` per stream;
   ``more`` in the result says a stream was not caught up.

The receiver answers 200 (applied, or ``duplicate`` for a seq it has: both acknowledge),
409 with ``expected`` when it wants other numbers, or an error that leaves the batch
pending. A 409 for the oldest pending batch means the two sides' numbering parted (a new
receiver, a restored receiver database, a sender whose state was deleted); the sender then
renumbers its pending batches from ``expected`` (the ``shift``) and logs a warning, so
reporting resumes instead of stalling.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idnode.config_reports import STREAMS, ReportsConfig
from idnode.identifiers.values.site import SiteData
from idnode.reports.client import ReceiverUnreachable, ReportClient
from idnode.reports.files import Batch, Outbox, State, StreamState
from idnode.reports.registrations import build_registrations
from idnode.reports.resolutions import AccessLogTail
from idnode.reports.snapshots import content_hash, metadata_items, route_items
from idnode.storage import Store

__all__ = ["MAX_BATCHES_PER_CYCLE", "MAX_BATCH_BYTES", "ReportResult", "Sender"]

log = logging.getLogger("idnode.reports")

MAX_BATCHES_PER_CYCLE = 100
#: encoded size a registrations batch's items stay under (the receiver takes 4 MiB bodies)
MAX_BATCH_BYTES = 2 * 1024 * 1024


@dataclass
class ReportResult:
    """What one cycle did, per stream (seqs as the receiver numbers them)."""

    sent: dict[str, list[int]] = field(default_factory=dict)
    duplicates: dict[str, list[int]] = field(default_factory=dict)
    built: dict[str, list[int]] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: a stream had more to build than one cycle builds
    more: bool = False
    #: the cycle did not run: another reporter held the lock
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and not self.skipped

    def add(self, table: dict[str, list[int]], stream: str, seq: int) -> None:
        table.setdefault(stream, []).append(seq)


class _Stop(Exception):
    """This stream cannot send now (the reason is in its state)."""


class Sender:
    """Builds, persists and sends batches for one node home.

    :param sites: this node's sites at the moment of the cycle (the routes stream).
    """

    def __init__(self, config: ReportsConfig, home: Path, store: Store, client: ReportClient,
                 *, access_log: Path | None, role: str) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.outbox = Outbox(home)
        self.role = role
        self.tail = (AccessLogTail(access_log, config.source) if access_log is not None
                     else None)

    def cycle(self, sites: Sequence[SiteData], *, build: bool = True,
              lock_wait: float = 0.0) -> ReportResult:
        result = ReportResult()
        with self.outbox.locked(lock_wait):
            state = self.outbox.load_state()
            reachable = True
            flowing: dict[str, bool] = {}
            for stream in STREAMS:
                if reachable:
                    flowing[stream], reachable = self._send_pending(state, stream, result)
                else:
                    flowing[stream] = False
            if build:
                for stream in self.config.streams:
                    reachable = self._build_stream(state, stream, sites, result,
                                                   flowing[stream] and reachable) and reachable
            self.outbox.save_state(state)
            for stream in STREAMS:
                count = len(self.outbox.pending(stream))
                if count:
                    result.pending[stream] = count
        return result

    # -- sending ----------------------------------------------------------------------
    def _send_pending(self, state: State, stream: str, result: ReportResult
                      ) -> tuple[bool, bool]:
        """Re-send the stream's pending batches; (stream still flowing, receiver reachable)."""
        for local in self.outbox.pending(stream):
            try:
                self._send(state, self.outbox.read(stream, local), result)
            except ReceiverUnreachable:
                return False, False
            except _Stop:
                return False, True
        return True, True

    def _send(self, state: State, batch: Batch, result: ReportResult, *,
              may_renumber: bool = True) -> None:
        """Send one batch and settle it.

        :raises ReceiverUnreachable: no answer (the error is recorded on the stream).
        :raises _Stop: refused (recorded); the batch stays pending.
        """
        stream = state.stream(batch.stream)
        seq = batch.local_seq + stream.shift
        try:
            reply = self.client.post_report(batch.wire(stream.shift))
        except ReceiverUnreachable as exc:
            stream.failed(str(exc))
            result.errors[batch.stream] = str(exc)
            raise
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status == 200:
            self.outbox.remove(batch.stream, batch.local_seq)
            stream.acked = seq
            stream.last_ok = time.time()
            stream.last_error = stream.last_error_at = None
            duplicate = bool(body.get("duplicate"))
            result.add(result.duplicates if duplicate else result.sent, batch.stream, seq)
            return
        expected = body.get("expected")
        if reply.status == 409 and may_renumber and isinstance(expected, int) \
                and expected >= 1 and expected != seq \
                and self.outbox.pending(batch.stream)[:1] == [batch.local_seq]:
            self._renumber(stream, batch, seq, expected, reply.message)
            self._send(state, batch, result, may_renumber=False)
            return
        message = f"{batch.stream} seq {seq} refused with HTTP {reply.status}: {reply.message}"
        log.warning("report %s", message)
        stream.failed(message)
        result.errors[batch.stream] = message
        raise _Stop

    @staticmethod
    def _renumber(stream: StreamState, batch: Batch, seq: int, expected: int,
                  why: str) -> None:
        log.warning("report stream %s: the receiver expects seq %d, the oldest pending "
                    "batch is %d (%s); renumbering the pending batches from %d", batch.stream,
                    expected, seq, why, expected)
        stream.shift = expected - batch.local_seq
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        stream.renumbered = f"{stamp}: seq {seq} became {expected} ({why})"

    # -- building ---------------------------------------------------------------------
    def _build_stream(self, state: State, stream: str, sites: Sequence[SiteData],
                      result: ReportResult, flowing: bool) -> bool:
        """Build (and, while ``flowing``, send) the stream's new batches; False once the
        receiver proved unreachable."""
        current = state.stream(stream)
        for _ in range(MAX_BATCHES_PER_CYCLE):
            built = self._build(stream, current.cursor, sites)
            if built is None:
                return True
            items, cursor = built
            if not items:  # only skipped entries: move the cursor, nothing to send
                current.cursor = cursor
                self.outbox.save_state(state)
                continue
            body = {"source": self.config.source, "reporter": self.config.reporter,
                    "items": items}
            batch = Batch(stream, current.next, cursor, body, time.time())
            self.outbox.write(batch)  # the commit point; then the state that follows it
            current.next += 1
            current.cursor = cursor
            self.outbox.save_state(state)
            result.add(result.built, stream, batch.local_seq + current.shift)
            if flowing:
                try:
                    self._send(state, batch, result)
                except ReceiverUnreachable:
                    return False  # the rest stays in the outbox for the next cycle
                except _Stop:
                    flowing = False
            if stream in ("metadata", "routes"):
                return True  # one snapshot per cycle
        result.more = True
        return True

    def _build(self, stream: str, cursor: Any, sites: Sequence[SiteData]
               ) -> tuple[list[dict[str, Any]], Any] | None:
        """The next batch's items and cursor, or None when there is nothing new."""
        config = self.config
        if stream == "registrations":
            start = cursor if isinstance(cursor, int) else 0
            items, after = build_registrations(self.store, config.source, start,
                                               max_items=config.batch_max,
                                               max_bytes=MAX_BATCH_BYTES)
            return None if after == start and not items else (items, after)
        if stream == "resolutions":
            if self.tail is None:
                return None
            items, after = self.tail.build(cursor, config.batch_max)
            return None if after == cursor and not items else (items, after)
        if stream == "metadata":
            items = metadata_items(self.store, config.source, self.role)
        else:
            items = route_items(self.store, config.source, sites)
            if not items or not sites:
                return None
        digest = content_hash(items)
        return None if cursor == digest else (items, digest)
