"""Key generation, HS_PUBKEY conversion and 0600 key/secret files."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from idnode.auth import (
    KeyFileError,
    Secret,
    generate_private_key,
    hash_wire_name,
    load_private_key,
    load_secret,
    public_key_data,
    public_key_from_bytes,
    public_key_from_data,
    save_private_key,
    save_secret,
)
from idnode.errors import AuthenticationError, ConfigError, InvalidValue
from idnode.identifiers.values.pubkey import PublicKeyData, int_to_java

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- generation and HS_PUBKEY ------------------------------------------------------------

def test_generate_rejects_unknown_algorithm_and_sizes() -> None:
    with pytest.raises(InvalidValue, match="RSA or DSA"):
        generate_private_key("EC")
    with pytest.raises(InvalidValue):
        generate_private_key("RSA", 512)
    with pytest.raises(InvalidValue):
        generate_private_key("DSA", 1000)


def test_rsa_public_key_data_round_trip(rsa_key: rsa.RSAPrivateKey) -> None:
    data = public_key_data(rsa_key)
    assert data.key_type == "RSA_PUB_KEY"
    numbers = rsa_key.public_key().public_numbers()
    # Java two's complement: a 1024-bit modulus has its top bit set, so a 0x00 is prepended.
    assert data.components == (int_to_java(numbers.e), int_to_java(numbers.n))
    assert data.components[1][0] == 0
    back = public_key_from_data(PublicKeyData.from_bytes(data.to_bytes()))
    assert isinstance(back, rsa.RSAPublicKey)
    assert back.public_numbers() == numbers
    assert public_key_data(rsa_key.public_key()) == data


def test_dsa_public_key_data_round_trip(dsa_key: dsa.DSAPrivateKey) -> None:
    data = public_key_data(dsa_key)
    assert data.key_type == "DSA_PUB_KEY"
    numbers = dsa_key.public_key().public_numbers()
    params = numbers.parameter_numbers
    assert data.ints() == (params.q, params.p, params.g, numbers.y)
    back = public_key_from_bytes(data.to_bytes())
    assert isinstance(back, dsa.DSAPublicKey)
    assert back.public_numbers() == numbers


def test_public_key_data_rejects_other_key_types() -> None:
    with pytest.raises(InvalidValue, match="only RSA, DSA and SM2"):
        public_key_data(ec.generate_private_key(ec.SECP256R1()))  # type: ignore[arg-type]


def test_public_key_from_data_unsupported_and_invalid() -> None:
    with pytest.raises(AuthenticationError, match="SM2_PUB_KEY"):
        public_key_from_data(PublicKeyData("SM2_PUB_KEY", 0, (), b"\x01\x02"))
    with pytest.raises(AuthenticationError, match="invalid components"):
        public_key_from_data(PublicKeyData.rsa(2, 0xC0FFEE))  # even exponent
    with pytest.raises(AuthenticationError, match="malformed"):
        public_key_from_bytes(b"\x00\x00\x00\x0bRSA_PUB_KEY\x00")


def test_hash_wire_names_follow_cnri() -> None:
    assert hash_wire_name("SHA256") == "SHA-256"
    assert hash_wire_name("sha-256") == "SHA-256"
    assert hash_wire_name("SHA-1") == "SHA1"
    with pytest.raises(AuthenticationError, match="MD5"):
        hash_wire_name("MD5")


# -- private key files -------------------------------------------------------------------

@posix_only
def test_save_private_key_is_0600_even_with_open_umask(tmp_path: Path,
                                                       rsa_key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "admpriv.pem"
    old = os.umask(0)
    try:
        save_private_key(path, rsa_key)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["admpriv.pem"]  # no temp left
    loaded = load_private_key(path)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == rsa_key.private_numbers()


def test_save_refuses_overwrite_unless_asked(tmp_path: Path, rsa_key: rsa.RSAPrivateKey,
                                             dsa_key: dsa.DSAPrivateKey) -> None:
    path = tmp_path / "key.pem"
    save_private_key(path, rsa_key)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists") as info:
        save_private_key(path, dsa_key)
    assert isinstance(info.value, ConfigError)
    assert path.read_bytes() == before
    save_private_key(path, dsa_key, overwrite=True)
    assert isinstance(load_private_key(path), dsa.DSAPrivateKey)
    if os.name == "posix":
        assert _mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem"]


def test_encrypted_key_and_passphrase_errors(tmp_path: Path,
                                             dsa_key: dsa.DSAPrivateKey) -> None:
    path = tmp_path / "enc.pem"
    save_private_key(path, dsa_key, b"correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    loaded = load_private_key(path, b"correct horse")
    assert isinstance(loaded, dsa.DSAPrivateKey)
    assert loaded.private_numbers() == dsa_key.private_numbers()
    assert isinstance(load_private_key(path, "correct horse"), dsa.DSAPrivateKey)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_private_key(path, b"battery staple")
    with pytest.raises(KeyFileError, match="passphrase is needed"):
        load_private_key(path)
    with pytest.raises(KeyFileError, match="empty"):
        save_private_key(tmp_path / "x.pem", dsa_key, b"")


def test_plain_key_with_passphrase_is_reported(tmp_path: Path,
                                               rsa_key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "plain.pem"
    save_private_key(path, rsa_key)
    with pytest.raises(KeyFileError, match="not encrypted"):
        load_private_key(path, b"pw")


def test_load_missing_and_not_a_key(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist"):
        load_private_key(tmp_path / "nope.pem")
    junk = tmp_path / "junk.pem"
    save_secret(junk, b"this is not a key")
    with pytest.raises(KeyFileError, match="does not contain a private key"):
        load_private_key(junk)


def test_load_refuses_unsupported_key_type(tmp_path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    path = tmp_path / "ec.pem"
    save_secret(path, pem)
    with pytest.raises(KeyFileError, match="only RSA and DSA"):
        load_private_key(path)


@posix_only
def test_load_refuses_group_readable_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey,
                                          caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "open.pem"
    save_private_key(path, rsa_key)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600") as info:
        load_private_key(path)
    assert "0644" in str(info.value)
    with caplog.at_level(logging.WARNING, logger="idnode.auth.keys"):
        assert isinstance(load_private_key(path, allow_insecure=True), rsa.RSAPrivateKey)
    assert "group or others" in caplog.text


# -- secrets ------------------------------------------------------------------------------

@posix_only
def test_secret_round_trip_mode_and_redaction(tmp_path: Path) -> None:
    path = tmp_path / "seckey.bin"
    save_secret(path, b"s3cret\xff")
    assert _mode(path) == 0o600
    secret = load_secret(path)
    assert bytes(secret) == b"s3cret\xff"
    assert "s3cret" not in repr(secret) and "s3cret" not in str(secret)
    assert repr(secret) == "Secret(<7 bytes redacted>)"
    with pytest.raises(KeyFileError, match="already exists"):
        save_secret(path, Secret(b"other"))
    save_secret(path, Secret(b"other"), overwrite=True)
    assert bytes(load_secret(path)) == b"other"
    path.chmod(0o640)
    with pytest.raises(KeyFileError, match="group or others"):
        load_secret(path)


def test_secret_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="empty"):
        save_secret(tmp_path / "s", b"")
    with pytest.raises(KeyFileError, match="does not exist"):
        load_secret(tmp_path / "missing")
    with pytest.raises(KeyFileError, match="cannot create"):
        save_secret(tmp_path / "no" / "such" / "dir", b"x")
