"""The workflow: apply, review (approve / reject), suspend, reinstate, revoke.

Each decision writes its handle records first (through the node's write path: the worker's
group commit in the node, the store plus a generation bump in the CLI), then moves the
application's status compare-and-set in the ledger with its audit row. Writes are checked
before they start (``0.NA/<prefix>`` must not exist yet for an approval), so a refusal
leaves nothing half done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from idnode.auth.identity import Identity
from idnode.errors import InvalidValue, RegistryError
from idnode.identifiers.handle import Handle, prefix_handle
from idnode.identifiers.values.site import SiteData
from idnode.prefixes.application import ACTIONS, Application, parse_form
from idnode.prefixes.ledger import AuditEntry, Ledger
from idnode.prefixes.values import (
    ROUTE_TYPES,
    approval_ops,
    decode_values,
    encode_values,
)
from idnode.reports.routes import sites_of
from idnode.storage import (
    AddValues,
    DeleteHandle,
    HomePrefix,
    Record,
    RemoveValues,
    UnhomePrefix,
    WriteOp,
    WriteResult,
)

__all__ = ["ApplicationNotFound", "Namespace", "PrefixRegistry", "StatusConflict"]


class ApplicationNotFound(RegistryError):
    response_code = 100
    fmt = "no prefix application {ident}"


class StatusConflict(RegistryError):
    response_code = 101
    fmt = "{reason}"


@dataclass(frozen=True, slots=True)
class Namespace:
    """Where decisions are written: a record read by key, a write submission, this node's
    parent prefixes, and how to read the HS_SITE of the enterprise node's servers."""

    read: Callable[[str], Awaitable[Record | None]]
    submit: Callable[[WriteOp], Awaitable[WriteResult]]
    parents: Callable[[], frozenset[str]]
    fetch_sites: Callable[[Sequence[str]], Awaitable[list[SiteData]]]


