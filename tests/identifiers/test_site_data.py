"""HS_SITE data: addresses, helpers, flags and the server hash rule (§10.3)."""

from __future__ import annotations

import hashlib
import ipaddress
import struct

import pytest

from idnode.errors import InvalidValue, ProtocolError
from idnode.identifiers.values import (
    HashOption,
    Interface,
    InterfaceProtocol,
    InterfaceType,
    ServerRecord,
    SiteData,
    handle_hash,
)


def server(server_id: int, ip: str = "10.0.0.1") -> ServerRecord:
    return ServerRecord.from_ip(server_id, ip, b"", (
        Interface(InterfaceType.ADMIN_AND_QUERY, InterfaceProtocol.TCP, 2641),
        Interface(InterfaceType.QUERY, InterfaceProtocol.UDP, 2641),
    ))


def site_of(n: int, hash_option: int = HashOption.HANDLE) -> SiteData:
    return SiteData(hash_option=hash_option, servers=tuple(server(i + 1) for i in range(n)))


def reference_index(handle: str, option: int, n: int) -> int:
    """The §10.3 rule written out independently, step by step."""
    prefix, slash, suffix = handle.partition("/")
    part = {0: prefix if slash else "0.NA", 1: suffix if slash else handle, 2: handle}[option]
    upper = part.encode("utf-8").upper()  # bytes.upper() touches ASCII letters only
    signed = int(struct.unpack(">i", hashlib.md5(upper).digest()[12:16])[0])
    java_abs = signed if signed >= 0 or signed == -(2**31) else -signed
    return abs(java_abs) % n if java_abs < 0 else java_abs % n


# -- hashing ------------------------------------------------------------------------------

def test_worked_example() -> None:
    assert handle_hash("20.500.12345/abc") == 1894531649
    assert handle_hash("20.500.12345/ABC") == 1894531649
    assert site_of(3).server_index("20.500.12345/abc") == 2
    assert site_of(3).server_for("20.500.12345/abc").server_id == 3


@pytest.mark.parametrize("handle", [
    "20.500.12345/abc", "88.100.1/Ünïcode-Suffix", "0.NA/88.100", "10.1045/march99-yang",
    "noslash", "a/b/c", "88.111.1/", "/leading",
])
@pytest.mark.parametrize("option", [0, 1, 2])
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_hash_matches_reference(handle: str, option: int, n: int) -> None:
    assert site_of(n, option).server_index(handle) == reference_index(handle, option, n)


def test_hash_options_select_parts() -> None:
    assert handle_hash("20.500.1/x", HashOption.PREFIX) == handle_hash("20.500.1/y", 0)
    assert handle_hash("20.500.1/x", HashOption.SUFFIX) == handle_hash("other/X", 1)
    assert handle_hash("noslash", HashOption.PREFIX) == handle_hash("0.NA/z", 0)
    assert handle_hash("noslash", HashOption.SUFFIX) == handle_hash("NOSLASH", 2)


def test_uppercase_is_ascii_only() -> None:
    # "é" is hashed as is; only the ASCII "x" becomes "X".
    signed = struct.unpack(">i", hashlib.md5("X/é".encode()).digest()[12:])[0]
    assert handle_hash("x/é") == abs(signed)
    assert handle_hash("x/é") != handle_hash("x/É")


