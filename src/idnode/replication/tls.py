"""TLS for the replication channel: each member's certificate, pinned by its peers.

A member serves OC 1000–1002 only on its TLS listener. Its certificate is self-signed for its
server key (made on first start when missing); the other members pin that exact certificate
(``[[replication.peers]] certificate``), so no CA is involved and a stolen CA could not
impersonate a member. Who may *pull* is decided separately, by challenge–response with the
puller's identity (``handle-protocol.md`` §8.1), inside the encrypted channel.
"""

from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from idnode.auth.certs import self_signed_certificate
from idnode.auth.keys import PrivateKey
from idnode.errors import AuthenticationFailed, ConfigError

__all__ = ["check_pin", "client_context", "ensure_certificate", "pinned_der",
           "server_context"]

log = logging.getLogger("idnode.replication")


def ensure_certificate(path: Path, key: PrivateKey, host: str) -> None:
    """Create ``path`` (a self-signed certificate for ``key``) unless it exists.

    The certificate is public: peers copy it to pin it. Written atomically, mode 0644.
    """
    if path.exists():
        return
    pem = self_signed_certificate(key, hosts=[host, "localhost"], days=3650)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    os.replace(tmp, path)
    log.info("created the replication certificate %s (peers pin this file)", path)


def server_context(certificate: Path, private_key: Path) -> ssl.SSLContext:
    """The listener's context: TLS 1.2 or newer, no client certificates."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certificate, private_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(key="replication.certificate",
                          reason=f"{certificate} with {private_key}: {exc}") from None
    return context


def client_context() -> ssl.SSLContext:
    """A context that encrypts but leaves the peer check to :func:`check_pin` (the pinned
    certificate is self-signed, so there is no chain to verify)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def pinned_der(path: Path) -> bytes:
    """The DER form of the PEM certificate at ``path``."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(Encoding.DER)
    except (OSError, ValueError) as exc:
        raise ConfigError(key="replication.peers.certificate", reason=f"{path}: {exc}") \
            from None


def check_pin(peer_der: bytes | None, pinned: bytes, where: str) -> None:
    """Refuse a peer whose certificate is not the pinned one. The TLS handshake proved the
    peer holds the certificate's private key, so equality is the whole check."""
    if peer_der is None or peer_der != pinned:
        raise AuthenticationFailed(reason=f"{where} presented a TLS certificate other than "
                                          "the pinned one; refusing to talk to it")
