"""The HTTP status map of ``handle-protocol.md`` §14.7, row by row."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from idnode.web.status import http_status
from web.harness_web import basic, build_web, path

ROWS = [
    (1, {}, 200), (1, {"created": True}, 201),
    (2, {}, 500), (3, {}, 503), (7, {}, 503),
    (4, {}, 400), (102, {}, 400), (202, {}, 400), (301, {}, 400),
    (5, {}, 501), (100, {}, 404), (101, {}, 409), (201, {}, 409),
    (200, {"resolution": True}, 200), (200, {}, 400),
    (302, {}, 300), (303, {}, 300), (402, {}, 401),
    (400, {}, 403), (401, {}, 403), (403, {}, 403), (404, {}, 403),
]


@pytest.mark.parametrize(("rc", "options", "status"), ROWS)
def test_every_row(rc: int, options: dict[str, bool], status: int) -> None:
    assert http_status(rc, **options) == status


def test_codes_outside_the_table_follow_their_class() -> None:
    assert http_status(105) == 400
    assert http_status(250) == 400
    assert http_status(9999) == 500


def test_guessing_secrets_is_throttled_with_503(tmp_path: Path) -> None:
    async def main() -> None:
        web = build_web(tmp_path)
        try:
            wrong = basic("301:TEST/ADMIN", "guess")
            statuses = [(await web.call("DELETE", path("TEST/Doc"), headers=[wrong])).status
                        for _ in range(31)]
            assert statuses[:30] == [401] * 30
            assert statuses[30] == 503
            r = await web.call("DELETE", path("TEST/Doc"), headers=[wrong])
            doc = json.loads(r.body)
            assert (r.status, doc["responseCode"]) == (503, 3)
            assert "too many failed authentications" in doc["message"]
        finally:
            await web.parts.writes.close()
    asyncio.run(main())


def test_an_internal_error_is_a_500_with_rc_2(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        web = build_web(tmp_path)
        try:
            assert (await web.call("GET", path("TEST/Doc"))).status == 200  # now cached

            async def broken(*_: object) -> None:
                raise RuntimeError("boom")
            monkeypatch.setattr(web.app.rest, "get", broken)
            r = await web.call("GET", path("TEST/Doc") + "?index=1")
            assert r.status == 500
            assert json.loads(r.body) == {"responseCode": 2,
                                          "message": "internal server error"}
            assert (await web.call("GET", path("TEST/Doc"))).status == 200  # the fast path
        finally:
            await web.parts.writes.close()
    asyncio.run(main())
