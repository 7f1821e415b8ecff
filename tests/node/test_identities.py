"""``[identity]``: its validation, and which lookups go to the recursive node (and how they
fail). A silent recursive node here is a real loopback socket that never answers."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from idnode.auth.identity import Identity
from idnode.auth.permissions import Authorizer, RecordLookup
from idnode.config import NodeConfig, load_config, render_config
from idnode.config_identity import IdentityConfig, parse_identity
from idnode.errors import AuthenticationFailed, ConfigError
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue, Reference
from idnode.identifiers.values.vlist import VListData
from idnode.node.accesslog import AccessLog
from idnode.node.cache import Generation
from idnode.node.credentials import credential_value
from idnode.node.identities import RemoteIdentities
from idnode.node.worker import assemble
from node.conftest import SERVER_KEY, memory_node


# -- config -------------------------------------------------------------------------------
def test_defaults_are_off() -> None:
    assert parse_identity({}) == IdentityConfig()
    assert IdentityConfig().enable is False and IdentityConfig().recursive is None


def test_a_full_section() -> None:
    config = parse_identity({"enable": True, "recursive": "127.0.0.1:3641", "cache_ttl": 600,
                             "negative_ttl": 900, "max_entries": 50, "timeout": 2})
    assert config == IdentityConfig(enable=True, recursive=("127.0.0.1", 3641),
                                    cache_ttl=600, negative_ttl=600, max_entries=50,
                                    timeout=2.0)
    assert parse_identity({"recursive": "[::1]:3641"}).recursive == ("::1", 3641)


@pytest.mark.parametrize(("table", "key"), [
    ({"port": 3641}, "identity.port"),
    ({"enable": "yes"}, "identity.enable"),
    ({"enable": True}, "identity.recursive"),
    ({"recursive": "recursive.example.cn:3641"}, "identity.recursive"),
    ({"recursive": "127.0.0.1"}, "identity.recursive"),
    ({"recursive": "127.0.0.1:0"}, "identity.recursive"),
    ({"recursive": 3641}, "identity.recursive"),
    ({"cache_ttl": 0}, "identity.cache_ttl"),
    ({"cache_ttl": 86_401}, "identity.cache_ttl"),
    ({"negative_ttl": -1}, "identity.negative_ttl"),
    ({"max_entries": 0}, "identity.max_entries"),
    ({"timeout": 0}, "identity.timeout"),
    ({"timeout": 61}, "identity.timeout"),
])
def test_bad_values_are_named(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_identity(table)
    assert f"config key {key!r}" in str(info.value)


def test_a_recursive_node_may_not_enable_it() -> None:
    with pytest.raises(ConfigError) as info:
        parse_identity({"enable": True, "recursive": "127.0.0.1:3641"}, "recursive")
    assert "identity.enable" in str(info.value)


def test_load_config_reads_the_section(tmp_path: Path) -> None:
    text = render_config(prefixes=("88.130.1",), server_admins=("300:88.130.1/ADMIN",),
                         udp="127.0.0.1:2641", tcp="127.0.0.1:2641", http="off",
                         storage_url="memory:")
    assert "# [identity]" in text  # documented, commented out
    (tmp_path / "config.toml").write_text(text)
    assert load_config(tmp_path).identity == IdentityConfig()
    (tmp_path / "config.toml").write_text(text + """
[identity]
enable = true
recursive = "127.0.0.1:3641"
timeout = 1.5
""")
    config = load_config(tmp_path).identity
    assert config.enable and config.recursive == ("127.0.0.1", 3641) and config.timeout == 1.5
    (tmp_path / "config.toml").write_text(text + '\n[identity]\nrecursive = "x"\n')
    with pytest.raises(ConfigError, match=r"identity\.recursive"):
        load_config(tmp_path)


# -- lookups ------------------------------------------------------------------------------
@pytest.fixture
def silent() -> Iterator[tuple[str, int]]:
    """A "recursive node" that takes datagrams and connections and never answers."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    port = int(udp.getsockname()[1])
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", port))
    tcp.listen(16)
    try:
        yield "127.0.0.1", port
    finally:
        tcp.close()
        udp.close()


def settings(address: tuple[str, int], timeout: float = 0.6) -> IdentityConfig:
    return IdentityConfig(enable=True, recursive=address, timeout=timeout)


