"""TLS for the HTTP server: pyOpenSSL on memory BIOs, without I/O.

Why not the stdlib ``ssl`` module: the Handle REST API authenticates clients by self-signed
certificates (the application matches the certificate's key against the identity's
HS_PUBKEY), and ``ssl`` can only request a client certificate it can verify against a CA; it
has no verify callback. pyOpenSSL has one, so :func:`server_context` accepts any client
certificate chain and leaves the decision to the application.

:class:`TlsLayer` is sans-I/O like the rest of the server's cores: the server feeds it the
ciphertext it reads (:meth:`~TlsLayer.receive` returns the plaintext), hands it plaintext to
protect (:meth:`~TlsLayer.send`) and writes whatever :meth:`~TlsLayer.outgoing` returns. The
handshake runs inside :meth:`~TlsLayer.receive`. Every OpenSSL failure becomes a
:class:`TlsError`; the server then drops the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from OpenSSL import SSL, crypto

from idnode.errors import ConfigError, ProtocolError

__all__ = ["TlsError", "TlsLayer", "TlsSettings", "server_context"]

_RECV_SIZE = 65536
_BIO_READ_SIZE = 65536
# TLS 1.2 suites with forward secrecy and AEAD only; TLS 1.3 suites are all ECDHE anyway.
_CIPHERS = b"ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"
_HTTP11 = b"http/1.1"


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """Where the server's certificate chain and key are, and whether to ask for a client
    certificate (optional for the client either way; the application decides what a
    request without one may do)."""

    cert_file: Path
    key_file: Path
    request_client_cert: bool = True


class TlsError(ProtocolError):
    """The TLS handshake or a record failed (bad client, plaintext on the TLS port …)."""

    fmt = "TLS: {reason}"


def _describe(exc: SSL.Error) -> str:
    # pyOpenSSL errors carry [(library, function, reason), ...].
    parts = [str(item[-1]) for item in exc.args[0] if isinstance(item, tuple) and item] \
        if exc.args and isinstance(exc.args[0], list) else []
    return "; ".join(parts) or type(exc).__name__


def _accept_any_chain(_conn: SSL.Connection, _cert: crypto.X509, _errno: int, _depth: int,
                      _ok: int) -> bool:
    # Self-signed client certificates are the norm here; the application checks the key.
    return True


def _select_alpn(_conn: SSL.Connection, offered: list[bytes]) -> bytes | object:
    # A client offering only h2 still gets HTTP/1.1, just without an ALPN answer.
    return _HTTP11 if _HTTP11 in offered else SSL.NO_OVERLAPPING_PROTOCOLS


def server_context(settings: TlsSettings) -> SSL.Context:
    """A server context (load once, share across connections).

    TLS 1.2 minimum, ECDHE + AEAD suites, ALPN ``http/1.1``, server-side session cache and
    tickets, no renegotiation or compression, and ``VERIFY_PEER`` with an accept-anything
    callback when ``request_client_cert`` (never ``VERIFY_FAIL_IF_NO_PEER_CERT``).

    :raises ConfigError: the certificate or key file is missing, unreadable, or they do not
        belong together.
    """
    for key, path in (("tls.cert_file", settings.cert_file), ("tls.key_file",
                                                             settings.key_file)):
        if not Path(path).is_file():
            raise ConfigError(key=key, reason=f"{path} does not exist or is not a file")
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    options = SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE
    options |= getattr(SSL, "OP_NO_RENEGOTIATION", 0)  # client renegotiation is a CPU DoS
    ctx.set_options(options)
    ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)  # ~34 KiB less per idle keep-alive connection
    ctx.set_cipher_list(_CIPHERS)
    try:
        ctx.use_certificate_chain_file(str(settings.cert_file))
    except SSL.Error as exc:
        raise ConfigError(key="tls.cert_file", reason=f"{settings.cert_file}: "
                                                      f"{_describe(exc)}") from None
    try:
        ctx.use_privatekey_file(str(settings.key_file))
        ctx.check_privatekey()
    except SSL.Error as exc:
        raise ConfigError(key="tls.key_file", reason=f"{settings.key_file}: "
                                                     f"{_describe(exc)}") from None
    # Resumption with VERIFY_PEER needs a session id context, or OpenSSL refuses it.
    ctx.set_session_id(b"idnode-http")
    ctx.set_session_cache_mode(SSL.SESS_CACHE_SERVER)
    # The sentinel's class is private to pyOpenSSL, so the callback says "object".
    ctx.set_alpn_select_callback(_select_alpn)  # type: ignore[arg-type]
    if settings.request_client_cert:
        ctx.set_verify(SSL.VERIFY_PEER, _accept_any_chain)
    else:
        ctx.set_verify(SSL.VERIFY_NONE)
    return ctx


class TlsLayer:
    """One server-side TLS connection on memory BIOs.

    :ivar handshake_done: the handshake has completed (application data may flow).
    :ivar peer_closed: the client sent close_notify; no more plaintext will come.
    """

    __slots__ = ("_conn", "handshake_done", "peer_closed")

    def __init__(self, context: SSL.Context) -> None:
        conn = SSL.Connection(context, None)
        conn.set_accept_state()
        self._conn = conn
        self.handshake_done = False
        self.peer_closed = False

    def receive(self, ciphertext: bytes) -> bytes:
        """Take bytes read from the socket; return the plaintext they complete.

        Drives the handshake first; afterwards call :meth:`outgoing`, which may hold
        handshake messages or session tickets to write.

        :raises TlsError: a handshake failure or a bad record.
        """
        conn = self._conn
        try:
            conn.bio_write(ciphertext)
            if not self.handshake_done:
                try:
                    conn.do_handshake()
                except SSL.WantReadError:
                    return b""
                self.handshake_done = True
            chunks: list[bytes] = []
            while True:
                try:
                    chunks.append(conn.recv(_RECV_SIZE))
                except SSL.WantReadError:
                    break
                except SSL.ZeroReturnError:
                    self.peer_closed = True
                    break
        except SSL.Error as exc:
            raise TlsError(reason=_describe(exc)) from None
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)

    def send(self, plaintext: bytes) -> None:
        """Encrypt ``plaintext``; the records are then in :meth:`outgoing`.

        :raises TlsError: before the handshake has completed, or after a failure.
        """
        try:
            self._conn.sendall(plaintext)
        except SSL.Error as exc:
            raise TlsError(reason=_describe(exc)) from None

    def outgoing(self) -> bytes:
        """The ciphertext waiting to be written (empty when there is none)."""
        conn = self._conn
        chunks: list[bytes] = []
        while True:
            try:
                chunk = conn.bio_read(_BIO_READ_SIZE)
            except SSL.WantReadError:
                break
            chunks.append(chunk)
            if len(chunk) < _BIO_READ_SIZE:  # a memory BIO returns all it has
                break
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)

    def peer_certificate_der(self) -> bytes | None:
        """The DER certificate the client presented, or None (also before the handshake)."""
        if not self.handshake_done:
            return None
        cert = self._conn.get_peer_certificate()
        if cert is None:
            return None
        return crypto.dump_certificate(crypto.FILETYPE_ASN1, cert)

    @property
    def alpn_protocol(self) -> bytes:
        """The ALPN protocol selected (``b"http/1.1"``), or ``b""``."""
        return self._conn.get_alpn_proto_negotiated() if self.handshake_done else b""

    def shutdown(self) -> None:
        """Queue a close_notify alert (write :meth:`outgoing` afterwards). Never raises."""
        if not self.handshake_done:
            return
        try:
            self._conn.shutdown()
        except SSL.Error:
            pass  # the peer is gone or broke the session; closing the socket is enough
