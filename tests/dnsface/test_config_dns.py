"""The ``[dns]`` section."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from idnode.config import load_config, render_config
from idnode.config_dns import DnsConfig, parse_dns
from idnode.errors import ConfigError


def test_defaults_are_off() -> None:
    assert parse_dns({}) == DnsConfig()
    assert DnsConfig().listen is None


def test_a_full_section() -> None:
    config = parse_dns({"listen": "[::1]:5353", "zone": "OID.Example.CN", "ttl": 60,
                        "handle_zone": "hdl.example.cn.", "oid_mapping": "0.na/88",
                        "oids": {"1.2.156.3001": "0.NA/88.100.1", "2.16.156.9": "88.ab"}})
    assert config.listen == ("::1", 5353)
    assert config.zone == "oid.example.cn."
    assert config.oids == (("1.2.156.3001", "88.100.1"), ("2.16.156.9", "88.AB"))
    assert config.oid_mapping == "88"


@pytest.mark.parametrize(("table", "key"), [
    ({"port": 53}, "dns.port"),
    ({"listen": "somewhere"}, "dns.listen"),
    ({"zone": "a..b"}, "dns.zone"),
    ({"zone": "."}, "dns.zone"),
    ({"zone": "example.cn", "handle_zone": "hdl.example.cn"}, "dns.handle_zone"),
    ({"ttl": -1}, "dns.ttl"),
    ({"max_udp_payload": 100}, "dns.max_udp_payload"),
    ({"oids": {"1.2.x": "88.1"}}, "dns.oids.1.2.x"),
    ({"oids": {"1.2": "88/1"}}, "dns.oids.1.2"),
    ({"oids": {"1.02": "88.2"}}, "dns.oids.1.02"),
    ({"oids": {"1.2": "88.1", "urn:oid:1.2": "88.2"}}, "dns.oids"),
    ({"oids": ["1.2"]}, "dns.oids"),
    ({"oid_mapping": "88/MAP"}, "dns.oid_mapping"),
])
def test_bad_values_are_named(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dns(table)
    assert f"config key {key!r}" in str(info.value)


def test_load_config_reads_the_section(tmp_path: Path) -> None:
    text = render_config(prefixes=("88.100.1",), server_admins=("300:88.100.1/ADMIN",),
                         udp="127.0.0.1:2641", tcp="127.0.0.1:2641", http="off",
                         storage_url="memory:")
    assert "# [dns]" in text  # documented, commented out
    tomllib.loads(text)
    (tmp_path / "config.toml").write_text(text + """
[dns]
listen = "127.0.0.1:0"
[dns.oids]
"1.2.156.3001" = "88.100.1"
""")
    config = load_config(tmp_path)
    assert config.dns.listen == ("127.0.0.1", 0)
    assert config.dns.oids == (("1.2.156.3001", "88.100.1"),)