def test_a_silent_recursive_node_fails_within_the_timeout(silent: tuple[str, int]) -> None:
    async def go() -> None:
        remote = RemoteIdentities(settings(silent))
        try:
            started = time.monotonic()
            with pytest.raises(AuthenticationFailed) as err:
                await remote.values_of(Handle.parse("88.130.2/user"))
            assert time.monotonic() - started < 0.6 + 0.5
            assert f"recursive node 127.0.0.1:{silent[1]} is unreachable" in str(err.value)
            assert "no answer within 0.6 s" in str(err.value)
            # Other lookups (say, the other groups of one decision) fail at once meanwhile.
            started = time.monotonic()
            with pytest.raises(AuthenticationFailed, match="not asked again"):
                await remote.values_of(Handle.parse("88.130.2/team"))
            assert time.monotonic() - started < 0.3  # far under the 0.6 s timeout
            assert remote.upstream_requests == 1
        finally:
            await remote.close()
    asyncio.run(go())


def test_concurrent_misses_share_one_failure(silent: tuple[str, int]) -> None:
    async def go() -> None:
        remote = RemoteIdentities(settings(silent, timeout=0.3))
        try:
            results = await asyncio.gather(
                *(remote.values_of(Handle.parse("88.130.2/user")) for _ in range(5)),
                return_exceptions=True)
            assert all(isinstance(r, AuthenticationFailed) for r in results)
            assert remote.upstream_requests == 1
        finally:
            await remote.close()
    asyncio.run(go())


def test_local_only_handles_are_never_asked(silent: tuple[str, int]) -> None:
    async def go() -> None:
        remote = RemoteIdentities(settings(silent), local_only=["88.130.2/BOSS"])
        assert await remote.values_of(Handle.parse("88.130.2/BOSS")) is None
        assert remote.upstream_requests == 0
        await remote.close()
    asyncio.run(go())


def test_the_node_asks_only_for_handles_it_does_not_home(tmp_path: Path,
                                                          silent: tuple[str, int]) -> None:
    store, _ = memory_node(tmp_path)
    base = NodeConfig(home=tmp_path, prefixes=("88.100.1",),
                      server_admins=("300:88.100.1/ADMIN",), storage_url="memory:")
    config = dataclasses.replace(base, server_admins=(*base.server_admins, "300:88.999/BOSS"),
                                 identity=settings(silent))

    async def go() -> None:
        parts = assemble(config, store, Generation(None, 0), AccessLog("off"), SERVER_KEY,
                         ("127.0.0.1", 2641), ("127.0.0.1", 2641))
        remote = parts.identities
        assert remote is not None and parts.records.remote is remote
        try:
            records = parts.records
            # held here, or homed here: local and authoritative
            assert await records.identity_values("88.100.1/A") is not None
            assert await records.identity_values("88.100.1/NOBODY") is None
            # a server admin named in the config: local only
            assert await records.identity_values("88.999/BOSS") is None
            assert remote.upstream_requests == 0
            # anything else: through the recursive node
            with pytest.raises(AuthenticationFailed, match="unreachable"):
                await records.identity_values("88.130.2/user")
            assert remote.upstream_requests == 1
            # a secret key of a remote identity is refused without asking anyone
            with pytest.raises(AuthenticationFailed, match="never fetched"):
                await credential_value(records, Identity("88.130.2/other", 301), "HS_SECKEY")
            assert remote.upstream_requests == 1
        finally:
            await parts.writes.close()
            await remote.close()
    asyncio.run(go())


def test_server_admin_groups_are_expanded_locally_only() -> None:
    group = [HandleValue(200, "HS_VLIST",
                         VListData((Reference("88.130.2/user", 300),)).to_bytes())]

    def table(records: dict[str, Sequence[HandleValue]]) -> RecordLookup:
        async def lookup(handle: str) -> Sequence[HandleValue] | None:
            return records.get(handle)
        return lookup

    user = Identity("88.130.2/user", 300)
    admins = (Identity("88.130.1/admins", 200),)
    remote_only = Authorizer(table({"88.130.1/admins": group}), server_admins=admins,
                             admin_lookup=table({}))
    local = Authorizer(table({}), server_admins=admins,
                       admin_lookup=table({"88.130.1/admins": group}))

    async def go() -> tuple[bool, bool]:
        return (await remote_only.is_server_admin(user), await local.is_server_admin(user))
    assert asyncio.run(go()) == (False, True)
