"""HTTPS: the pyOpenSSL layer in memory, and the server with real TLS clients.

Clients are the stdlib ``ssl`` module (verifying the server's self-signed certificate for
``127.0.0.1``) and ``requests``. Client certificates are self-signed, as Handle.Net clients
make them; the server hands their DER bytes to the application unverified.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from test_http_server import LOOPS, App, serving

from idnode.auth.certs import (
    certificate_identity,
    certificate_public_key,
    client_certificate,
    self_signed_certificate,
    write_certificate,
)
from idnode.auth.keys import generate_private_key, save_private_key
from idnode.errors import ConfigError
from idnode.http import HttpSettings, TlsSettings
from idnode.http.tls import TlsError, TlsLayer, server_context

IDENTITY = "300:TEST/ADMIN"


@dataclass(frozen=True)
class Pki:
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_der: bytes
    client_public: rsa.RSAPublicKey


def _rsa(bits: int = 2048) -> rsa.RSAPrivateKey:
    key = generate_private_key("RSA", bits)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    home = tmp_path_factory.mktemp("pki")
    server_key, client_key = _rsa(), _rsa()
    save_private_key(home / "server.key", server_key)
    write_certificate(home / "server.pem", self_signed_certificate(
        server_key, hosts=["127.0.0.1", "localhost", "::1"]))
    save_private_key(home / "client.key", client_key)
    client_pem = client_certificate(client_key, IDENTITY)
    write_certificate(home / "client.pem", client_pem)
    der = x509.load_pem_x509_certificate(client_pem).public_bytes(serialization.Encoding.DER)
    return Pki(home / "server.pem", home / "server.key", home / "client.pem",
               home / "client.key", der, client_key.public_key())


def tls_settings(pki: Pki, *, request_client_cert: bool = True) -> TlsSettings:
    return TlsSettings(pki.server_cert, pki.server_key, request_client_cert=request_client_cert)


def client_context(pki: Pki, *, with_cert: bool = False,
                   max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.server_cert))
    if with_cert:
        ctx.load_cert_chain(pki.client_cert, pki.client_key)
    if max_version is not None:
        ctx.maximum_version = max_version
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


class TlsClient:
    def __init__(self, port: int, ctx: ssl.SSLContext,
                 session: ssl.SSLSession | None = None) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
        self.file = self.sock.makefile("rb")

    def __enter__(self) -> TlsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()
        self.sock.close()

    def get(self, target: str = "/") -> dict[str, object]:
        self.sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert self.file.readline().startswith(b"HTTP/1.1 200 ")
        length = 0
        while (line := self.file.readline()) != b"\r\n":
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        result: dict[str, object] = json.loads(self.file.read(length))
        return result


@pytest.fixture(params=LOOPS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def https(pki: Pki, loop_kind: str) -> Iterator[int]:
    with serving(App(), tls=tls_settings(pki), loop_kind=loop_kind) as running:
        yield running.port


# -- the server ----------------------------------------------------------------------------

def test_keep_alive_over_verified_tls_without_client_cert(https: int, pki: Pki) -> None:
    with TlsClient(https, client_context(pki)) as c:
        answers = [c.get(f"/r{i}") for i in range(3)]
        assert c.sock.selected_alpn_protocol() == "http/1.1"
    assert [a["path"] for a in answers] == ["/r0", "/r1", "/r2"]
    assert {a["scheme"] for a in answers} == {"https"}
    assert len({a["conn"] for a in answers}) == 1
    assert all(a["cert"] is None for a in answers)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_self_signed_client_certificate_reaches_the_app(https: int, pki: Pki,
                                                        version: ssl.TLSVersion) -> None:
    with TlsClient(https, client_context(pki, with_cert=True, max_version=version)) as c:
        assert c.sock.version() == ("TLSv1.2" if version == ssl.TLSVersion.TLSv1_2
                                    else "TLSv1.3")
        answers = [c.get("/one"), c.get("/two")]
    for answer in answers:  # on every request of the connection
        der = bytes.fromhex(str(answer["cert"]))
        assert der == pki.client_der
        assert certificate_identity(der) == IDENTITY
        assert certificate_public_key(der) == pki.client_public


def test_resumed_tls12_session_keeps_the_client_certificate(https: int, pki: Pki) -> None:
    ctx = client_context(pki, with_cert=True, max_version=ssl.TLSVersion.TLSv1_2)
    with TlsClient(https, ctx) as first:
        first.get()
        session = first.sock.session
    with TlsClient(https, ctx, session=session) as second:
        answer = second.get()
        assert second.sock.session_reused
    assert bytes.fromhex(str(answer["cert"])) == pki.client_der


def test_client_certificate_not_requested(pki: Pki, loop_kind: str) -> None:
    with serving(App(), tls=tls_settings(pki, request_client_cert=False),
                 loop_kind=loop_kind) as running, \
            TlsClient(running.port, client_context(pki, with_cert=True)) as c:
        assert c.get()["cert"] is None


def test_requests_library_with_a_client_certificate(https: int, pki: Pki) -> None:
    url = f"https://127.0.0.1:{https}/api"
    with requests.Session() as session:
        answers = [session.get(url, params={"i": str(i)}, verify=str(pki.server_cert),
                               cert=(str(pki.client_cert), str(pki.client_key)), timeout=5)
                   for i in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    bodies = [a.json() for a in answers]
    assert bodies[0]["conn"] == bodies[1]["conn"]
    assert certificate_identity(bytes.fromhex(bodies[1]["cert"])) == IDENTITY


def test_plaintext_on_the_tls_port_is_dropped(https: int, pki: Pki) -> None:
    with socket.create_connection(("127.0.0.1", https), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        try:
            data = raw.recv(4096)
        except ConnectionResetError:
            data = b""
        assert b"HTTP/1.1" not in data  # a TLS alert at most, never an HTTP answer
    with TlsClient(https, client_context(pki)) as c:
        assert c.get()["path"] == "/"


def test_unverifiable_server_certificate_is_refused_by_clients(https: int) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://127.0.0.1:{https}/", timeout=5)


def test_stalled_handshake_is_dropped(pki: Pki) -> None:
    settings = HttpSettings(request_timeout=0.2)
    with serving(App(), settings, tls_settings(pki)) as running, \
            socket.create_connection(("127.0.0.1", running.port), timeout=5) as raw:
        try:
            assert raw.recv(1) == b""
        except ConnectionResetError:
            pass


# -- the layer in memory, against the stdlib's SSLObject ---------------------------------

def _pump(layer: TlsLayer, client: ssl.SSLObject, incoming: ssl.MemoryBIO,
          outgoing: ssl.MemoryBIO) -> bytes:
    """Move the client's bytes to the layer and back; return the plaintext received."""
    plain = layer.receive(outgoing.read())
    incoming.write(layer.outgoing())
    return plain


