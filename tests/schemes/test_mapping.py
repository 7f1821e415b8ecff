"""Mapping records: design, longest key first, bounded lookups, templates, bad records."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import pytest

from idnode.errors import HandleNotFound, InvalidIdentifier, InvalidValue, RemoteError
from idnode.identifiers.value import HandleValue
from idnode.schemes import (
    MAP_TYPE,
    MappingRule,
    MappingSettings,
    find_mapping,
    map_identifier,
    mapping_handle,
    mapping_values,
    parse,
)


class Records:
    """A dict as a record source, counting lookups."""

    def __init__(self, records: dict[str, Sequence[HandleValue]]) -> None:
        self.records = records
        self.asked: list[str] = []

    async def __call__(self, handle: str) -> Sequence[HandleValue] | None:
        self.asked.append(handle)
        return self.records.get(handle)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def rule(scheme: str, key: str, prefix: str, suffix: str | None = None, *,
         index: int = 1, kinds: Sequence[str] = ()) -> HandleValue:
    return mapping_values(scheme, key, prefix, suffix, index=index, kinds=kinds)[0]


def test_mapping_values_and_handle() -> None:
    value = rule("gs1", "952123", "88.118.8")
    assert value.type == MAP_TYPE and value.index == 1 and value.ttl == 86400
    assert json.loads(value.data) == {"scheme": "gs1", "key": "952123", "prefix": "88.118.8",
                                      "suffix": "{identity}"}
    assert json.loads(rule("oid", "1.2.156.20009", "88.118").data)["suffix"] == "{canonical}"
    assert mapping_handle("gs1", "952123") == "88/MAP.GS1.952123"
    assert mapping_handle("oid", "1.2.156", home="88.100") == "88.100/MAP.OID.1.2.156"
    # Keys are checked by their scheme.
    for scheme, key, message in [("gs1", "95A", "4 to 12 digits"),
                                 ("oid", "3.1", "first arc is 3"),
                                 ("ecode", "1001", "the header V"),
                                 ("vaa", "AB", "company identification number"),
                                 ("dns", "a..b", "empty"),
                                 ("handle", "88.1", "no mapping records"),
                                 ("nosuch", "1", "unknown identifier scheme")]:
        with pytest.raises(InvalidIdentifier, match=message):
            mapping_values(scheme, key, "88.1")
    assert json.loads(rule("vaa", "c0a1", "88.1").data)["key"] == "C0A1"
    assert json.loads(rule("dns", "Example.COM.", "88.1").data)["key"] == "example.com"
    with pytest.raises(InvalidValue, match="lone"):
        mapping_values("gs1", "952123", "88.1", "{gtin")
    with pytest.raises(InvalidValue, match="must not contain '/'"):
        mapping_values("gs1", "952123", "88.1/x")


def test_longest_key_wins_and_lookups_are_bounded() -> None:
    gtin = parse("(01)09521234543213(21)12345")
    records = Records({
        "88/MAP.GS1.9521": [rule("gs1", "9521", "88.1", "short.{gtin}")],
        "88/MAP.GS1.9521234": [rule("gs1", "9521234", "88.118.8", "{gtin}.{ai21}")],
    })
    hit = run(find_mapping(gtin, records))
    assert hit.handle == "88.118.8/09521234543213.12345"
    assert (hit.record, hit.key, hit.index) == ("88/MAP.GS1.9521234", "9521234", 1)
    # Candidates 12 … 4 digits, asked at once; never more than max_lookups.
    assert len(records.asked) == 9 and records.asked[0] == "88/MAP.GS1.952123454321"
    records.asked.clear()
    small = MappingSettings(max_lookups=3)
    with pytest.raises(HandleNotFound, match=r"88/MAP\.GS1\.9521234543"):
        run(map_identifier(gtin, records, small))
    assert len(records.asked) == 3
    # Homes are configurable per scheme.
    moved = Records({"88.9/MAP.GS1.9521234": [rule("gs1", "9521234", "88.118.8")]})
    assert run(map_identifier(gtin, moved, MappingSettings(homes=(("gs1", "88.9"),)))) == \
        "88.118.8/(01)09521234543213(21)12345"


def test_first_applicable_value_wins() -> None:
    records = Records({"88/MAP.GS1.9521234": [
        rule("gs1", "9521234", "88.118.8", "{gtin}.{ai21}", index=1),
        rule("gs1", "9521234", "88.118.8", "{gtin}", index=2),
        rule("gs1", "9521234", "88.118.7", "{key_value}", index=3, kinds=["SSCC"]),
    ]})
    # Serialised → value 1; plain GTIN → value 2 (value 1 needs {ai21}).
    assert run(map_identifier(parse("(01)09521234543213(21)7"), records)) == \
        "88.118.8/09521234543213.7"
    assert run(map_identifier(parse("9521234543213"), records)) == "88.118.8/09521234543213"
    # kinds limits a value to some kinds: the SSCC skips values 1 and 2 (no {gtin}) and
    # value 3 is for SSCCs but needs a field it does not have.
    with pytest.raises(HandleNotFound, match=r"needs \{key_value\}"):
        run(map_identifier(parse("(00)395212340000000014"), records))


def test_every_scheme_maps() -> None:
    records = Records({
        "88/MAP.OID.1.2.156.20009": [rule("oid", "1.2.156.20009", "88.118.9", "OID.{oid}")],
        "88/MAP.OID.1.2.156": [rule("oid", "1.2.156", "88.118")],
        "88/MAP.ECODE.10001": [rule("ecode", "10001", "88.168.5288", "E.{md}")],
        "88/MAP.VAA.C0A1": [rule("vaa", "C0A1", "88.200.17", "{reference}")],
        "88/MAP.DNS.example.com.cn": [rule("dns", "example.com.cn", "88.1", "dns.{name}")],
        "88/MAP.GENERIC.ACME-42": [rule("generic", "ACME-42", "88.1", "legacy.{text}")],
        "88/MAP.GS1.9521234": [rule("gs1", "9521234", "88.118.8", "{gtin}")],
    })
    cases = {
        "1.2.156.20009.7.1": "88.118.9/OID.1.2.156.20009.7.1",
        "urn:oid:1.2.156.3": "88.118/1.2.156.3",
        "ecode:10001123456789": "88.168.5288/E.123456789",
        "VAA" + "C0A1" + "SN0042": "88.200.17/C0A1SN0042",
        "www.example.com.cn": "88.1/dns.www.example.com.cn",
        "ACME-42": "88.1/legacy.ACME-42",
        "ecode:0(01)09521234543213": "88.118.8/09521234543213",  # V0 maps as GS1
        "88.118.8/JXDY2106023": "88.118.8/JXDY2106023",  # a handle is itself
    }
    for text, handle in cases.items():
        assert run(map_identifier(parse(text), records)) == handle, text


def test_missing_and_malformed_records() -> None:
    gtin = parse("(01)06901234567892")
    with pytest.raises(HandleNotFound) as caught:
        run(map_identifier(gtin, Records({})))
    assert caught.value.response_code == 100
    assert "no mapping record (映射记录) maps GS1 GTIN-13 (01)06901234567892" in str(caught.value)
    assert "88/MAP.GS1.690123456789" in str(caught.value)

    def bad(data: bytes) -> Records:
        return Records({"88/MAP.GS1.6901234": [HandleValue(1, MAP_TYPE, data)]})

    for data, message in [(b"{", "not JSON"), (b"[]", "not a JSON object"),
                          (b'{"scheme":"gs1","key":"6901234"}', "'prefix' must be"),
                          (b'{"scheme":"gs1","key":"6901234","prefix":"88.1","kinds":"x"}',
                           "'kinds' must be"),
                          (b'{"scheme":"gs1","key":"6901234","prefix":"88.1","suffix":"{a"}',
                           "lone")]:
        with pytest.raises(InvalidValue, match=message):
            run(map_identifier(gtin, bad(data)))
    # A record filed under the wrong key is skipped, and said so.
    misfiled = Records({"88/MAP.GS1.6901234": [rule("gs1", "6901", "88.1")]})
    with pytest.raises(HandleNotFound, match="is for gs1 key 6901"):
        run(map_identifier(gtin, misfiled))
    # Other value types in the record are ignored.
    mixed = Records({"88/MAP.GS1.6901234": [HandleValue(1, "URL", b"https://x"),
                                            rule("gs1", "6901234", "88.1", "{gtin}", index=2)]})
    assert run(map_identifier(gtin, mixed)) == "88.1/06901234567892"
    rule_back = MappingRule.from_value(rule("gs1", "6901234", "88.1", kinds=["GTIN"]), "r")
    assert rule_back.kinds == ("GTIN",) and rule_back.suffix == "{identity}"


def test_lookup_failures_propagate() -> None:
    async def broken(handle: str) -> Sequence[HandleValue] | None:
        if handle.endswith("95212345432"):
            raise RemoteError("response code 2: down", response_code=2)
        return None

    with pytest.raises(RemoteError, match="down"):
        run(map_identifier(parse("9521234543213"), broken))

    async def gone(handle: str) -> Sequence[HandleValue] | None:
        raise HandleNotFound(handle=handle)  # a raw resolver: not found means absent

    with pytest.raises(HandleNotFound, match="no mapping record"):
        run(map_identifier(parse("9521234543213"), gone))


def test_store_lookup() -> None:
    from idnode.identifiers.handle import Handle
    from idnode.schemes.lookups import store_lookup
    from idnode.storage import open_store

    store = open_store("memory:")
    store.home_prefix("88")
    store.create_handle(Handle.parse("88/MAP.OID.1.2.156.20009"),
                        [rule("oid", "1.2.156.20009", "88.118.8", "OID.{oid}")])
    assert run(map_identifier(parse("1.2.156.20009.5"), store_lookup(store))) == \
        "88.118.8/OID.1.2.156.20009.5"
    store.close()
