"""The receiving side, on a node's web face (normally a secondary node, 二级节点):

* ``POST /api/reports``: one batch ``{"source", "stream", "seq", "items"}`` (and
  ``"reporter"`` when several servers report for one source);
* ``GET /api/reports?source=P&stream=S[&reporter=R][&after=SEQ][&limit=N]``: stored batches;
* ``GET /api/reports/status[?source=P]``: the mark and last receipt per channel (source,
  reporter, stream).

Callers authenticate as for the REST API; a batch for ``source`` is accepted from a server
admin or an identity that an HS_ADMIN value of ``0.NA/<source>`` held here names (directly
or through HS_VLIST groups); ``routes`` batches also need MODIFY_VALUE there, since they
rewrite its HS_SITE.

Exactly once: the inbox stores the batch and the new mark in one transaction. A routes
batch is applied to ``0.NA/<prefix>`` (through ``write_site``) before it is stored; a crash
in between makes the sender re-send it, and applying the same sites again changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from idnode.auth.identity import Identity
from idnode.auth.permissions import Authorizer, RecordLookup
from idnode.config_reports import MAX_BATCH_ITEMS, REPORTER_NAME, STREAMS
from idnode.errors import (
    AuthenticationNeeded,
    InsufficientPermissions,
    InvalidAdmin,
    InvalidValue,
    RegistryError,
)
from idnode.http.messages import Request, Response
from idnode.identifiers.jsonvalue import format_time, site_from_json
from idnode.identifiers.values.admin import AdminPerm
from idnode.identifiers.values.site import SiteData
from idnode.reports.inbox import Channel, Inbox
from idnode.reports.registrations import in_source
from idnode.reports.routes import WriteSite, merged_sites, sites_of
from idnode.storage import normalise_prefix
from idnode.web.status import json_response

__all__ = ["KINDS", "ReceiveLimits", "ReportBatch", "ReportsApi", "parse_batch"]

#: the item kinds each stream may carry
KINDS: dict[str, frozenset[str]] = {
    "registrations": frozenset({"txn", "gap", "reset"}),
    "resolutions": frozenset({"count", "gap"}),
    "metadata": frozenset({"snapshot"}),
    "routes": frozenset({"route"}),
}
_FIELDS = ("source", "reporter", "stream", "seq", "items")
_REQUIRED = ("source", "stream", "seq", "items")
_SEQ_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class ReceiveLimits:
    #: largest request body (the HTTP server's ``max_body_bytes`` may be lower)
    max_body_bytes: int = 4 * 1024 * 1024
    max_items: int = MAX_BATCH_ITEMS
    max_source_chars: int = 128
    #: sites in one route item
    max_sites: int = 16
    #: batches one GET returns at most
    max_list: int = 1000


@dataclass(frozen=True, slots=True)
class ReportBatch:
    channel: Channel
    seq: int
    items: list[Any]
    #: routes batches: (prefix, sites) per item
    routes: list[tuple[str, list[SiteData]]] = field(default_factory=list)

    @property
    def source(self) -> str:
        return self.channel.source

    @property
    def stream(self) -> str:
        return self.channel.stream


def _prefix(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidValue(reason=f"{where}: expected a prefix such as 88.118.8 (1 to "
                                  f"{limit} characters)")
    try:
        prefix = normalise_prefix(value)
    except RegistryError:
        raise InvalidValue(reason=f"{where}: {value!r} is not a prefix") from None
    if prefix == "0.NA" or prefix.startswith("0.NA."):
        raise InvalidValue(reason=f"{where}: {value!r} is not an enterprise prefix")
    return prefix


def parse_batch(obj: Any, limits: ReceiveLimits) -> ReportBatch:
    """Validate a decoded request body.

    :raises InvalidValue: the message names the offending field (``items[3].kind``).
    """
    if not isinstance(obj, dict):
        raise InvalidValue(reason="body: expected a JSON object with source, stream, seq "
                                  "and items")
    for name in obj:
        if name not in _FIELDS:
            raise InvalidValue(reason=f"{name}: unknown field; expected {', '.join(_FIELDS)}")
    for name in _REQUIRED:
        if name not in obj:
            raise InvalidValue(reason=f"{name}: missing")
    source = _prefix(obj["source"], "source", limits.max_source_chars)
    reporter = _reporter(obj.get("reporter", ""))
    stream = _stream(obj["stream"])
    seq = obj["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= _SEQ_MAX:
        raise InvalidValue(reason=f"seq: expected an integer from 1, not {seq!r}")
    items = obj["items"]
    if not isinstance(items, list):
        raise InvalidValue(reason="items: expected an array")
    if not items or len(items) > limits.max_items:
        raise InvalidValue(reason=f"items: {len(items)} items; a batch carries 1 to "
                                  f"{limits.max_items}")
    kinds = KINDS[stream]
    routes: list[tuple[str, list[SiteData]]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidValue(reason=f"items[{i}]: expected an object")
        if item.get("kind") not in kinds:
            raise InvalidValue(reason=f"items[{i}].kind: {item.get('kind')!r} is not one of "
                                      f"{', '.join(sorted(kinds))} (stream {stream})")
        if stream == "routes":
            routes.append(_route(item, f"items[{i}]", source, limits))
    return ReportBatch(Channel(source, reporter, stream), seq, items, routes)


def _reporter(value: Any) -> str:
    if not isinstance(value, str) or not REPORTER_NAME.fullmatch(value):
        raise InvalidValue(reason=f"reporter: {value!r} is not a name of up to 64 letters, "
                                  "digits, '.', '_', '-'")
    return value


def _stream(value: Any) -> str:
    if value not in STREAMS:
        raise InvalidValue(reason=f"stream: {value!r} is not one of {', '.join(STREAMS)}")
    return str(value)


def _route(item: dict[str, Any], where: str, source: str,
           limits: ReceiveLimits) -> tuple[str, list[SiteData]]:
    prefix = _prefix(item.get("prefix"), f"{where}.prefix", limits.max_source_chars)
    if not in_source(prefix, source):
        raise InvalidValue(reason=f"{where}.prefix: {prefix} is not {source} or a prefix "
                                  "below it")
    sites = item.get("sites")
    if not isinstance(sites, list) or not 1 <= len(sites) <= limits.max_sites:
        raise InvalidValue(reason=f"{where}.sites: expected 1 to {limits.max_sites} sites")
    return prefix, [site_from_json(site, f"{where}.sites[{j}]") for j, site in enumerate(sites)]


def _channel_json(channel: Channel) -> dict[str, str]:
    out = {"source": channel.source, "stream": channel.stream}
    if channel.reporter:
        out["reporter"] = channel.reporter
    return out


def _canonical(items: list[Any]) -> str:
    return json.dumps(items, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.param(name)
    if text in (None, ""):
        return default
    assert text is not None
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise InvalidValue(reason=f"{name}: expected an integer {low}…{high}, not {text!r}")
    return int(text)


class ReportsApi:
    """``/api/reports`` handlers.

    :param lookup: a record's values by handle text (the worker's cached records).
    :param write_site: applies routes; without it routes batches are only stored.
    """

    def __init__(self, inbox: Inbox, identify: Callable[[Request], Awaitable[Identity | None]],
                 authorizer: Authorizer, lookup: RecordLookup, write_site: WriteSite | None,
                 limits: ReceiveLimits | None = None) -> None:
        self.inbox = inbox
        self.identify = identify
        self.authorizer = authorizer
        self.lookup = lookup
        self.write_site = write_site
        self.limits = limits or ReceiveLimits()
        # One batch of a channel at a time in this process: a routes batch is applied
        # before it is stored, and two copies of one must not overtake each other.
        self._busy: dict[Channel, asyncio.Lock] = {}

    # -- POST -----------------------------------------------------------------------------
    async def post(self, request: Request) -> Response:
        identity = await self._identity(request)
        if len(request.body) > self.limits.max_body_bytes:
            raise InvalidValue(reason=f"body: {len(request.body)} bytes exceed the limit of "
                                      f"{self.limits.max_body_bytes}")
        try:
            obj = json.loads(request.body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidValue(reason=f"body: not valid JSON: {exc}") from None
        batch = parse_batch(obj, self.limits)
        await self._authorize(identity, batch.source, routes=batch.stream == "routes")
        # Kept for the process's life: one per channel an admin reported in.
        lock = self._busy.setdefault(batch.channel, asyncio.Lock())
        async with lock:
            return await self._receive(request, batch, identity)

    async def _receive(self, request: Request, batch: ReportBatch,
                       identity: Identity) -> Response:
        mark = await asyncio.to_thread(self.inbox.mark, batch.channel)
        if batch.seq > mark + 1:
            return self._expected(request, batch, mark, "")
        applied: dict[str, str] = {}
        if batch.seq == mark + 1 and batch.routes:
            applied = await self._apply_routes(batch)
        items = _canonical(batch.items)
        digest = hashlib.sha256(items.encode()).hexdigest()
        received = await asyncio.to_thread(self.inbox.receive, batch.channel, batch.seq,
                                           items, digest, str(identity), time.time())
        out: dict[str, Any] = {"responseCode": 1, **_channel_json(batch.channel),
                               "seq": batch.seq}
        if received.outcome == "applied":
            out["duplicate"] = False
            if batch.routes:
                out["routes"] = applied
            return json_response(request, 200, out)
        if received.outcome == "duplicate":
            out["duplicate"] = True
            return json_response(request, 200, out)
        why = ("it was received before with different content (was the sender's state "
               "reset?); " if received.outcome == "conflict" else "")
        return self._expected(request, batch, received.mark, why)

    @staticmethod
    def _expected(request: Request, batch: ReportBatch, mark: int, why: str) -> Response:
        reporter = f" (reporter {batch.channel.reporter})" if batch.channel.reporter else ""
        return json_response(request, 409, {
            "message": f"{batch.source} {batch.stream}{reporter}: seq {batch.seq} refused: "
                       f"{why}expected seq {mark + 1}",
            "expected": mark + 1, **_channel_json(batch.channel)})

    async def _apply_routes(self, batch: ReportBatch) -> dict[str, str]:
        outcome: dict[str, str] = {}
        for prefix, sites in batch.routes:
            values = await self.lookup(f"0.NA/{prefix}")
            if values is None:
                outcome[prefix] = "stored only: 0.NA/" + prefix + " is not held here"
                continue
            if self.write_site is None:
                outcome[prefix] = "stored only: this node applies no routes"
                continue
            current = sites_of(values)
            final = merged_sites(current, sites)
            if final == current:
                outcome[prefix] = "unchanged"
                continue
            await self.write_site(prefix, final)
            outcome[prefix] = "updated"
        return outcome

    # -- GET ------------------------------------------------------------------------------
    async def list(self, request: Request) -> Response:
        identity = await self._identity(request)
        source = _prefix(request.param("source"), "source", self.limits.max_source_chars)
        channel = Channel(source, _reporter(request.param("reporter") or ""),
                          _stream(request.param("stream")))
        after = _int_param(request, "after", 0, 0, _SEQ_MAX)
        limit = _int_param(request, "limit", 100, 1, self.limits.max_list)
        await self._authorize(identity, source, routes=False)
        mark = await asyncio.to_thread(self.inbox.mark, channel)
        rows = await asyncio.to_thread(self.inbox.batches, channel, after, limit)
        out: dict[str, Any] = {"responseCode": 1, **_channel_json(channel),
                               "mark": mark, "batches": [
                                   {"seq": r.seq, "received": format_time(int(r.received)),
                                    "identity": r.identity, "items": json.loads(r.items)}
                                   for r in rows]}
        if len(rows) == limit:
            out["next"] = rows[-1].seq
        return json_response(request, 200, out)

    async def status(self, request: Request) -> Response:
        identity = await self._identity(request)
        text = request.param("source")
        source = None
        if text:
            source = _prefix(text, "source", self.limits.max_source_chars)
            await self._authorize(identity, source, routes=False)
        elif not await self.authorizer.is_server_admin(identity):
            raise InvalidAdmin(reason=f"{identity} may not list every source's reports: only "
                                      "server admins may; name one with ?source=")
        marks = await asyncio.to_thread(self.inbox.marks, source)
        return json_response(request, 200, {"responseCode": 1, "streams": [
            {"source": m.source, "reporter": m.reporter, "stream": m.stream, "mark": m.mark,
             "received": format_time(int(m.received))} for m in marks]})

    # -- who may --------------------------------------------------------------------------
    async def _identity(self, request: Request) -> Identity:
        identity = await self.identify(request)
        if identity is None:
            raise AuthenticationNeeded(reason="reports need credentials: a signed Handle "
                                              "session (HS_PUBKEY) or Basic (HS_SECKEY), "
                                              "over HTTPS")
        return identity

    async def _authorize(self, identity: Identity, source: str, *, routes: bool) -> None:
        if await self.authorizer.is_server_admin(identity):
            return
        record = f"0.NA/{source}"
        values = await self.lookup(record)
        if values is None:
            raise InvalidAdmin(reason=f"{identity} may not report for {source}: {record} is "
                                      "not held at this node, so only its server admins may")
        if not await self.authorizer.is_admin_of(identity, values, AdminPerm(0)):
            raise InvalidAdmin(reason=f"{identity} may not report for {source}: no HS_ADMIN "
                                      f"value of {record} names it")
        if routes and not await self.authorizer.is_admin_of(identity, values,
                                                            AdminPerm.MODIFY_VALUE):
            raise InsufficientPermissions(reason=f"{identity} may not report routes for "
                                                 f"{source}: routes rewrite the HS_SITE of "
                                                 f"{record}, which needs MODIFY_VALUE there")

    def close(self) -> None:
        self.inbox.close()
