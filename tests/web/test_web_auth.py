"""The Handle challenge scheme, sessions, client certificates and the protocol tunnel."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from idnode.auth.keys import sign_data
from idnode.protocol.bodies import ResolutionRequest, ResolutionResponse
from idnode.protocol.constants import OpCode, OpFlag
from idnode.protocol.framing import decode_tunnel_body
from idnode.protocol.message import Message
from web.harness_web import (
    ADMIN,
    ADMIN_KEY,
    OTHER_KEY,
    SECRET,
    Web,
    build_web,
    cert_der,
    path,
)

VALUES = json.dumps([{"index": 1, "type": "URL", "data": "https://example.org/x"},
                     {"index": 100, "type": "HS_ADMIN",
                      "data": {"format": "admin", "value": {"handle": ADMIN, "index": 200,
                                                            "permissions": "011111110011"}}}])


def run(tmp_path: Path, scenario: Callable[[Web], Awaitable[None]]) -> None:
    async def main() -> None:
        web = build_web(tmp_path)
        try:
            await scenario(web)
        finally:
            await web.parts.writes.close()
    asyncio.run(main())


def body(response: Any) -> Any:
    return json.loads(response.body)


def challenge_of(response: Any) -> tuple[str, bytes]:
    header = [v for k, v in response.headers if k == "WWW-Authenticate"][1]
    params = dict(p.split("=", 1) for p in header.removeprefix("Handle ").split(", "))
    return params["sessionId"].strip('"'), base64.b64decode(params["nonce"].strip('"'))


def signed_header(session_id: str, nonce: bytes, *, identity: str = f"300:{ADMIN}",
                  key: Any = ADMIN_KEY, kind: str = "HS_PUBKEY") -> tuple[str, str]:
    cnonce = os.urandom(16)
    if kind == "HS_PUBKEY":
        _, signature = sign_data(key, nonce + cnonce, "SHA256")
        alg = "SHA256"
    else:
        signature = hashlib.sha1(SECRET.encode() + nonce + cnonce + SECRET.encode()).digest()
        alg = "SHA1"
    return ("authorization",
            f'Handle version="0", sessionId="{session_id}", '
            f'cnonce="{base64.b64encode(cnonce).decode()}", id="{identity}", type="{kind}", '
            f'alg="{alg}", signature="{base64.b64encode(signature).decode()}"')


def test_challenge_response_with_a_public_key_then_the_session(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        first = await web.call("PUT", path("TEST/h1"), VALUES)
        assert first.status == 401
        session_id, nonce = challenge_of(first)
        r = await web.call("PUT", path("TEST/h1"), VALUES,
                           headers=[signed_header(session_id, nonce)])
        assert r.status == 200, r.body
        # the session continues with its id alone
        again = ("authorization", f'Handle sessionId="{session_id}"')
        r = await web.call("PUT", path("TEST/h2"), VALUES, headers=[again])
        assert r.status == 200, r.body
        state = body(await web.call("GET", "/api/sessions/this", headers=[again]))
        assert state["authenticated"] is True and state["id"] == f"300:{ADMIN}"
        r = await web.call("DELETE", "/api/sessions/this", headers=[again])
        assert r.status == 200
        r = await web.call("PUT", path("TEST/h3"), VALUES, headers=[again])
        assert r.status == 401
    run(tmp_path, scenario)


def test_challenge_response_with_a_secret_key(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        created = body(await web.call("POST", "/api/sessions"))
        session_id, nonce = created["sessionId"], base64.b64decode(created["nonce"])
        header = signed_header(session_id, nonce, identity=f"301:{ADMIN}", kind="HS_SECKEY")
        r = await web.call("PUT", "/api/sessions/this", headers=[header])
        assert body(r)["authenticated"] is True
        r = await web.call("PUT", path("TEST/s1"), VALUES,
                           headers=[("authorization", f'Handle sessionId="{session_id}"')])
        assert r.status == 200
    run(tmp_path, scenario)


def test_a_session_opened_with_basic_credentials(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        from web.harness_web import ADMIN_BASIC
        r = await web.call("POST", "/api/sessions", headers=[ADMIN_BASIC])
        state = body(r)
        assert r.status == 200 and state["authenticated"] is True
        assert state["id"] == f"301:{ADMIN}"
        again = ("authorization", f'Handle sessionId="{state["sessionId"]}"')
        assert (await web.call("PUT", path("TEST/b1"), VALUES, headers=[again])).status == 200
    run(tmp_path, scenario)


def test_wrong_signatures_and_forged_sessions_are_refused(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        first = await web.call("PUT", path("TEST/w"), VALUES)
        session_id, nonce = challenge_of(first)
        r = await web.call("PUT", path("TEST/w"), VALUES,
                           headers=[signed_header(session_id, nonce, key=OTHER_KEY)])
        assert (r.status, body(r)["responseCode"]) == (401, 402)
        assert "does not verify" in body(r)["message"]
        r = await web.call("PUT", path("TEST/w"), VALUES,
                           headers=[signed_header(session_id, os.urandom(16))])
        assert r.status == 401
        forged = session_id[:-2] + ("AA" if not session_id.endswith("AA") else "BB")
        r = await web.call("PUT", path("TEST/w"), VALUES,
                           headers=[("authorization", f'Handle sessionId="{forged}"')])
        assert r.status == 401 and "unknown session" in body(r)["message"]
        # unauthenticated session id alone
        r = await web.call("PUT", path("TEST/w"), VALUES,
                           headers=[("authorization", f'Handle sessionId="{session_id}"')])
        assert r.status == 401 and "not authenticated" in body(r)["message"]
        r = await web.call("PUT", path("TEST/w"), VALUES,
                           headers=[("authorization", 'Handle id="300:TEST/ADMIN" =oops')])
        assert r.status == 401
        assert (await web.call("GET", path("TEST/w"))).status == 404
    run(tmp_path, scenario)


def test_client_certificates(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        ask = ("authorization", 'Handle clientCert="true"')
        good = cert_der(ADMIN_KEY, f"300:{ADMIN}")
        r = await web.call("PUT", path("TEST/c1"), VALUES, headers=[ask], cert=good)
        assert r.status == 200, r.body
        r = await web.call("PUT", path("TEST/c2"), VALUES, headers=[ask], cert=good)
        assert r.status == 200  # from the verified-certificate cache
        wrong_key = cert_der(OTHER_KEY, f"300:{ADMIN}")
        r = await web.call("PUT", path("TEST/c3"), VALUES, headers=[ask], cert=wrong_key)
        assert (r.status, body(r)["responseCode"]) == (401, 402)
        assert "not the HS_PUBKEY" in body(r)["message"]
        r = await web.call("PUT", path("TEST/c3"), VALUES, headers=[ask])
        assert r.status == 401 and "no client certificate" in body(r)["message"]
        nobody = cert_der(OTHER_KEY, "300:TEST/NOBODY")
        r = await web.call("PUT", path("TEST/c3"), VALUES, headers=[ask], cert=nobody)
        assert r.status == 403
        # a certificate without the header is not used (publicOnly stays the default)
        r = await web.call("GET", path("TEST/Doc"), cert=good)
        assert [v["index"] for v in body(r)["values"]] == [1, 2, 100]
    run(tmp_path, scenario)


def test_the_binary_protocol_over_http(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        request = Message(opcode=OpCode.RESOLUTION, request_id=7,
                          opflags=int(OpFlag.PUBLIC_ONLY),
                          body=ResolutionRequest("TEST/Doc", (), ()).to_wire())
        r = await web.call("POST", "/", request.to_frame(),
                           headers=[("content-type", "application/x-hdl-message")])
        assert r.status == 200 and r.content_type == "application/x-hdl-message"
        reply = decode_tunnel_body(r.body)
        assert reply.response_code == 1 and reply.request_id == 7
        values = ResolutionResponse.from_wire(reply.body).values
        assert [v.index for v in values] == [1, 2, 100]
        r = await web.call("POST", "/", b"\x00garbage",
                           headers=[("content-type", "application/x-hdl-message")])
        assert r.status == 400
    run(tmp_path, scenario)


def test_reverse_lookup(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        from web.harness_web import ADMIN_BASIC
        r = await web.call("GET", "/hrls/handles/?URL=https://example.com/doc")
        assert r.status == 401
        r = await web.call("GET", "/hrls/handles/?URL=https://example.com/doc",
                           headers=[ADMIN_BASIC])
        assert body(r) == ["TEST/Doc"]
        r = await web.call("GET", "/hrls/handles/?URL=https://example.com/*&CHECKSUM=abc123",
                           headers=[ADMIN_BASIC])
        assert body(r) == ["TEST/Doc"]
        r = await web.call("GET", "/hrls/handles/?URL=*/doc&CHECKSUM=nope",
                           headers=[ADMIN_BASIC])
        assert body(r) == []
        r = await web.call("GET", "/hrls/handles/TEST?URL=https://*&retrieverecords=true",
                           headers=[ADMIN_BASIC])
        assert body(r)[0]["handle"] == "TEST/Doc" and body(r)[0]["values"]
        r = await web.call("GET", "/hrls/handles/?URL=*", headers=[ADMIN_BASIC])
        assert r.status == 400 and "3" in body(r)["message"]
        r = await web.call("GET", "/hrls/handles/", headers=[ADMIN_BASIC])
        assert r.status == 400
        assert (await web.call("GET", "/hrls/ping")).body == b"OK"
    run(tmp_path, scenario)


def test_proxy_face_through_the_router(tmp_path: Path) -> None:
    async def scenario(web: Web) -> None:
        r = await web.call("GET", "/TEST/Doc")
        assert r.status == 302 and ("Location", "https://example.com/doc") in r.headers
        r = await web.call("GET", "/TEST/Doc?noredirect")
        assert r.status == 200 and b"https://example.com/doc" in r.body
        r = await web.call("GET", "/TEST/missing")
        assert r.status == 404 and b"TEST/missing" in r.body
        r = await web.call("GET", "/TEST/Doc", headers=[("accept", "application/json")])
        assert body(r)["handle"] == "TEST/Doc"
        r = await web.call("GET", "/")
        assert r.status == 200 and b"TEST" in r.body
        r = await web.call("GET", "/api/")
        assert r.status == 200 and b"<html" in r.body.lower()
    run(tmp_path, scenario)
