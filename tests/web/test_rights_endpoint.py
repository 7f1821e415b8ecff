"""``/api/v1/single-handle/authorization`` in memory: every odd body gets an envelope naming
the problem, never an internal error; and what a grant does to the record.

(The cross-enterprise scenario over real sockets is ``tests/integration/test_data_rights.py``.)
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from web.harness_web import ADMIN_BASIC, Web, build_web, path

PATH = "/api/v1/single-handle/authorization"


def call(tmp_path: Path, *requests: tuple[str, str, Any]) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        web: Web = build_web(tmp_path)
        try:
            out = []
            for method, target, body in requests:
                raw = body if isinstance(body, bytes) else (
                    b"" if body is None else json.dumps(body).encode())
                answer = await web.call(method, target, raw, headers=[ADMIN_BASIC])
                if target.startswith(PATH):
                    assert answer.status == 200
                out.append(json.loads(answer.body))
            return out
        finally:
            await web.parts.writes.close()
    return asyncio.run(main())


@pytest.mark.parametrize(("body", "needle"), [
    (b"", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    ([], "JSON object"),
    ({"handle": 7, "readerScope": 2}, "handle: missing or not text"),
    ({"handle": "TEST/Doc\x00", "readerScope": 2}, "control character"),
    ({"handle": "OTHER/x", "readerScope": 2}, "not an identifier of this node"),
    ({"handle": "TEST/Doc", "readerScope": "x"}, "1 (public) or 2"),
    ({"handle": "TEST/Doc", "readerScope": None}, "1 (public) or 2"),
    ({"handle": "TEST/Doc", "readerScope": 2, "handleUserReaders": {"id": "1:T/x"}},
     "must be a list"),
    ({"handle": "TEST/Doc", "readerScope": 2, "handleUserReaders": [None]},
     "handleUserReaders[0] must be"),
    ({"handle": "TEST/Doc", "readerScope": 2, "handleUserReaders": [{"id": "²:TEST/x"}]},
     "not a number"),
    ({"handle": "TEST/Doc", "readerScope": 2,
      "handleUserWriters": [{"id": "1:TEST/x", "indexes": ["²", 2000]}]}, "not an index"),
    ({"handle": "TEST/Doc", "readerScope": 2,
      "handleUserWriters": [{"id": "1:TEST/x", "indexes": [1e400]}]}, "not an index"),
    ({"handle": "TEST/Doc", "readerScope": 2, "delHandleUserReaders": "1:TEST/x"},
     "must be a list"),
])
def test_odd_bodies_are_refused_with_a_message(tmp_path: Path, body: Any, needle: str) -> None:
    answer = call(tmp_path, ("POST", PATH, body))[0]
    assert answer["status"] == -2, answer
    assert needle in answer["message"], answer


def test_methods_and_missing_handle(tmp_path: Path) -> None:
    put, get = call(tmp_path, ("PUT", PATH, {}), ("GET", PATH, None))
    assert put["status"] == -2 and "GET ?handle= or POST" in put["message"]
    assert get["status"] == -2 and "?handle=" in get["message"]


def test_a_grant_scopes_business_values_and_can_be_undone(tmp_path: Path) -> None:
    grant = {"handle": "TEST/Doc", "readerScope": 2,
             "handleUserReaders": ["300:TEST/NOBODY"]}
    put_values = [{"index": 2000, "type": "weight", "data": "12 kg"}]
    answers = call(
        tmp_path,
        ("PUT", path("TEST/Doc") + "?index=2000", put_values),
        ("POST", PATH, grant),
        ("GET", path("TEST/Doc"), None),
        ("POST", PATH, grant),  # unchanged: nothing written, same answer
        ("POST", PATH, {"handle": "TEST/Doc", "readerScope": 1, "handleUserReaders": []}),
        ("GET", PATH + "?handle=TEST/Doc", None),
        ("GET", path("TEST/Doc"), None))
    assert answers[0]["responseCode"] == 1, answers[0]
    assert answers[1]["status"] == 1 and answers[1] == answers[3]
    scoped = {v["index"]: v.get("permissions", "1110") for v in answers[2]["values"]}
    assert scoped[2000] == "1100" and scoped[1100] == "1100"
    assert answers[5]["data"] == {"handle": "TEST/Doc", "readerScope": 1,
                                  "handleUserReaders": [], "handleUserWriters": []}
    public = {v["index"]: v.get("permissions", "1110") for v in answers[6]["values"]}
    assert public[2000] == "1110" and 1100 not in public
    assert public[3] == "1100"  # a secret below 2000 is never made public by a scope
