"""The handlers as a node mounts them (``PrefixApi.for_node``): a worker's records, group
commit and authorizer, and the ledger in the node's database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from idnode.auth.identity import Identity
from idnode.auth.keys import generate_private_key
from idnode.config import NodeConfig
from idnode.http.messages import Request
from idnode.identifiers.handle import Handle
from idnode.node.accesslog import AccessLog
from idnode.node.cache import Generation
from idnode.node.worker import assemble
from idnode.prefixes import PrefixApi
from idnode.storage import open_store

from .forms import hosted_form
from .harness import OPERATOR, provision, sqlite_url


def test_for_node_writes_through_the_workers_group_commit(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    store = open_store(url)
    provision(store)
    config = NodeConfig(home=tmp_path, prefixes=("88.118",), server_admins=(OPERATOR,),
                        storage_url=url)

    async def run() -> None:
        parts = assemble(config, store, Generation(None, 0), AccessLog("off"),
                         generate_private_key("RSA", 1024), None, None)

        async def identify(request: Request) -> Identity | None:
            return Identity.parse(request.header("x-who") or "")

        api = PrefixApi.for_node(config.storage_url, config.prefixes, parts.records.get,
                                 parts.writes.submit, identify, parts.authorizer)

        async def post(path: str, body: object, who: str) -> int:
            request = Request("POST", path, path, path, "", [("x-who", who)],
                              json.dumps(body).encode())
            response = await api.route(request)
            assert response is not None
            return response.status
        try:
            assert await post("/api/prefix-applications", hosted_form(),
                              "300:88.118.77/ADMIN") == 201
            assert await post("/api/prefix-applications/1/approve", {}, OPERATOR) == 200
            assert await api.route(Request("GET", "/x", "/x", "/x", "", [])) is None
            record = await parts.records.get(Handle.parse("0.NA/88.118.77").key)
            assert record is not None
            assert "88.118.77" in parts.records.homed
        finally:
            api.close()
            await parts.writes.close()
    asyncio.run(run())
    store.close()
