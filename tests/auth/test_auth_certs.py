"""X.509 helpers: self-signed server and client certificates and reading them back."""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from idnode.auth.certs import (
    CertificateFileError,
    certificate_identity,
    certificate_public_key,
    client_certificate,
    self_signed_certificate,
    write_certificate,
)
from idnode.errors import InvalidCredential, InvalidValue


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def test_server_certificate_names_hosts_and_addresses(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = self_signed_certificate(rsa_key, hosts=["127.0.0.1", "localhost", "::1",
                                                  "Node.Example"], days=30)
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "127.0.0.1"
    assert cert.issuer == cert.subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"),
                                                       ipaddress.ip_address("::1")]
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "node.example"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 30 <= lifetime.days <= 31
    assert cert.public_key() == rsa_key.public_key()
    cert.verify_directly_issued_by(cert)  # really self-signed


def test_server_certificate_with_an_ec_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = x509.load_pem_x509_certificate(self_signed_certificate(key, hosts=["localhost"]))
    assert cert.public_key() == key.public_key()
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment


@pytest.mark.parametrize("hosts", [[], "localhost", ["bad host"], ["a/b"], [""]])
def test_server_certificate_rejects_bad_hosts(rsa_key: rsa.RSAPrivateKey,
                                              hosts: list[str]) -> None:
    with pytest.raises(InvalidValue):
        self_signed_certificate(rsa_key, hosts=hosts)


def test_bad_validity_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(InvalidValue, match="at least one day"):
        client_certificate(rsa_key, "300:TEST/ADMIN", days=0)


def test_client_certificate_identity_and_key(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = client_certificate(rsa_key, "300:TEST/ADMIN")
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "300:TEST/ADMIN"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == \
        "300:TEST/ADMIN"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    der = _der(pem)
    assert certificate_identity(der) == "300:TEST/ADMIN"
    assert certificate_public_key(der) == rsa_key.public_key()


def test_client_certificate_with_a_dsa_key(dsa_key: dsa.DSAPrivateKey) -> None:
    der = _der(client_certificate(dsa_key, "300:0.NA/TEST"))
    assert certificate_identity(der) == "300:0.NA/TEST"
    assert certificate_public_key(der) == dsa_key.public_key()


def test_long_identity_is_in_uid_only(rsa_key: rsa.RSAPrivateKey) -> None:
    identity = "300:20.5000.1234/" + "x" * 80
    der = _der(client_certificate(rsa_key, identity))
    cert = x509.load_der_x509_certificate(der)
    assert not cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert certificate_identity(der) == identity


def test_identity_falls_back_to_cn_then_none(rsa_key: rsa.RSAPrivateKey) -> None:
    cn_only = x509.load_pem_x509_certificate(
        self_signed_certificate(rsa_key, hosts=["node.example"]))
    assert certificate_identity(cn_only.public_bytes(serialization.Encoding.DER)) == \
        "node.example"
    nameless = x509.load_pem_x509_certificate(
        self_signed_certificate(rsa_key, hosts=["h" * 70 + ".example"]))
    assert certificate_identity(nameless.public_bytes(serialization.Encoding.DER)) is None


@pytest.mark.parametrize("der", [b"", b"\x30\x03\x02\x01\x01", b"not a certificate"])
def test_bad_der_is_an_invalid_credential(der: bytes) -> None:
    with pytest.raises(InvalidCredential, match=r"invalid credential: .*certificate"):
        certificate_identity(der)
    with pytest.raises(InvalidCredential):
        certificate_public_key(der)


def test_write_certificate(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    pem = self_signed_certificate(rsa_key, hosts=["localhost"])
    target = tmp_path / "cert.pem"
    old = os.umask(0o077)
    try:
        write_certificate(target, pem)
    finally:
        os.umask(old)
    assert target.read_bytes() == pem
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    renewed = self_signed_certificate(rsa_key, hosts=["localhost"])
    write_certificate(target, renewed)  # renewing replaces the file
    assert target.read_bytes() == renewed
    assert [p.name for p in tmp_path.iterdir()] == ["cert.pem"]  # no temporary left
    with pytest.raises(InvalidValue):
        write_certificate(tmp_path / "x.pem", b"-----BEGIN PRIVATE KEY-----\n")
    with pytest.raises(CertificateFileError, match="cannot write"):
        write_certificate(tmp_path / "missing" / "cert.pem", pem)
