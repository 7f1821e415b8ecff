"""The REST JSON value form (§14.3), the site JSON form (§6.5) and their leniency."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from idnode.errors import InvalidValue, TooManyValues
from idnode.identifiers.jsonvalue import (
    data_from_json,
    data_to_json,
    format_time,
    site_from_json,
    site_to_json,
    value_from_json,
    value_to_json,
    values_from_json,
    values_to_json,
)
from idnode.identifiers.value import (
    PERM_SECRET,
    TTL_ABSOLUTE,
    HandleValue,
    Reference,
)
from idnode.identifiers.values import (
    AdminData,
    Interface,
    PublicKeyData,
    ServerRecord,
    SiteData,
    VListData,
)

T0 = 1795514009  # 2026-11-24T09:53:29Z
SITE_BYTES = bytes.fromhex(
    "0001 020a 0001 80 02 00000000 00000000 00000001 00000001 000000000000000000000000"
    " 7f000001 00000000 00000003 0301 00000a51 0200 00000a51 0302 00001f40")
SITE_JSON = {
    "version": 1, "protocolVersion": "2.10", "serialNumber": 1, "primarySite": True,
    "multiPrimary": False, "attributes": [],
    "servers": [{"serverId": 1, "address": "127.0.0.1",
                 "publicKey": {"format": "base64", "value": ""},
                 "interfaces": [
                     {"query": True, "admin": True, "protocol": "TCP", "port": 2641},
                     {"query": True, "admin": False, "protocol": "UDP", "port": 2641},
                     {"query": True, "admin": True, "protocol": "HTTP", "port": 8000}]}],
}
ADMIN = AdminData(0x7F3, "0.NA/20.500.12345", 200)
RSA = PublicKeyData.rsa(65537, (1 << 1023) | 99)


def round_trip(value: HandleValue, validate: bool = True) -> dict[str, Any]:
    out = value_to_json(value)
    wire = json.loads(json.dumps(out))  # must be plain JSON
    assert value_from_json(wire, validate=validate) == value
    return out


# -- output and round trips -----------------------------------------------------------------

def test_time_format() -> None:
    assert format_time(T0) == "2026-11-24T09:53:29Z"


def test_url_value_shape() -> None:
    value = HandleValue(1, "URL", b"http://x", timestamp=T0)
    assert round_trip(value) == {
        "index": 1, "type": "URL", "data": {"format": "string", "value": "http://x"},
        "ttl": 86400, "timestamp": "2026-11-24T09:53:29Z"}


def test_optional_members() -> None:
    value = HandleValue(300, "HS_SECKEY", b"secret", permissions=PERM_SECRET, timestamp=0,
                        references=(Reference("0.NA/88.1", 100),))
    out = round_trip(value)
    assert out["permissions"] == "1100"
    assert "timestamp" not in out
    assert out["references"] == [{"handle": "0.NA/88.1", "index": 100}]
    assert "permissions" not in value_to_json(HandleValue(1, "URL", b""))
    assert "references" not in value_to_json(HandleValue(1, "URL", b""))


def test_absolute_ttl() -> None:
    out = round_trip(HandleValue(2, "URL", b"x", ttl_type=TTL_ABSOLUTE, ttl=T0))
    assert out["ttl"] == "2026-11-24T09:53:29Z"


@pytest.mark.parametrize(("type_name", "data", "fmt", "json_value"), [
    ("HS_ADMIN", ADMIN.to_bytes(), "admin",
     {"handle": "0.NA/20.500.12345", "index": 200, "permissions": "011111110011"}),
    ("HS_VLIST", VListData((Reference("88.1/a", 300), Reference("88.1/b", 301))).to_bytes(),
     "vlist", [{"handle": "88.1/a", "index": 300}, {"handle": "88.1/b", "index": 301}]),
    ("HS_SITE", SITE_BYTES, "site", SITE_JSON),
    ("HS_SITE.PREFIX", SITE_BYTES, "site", SITE_JSON),
    ("HS_PUBKEY", PublicKeyData.dsa(11, 23, 4, 9).to_bytes(), "key",
     {"kty": "DSA", "p": "Fw", "q": "Cw", "g": "BA", "y": "CQ"}),
    ("EMAIL", "ü@example.org".encode(), "string", "ü@example.org"),
    ("CHECKSUM", b"abc123", "string", "abc123"),
    ("URL", b"\xff\x00", "base64", "/wA="),
    ("DESC", b"tab\tcr\rlf\n", "string", "tab\tcr\rlf\n"),
    ("DESC", b"nul\x00", "base64", "bnVsAA=="),
    ("HS_PUBKEY", PublicKeyData("SM2_PUB_KEY", 0, (), b"\x04\x01").to_bytes(), "base64",
     base64.b64encode(PublicKeyData("SM2_PUB_KEY", 0, (), b"\x04\x01").to_bytes()).decode()),
])
def test_formats(type_name: str, data: bytes, fmt: str, json_value: Any) -> None:
    out = round_trip(HandleValue(7, type_name, data, timestamp=T0))
    assert out["data"] == {"format": fmt, "value": json_value}


def test_rsa_key_format() -> None:
    out = round_trip(HandleValue(300, "HS_PUBKEY", RSA.to_bytes()))
    assert out["data"]["format"] == "key"
    assert out["data"]["value"]["kty"] == "RSA" and out["data"]["value"]["e"] == "AQAB"


@pytest.mark.parametrize(("type_name", "data"), [
    ("HS_ADMIN", ADMIN.to_bytes() + b"\x00\x00"),  # legacy tail: no exact admin form
    ("HS_ADMIN", b"\x01"),  # malformed
    ("HS_PUBKEY", b"\x00\x00\x00\x0bRSA_PUB_KEY\x00\x00\x00\x00\x00\x02\x00\x01"
                  b"\x00\x00\x00\x03\x00\x00\x05"),  # non-canonical integers
    ("HS_SITE", SiteData(reserved_flags=1).to_bytes()),
    ("HS_SITE", SiteData(attributes=((b"desc", b"\xff"),)).to_bytes()),
    ("HS_SITE", SiteData(servers=(ServerRecord.from_ip(1, "::ffff:1.2.3.4"),)).to_bytes()
     .replace(bytes(12), bytes(10) + b"\xff\xff")),
    ("HS_SITE", SiteData(servers=(ServerRecord(1, bytes(16), b"",
                                               (Interface(5, 1, 80),)),)).to_bytes()),
])
def test_inexact_typed_forms_fall_back_to_base64(type_name: str, data: bytes) -> None:
    out = round_trip(HandleValue(9, type_name, data), validate=type_name != "HS_ADMIN")
    assert out["data"] == {"format": "base64", "value": base64.b64encode(data).decode()}


def test_site_json_exact_shape_and_golden_bytes() -> None:
    site = SiteData.from_bytes(SITE_BYTES)
    assert site_to_json(site) == SITE_JSON
    assert site_from_json(SITE_JSON).to_bytes() == SITE_BYTES


def test_site_json_options() -> None:
    site = SiteData(serial=9, primary=False, multi_primary=True, hash_option=0,
                    hash_filter=b"f", attributes=((b"desc", b"d"),), servers=(
                        ServerRecord.from_ip(4, "2001:db8::4", RSA.to_bytes(), (
                            Interface(0, 3, 443), Interface(1, 9, 1))),))
    out = site_to_json(site)
    assert out["hashOption"] == 0 and out["hashFilter"] == "f"
    assert out["attributes"] == [{"name": "desc", "value": "d"}]
    assert out["servers"][0]["address"] == "2001:db8::4"
    assert out["servers"][0]["interfaces"] == [
        {"query": False, "admin": False, "protocol": "HTTPS", "port": 443},
        {"query": False, "admin": True, "protocol": 9, "port": 1}]
    assert site_from_json(json.loads(json.dumps(out))) == site


def test_site_json_leniency() -> None:
    site = site_from_json({
        "attributes": {"desc": "x", "alt_addr": ["a", "b"]},
        "servers": [{"address": " 10.0.0.1 ", "publicKey": {"format": "KEY", "value": {
            "kty": "rsa", "n": "AQAB", "e": "Aw"}},
            "interfaces": [{"protocol": "tcp", "port": "2641", "query": True}]}],
    })
    assert site.primary is False and site.serial == 1 and site.protocol_minor == 10
    assert site.attributes == ((b"desc", b"x"), (b"alt_addr", b"a"), (b"alt_addr", b"b"))
    assert site.servers[0].server_id == 0
    assert PublicKeyData.from_bytes(site.servers[0].public_key).ints() == (3, 65537)
    assert site.servers[0].interfaces == (Interface(2, 1, 2641),)
    hex_key = site_from_json({"servers": [{"address": "::1", "interfaces": [],
                                           "publicKey": {"format": "hex", "value": "0a0b"}}]})
    assert hex_key.servers[0].public_key == b"\n\x0b"


# -- input leniency -------------------------------------------------------------------------

PYHANDLE_ADMIN = {"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": {
    "index": "200", "handle": "0.NA/20.500.12345", "permissions": "011111110011"}}}


@pytest.mark.parametrize(("obj", "expected"), [
    ({"index": 1, "type": "URL", "data": "http://x"},
     HandleValue(1, "URL", b"http://x")),
    ({"index": "2", "type": "CHECKSUM", "data": "abc"}, HandleValue(2, "CHECKSUM", b"abc")),
    (PYHANDLE_ADMIN, HandleValue(100, "HS_ADMIN", ADMIN.to_bytes())),
    ({"index": 1, "type": "URL", "data": {"format": "STRING", "value": "x"}},
     HandleValue(1, "URL", b"x")),
    ({"index": 1, "type": "X", "data": {"format": "hex", "value": "00 ff"}},
     HandleValue(1, "X", b"\x00\xff")),
    ({"index": 1, "type": "X", "data": {"format": "base64", "value": "AP8\n"}},
     HandleValue(1, "X", b"\x00\xff")),
    ({"index": 1, "type": "X", "data": {"format": "base64", "value": "-_8"}},
     HandleValue(1, "X", b"\xfb\xff")),
    ({"index": 1.0, "type": "URL", "data": "x", "ttl": "3600"},
     HandleValue(1, "URL", b"x", ttl=3600)),
    ({"index": 1, "type": "URL", "data": "x", "ttl": "2026-11-24T09:53:29Z"},
     HandleValue(1, "URL", b"x", ttl_type=TTL_ABSOLUTE, ttl=T0)),
    ({"index": 1, "type": "URL", "data": "x", "ttl": "2026-11-24T10:53:29+01:00"},
     HandleValue(1, "URL", b"x", ttl_type=TTL_ABSOLUTE, ttl=T0)),
    ({"index": 1, "type": "URL", "data": "x", "timestamp": "2026-11-24T09:53:29"},
     HandleValue(1, "URL", b"x", timestamp=T0)),
    ({"index": 1, "type": "URL", "data": "x", "timestamp": T0},
     HandleValue(1, "URL", b"x", timestamp=T0)),
    ({"index": 1, "type": "URL", "data": "x", "permissions": "1111"},
     HandleValue(1, "URL", b"x", permissions=0x0F)),
    ({"index": 1, "type": "URL", "data": "x", "permissions": None, "ttl": None,
      "references": None, "timestamp": None, "extra": [1]},
     HandleValue(1, "URL", b"x")),
    ({"index": 7, "type": "HS_ADMIN", "data": {"format": "admin", "value": {
        "index": 300, "handle": "88.1/a", "permissions": "*"}}},
     HandleValue(7, "HS_ADMIN", AdminData(0xFFF, "88.1/a", 300).to_bytes())),
    ({"index": 2, "type": "HS_VLIST", "data": {"format": "vlist", "value": [
        {"handle": "88.1/a", "index": "300"}]}},
     HandleValue(2, "HS_VLIST", VListData((Reference("88.1/a", 300),)).to_bytes())),
    ({"index": 3, "type": "HS_SITE", "data": {"format": "site", "value": SITE_JSON}},
     HandleValue(3, "HS_SITE", SITE_BYTES)),
])
def test_leniency(obj: dict[str, Any], expected: HandleValue) -> None:
    assert value_from_json(obj) == expected


def test_timestamp_default_is_now() -> None:
    obj = {"index": 1, "type": "URL", "data": "x"}
    assert value_from_json(obj, now=T0).timestamp == T0
    assert value_from_json(obj).timestamp == 0
    assert value_from_json({**obj, "timestamp": 5}, now=T0).timestamp == 5


def test_values_body_shapes() -> None:
    one = {"index": 1, "type": "URL", "data": "x"}
    two = {"index": 2, "type": "EMAIL", "data": "a@b"}
    expected = (HandleValue(1, "URL", b"x"), HandleValue(2, "EMAIL", b"a@b"))
    assert values_from_json([one, two]) == expected
    assert values_from_json({"handle": "88.1/x", "values": [one, two]}) == expected
    assert values_from_json(one) == expected[:1]
    assert values_from_json([]) == ()
    assert values_to_json(expected) == [value_to_json(v) for v in expected]


def test_data_helpers() -> None:
    assert data_from_json({"format": "hex", "value": "41"}) == b"A"
    assert data_to_json("URL", b"A") == {"format": "string", "value": "A"}


# -- errors ---------------------------------------------------------------------------------

def url(**changes: Any) -> dict[str, Any]:
    return {"index": 3, "type": "URL", "data": "x", **changes}


def data(fmt: str, value: Any) -> dict[str, Any]:
    return url(data={"format": fmt, "value": value})


@pytest.mark.parametrize(("obj", "message"), [
    ([], "value: expected a JSON object, got array"),
    ("x", "value: expected a JSON object, got string"),
    ({}, "value: index is missing"),
    (url(index=True), "value: index true is not an integer"),
    (url(index=-1), "value: index -1 is out of range 0..4294967295"),
    (url(index="-1"), "value: index -1 is out of range"),
    (url(index=2**32), "value: index 4294967296 is out of range"),
    (url(index="1e3"), "value: index '1e3' is not an integer"),
    (url(index=1.5), "value: index 1.5 is not an integer"),
    (url(index="9" * 40), "is not an integer"),
    (url(index=None), "value: index null is not an integer"),
    ({"index": 3, "data": "x"}, "value 3: type is missing"),
    (url(type=5), "value 3: type must be a string, got number"),
    (url(type=""), "value 3: type is empty"),
    (url(type="\udc80"), "value 3: type contains a lone surrogate"),
    ({"index": 3, "type": "URL"}, "value 3: data is missing"),
    (url(data=None), "value 3: data must be an object, got null"),
    (url(data=["x"]), "value 3: data must be an object, got array"),
    (url(data="\ud800"), "value 3: data contains a lone surrogate"),
    (url(data={"value": "x"}), "value 3: data.format is missing"),
    (url(data={"format": "string"}), "value 3: data.value is missing"),
    (data("xml", "x"),
     "value 3: data.format 'xml' is not one of string, base64, hex, admin, vlist, site, key"),
    (data("string", 5), "value 3: data.value must be a string, got number"),
    (data("base64", "a$b"), "value 3: data.value is not valid base64"),
    (data("base64", "A"), "value 3: data.value is not valid base64"),
    (data("hex", "abc"), "value 3: data.value is not valid hex"),
    (data("hex", "zz"), "value 3: data.value is not valid hex"),
    (data("admin", "x"), "value 3: data.value must be an object, got string"),
    (data("admin", {"index": 1, "permissions": "*"}), "value 3: data.value.handle is missing"),
    (data("admin", {"handle": "", "index": 1, "permissions": "*"}),
     "value 3: data.value.handle is empty"),
    (data("admin", {"handle": "a/b", "index": "x", "permissions": "*"}),
     "value 3: data.value.index 'x' is not an integer"),
    (data("admin", {"handle": "a/b", "index": 1}), "value 3: data.value.permissions is missing"),
    (data("admin", {"handle": "a/b", "index": 1, "permissions": "0111"}),
     "value 3: data.value.permissions '0111' must be 12 characters of 0/1"),
    (data("admin", {"handle": "a/b", "index": 1, "permissions": 0x7F3}),
     "value 3: data.value.permissions 2035 must be 12 characters"),
    (data("vlist", {"handle": "a/b"}), "value 3: data.value must be an array, got object"),
    (data("vlist", [{"handle": "a/b", "index": False}]),
     "value 3: data.value[0].index false is not an integer"),
    (data("vlist", [{"index": 1}]), "value 3: data.value[0].handle is missing"),
    (data("key", {"kty": "EC"}), "value 3: data.value JWK kty 'EC' is not 'RSA' or 'DSA'"),
    (data("key", {"kty": "RSA", "n": "AQAB"}), "value 3: data.value JWK member 'e' is missing"),
    (data("site", []), "value 3: data.value must be an object, got array"),
    (data("site", {"servers": [{"interfaces": []}]}),
     "value 3: data.value.servers[0].address is missing"),
    (data("site", {"servers": [{"address": "host.example", "interfaces": []}]}),
     "value 3: data.value.servers[0].address 'host.example' is not an IP address"),
    (data("site", {"servers": [{"address": "::1", "interfaces": [{"port": 1}]}]}),
     "value 3: data.value.servers[0].interfaces[0].protocol is missing"),
    (data("site", {"servers": [{"address": "::1", "interfaces": [
        {"protocol": "SCTP", "port": 1}]}]}),
     "interfaces[0].protocol 'SCTP' is not one of UDP, TCP, HTTP, HTTPS"),
    (data("site", {"servers": [{"address": "::1", "interfaces": [
        {"protocol": "TCP", "port": 70000}]}]}),
     "interfaces[0].port 70000 is out of range 0..65535"),
    (data("site", {"servers": [{"address": "::1", "interfaces": [
        {"protocol": "TCP", "port": 1, "query": "yes"}]}]}),
     "interfaces[0].query must be true or false, got 'yes'"),
    (data("site", {"servers": [{"address": "::1", "publicKey": {"format": "admin",
                                                                 "value": ""}}]}),
     "servers[0].publicKey.format 'admin' is not one of base64, hex, key, string"),
    (data("site", {"protocolVersion": "2"}),
     "value 3: data.value.protocolVersion '2' is not a version like '2.10'"),
    (data("site", {"protocolVersion": "2.300"}), "'2.300' is not a version"),
    (data("site", {"serialNumber": 65536}), "data.value.serialNumber 65536 is out of range"),
    (data("site", {"primarySite": 1}), "data.value.primarySite must be true or false, got 1"),
    (data("site", {"attributes": [{"name": "desc"}]}),
     "data.value.attributes[0].value is missing"),
    (data("site", {"attributes": "desc"}), "data.value.attributes must be an array"),
    (data("site", {"servers": {}}), "data.value.servers must be an array, got object"),
    (url(type="HS_ADMIN", data={"format": "base64", "value": "AAAA"}),
     "value 3: HS_ADMIN data is malformed: HS_ADMIN: truncated"),
    (url(type="HS_SITE", data="not a site"), "value 3: HS_SITE data is malformed"),
    (url(ttl=True), "value 3: ttl true is neither a number of seconds nor an ISO-8601 date"),
    (url(ttl=-5), "value 3: ttl -5 is out of range"),
    (url(ttl="tomorrow"), "value 3: ttl 'tomorrow' is neither a number nor an ISO-8601 date"),
    (url(ttl="1969-01-01T00:00:00Z"), "value 3: ttl '1969-01-01T00:00:00Z' is outside"),
    (url(ttl=[1]), "value 3: ttl [1] is neither"),
    (url(timestamp="never"), "value 3: timestamp 'never' is neither a number nor"),
    (url(timestamp=False), "value 3: timestamp false is neither a number nor an ISO-8601"),
    (url(timestamp="\ud800"), "value 3: timestamp '\\ud800' is neither"),
    (url(permissions="111"), "value 3: permissions '111' must be 4 characters of 0/1"),
    (url(permissions=14), "value 3: permissions 14 must be 4 characters of 0/1"),
    (url(references={}), "value 3: references must be an array, got object"),
    (url(references=[{"handle": "a/b"}]), "value 3: references[0].index is missing"),
    (url(references=["a/b"]), "value 3: references[0] must be an object, got string"),
])
def test_error_messages(obj: Any, message: str) -> None:
    with pytest.raises(InvalidValue) as info:
        value_from_json(obj)
    assert message in str(info.value)
    assert str(info.value).startswith("invalid value: ")


@pytest.mark.parametrize(("body", "message"), [
    ("x", "values: expected an array or an object, got string"),
    ({"values": {}}, "values must be an array, got object"),
    ([{"index": 1, "type": "URL", "data": "x"}, 5], "values[1]: expected a JSON object"),
    ([{"type": "URL", "data": "x"}], "values[0]: index is missing"),
    ([{"index": 1, "type": "URL", "data": "x"}, {"index": 1, "type": "URL", "data": "y"}],
     "value 1: index is used by more than one value"),
])
def test_values_errors(body: Any, message: str) -> None:
    with pytest.raises(InvalidValue, match=message.replace("[", r"\[").replace("]", r"\]")):
        values_from_json(body)


def test_too_many_values() -> None:
    body = [{"index": i, "type": "URL", "data": "x"} for i in range(2049)]
    with pytest.raises(TooManyValues):
        values_from_json(body)


def test_site_from_json_root_errors() -> None:
    with pytest.raises(InvalidValue, match="site: must be an object, got array"):
        site_from_json([])
    with pytest.raises(InvalidValue, match=r"site: servers\[0\] must be an object"):
        site_from_json({"servers": [1]})
