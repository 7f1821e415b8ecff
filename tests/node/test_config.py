"""config.toml: what `idnode init` writes loads; every mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from idnode.config import Address, load_config, parse_address, render_config
from idnode.errors import ConfigError


def write(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


def rendered() -> str:
    return render_config(prefixes=("88.100.1",), server_admins=("300:88.100.1/ADMIN",),
                         udp="127.0.0.1:2641", tcp="127.0.0.1:2641", http="off",
                         storage_url="sqlite:storage/handles.db")


def test_rendered_config_loads_with_defaults(tmp_path: Path) -> None:
    write(tmp_path, rendered())
    config = load_config(tmp_path)
    assert config.prefixes == ("88.100.1",)
    assert config.udp == Address("127.0.0.1", 2641)
    assert config.http is None
    assert config.storage_url == f"sqlite:///{tmp_path.resolve()}/storage/handles.db"
    assert config.limits.udp_max_answer_packets == 1
    assert config.server_key == tmp_path.resolve() / "keys" / "server.key"


@pytest.mark.parametrize(("old", "new", "key", "why"), [
    ("workers = 1", "workers = 0", "node.workers", "outside"),
    ("workers = 1", 'workers = "two"', "node.workers", "integer"),
    ('udp = "127.0.0.1:2641"', 'udp = "localhost"', "listen.udp", "HOST:PORT"),
    ('udp = "127.0.0.1:2641"', 'udp = "example.com:53"', "listen.udp", "not an IP"),
    ('udp = "127.0.0.1:2641"', 'udp = "127.0.0.1:70000"', "listen.udp", "out of range"),
    ('sync = "full"', 'sync = "sometimes"', "storage.sync", "not one of"),
    ("max_handles = 100000", "max_handle = 100000", "cache.max_handle", "unknown key"),
    ("[cache]", "[caches]", "caches", "unknown section"),
    ("udp_max_answer_packets = 1", "udp_max_answer_packets = 0",
     "limits.udp_max_answer_packets", "outside"),
    ('prefixes = ["88.100.1"]', "prefixes = []", "node.prefixes", "at least one"),
])
def test_each_mistake_names_its_key(tmp_path: Path, old: str, new: str, key: str,
                                    why: str) -> None:
    text = rendered()
    assert old in text
    write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert key in str(err.value) and why in str(err.value)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run 'idnode init'"):
        load_config(tmp_path)
    write(tmp_path, "[node\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path)


def test_addresses() -> None:
    assert parse_address("[::1]:2641") == Address("::1", 2641)
    assert str(Address("::1", 2641)) == "[::1]:2641"
    assert Address("127.0.0.1", 1).is_loopback and not Address("10.1.2.3", 1).is_loopback
