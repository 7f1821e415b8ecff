"""config.toml: node roles, [site] and [recursive]; every mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from idnode.config import load_config, render_config
from idnode.errors import ConfigError

SITE = """
[site]
serial = 7
primary = false
hash = "suffix"
description = "mirror"
[[site.servers]]
id = 1
address = "127.0.0.1"
tcp = 4001
udp = 4001
[[site.servers]]
id = 2
address = "::1"
http = 8002
"""


def write(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


def authoritative(role: str = "secondary") -> str:
    return render_config(prefixes=("88.118",), server_admins=("300:88.118/ADMIN",),
                         udp="127.0.0.1:2641", tcp="127.0.0.1:2641", http="off",
                         storage_url="sqlite:storage/handles.db", role=role)


def recursive(roots: tuple[str, ...] = ("127.0.0.1:2641",)) -> str:
    return render_config(prefixes=(), server_admins=(), udp="127.0.0.1:3641",
                         tcp="127.0.0.1:3641", http="off", storage_url="memory:",
                         role="recursive", roots=roots)


@pytest.mark.parametrize("role", ["root", "top-level", "secondary", "enterprise",
                                  "authoritative"])
def test_authoritative_roles_load(tmp_path: Path, role: str) -> None:
    write(tmp_path, authoritative(role))
    config = load_config(tmp_path)
    assert config.role == role and not config.is_recursive and config.site is None


def test_recursive_role_needs_no_prefix_or_storage(tmp_path: Path) -> None:
    write(tmp_path, recursive().replace('url = "memory:"\n', ""))
    config = load_config(tmp_path)
    assert config.is_recursive and config.prefixes == ()
    assert config.storage_url == "memory:"
    assert config.recursive.roots == ("127.0.0.1:2641",)
    assert config.recursive.max_ttl == 172_800 and config.recursive.udp_timeouts == (0.4, 0.8)


def test_recursive_role_needs_roots(tmp_path: Path) -> None:
    write(tmp_path, recursive(roots=()))
    with pytest.raises(ConfigError, match=r"recursive\.roots"):
        load_config(tmp_path)


def test_site_section(tmp_path: Path) -> None:
    write(tmp_path, authoritative() + SITE)
    site = load_config(tmp_path).site
    assert site is not None
    assert (site.serial, site.primary, site.hash, site.description) == (7, False, "suffix",
                                                                       "mirror")
    assert [(s.server_id, s.address, s.tcp, s.udp, s.http) for s in site.servers] == [
        (1, "127.0.0.1", 4001, 4001, 0), (2, "::1", 0, 0, 8002)]


@pytest.mark.parametrize(("old", "new", "key", "why"), [
    ('hash = "suffix"', 'hash = "md5"', "site.hash", "not one of"),
    ("id = 2", "id = 1", "site.servers", "repeat"),
    ("id = 1\n", "id = 3\n", "site.servers", "not among"),
    ('address = "::1"', 'address = "example.com"', "site.servers[1].address",
     "not an IP"),
    ("http = 8002", "http = 80020", "site.servers[1].http", "outside"),
    ("http = 8002", "port = 8002", "site.servers[1].port", "unknown key"),
    ("serial = 7", "serial = 65535", "site.serial", "outside"),
    ("primary = false", 'primary = "no"', "site.primary", "true or false"),
])
def test_site_mistakes_name_their_key(tmp_path: Path, old: str, new: str, key: str,
                                      why: str) -> None:
    text = authoritative() + SITE
    assert old in text
    write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert key in str(err.value) and why in str(err.value)


@pytest.mark.parametrize(("old", "new", "key"), [
    ("max_ttl = 172800", "max_ttl = 172801", "recursive.max_ttl"),
    ("udp_timeouts = [0.4, 0.8]", 'udp_timeouts = "fast"', "recursive.udp_timeouts"),
    ('roots = ["127.0.0.1:2641"]', 'roots = ["root.example:2641"]', "recursive.roots"),
    ("negative_ttl = 60", "negative_tll = 60", "recursive.negative_tll"),
    ('role = "recursive"', 'role = "resolver"', "node.role"),
])
def test_recursive_mistakes_name_their_key(tmp_path: Path, old: str, new: str,
                                           key: str) -> None:
    text = recursive()
    assert old in text
    write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert key in str(err.value)
