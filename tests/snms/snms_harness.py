"""A node's web face served over real HTTP on loopback, and a small SNMS client for it."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idnode.http.server import HttpServer
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import PERM_SECRET, HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.transport.sockets import bind_tcp
from web.harness_web import Web, build_web

APP = "TEST/APP"
APP_SECRET = "app-secret"
NOBODY_SECRET = "nobody"


@dataclass
class Snms:
    web: Web
    base: str
    token: str | None = None

    async def call(self, method: str, path: str, body: Any = None, *,
                   token: str | None = None, raw: bytes | None = None) -> dict[str, Any]:
        data = raw if raw is not None else (
            None if body is None else json.dumps(body, ensure_ascii=False).encode())
        headers = {"Content-Type": "application/json"}
        bearer = token if token is not None else self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)

        def send() -> tuple[int, bytes]:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        status, text = await asyncio.to_thread(send)
        assert status == 200  # SNMS answers every outcome with HTTP 200
        result: dict[str, Any] = json.loads(text)
        return result

    async def login(self, username: str, password: str) -> str:
        answer = await self.call("POST", "/identity/token",
                                 {"username": username, "password": password}, token="")
        assert answer["status"] == 1, answer
        token: str = answer["data"]["token"]
        return token


@asynccontextmanager
async def snms_node(tmp_path: Path, *, index_types: tuple[str, ...] = ("URL", "CHECKSUM")
                    ) -> AsyncIterator[Snms]:
    web = build_web(tmp_path, allow_plain_http=True, index_types=index_types)
    # An application identity (not a server admin) allowed to create handles under TEST.
    web.store.create_handle(Handle.parse(APP), [
        HandleValue(301, "HS_SECKEY", APP_SECRET.encode(), permissions=PERM_SECRET)])
    web.store.add_values(Handle.parse("0.NA/TEST"), [HandleValue(
        101, "HS_ADMIN", AdminData(ALL_PERMISSIONS, APP, 301).to_bytes())])
    server = HttpServer(bind_tcp("127.0.0.1", 0), web.app)
    await server.start()
    host, port = server.address
    try:
        yield Snms(web, f"http://{host}:{port}")
    finally:
        await server.close()
        await web.parts.writes.close()
