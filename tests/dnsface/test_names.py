"""The identifier ↔ DNS name encoding and the OID map."""

from __future__ import annotations

import dns.name
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idnode.dnsface.names import decode_handle_name, encode_handle
from idnode.dnsface.oid import OidMap, parse_oid
from idnode.identifiers.handle import Handle

ZONE = dns.name.from_text("hdl.example.cn.")


def roundtrip(text: str) -> str | None:
    handle = Handle.parse(text)
    name = encode_handle(handle.key, ZONE)
    assert name is not None
    decoded = decode_handle_name(name.relativize(ZONE).labels).handle
    return None if decoded is None else decoded.key


@pytest.mark.parametrize(("text", "name"), [
    ("88.118.8/JXDY2106023", "jxdy2106023._.8.118.88"),
    ("88.118.8/2021-JXDY-023", "2021-jxdy-023._.8.118.88"),
    ("88.200.17/87.01.01.SG1020.20240315.0001", "0001.20240315.sg1020.01.01.87._.17.200.88"),
    ("88.100.1/abc", "_61_62_63._.1.100.88"),
    ("88.100.1/a_B c", "_61_5fb_20_63._.1.100.88"),
    ("88.100.1/测", "_e6_b5_8b._.1.100.88"),
    ("0.NA/88.118.8", "8.118.88"),
    ("0.na/88.ab", "ab.88"),
    ("88.ab/X", "x._.ab.88"),
])
def test_encoding(text: str, name: str) -> None:
    handle = Handle.parse(text)
    assert str(encode_handle(handle.key, ZONE)) == f"{name}.{ZONE}"
    assert roundtrip(text) == handle.key


def test_limits() -> None:
    assert encode_handle(Handle.parse("88.1/" + "A" * 63).key, ZONE) is not None
    assert encode_handle(Handle.parse("88.1/" + "A" * 64).key, ZONE) is None  # one label
    assert encode_handle(Handle.parse("88.1/" + "a" * 22).key, ZONE) is None  # 66 escaped
    assert encode_handle(Handle.parse("88.1/" + ".".join(["A" * 60] * 4)).key, ZONE) is None
    assert encode_handle(Handle.parse("88.1/A..B").key, ZONE) is None  # empty segment


@pytest.mark.parametrize("labels", [
    (b"_4a", b"_", b"1", b"88"),   # an upper-case letter is never escaped
    (b"_3", b"_", b"1", b"88"),    # half an escape
    (b"x", b"_", b"_", b"88"),     # empty suffix segment
    (b"x", b"*", b"88"),           # not an encoding character
    (b"x", b"_"), (b"_",),         # separator without prefix
    (b"_ff", b"_", b"1", b"88"),   # not UTF-8
])
def test_names_that_encode_nothing(labels: tuple[bytes, ...]) -> None:
    assert not decode_handle_name(labels).valid


_segment = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                   max_size=8).filter(lambda s: "." not in s and "/" not in s)


@settings(max_examples=300, deadline=None)
@given(prefix=st.lists(st.from_regex(r"[0-9A-Za-z]{1,6}", fullmatch=True), min_size=1,
                       max_size=4),
       suffix=st.lists(_segment, min_size=1, max_size=4))
def test_every_encodable_handle_round_trips(prefix: list[str], suffix: list[str]) -> None:
    handle = Handle.parse(".".join(prefix) + "/" + ".".join(suffix))
    name = encode_handle(handle.key, ZONE)
    if name is None:
        return
    decoded = decode_handle_name(name.relativize(ZONE).labels).handle
    assert decoded is not None and decoded.key == handle.key
    # DNS is case-insensitive: so is the encoding
    upper = dns.name.from_text(str(name).upper())
    again = decode_handle_name(upper.relativize(ZONE).labels).handle
    assert again is not None and again.key == handle.key


def test_oid_parsing() -> None:
    assert parse_oid("1.2.156.3001") == (1, 2, 156, 3001)
    assert parse_oid("urn:oid:2.16.156") == (2, 16, 156)
    for bad in ("", "1..2", "01.2", "3.1", "1.40", "1.2.x", "1.２"):
        with pytest.raises(ValueError, match=r"OID|arc"):
            parse_oid(bad)


def test_oid_map_longest_arc_and_empty_non_terminals() -> None:
    oids = OidMap([("1.2.156.3001", "88.100.1"), ("1.2.156.3001.9", "88.100.9")])
    assert oids.target((1, 2, 156, 3001)).handle == "0.NA/88.100.1"
    assert oids.target((1, 2, 156, 3001, 7, 12)).handle == "88.100.1/7.12"
    assert oids.target((1, 2, 156, 3001, 9, 1)).handle == "88.100.9/1"
    top = oids.target((1, 2, 156, 3001))
    assert top.below
    above = oids.target((1, 2))
    assert above.handle is None and above.below
    assert oids.target((2, 16)) == oids.target((2, 16))
    assert not oids.target((2, 16)).below
