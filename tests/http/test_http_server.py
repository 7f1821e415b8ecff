"""The HTTP/1.1 server over real loopback sockets, on the stdlib loop and on uvloop.

The server runs on its own loop in a thread (:func:`serving`), so tests talk to it with
plain blocking sockets (byte-exact requests, pipelining, half-sent requests) and with
``requests``. The tiny :class:`App` answers most paths from ``fast()`` and ``/slow`` and
``/raise-async`` from ``handle()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import uvloop

from idnode.errors import ConfigError
from idnode.http import HttpServer, HttpSettings, Request, Response, TlsSettings
from idnode.transport.sockets import bind_tcp


class App:
    """Echoes requests as JSON; ``/slow?t=…`` sleeps in ``handle()``."""

    def __init__(self) -> None:
        self.seen: list[Request] = []
        self.started = threading.Event()

    def fast(self, request: Request) -> Response | None:
        self.seen.append(request)
        path = request.path
        if path.startswith(("/slow", "/raise-async")):
            return None
        if path == "/raise":
            raise RuntimeError("boom")
        if path == "/bad-header":
            return Response(200, b"x", headers=[("X-Evil", "a\r\nSet-Cookie: x=1")])
        if path == "/big":
            size = int(request.param("n") or 1_000_000)
            return Response(200, b"b" * size, "application/octet-stream")
        if path == "/auth":
            return Response(401, b"{}", headers=[("WWW-Authenticate", "Basic realm=\"x\""),
                                                 ("WWW-Authenticate", "Handle sessionId=1")])
        if path == "/empty":
            return Response(204, content_type=None)
        return Response(200, self.echo(request))

    async def handle(self, request: Request) -> Response:
        if request.path == "/raise-async":
            raise RuntimeError("async boom")
        self.started.set()
        await asyncio.sleep(float(request.param("t") or 0.2))
        return Response(200, json.dumps({"slow": request.param("id")}).encode())

    @staticmethod
    def echo(request: Request) -> bytes:
        return json.dumps({
            "method": request.method, "target": request.target, "path": request.path,
            "raw_path": request.raw_path, "query": request.query, "headers": request.headers,
            "body": request.body.decode("latin-1"), "peer": list(request.peer),
            "scheme": request.scheme, "conn": request.connection_id,
            "cert": request.client_cert.hex() if request.client_cert else None,
        }).encode()


@dataclass
class Running:
    server: HttpServer
    loop: asyncio.AbstractEventLoop
    app: Any

    @property
    def port(self) -> int:
        return self.server.address[1]

    def close(self, grace: float = 5.0) -> Any:
        return asyncio.run_coroutine_threadsafe(self.server.close(grace), self.loop)


LOOPS = ["asyncio", "uvloop"]


@contextlib.contextmanager
def serving(app: Any = None, settings: HttpSettings | None = None,
            tls: TlsSettings | None = None, *, loop_kind: str = "asyncio") -> Iterator[Running]:
    """An :class:`HttpServer` on 127.0.0.1 (port 0), its loop running in a thread."""
    loop = uvloop.new_event_loop() if loop_kind == "uvloop" else asyncio.new_event_loop()
    server = HttpServer(bind_tcp("127.0.0.1", 0), app or App(), settings, tls)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(5)
    running = Running(server, loop, server.app)
    try:
        yield running
    finally:
        running.close(1.0).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.fixture(params=LOOPS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def srv(loop_kind: str) -> Iterator[Running]:
    with serving(loop_kind=loop_kind) as running:
        yield running


# -- a minimal blocking HTTP/1.1 client ------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def get(self, target: str = "/", headers: str = "") -> Reply:
        self.send(f"GET {target} HTTP/1.1\r\nHost: t\r\n{headers}\r\n".encode())
        return self.read()

    def read(self, head: bool = False) -> Reply:
        line = self.file.readline()
        assert line, "connection closed before a response"
        version, status, _ = line.decode("latin-1").split(" ", 2)
        assert version == "HTTP/1.1"
        headers = []
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip().lower(), value.strip()))
        reply = Reply(int(status), headers, b"")
        length = reply.header("content-length")
        if not head and length is not None:
            reply.body = self.file.read(int(length))
        return reply

    def closed_by_server(self) -> bool:
        try:
            return self.file.read(1) == b""
        except ConnectionResetError:
            return True


def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def error_of(reply: Reply) -> tuple[int, str]:
    body = reply.json()
    return body["responseCode"], body["message"]


# -- tests -------------------------------------------------------------------------------------

def test_keep_alive_several_requests_on_one_connection(srv: Running) -> None:
    with Client(srv.port) as c:
        replies = [c.get(f"/r{i}?i={i}") for i in range(3)]
    assert [r.json()["path"] for r in replies] == ["/r0", "/r1", "/r2"]
    assert len({r.json()["conn"] for r in replies}) == 1
    first = replies[0]
    assert first.status == 200
    assert first.header("server") == "idnode"
    assert (first.header("date") or "").endswith(" GMT")
    assert first.header("content-type") == "application/json"
    assert first.header("content-length") == str(len(first.body))
    assert first.header("connection") is None


def test_requests_library_keeps_the_connection(srv: Running) -> None:
    with requests.Session() as session:
        answers = [session.get(f"http://127.0.0.1:{srv.port}/lib", params={"n": str(i)},
                               timeout=5) for i in range(3)]
        posted = session.post(f"http://127.0.0.1:{srv.port}/post", data=b"payload", timeout=5)
    assert all(a.status_code == 200 for a in answers)
    assert len({a.json()["conn"] for a in [*answers, posted]}) == 1
    assert answers[2].json()["query"] == "n=2"
    assert posted.json()["body"] == "payload"
    assert posted.json()["method"] == "POST"


def test_request_fields(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"GET /api/handles/a%2Fb%C3%A9%FF?index=1&x=%20 HTTP/1.1\r\nHost: t\r\n"
               b"X-Mixed-Case:  caf\xe9  \r\nX-Rep: 1\r\nx-rep: 2\r\n\r\n")
        echo = c.read().json()
        absolute = c.get("http://example.org/abs/p%20q?z=1").json()
        port = c.sock.getsockname()[1]
    assert echo["target"] == "/api/handles/a%2Fb%C3%A9%FF?index=1&x=%20"
    assert echo["raw_path"] == "/api/handles/a%2Fb%C3%A9%FF"
    assert echo["path"] == "/api/handles/a/bé\ufffd"
    assert echo["query"] == "index=1&x=%20"
    assert ["x-mixed-case", "café"] in echo["headers"]
    assert [h for h in echo["headers"] if h[0] == "x-rep"] == [["x-rep", "1"], ["x-rep", "2"]]
    assert echo["peer"] == ["127.0.0.1", port]
    assert echo["scheme"] == "http"
    assert echo["cert"] is None
    assert (absolute["path"], absolute["query"]) == ("/abs/p q", "z=1")
    params = srv.app.seen[0].params
    assert params == {"index": ["1"], "x": [" "]}


def test_connection_ids_differ_between_connections(srv: Running) -> None:
    with Client(srv.port) as a, Client(srv.port) as b:
        assert a.get().json()["conn"] != b.get().json()["conn"]


def test_pipelined_requests_are_answered_in_order(srv: Running) -> None:
    requests_ = b"".join(f"GET {t} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for t in (
        "/slow?t=0.1&id=1", "/fast?id=2", "/slow?t=0.05&id=3", "/fast?id=4"))
    with Client(srv.port) as c:
        c.send(requests_)
        replies = [c.read() for _ in range(4)]
        again = c.get("/after")
    order = [r.json().get("slow") or r.json()["query"] for r in replies]
    assert order == ["1", "id=2", "3", "id=4"]
    assert again.status == 200


def test_many_pipelined_requests_beyond_the_queue_limit(loop_kind: str) -> None:
    settings = HttpSettings(max_pipelined=4)
    with serving(settings=settings, loop_kind=loop_kind) as running, \
            Client(running.port) as c:
        c.send(b"".join(f"GET /p{i} HTTP/1.1\r\n\r\n".encode() for i in range(300)))
        paths = [c.read().json()["path"] for _ in range(300)]
        assert paths == [f"/p{i}" for i in range(300)]
        with_slow = b"GET /slow?t=0.05&id=s HTTP/1.1\r\n\r\n" + b"".join(
            f"GET /q{i} HTTP/1.1\r\n\r\n".encode() for i in range(40))
        c.send(with_slow)
        assert c.read().json() == {"slow": "s"}
        assert [c.read().json()["path"] for _ in range(40)] == [f"/q{i}" for i in range(40)]


def test_backpressure_with_a_client_that_reads_late(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"".join(b"GET /big?n=1000000 HTTP/1.1\r\n\r\n" for _ in range(20)))
        time.sleep(0.15)  # the server's write buffer fills; it must stop and wait
        conn = next(iter(srv.server.live))
        assert conn._write_paused and conn._reading_paused  # stable while we do not read
        bodies = [c.read().body for _ in range(20)]
        assert all(b == b"b" * 1_000_000 for b in bodies)
        assert c.get("/after").status == 200


def test_http10_closes_unless_keep_alive(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"GET /old HTTP/1.0\r\n\r\n")
        reply = c.read()
        assert reply.status == 200
        assert reply.header("connection") == "close"
        assert c.closed_by_server()
    with Client(srv.port) as c:
        c.send(b"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        first = c.read()
        c.send(b"GET /ka2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        second = c.read()
        assert first.header("connection") == second.header("connection") == "keep-alive"
        assert first.json()["conn"] == second.json()["conn"]


def test_connection_close_header(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"GET /bye HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n")
        reply = c.read()
        assert reply.header("connection") == "close"
        assert c.closed_by_server()
    assert "/ignored" not in [r.path for r in srv.app.seen]


def test_chunked_body(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        c.send(b"5\r\nhello\r\n")
        time.sleep(0.02)
        c.send(b"6\r\n world\r\n0\r\n\r\n")
        echo = c.read().json()
        assert echo["body"] == "hello world"
        assert c.get("/next").status == 200


def test_expect_100_continue(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"PUT /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        assert c.file.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert c.file.readline() == b"\r\n"
        c.send(b"data")
        assert c.read().json()["body"] == "data"
    with Client(srv.port) as c:
        c.send(b"PUT /e HTTP/1.1\r\nContent-Length: 4\r\nExpect: teapot\r\n\r\n")
        assert c.read().status == 417


def test_expect_100_continue_waits_for_earlier_answers(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"GET /slow?t=0.1&id=1 HTTP/1.1\r\n\r\n"
               b"PUT /e HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert c.read().json() == {"slow": "1"}
        assert c.file.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert c.file.readline() == b"\r\n"
        c.send(b"ok")
        assert c.read().json()["body"] == "ok"


def test_expect_100_continue_with_too_large_body(loop_kind: str) -> None:
    with serving(settings=HttpSettings(max_body_bytes=10), loop_kind=loop_kind) as running, \
            Client(running.port) as c:
        c.send(b"PUT /e HTTP/1.1\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        reply = c.read()
        assert reply.status == 413
        assert c.closed_by_server()


def test_head_has_the_length_of_get_but_no_body(srv: Running) -> None:
    with Client(srv.port) as c:
        get = c.get("/big?n=1234")
        c.send(b"HEAD /big?n=1234 HTTP/1.1\r\nHost: t\r\n\r\n")
        head = c.read(head=True)
        after = c.get("/after")  # parses cleanly: no body bytes followed the HEAD answer
    assert head.status == 200
    assert head.header("content-length") == get.header("content-length") == "1234"
    assert after.json()["path"] == "/after"


def test_repeated_response_headers_and_no_content(srv: Running) -> None:
    with Client(srv.port) as c:
        auth = c.get("/auth")
        empty = c.get("/empty")
        after = c.get("/after")
    assert auth.status == 401
    assert auth.all("www-authenticate") == ['Basic realm="x"', "Handle sessionId=1"]
    assert empty.status == 204
    assert empty.header("content-length") is None
    assert empty.header("content-type") is None
    assert after.status == 200


def test_oversized_headers_431(loop_kind: str) -> None:
    settings = HttpSettings(max_header_bytes=1024, max_headers=5)
    with serving(settings=settings, loop_kind=loop_kind) as running:
        with Client(running.port) as c:
            reply = c.get("/", headers="X-Big: " + "a" * 2000 + "\r\n")
            assert reply.status == 431
            assert error_of(reply) == (4, "request header fields too large")
            assert reply.header("connection") == "close"
            assert c.closed_by_server()
        with Client(running.port) as c:
            reply = c.get("/", headers="".join(f"X-{i}: v\r\n" for i in range(6)))
            assert reply.status == 431
            assert error_of(reply)[1] == "too many header fields"
        with Client(running.port) as c:  # an endless header line, never finished
            c.send(b"GET / HTTP/1.1\r\nX-Endless: ")
            with contextlib.suppress(ConnectionError):
                for _ in range(10):
                    c.send(b"a" * 4096)
            assert c.read().status == 431
        with Client(running.port) as c:
            assert c.get("/" + "x" * 2000).status == 414
        with Client(running.port) as c:
            assert c.get("/fine").status == 200


def test_oversized_body_413(loop_kind: str) -> None:
    with serving(settings=HttpSettings(max_body_bytes=100), loop_kind=loop_kind) as running:
        with Client(running.port) as c:
            c.send(b"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n")
            reply = c.read()
            assert reply.status == 413
            assert error_of(reply) == (4, "request body larger than 100 bytes")
            assert c.closed_by_server()
        with Client(running.port) as c:  # the client keeps sending: it still reads the 413
            c.send(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
            with contextlib.suppress(ConnectionError):
                for _ in range(5):
                    c.send(b"40\r\n" + b"z" * 64 + b"\r\n")
            assert c.read().status == 413
        with Client(running.port) as c:
            c.send(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + b"y" * 100)
            assert len(c.read().json()["body"]) == 100
        assert eventually(lambda: running.server.connections == 0)  # none left lingering


def test_garbage_400_and_server_keeps_serving(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        reply = c.read()
        assert reply.status == 400
        code, message = error_of(reply)
        assert code == 4 and message.startswith("malformed request")
        assert c.closed_by_server()
    with Client(srv.port) as c:
        c.send(b"GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n")
        assert c.read().status == 400
    with Client(srv.port) as c:
        c.send(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")
        assert c.read().status == 501
    with Client(srv.port) as c:
        assert c.get("/ok").status == 200


def test_answers_before_a_malformed_pipelined_request(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"GET /slow?t=0.05&id=1 HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\n\r\nBROKEN\r\n\r\n")
        assert c.read().json() == {"slow": "1"}
        assert c.read().json()["path"] == "/two"
        assert c.read().status == 400
        assert c.closed_by_server()


def test_request_timeout_408(loop_kind: str) -> None:
    settings = HttpSettings(request_timeout=0.2)
    with serving(settings=settings, loop_kind=loop_kind) as running:
        with Client(running.port) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n")  # never finished
            started = time.monotonic()
            reply = c.read()
            assert reply.status == 408
            assert 0.15 < time.monotonic() - started < 3
            assert c.closed_by_server()
        with Client(running.port) as c:  # a keep-alive request that is just slow to come
            c.get("/first")
            time.sleep(0.25)  # idle keep-alive time does not count
            c.send(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")
            assert c.read().status == 408


def test_idle_keep_alive_connection_is_closed(loop_kind: str) -> None:
    with serving(settings=HttpSettings(idle_timeout=0.2), loop_kind=loop_kind) as running, \
            Client(running.port) as c:
        c.get("/")
        started = time.monotonic()
        assert c.closed_by_server()
        assert 0.15 < time.monotonic() - started < 3


def test_app_errors_become_500_and_the_connection_survives(srv: Running) -> None:
    with Client(srv.port) as c:
        for target in ("/raise", "/raise-async", "/bad-header"):
            reply = c.get(target)
            assert reply.status == 500
            assert reply.json() == {"responseCode": 2, "message": "internal server error"}
            assert c.get("/after").status == 200


def test_upgrade_requests_are_answered_as_http11(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
               b"\r\n")
        assert c.read().json()["path"] == "/ws"
        c.send(b"POST /h2c HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n"
               b"Content-Length: 5\r\n\r\nhel")
        time.sleep(0.02)
        c.send(b"loGET /next HTTP/1.1\r\n\r\n")
        assert c.read().json()["body"] == "hello"
        assert c.read().json()["path"] == "/next"


def test_client_half_close_still_gets_answers(srv: Running) -> None:
    with Client(srv.port) as c:
        c.send(b"GET /slow?t=0.05&id=1 HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\n\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        assert c.read().json() == {"slow": "1"}
        assert c.read().json()["path"] == "/two"
        assert c.closed_by_server()


def test_graceful_close_finishes_in_flight_requests(loop_kind: str) -> None:
    app = App()
    with serving(app, loop_kind=loop_kind) as running:
        port = running.port
        with Client(port) as busy, Client(port) as idle:
            idle.get("/idle")
            busy.send(b"GET /slow?t=0.25&id=late HTTP/1.1\r\n\r\n")
            assert app.started.wait(5)
            closing = running.close(grace=3.0)
            reply = busy.read()
            assert reply.json() == {"slow": "late"}
            assert reply.header("connection") == "close"
            assert busy.closed_by_server()
            assert idle.closed_by_server()
            closing.result(5)
            assert running.server.connections == 0
            with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 1):
                pass


def test_close_drops_what_exceeds_the_grace_period(loop_kind: str) -> None:
    app = App()
    with serving(app, loop_kind=loop_kind) as running, Client(running.port) as c:
        c.send(b"GET /slow?t=5&id=never HTTP/1.1\r\n\r\n")
        assert app.started.wait(5)
        started = time.monotonic()
        running.close(grace=0.2).result(5)
        assert time.monotonic() - started < 2
        assert c.closed_by_server()
        assert running.server.connections == 0


def test_max_connections(loop_kind: str) -> None:
    settings = HttpSettings(max_connections=2)
    with serving(settings=settings, loop_kind=loop_kind) as running:
        with Client(running.port) as a, Client(running.port) as b:
            assert a.get().status == b.get().status == 200
            assert running.server.connections == 2
            with Client(running.port) as extra:
                with contextlib.suppress(ConnectionError):
                    extra.send(b"GET / HTTP/1.1\r\n\r\n")
                assert extra.closed_by_server()
            assert a.get().status == 200
        assert eventually(lambda: running.server.connections == 0)
        with Client(running.port) as c:
            assert c.get().status == 200


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="max_pipelined"):
        HttpSettings(max_pipelined=0)
    with pytest.raises(ConfigError, match="idle_timeout"):
        HttpSettings(idle_timeout=0)
