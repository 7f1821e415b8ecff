"""End to end over real sockets: ``idnode sign`` (cert, then signature), then
``idnode resolve --verify``, against a running node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from idnode.auth.identity import Identity
from idnode.auth.keys import (
    generate_private_key,
    load_private_key,
    public_key_data,
    save_private_key,
)
from idnode.client import PublicKeyAuth, SyncHandleClient
from idnode.identifiers.value import HandleValue
from integration.nodeproc import NodeProcess, idnode, init_node

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    home = tmp_path_factory.mktemp("trust") / "home"
    init_node(home)
    proc = NodeProcess.start(home)
    yield proc
    assert proc.stop() == 0, proc.text


def _admin(node: NodeProcess) -> SyncHandleClient:
    auth = PublicKeyAuth(Identity("88.100.1/ADMIN", 300),
                         load_private_key(node.home / "keys" / "admin.key"))
    return SyncHandleClient(node.tcp, transport="tcp", auth=auth)


def test_sign_then_resolve_verify(node: NodeProcess, tmp_path: Path) -> None:
    root_key = generate_private_key("RSA", 1024)
    save_private_key(tmp_path / "root.key", root_key)
    server = f"{node.tcp[0]}:{node.tcp[1]}"
    admin_key = str(node.home / "keys" / "admin.key")
    auth = ["--auth", "300:88.100.1/ADMIN", "--key", admin_key, "--server", server]
    with _admin(node) as admin:
        admin.create_handle("88.100.1/0.0", [
            HandleValue(300, "HS_PUBKEY", public_key_data(root_key).to_bytes())])
        admin.create_handle("88.100.1/ITEM", [
            HandleValue(1, "URL", b"https://example.com/item"),
            HandleValue(2000, "productName", "冲击扳手".encode())])

    issued = idnode("sign", "--cert", "88.100.1/ADMIN", "--subject-index", "300",
                    "--perms", "handlesUnderThisPrefix:88.100.1", "--issuer",
                    "300:88.100.1/0.0", "--issuer-key", str(tmp_path / "root.key"), *auth)
    assert "HS_CERT added at index 400" in issued.stdout
    signed = idnode("sign", "88.100.1/ITEM", "--index", "1", "2000",
                    "--cert-handle", "400:88.100.1/ADMIN", "--ttl", "30", *auth)
    assert "HS_SIGNATURE added at index 400" in signed.stdout

    verify = ["--verify", "--trust-root", "88.100.1/0.0", "--server", server]
    ok = idnode("resolve", "88.100.1/ITEM", *verify)
    assert "trust       valid" in ok.stdout, ok.stdout
    assert "https://example.com/item" in ok.stdout
    partial = idnode("resolve", "88.100.1/ITEM", "--index", "2000", "--index", "400",
                     *verify, "--json")
    trust = json.loads(partial.stdout)["trust"]
    assert trust["verdict"] == "valid"
    assert trust["signatures"][0]["notVisible"] == [1]
    untrusted = idnode("resolve", "88.100.1/ITEM", "--verify", "--server", server,
                       check=False)  # default trust root 0.0/0.0 is not on this node
    assert untrusted.returncode == 1 and "untrusted" in untrusted.stdout

    with _admin(node) as admin:
        admin.modify_values("88.100.1/ITEM", [HandleValue(1, "URL", b"https://evil.example")])
    bad = idnode("resolve", "88.100.1/ITEM", *verify, check=False)
    assert bad.returncode == 1
    assert "trust       tampered: value(s) 1 changed after signing" in bad.stdout


def test_sign_usage_errors(node: NodeProcess) -> None:
    server = f"{node.tcp[0]}:{node.tcp[1]}"
    out = idnode("sign", "88.100.1/ITEM", "--server", server, check=False)
    assert out.returncode == 2 and "--index" in out.stderr
    out = idnode("sign", "--cert", "88.100.1/ADMIN", "--server", server, check=False)
    assert out.returncode == 2 and "--perms" in out.stderr