class PrefixRegistry:
    def __init__(self, ledger: Ledger, namespace: Namespace,
                 clock: Callable[[], float] = time.time) -> None:
        self.ledger = ledger
        self.ns = namespace
        self.clock = clock
        self._lock = asyncio.Lock()  # one decision at a time in this process

    async def _ledger(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def apply(self, body: Any, applicant: str) -> Application:
        """Store a pending application.

        :raises InvalidValue: naming the field; :raises StatusConflict: the prefix is taken.
        """
        form = parse_form(body, self.ns.parents())
        if await self.ns.read(Handle.parse(prefix_handle(form.prefix)).key) is not None:
            raise StatusConflict(reason=f"prefix: {form.prefix} is already allocated "
                                        f"(0.NA/{form.prefix} exists at this node)")
        ident = await self._ledger(self.ledger.insert, form, applicant, self.clock())
        if ident is None:
            raise StatusConflict(reason=f"prefix: {form.prefix} already has an application "
                                        "pending, approved or suspended")
        return await self.get(ident)

    async def get(self, ident: int) -> Application:
        app: Application | None = await self._ledger(self.ledger.get, ident)
        if app is None:
            raise ApplicationNotFound(ident=ident)
        return app

    async def find(self, status: str | None, prefix: str | None, after: int,
                   limit: int) -> list[Application]:
        found: list[Application] = await self._ledger(self.ledger.find, status, prefix,
                                                      after=after, limit=limit)
        return found

    async def audit(self, ident: int | None) -> list[AuditEntry]:
        entries: list[AuditEntry] = await self._ledger(self.ledger.audit, ident)
        return entries

    async def act(self, ident: int, action: str, operator: Identity,
                  reason: str = "") -> Application:
        """Carry out ``action`` (approve, reject, suspend, reinstate, revoke) as
        ``operator`` (the caller has checked that it is one)."""
        if action not in ACTIONS:
            raise InvalidValue(reason=f"action: {action!r} is not one of "
                                      f"{', '.join(ACTIONS)}")
        if action == "reject" and not reason.strip():
            raise InvalidValue(reason="reason: a rejection needs a reason for the applicant")
        async with self._lock:
            app = await self.get(ident)
            allowed, status = ACTIONS[action]
            if app.status not in allowed:
                raise StatusConflict(reason=f"application {ident} is {app.status}; "
                                            f"{action} applies to {' or '.join(allowed)}")
            detail, extra = await getattr(self, "_" + action)(app, operator)
            ok = await self._ledger(self.ledger.transition, ident, app.status, status,
                                    actor=str(operator), action=action,
                                    detail=f"{detail}; {reason}" if reason else detail,
                                    now=self.clock(), reason=reason or None, **extra)
            if not ok:
                raise StatusConflict(reason=f"application {ident} changed meanwhile; its "
                                            "records were written; check it and retry")
            return await self.get(ident)

    # -- the decisions ------------------------------------------------------------------
    async def _write(self, op: WriteOp) -> None:
        result = await self.ns.submit(op)
        if isinstance(result, RegistryError):
            raise result

    async def _record(self, handle: str) -> Record | None:
        return await self.ns.read(Handle.parse(handle).key)

    async def _approve(self, app: Application, operator: Identity) -> tuple[str, dict[str, Any]]:
        form = app.form
        record = prefix_handle(form.prefix)
        if await self._record(record) is not None:
            raise StatusConflict(reason=f"{record} already exists at this node")
        if form.hosted:
            if await self._record(form.admin.handle) is not None:
                raise StatusConflict(reason=f"admin.handle: {form.admin.handle} already "
                                            "exists at this node")
            parent = form.prefix.rpartition(".")[0]
            own = await self._record(prefix_handle(parent))
            sites = [] if own is None else sites_of(own.values)
            if not sites:
                raise StatusConflict(reason=f"{prefix_handle(parent)} has no HS_SITE here: "
                                            "cannot tell which site serves a hosted prefix")
        else:
            sites = await self.ns.fetch_sites(form.servers)
        for op in approval_ops(form, operator, sites, form.pubkey_data()):
            await self._write(op)
        if form.hosted:
            await self._write(HomePrefix(form.prefix))
            return (f"hosted: created {record}, {form.admin.handle}; homed {form.prefix}",
                    {"forget_secret": True})
        servers = ", ".join(form.servers)
        return f"delegated: created {record} with HS_SITE of {servers}", {}

    async def _reject(self, app: Application, operator: Identity) -> tuple[str, dict[str, Any]]:
        return "rejected", {}

    async def _suspend(self, app: Application, operator: Identity) -> tuple[str, dict[str, Any]]:
        handle = prefix_handle(app.prefix)
        record = await self._record(handle)
        withheld = [] if record is None else [v for v in record.values
                                              if v.type in ROUTE_TYPES]
        if record is not None and withheld:
            await self._write(RemoveValues(Handle.parse(handle),
                                           tuple(v.index for v in withheld),
                                           expect=record.values))
        if app.form.hosted:
            await self._write(UnhomePrefix(app.prefix))
        return (f"withdrew {len(withheld)} route values of {handle}"
                + ("; unhomed" if app.form.hosted else ""),
                {"withheld": encode_values(withheld)})

    async def _reinstate(self, app: Application,
                         operator: Identity) -> tuple[str, dict[str, Any]]:
        handle = prefix_handle(app.prefix)
        values = decode_values(app.withheld)
        if values:
            await self._write(AddValues(Handle.parse(handle), tuple(values), overwrite=True))
        if app.form.hosted:
            await self._write(HomePrefix(app.prefix))
        return (f"restored {len(values)} route values of {handle}"
                + ("; homed" if app.form.hosted else ""), {"withheld": "[]"})

    async def _revoke(self, app: Application, operator: Identity) -> tuple[str, dict[str, Any]]:
        handle = prefix_handle(app.prefix)
        record = await self._record(handle)
        if record is not None:
            await self._write(DeleteHandle(Handle.parse(handle), expect=record.values))
        if app.form.hosted:
            identity = await self._record(app.form.admin.handle)
            if identity is not None:
                await self._write(DeleteHandle(Handle.parse(app.form.admin.handle),
                                               expect=identity.values))
            if app.status == "approved":  # a suspended prefix is unhomed already
                await self._write(UnhomePrefix(app.prefix))
        return f"deleted {handle}" + ("; unhomed" if app.form.hosted else ""), {}
