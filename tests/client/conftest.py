"""Fixtures for client tests: an RSA admin key and a running fake server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fakeserver import FakeServer, running

from idnode.auth import generate_private_key


@pytest.fixture(scope="session")
def admin_key() -> rsa.RSAPrivateKey:
    key = generate_private_key("RSA", 1024)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture
def server(admin_key: rsa.RSAPrivateKey) -> Iterator[FakeServer]:
    with running(FakeServer(admin_key)) as fake:
        yield fake
