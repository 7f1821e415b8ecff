"""The :class:`Reporter`: runs reporting cycles on a schedule, off the event loop.

Cycles run on one thread of their own (store reads, access-log reading, fsyncs and HTTP
would otherwise stall the worker's requests). ``run()`` builds every ``interval`` seconds;
while the receiver refuses or cannot be reached it retries sending after 1, 2, 4 … seconds
(capped at ``backoff_max``), and a stream that has more to send than one cycle builds is
continued at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from idnode.auth.identity import Identity
from idnode.auth.keys import Secret, load_private_key, load_secret
from idnode.config_reports import ReportsConfig
from idnode.identifiers.values.site import SiteData
from idnode.reports.client import ReportClient
from idnode.reports.files import LockBusy
from idnode.reports.sender import ReportResult, Sender
from idnode.storage import Store

__all__ = ["Reporter", "client_for"]

log = logging.getLogger("idnode.reports")

#: seconds ``flush()`` waits for another reporter's cycle to finish
FLUSH_LOCK_WAIT = 60.0


def client_for(config: ReportsConfig) -> ReportClient:
    """The HTTP client ``config`` describes, with its key or secret loaded.

    :raises KeyFileError: the key or secret file is missing, unreadable or too open.
    """
    identity = Identity.parse(config.identity)
    if config.private_key is not None:
        return ReportClient(config.to, identity, private_key=load_private_key(
            config.private_key), certificate=config.certificate, timeout=config.timeout)
    assert config.secret_file is not None
    raw = bytes(load_secret(config.secret_file))
    for ending in (b"\r\n", b"\n"):  # as the CLI's --secret-file: an editor's newline
        if raw.endswith(ending):
            raw = raw[:-len(ending)]
            break
    return ReportClient(config.to, identity, secret=Secret(raw),
                        certificate=config.certificate, timeout=config.timeout)


class Reporter:
    """Upward reporting for one node home.

    :param config: the ``[reports]`` section.
    :param home: the node home (state under ``home/reports/``).
    :param store: the node's store (transaction log, homed prefixes, counts).
    :param access_log: the access-log file, or None when it does not go to a file (then
        the ``resolutions`` stream sends nothing).
    :param sites: returns this node's current HS_SITE (or sites), called on the loop.
    :param role: the node's role, named in the metadata snapshot.
    :param client: the HTTP client; by default made from ``config`` (loads the key).
    """

    def __init__(self, config: ReportsConfig, home: Path, store: Store, *,
                 access_log: Path | None,
                 sites: Callable[[], SiteData | Sequence[SiteData]],
                 role: str = "enterprise", client: ReportClient | None = None) -> None:
        self.config = config
        self.client = client if client is not None else client_for(config)
        self.sender = Sender(config, home, store, self.client, access_log=access_log,
                             role=role)
        self._sites = sites
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "idnode-reports")

    def _current_sites(self) -> list[SiteData]:
        sites = self._sites()
        return [sites] if isinstance(sites, SiteData) else list(sites)

    async def _cycle(self, *, build: bool, lock_wait: float) -> ReportResult:
        call = functools.partial(self.sender.cycle, self._current_sites(), build=build,
                                 lock_wait=lock_wait)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except LockBusy:
            return ReportResult(skipped=True)

    async def flush(self, *, lock_wait: float = FLUSH_LOCK_WAIT) -> ReportResult:
        """One full cycle now: send what is pending, build and send new batches.

        :param lock_wait: seconds to wait for another reporter's cycle; ``skipped`` in
            the result when it did not end in time.
        """
        return await self._cycle(build=True, lock_wait=lock_wait)

    async def run(self) -> None:
        """Report until cancelled. Never raises for a failed cycle: it is logged, recorded in
        ``reports/state.json`` and retried."""
        loop = asyncio.get_running_loop()
        backoff = 1.0
        next_build = loop.time()
        while True:
            now = loop.time()
            build = now >= next_build
            try:
                result = await self._cycle(build=build, lock_wait=0.0)
            except Exception as exc:  # storage or file trouble: log, retry later
                log.exception("report cycle failed")
                result = ReportResult(errors={"cycle": str(exc)})
            now = loop.time()
            if build and not result.skipped:
                next_build = now if result.more and result.ok else now + self.config.interval
            if result.skipped:
                wake = now + 1.0
            elif result.errors:
                wake = min(next_build, now + backoff)
                backoff = min(backoff * 2, self.config.backoff_max)
            else:
                backoff = 1.0
                wake = next_build
            await asyncio.sleep(max(0.0, wake - now))

    async def close(self) -> None:
        """Wait for a cycle in progress, then drop the connection."""
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
        self.client.close()
