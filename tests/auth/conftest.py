"""Shared key material for the auth tests: small keys, generated once per session."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import dsa, rsa

from idnode.auth import generate_private_key


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    key = generate_private_key("RSA", 1024)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="session")
def other_rsa_key() -> rsa.RSAPrivateKey:
    key = generate_private_key("RSA", 1024)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="session")
def dsa_key() -> dsa.DSAPrivateKey:
    key = generate_private_key("DSA", 1024)
    assert isinstance(key, dsa.DSAPrivateKey)
    return key