def test_int32_min_keeps_java_semantics(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeDigest:
        def digest(self) -> bytes:
            return bytes(12) + b"\x80\x00\x00\x00"

    monkeypatch.setattr(hashlib, "md5",
                        lambda data, usedforsecurity=True: FakeDigest())
    assert handle_hash("any/thing") == -(2**31)
    # Java: -2**31 % 3 == -2; the index is its absolute value.
    assert site_of(3).server_index("any/thing") == 2
    assert site_of(2).server_index("any/thing") == 0


def test_hash_errors() -> None:
    with pytest.raises(InvalidValue, match="hash option 7"):
        site_of(2, 7).server_for("a/b")
    with pytest.raises(InvalidValue, match="no servers"):
        SiteData().server_for("a/b")


# -- addresses and helpers ----------------------------------------------------------------

def test_ipv4_is_zero_padded_not_mapped() -> None:
    record = ServerRecord.from_ip(1, "192.0.2.7")
    assert record.address == bytes(12) + bytes([192, 0, 2, 7])
    assert record.ip == ipaddress.IPv4Address("192.0.2.7")
    mapped = ServerRecord.from_ip(1, "::ffff:192.0.2.7")
    assert mapped.address == record.address


def test_ipv6_address() -> None:
    record = ServerRecord.from_ip(2, ipaddress.IPv6Address("2001:db8::1"))
    assert record.address == ipaddress.IPv6Address("2001:db8::1").packed
    assert record.ip == ipaddress.IPv6Address("2001:db8::1")


@pytest.mark.parametrize("bad", ["example.org", "1.2.3", "", "::g"])
def test_bad_text_address(bad: str) -> None:
    with pytest.raises(InvalidValue, match="is not an IP address"):
        ServerRecord.from_ip(1, bad)


def test_address_must_be_16_bytes() -> None:
    with pytest.raises(InvalidValue, match="4 bytes, not 16"):
        ServerRecord(1, b"\x7f\x00\x00\x01")


def test_interface_for() -> None:
    record = server(1)
    tcp = record.interface_for(InterfaceProtocol.TCP, admin=True)
    assert tcp is not None and tcp.port == 2641 and tcp.admin and tcp.query
    assert record.interface_for(InterfaceProtocol.UDP) == record.interfaces[1]
    assert record.interface_for(InterfaceProtocol.UDP, admin=True) is None
    assert record.interface_for(InterfaceProtocol.HTTPS) is None


def test_attribute() -> None:
    site = SiteData(attributes=((b"desc", b"Test site"), (b"domain", b"\xff"),
                                (b"desc", b"second")))
    assert site.attribute("desc") == "Test site"
    assert site.attribute("domain") == "\ufffd"
    assert site.attribute("DESC") is None


def test_flags_and_unknown_bits_round_trip() -> None:
    site = SiteData(primary=False, multi_primary=True, reserved_flags=0x05)
    assert site.flags == 0x45
    decoded = SiteData.from_bytes(site.to_bytes())
    assert decoded == site and decoded.reserved_flags == 0x05
    odd = SiteData(hash_option=9, servers=(ServerRecord(1, bytes(16), b"k",
                                                        (Interface(7, 200, 70000),)),))
    assert SiteData.from_bytes(odd.to_bytes()) == odd


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"serial": 70000}, "serial number 70000 is out of range"),
    ({"version": -1}, "site version -1 is out of range"),
    ({"primary": 1}, "must be booleans"),
    ({"reserved_flags": 0x80}, "overlap"),
    ({"attributes": ((b"a",),)}, "pair"),
    ({"servers": [server(1)]}, "tuple of ServerRecord"),
    ({"hash_filter": "x"}, "must be bytes"),
])
def test_site_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        SiteData(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "message"), [
    ((4, 1, 80), None), ((256, 1, 80), "interface type 256"), ((1, -1, 80), "protocol -1"),
    ((1, 1, 2**32), "port"), ((True, 1, 80), "must be an integer"),
])
def test_interface_validation(args: tuple[int, int, int], message: str | None) -> None:
    if message is None:
        Interface(*args)
    else:
        with pytest.raises(InvalidValue, match=message):
            Interface(*args)


@pytest.mark.parametrize("cut", [1, 9, 20, 40, 60])
def test_truncated_site_is_protocol_error(cut: int) -> None:
    data = site_of(1).to_bytes()
    with pytest.raises(ProtocolError):
        SiteData.from_bytes(data[:-cut])
    with pytest.raises(ProtocolError, match="trailing"):
        SiteData.from_bytes(data + b"\x00")
