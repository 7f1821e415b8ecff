"""pyhandle 1.5.0 (from PyPI, its own client code) end to end against a real node over HTTPS.

The node is started by ``idnode serve`` with the self-signed certificate ``idnode init``
made; pyhandle verifies it (``HTTPS_verify`` = that certificate), so the certificate really
is valid for 127.0.0.1. Authentication: HTTP Basic with the admin's HS_SECKEY, and the
client certificate ``idnode init`` writes for the admin's HS_PUBKEY.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyhandle.handleclient import PyHandleClient
from pyhandle.handleexceptions import (
    HandleAlreadyExistsException,
    HandleAuthenticationError,
    HandleNotFoundException,
)

from integration.nodeproc import NodeProcess, init_node

pytestmark = pytest.mark.integration

SECRET = "pyhandle-secret"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    home = tmp_path_factory.mktemp("pyhandle") / "node"
    # 2048 bits: TLS clients refuse smaller keys in certificates.
    init_node(home, "TEST", "--https", "127.0.0.1:0", "--key-bits", "2048", secret=SECRET)
    proc = NodeProcess.start(home)
    yield proc
    proc.stop()


def url(node: NodeProcess) -> str:
    return f"https://127.0.0.1:{node.https[1]}"


def basic_client(node: NodeProcess, password: str = SECRET) -> object:
    return PyHandleClient("rest").instantiate_with_username_and_password(
        url(node), "301:TEST/ADMIN", password,
        HTTPS_verify=str(node.home / "keys" / "tls.crt"))


def test_the_pyhandle_workflow_with_basic_auth(node: NodeProcess) -> None:
    client = basic_client(node)
    handle = f"TEST/{uuid.uuid4().hex}"
    assert client.register_handle(handle, "https://example.org/data/1",  # type: ignore[attr-defined]
                                  checksum="md5:1234", TITLE="first") == handle
    with pytest.raises(HandleAlreadyExistsException):
        client.register_handle(handle, "https://example.org/other")  # type: ignore[attr-defined]
    record = client.retrieve_handle_record_json(handle)  # type: ignore[attr-defined]
    assert record["handle"] == handle
    types = {v["type"]: v for v in record["values"]}
    assert types["URL"]["data"]["value"] == "https://example.org/data/1"
    assert types["HS_ADMIN"]["index"] == 100
    assert client.get_value_from_handle(handle, "TITLE") == "first"  # type: ignore[attr-defined]

    client.modify_handle_value(handle, TITLE="second", EXTRA="x")  # type: ignore[attr-defined]
    assert client.get_value_from_handle(handle, "TITLE") == "second"  # type: ignore[attr-defined]
    assert client.get_value_from_handle(handle, "EXTRA") == "x"  # type: ignore[attr-defined]

    client.delete_handle_value(handle, "EXTRA")  # type: ignore[attr-defined]
    assert client.get_value_from_handle(handle, "EXTRA") is None  # type: ignore[attr-defined]

    found = client.search_handle(URL="https://example.org/data/1")  # type: ignore[attr-defined]
    assert found == [handle]
    found = client.search_handle(URL="https://example.org/data/*",  # type: ignore[attr-defined]
                                 CHECKSUM="md5:1234")
    assert found == [handle]

    client.delete_handle(handle)  # type: ignore[attr-defined]
    assert client.retrieve_handle_record_json(handle) is None  # type: ignore[attr-defined]
    with pytest.raises(HandleNotFoundException):
        client.delete_handle(handle)  # type: ignore[attr-defined]


def test_generate_and_register_handle(node: NodeProcess) -> None:
    client = basic_client(node)
    handle = client.generate_and_register_handle(  # type: ignore[attr-defined]
        "TEST", "https://example.org/generated")
    assert handle.startswith("TEST/")
    assert client.get_value_from_handle(handle, "URL") == "https://example.org/generated"  # type: ignore[attr-defined]


def test_a_wrong_password_is_an_authentication_error(node: NodeProcess) -> None:
    client = basic_client(node, password="not-the-secret")
    with pytest.raises(HandleAuthenticationError):
        client.register_handle(f"TEST/{uuid.uuid4().hex}",  # type: ignore[attr-defined]
                               "https://example.org/x")


def test_the_pyhandle_workflow_with_a_client_certificate(node: NodeProcess) -> None:
    keys = node.home / "keys"
    client = PyHandleClient("rest").instantiate_with_credentials(
        _credentials(node, keys), HTTPS_verify=str(keys / "tls.crt"))
    handle = f"TEST/{uuid.uuid4().hex}"
    client.register_handle(handle, "https://example.org/cert")  # type: ignore[attr-defined]
    client.modify_handle_value(handle, URL="https://example.org/cert2")  # type: ignore[attr-defined]
    assert client.get_value_from_handle(handle, "URL") == "https://example.org/cert2"  # type: ignore[attr-defined]
    client.delete_handle(handle)  # type: ignore[attr-defined]
    assert client.retrieve_handle_record_json(handle) is None  # type: ignore[attr-defined]


def _credentials(node: NodeProcess, keys: Path) -> object:
    from pyhandle.clientcredentials import PIDClientCredentials
    return PIDClientCredentials(client="rest", handle_server_url=url(node),
                                username="300:TEST/ADMIN",
                                private_key=str(keys / "admin.key"),
                                certificate_only=str(keys / "admin.crt"))
