"""X.509 certificates: self-signed server and client certificates, and reading them back.

The Handle REST API authenticates a client by the key of the (usually self-signed) TLS client
certificate it presents; the application matches that key against the HS_PUBKEY of the
identity the certificate names. Handle.Net clients put the identity (``300:TEST/ADMIN``) in
the subject as ``UID`` and ``CN``; :func:`client_certificate` writes both and
:func:`certificate_identity` reads ``UID`` first, then ``CN``.

* :func:`self_signed_certificate`: a server certificate for the given host names and IP
  addresses (PEM), for nodes without a CA-issued one and for tests.
* :func:`client_certificate`: a self-signed client certificate for an identity (PEM).
* :func:`certificate_identity` / :func:`certificate_public_key`: what the HTTP layer needs
  from the DER bytes a client presented.
* :func:`write_certificate`: writes a certificate atomically, mode 0644 (a certificate is
  public; private keys go through :func:`idnode.auth.keys.save_private_key`, mode 0600).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from idnode.errors import ConfigError, InvalidCredential, InvalidValue

__all__ = [
    "CertificateFileError",
    "CertificateKey",
    "certificate_identity",
    "certificate_public_key",
    "client_certificate",
    "self_signed_certificate",
    "write_certificate",
]

#: private keys a certificate can be made with
CertificateKey = (rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | dsa.DSAPrivateKey
                  | ed25519.Ed25519PrivateKey)

# Tolerates a client or server clock that is a little behind ours.
_BACKDATE = datetime.timedelta(minutes=5)
_MAX_CN = 64  # X.520 upper bound; longer identities are carried in UID alone


class CertificateFileError(ConfigError):
    """A certificate file could not be written; ``path`` names it."""

    fmt = "certificate file {path}: {reason}"


def _hash_for(key: CertificateKey) -> hashes.SHA256 | None:
    # Ed25519 signs without a separate hash; everything else uses SHA-256.
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _key_usage(key: CertificateKey) -> x509.KeyUsage:
    # RSA key exchange (TLS 1.2 non-ECDHE) needs keyEncipherment; EC/DSA/Ed25519 only sign.
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey), data_encipherment=False,
        key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
        decipher_only=False)


def _build(key: CertificateKey, subject: x509.Name, days: int,
           extensions: list[tuple[x509.ExtensionType, bool]]) -> bytes:
    if days < 1:
        raise InvalidValue(reason=f"certificate validity must be at least one day, not {days}")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                      | dsa.DSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise InvalidValue(reason=f"cannot make a certificate with a {type(key).__name__}")
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(subject)
               .public_key(public)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - _BACKDATE)
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_key_usage(key), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                              critical=False))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    certificate = builder.sign(key, _hash_for(key))
    return certificate.public_bytes(serialization.Encoding.PEM)


def _general_name(host: str) -> x509.GeneralName:
    text = host.strip()
    try:
        return x509.IPAddress(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise InvalidValue(reason=f"{host!r} is not a host name or IP address")
    return x509.DNSName(text.lower())


def self_signed_certificate(key: CertificateKey, *, hosts: Sequence[str],
                            days: int = 825) -> bytes:
    """A self-signed TLS server certificate (PEM) for ``hosts``.

    The subject CN is the first host; every host becomes a SubjectAlternativeName entry, as
    an IP address when it parses as one (``127.0.0.1``, ``::1``) and as a DNS name otherwise
    (``localhost``, ``node.example``). Clients check the SAN, not the CN.

    :param key: an RSA, EC, DSA or Ed25519 private key (``cryptography``).
    :param days: validity; 825 days is the longest most clients accept for a server
        certificate.
    :raises InvalidValue: no hosts, a malformed host, a bad validity or key type.
    """
    if isinstance(hosts, str) or not hosts:
        raise InvalidValue(reason="a server certificate needs at least one host name "
                                  "(a list, not a string)")
    names = [_general_name(host) for host in hosts]
    unique = list(dict.fromkeys(names))  # GeneralName is hashable; keep the given order
    first = hosts[0].strip()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, first)]
                        if len(first) <= _MAX_CN else [])
    return _build(key, subject, days, [
        (x509.SubjectAlternativeName(unique), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    ])


def client_certificate(key: CertificateKey, identity: str, *, days: int = 365) -> bytes:
    """A self-signed TLS client certificate (PEM) whose subject names ``identity``.

    The subject is ``UID=<identity>, CN=<identity>`` (``300:TEST/ADMIN``), as Handle.Net
    clients write it; an identity longer than 64 characters (the CN limit) is in UID only.

    :raises InvalidValue: an empty identity, a bad validity or key type.
    """
    text = identity.strip()
    if not text:
        raise InvalidValue(reason="a client certificate needs an identity")
    attributes = [x509.NameAttribute(NameOID.USER_ID, text)]
    if len(text) <= _MAX_CN:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, text))
    subject = x509.Name(attributes)
    return _build(key, subject, days, [
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
    ])


def _load(der: bytes) -> x509.Certificate:
    if not der:
        raise InvalidCredential(reason="empty client certificate")
    try:
        return x509.load_der_x509_certificate(bytes(der))
    except (ValueError, TypeError) as exc:
        raise InvalidCredential(reason=f"client certificate is not valid DER X.509: "
                                       f"{exc}") from None


def certificate_identity(der: bytes) -> str | None:
    """The identity a certificate names: its subject UID, else its CN, else None.

    :raises InvalidCredential: ``der`` is not a DER X.509 certificate.
    """
    certificate = _load(der)
    try:
        subject = certificate.subject
    except ValueError as exc:
        raise InvalidCredential(reason=f"client certificate subject is malformed: "
                                       f"{exc}") from None
    for oid in (NameOID.USER_ID, NameOID.COMMON_NAME):
        for attribute in subject.get_attributes_for_oid(oid):
            value = attribute.value
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def certificate_public_key(der: bytes) -> CertificatePublicKeyTypes:
    """The public key of a DER certificate (a ``cryptography`` key object).

    :raises InvalidCredential: not a DER X.509 certificate, or a key type ``cryptography``
        does not support.
    """
    certificate = _load(der)
    try:
        return certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidCredential(reason=f"client certificate key is unusable: {exc}") from None


def write_certificate(path: str | os.PathLike[str], pem: bytes) -> None:
    """Write a PEM certificate to ``path`` atomically (replacing it), mode 0644.

    :raises InvalidValue: ``pem`` does not look like a PEM certificate.
    :raises CertificateFileError: the file cannot be written.
    """
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise InvalidValue(reason="not a PEM certificate")
    target = Path(path)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
        try:
            with os.fdopen(fd, "wb") as handle:
                if hasattr(os, "fchmod"):
                    os.fchmod(handle.fileno(), 0o644)  # the umask may have removed bits
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    except OSError as exc:
        raise CertificateFileError(path=str(target),
                                   reason=f"cannot write: {exc.strerror}") from None