def test_tls_layer_in_memory(pki: Pki) -> None:
    layer = TlsLayer(server_context(tls_settings(pki)))
    ctx = client_context(pki, with_cert=True)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    assert layer.peer_certificate_der() is None
    for _ in range(5):
        try:
            client.do_handshake()
            break
        except ssl.SSLWantReadError:
            _pump(layer, client, incoming, outgoing)
    _pump(layer, client, incoming, outgoing)  # the client's last flight (TLS 1.3)
    assert layer.handshake_done
    assert layer.alpn_protocol == b"http/1.1"
    assert layer.peer_certificate_der() == pki.client_der
    client.write(b"ping")
    assert _pump(layer, client, incoming, outgoing) == b"ping"
    layer.send(b"pong" * 10_000)
    incoming.write(layer.outgoing())
    received = b""
    while len(received) < 40_000:
        received += client.read(65536)
    assert received == b"pong" * 10_000
    layer.shutdown()
    incoming.write(layer.outgoing())
    assert client.read(10) == b""  # a clean close_notify, not a truncation


def test_tls_layer_rejects_garbage(pki: Pki) -> None:
    layer = TlsLayer(server_context(tls_settings(pki)))
    with pytest.raises(TlsError, match="TLS: "):
        layer.receive(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(TlsError):
        TlsLayer(server_context(tls_settings(pki))).send(b"too early")


def test_context_reports_bad_files(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tls\.cert_file"):
        server_context(TlsSettings(tmp_path / "missing.pem", pki.server_key))
    with pytest.raises(ConfigError, match=r"tls\.key_file"):  # the client's key: no match
        server_context(TlsSettings(pki.server_cert, pki.client_key))
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=r"tls\.cert_file"):
        server_context(TlsSettings(tmp_path / "junk.pem", pki.server_key))
