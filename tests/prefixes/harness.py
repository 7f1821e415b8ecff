"""A secondary node's prefix handlers in process: a real store and ledger, identities given
by a test header instead of credentials (authentication is the web face's, tested there)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from idnode.auth.identity import Identity
from idnode.auth.permissions import Authorizer
from idnode.errors import RegistryError
from idnode.http.messages import Request
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.identifiers.values.site import Interface, ServerRecord, SiteData
from idnode.prefixes import Namespace, PrefixApi, PrefixRegistry, open_ledger
from idnode.storage import Record, Store, WriteOp, WriteResult, open_store
from idnode.web.rest import error_response

OPERATOR = "300:88.118/ADMIN"


def site(desc: str, ip: str, *, primary: bool = True) -> SiteData:
    server = ServerRecord.from_ip(1, ip, interfaces=(Interface(3, 1, 2641),
                                                     Interface(2, 0, 2641)))
    return SiteData(serial=2, primary=primary, attributes=((b"desc", desc.encode()),),
                    servers=(server,))


SECONDARY_SITE = site("secondary 88.118", "10.0.0.1")
ENTERPRISE_SITES = {"10.0.0.9:2641": site("enterprise 88.118.9", "10.0.0.9"),
                    "10.0.0.10:2641": site("enterprise mirror", "10.0.0.10", primary=False)}


def provision(store: Store) -> None:
    store.home_prefix("88.118")
    store.create_handle(Handle.parse("0.NA/88.118"), [
        HandleValue(1, "HS_SITE", SECONDARY_SITE.to_bytes()),
        HandleValue(100, "HS_ADMIN", AdminData(ALL_PERMISSIONS, "88.118/ADMIN", 300)
                    .to_bytes())])


class Node:
    """The handlers over ``store_url`` and the ledger of ``ledger_url``."""

    def __init__(self, store_url: str, ledger_url: str | None = None, *,
                 fresh: bool = True) -> None:
        self.store = open_store(store_url)
        if fresh:
            provision(self.store)
        self.loop = asyncio.new_event_loop()

        async def read(key: str) -> Record | None:
            return self.store.get_record(key)

        async def submit(op: WriteOp) -> WriteResult:
            return self.store.apply([op])[0]

        async def fetch(servers: Sequence[str]) -> list[SiteData]:
            return [ENTERPRISE_SITES[s] for s in servers]

        async def lookup(handle: str) -> tuple[HandleValue, ...] | None:
            record = self.store.get_record(Handle.parse(handle).key)
            return None if record is None else record.values

        async def identify(request: Request) -> Identity | None:
            who = request.header("x-test-identity")
            return None if who is None else Identity.parse(who)

        authorizer = Authorizer(lookup, server_admins=[Identity.parse(OPERATOR)])
        ns = Namespace(read, submit, lambda: frozenset(self.store.homed_prefixes()), fetch)
        self.ledger = open_ledger(ledger_url or store_url)
        self.api = PrefixApi(PrefixRegistry(self.ledger, ns), identify, authorizer)

    def call(self, method: str, path: str, body: Any = None, *, who: str | None = OPERATOR,
             query: str = "") -> tuple[int, Any]:
        headers = [] if who is None else [("x-test-identity", who)]
        data = b"" if body is None else json.dumps(body).encode()
        request = Request(method, path + (f"?{query}" if query else ""), path, path, query,
                          headers, data)

        async def answer() -> tuple[int, Any]:
            try:
                response = await self.api.route(request)
            except RegistryError as exc:
                response = error_response(request, exc, None, resolution=False,
                                          challenge=lambda: ("s", "n"))
            assert response is not None
            return response.status, json.loads(response.body or b"null")
        return self.loop.run_until_complete(answer())

    def values(self, handle: str) -> dict[int, HandleValue] | None:
        record = self.store.get_record(Handle.parse(handle).key)
        return None if record is None else {v.index: v for v in record.values}

    def close(self) -> None:
        self.api.close()
        self.store.close()
        self.loop.close()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:{tmp_path / 'node.db'}"
