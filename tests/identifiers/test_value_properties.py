"""Property tests: typed decoders never fail but with ProtocolError, and everything round-trips."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from idnode.errors import InvalidValue, ProtocolError
from idnode.identifiers.jsonvalue import value_from_json, value_to_json, values_from_json
from idnode.identifiers.value import HandleValue, Reference
from idnode.identifiers.values import (
    AdminData,
    GenericData,
    Interface,
    PublicKeyData,
    ServerRecord,
    SiteData,
    TextData,
    VListData,
    decode_data,
)
from idnode.identifiers.values.pubkey import DSA_PUB_KEY, RSA_PUB_KEY
from idnode.protocol.wire import Writer

FAST = settings(max_examples=150, deadline=None)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
small_bytes = st.binary(max_size=24)
handles = st.text(max_size=20)

admins = st.builds(AdminData, u16, handles, u32, st.sampled_from([b"", b"\x00\x00", b"ab"]))
references = st.builds(Reference, handles, u32)
vlists = st.builds(VListData, st.lists(references, max_size=4).map(tuple))
interfaces = st.builds(Interface, u8, u8, u32)
servers = st.builds(ServerRecord, u32, st.binary(min_size=16, max_size=16), small_bytes,
                    st.lists(interfaces, max_size=3).map(tuple))
sites = st.builds(
    SiteData, u16, u8, u8, u16, st.booleans(), st.booleans(), u8, small_bytes,
    st.lists(st.tuples(small_bytes, small_bytes), max_size=3).map(tuple),
    st.lists(servers, max_size=3).map(tuple), st.integers(0, 0x3F),
)
pubkeys = st.one_of(
    st.builds(PublicKeyData, st.just(RSA_PUB_KEY), u16,
              st.tuples(small_bytes, small_bytes)),
    st.builds(PublicKeyData, st.just(DSA_PUB_KEY), u16,
              st.tuples(small_bytes, small_bytes, small_bytes, small_bytes)),
    st.builds(PublicKeyData.rsa, st.integers(1, 2**64), st.integers(1, 2**512)),
    st.builds(PublicKeyData.dsa, *[st.integers(1, 2**160)] * 4),
    st.builds(PublicKeyData, st.sampled_from(["DH_PUB_KEY", "SM2_PUB_KEY", ""]), u16,
              st.just(()), small_bytes),
)
texts = st.builds(TextData, st.text(max_size=30))
generics = st.builds(GenericData, st.binary(max_size=40))

DECODERS = [AdminData, VListData, SiteData, PublicKeyData, TextData, GenericData]
TYPES = ["HS_ADMIN", "HS_VLIST", "HS_SITE", "HS_SITE.PREFIX", "HS_PUBKEY", "URL",
         "HS_SECKEY", "CHECKSUM"]


@FAST
@given(st.binary(max_size=120), st.sampled_from(DECODERS))
def test_arbitrary_bytes_decode_or_protocol_error(data: bytes, cls: Any) -> None:
    try:
        decoded = cls.from_bytes(data)
    except ProtocolError:
        return
    assert decoded.to_bytes() == data  # every accepted input re-encodes exactly


@FAST
@given(st.binary(max_size=120), st.sampled_from(TYPES))
def test_decode_data_raises_only_invalid_value(data: bytes, type_name: str) -> None:
    try:
        decoded = decode_data(type_name, data)
    except InvalidValue:
        return
    assert decoded.to_bytes() == data


@FAST
@given(st.one_of(admins, vlists, sites, pubkeys, texts, generics))
def test_encode_decode_round_trip(obj: Any) -> None:
    assert type(obj).from_bytes(obj.to_bytes()) == obj


@FAST
@given(sites)
def test_mutated_site_bytes_never_crash(site: SiteData) -> None:
    data = site.to_bytes()
    for cut in range(0, len(data), max(1, len(data) // 8)):
        try:
            SiteData.from_bytes(data[:cut] + data[cut + 1:])
        except ProtocolError:
            pass


typed_data = st.one_of(
    st.tuples(st.just("HS_ADMIN"), admins.map(AdminData.to_bytes)),
    st.tuples(st.just("HS_VLIST"), vlists.map(VListData.to_bytes)),
    st.tuples(st.sampled_from(["HS_SITE", "HS_SITE.6"]), sites.map(SiteData.to_bytes)),
    st.tuples(st.just("HS_PUBKEY"), pubkeys.map(PublicKeyData.to_bytes)),
    st.tuples(st.sampled_from(["URL", "EMAIL", "DESC", "CHECKSUM", "hs_alias"]),
              st.one_of(st.text(max_size=20).map(str.encode), st.binary(max_size=20))),
)
handle_values = st.builds(
    lambda td, index, ttl_type, ttl, ts, perms, refs: HandleValue(
        index, td[0], td[1], ttl_type, ttl, ts, perms, refs),
    typed_data, u32, st.sampled_from([0, 1]), u32, u32, st.integers(0, 0x0F),
    st.lists(references, max_size=2).map(tuple),
)


@FAST
@given(handle_values)
def test_json_round_trip(value: HandleValue) -> None:
    wire = json.loads(json.dumps(value_to_json(value)))
    try:
        decode_data(value.type, value.data)
        valid = True
    except InvalidValue:
        valid = False
    assert value_from_json(wire, validate=valid) == value


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
                         st.floats(allow_nan=False), st.text(max_size=8),
                         st.sampled_from(["1", "-3", "2026-11-24T09:53:29Z", "string", "hex",
                                          "base64", "admin", "vlist", "site", "key", "1110"]))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["index", "type", "data", "format", "value", "ttl",
                                         "timestamp", "permissions", "references", "handle",
                                         "servers", "address", "interfaces", "values",
                                         "protocol", "port", "kty", "n", "e"]),
                        inner, max_size=6)),
    max_leaves=12,
)


@FAST
@given(json_values)
def test_arbitrary_json_gives_value_or_invalid_value(obj: Any) -> None:
    try:
        values_from_json(obj)
    except InvalidValue:
        pass


skeletons = st.fixed_dictionaries(
    {"index": st.one_of(u32, json_scalars), "type": st.sampled_from(TYPES),
     "data": st.one_of(json_scalars, st.fixed_dictionaries(
         {"format": st.sampled_from(["string", "base64", "hex", "admin", "vlist", "site",
                                     "key", "KEY", "xml"]),
          "value": json_values}))},
    optional={"ttl": json_scalars, "timestamp": json_scalars, "permissions": json_scalars,
              "references": json_values},
)


@FAST
@given(skeletons)
def test_value_skeletons_give_value_or_invalid_value(obj: dict[str, Any]) -> None:
    try:
        value = value_from_json(obj)
    except InvalidValue:
        return
    assert value_from_json(json.loads(json.dumps(value_to_json(value)))) == value


@FAST
@given(handle_values)
def test_the_one_step_encoding_is_the_writers(value: HandleValue) -> None:
    # to_wire() builds values without references in one join; it must equal write().
    writer = Writer()
    value.write(writer)
    assert value.to_wire() == writer.getvalue()
    assert HandleValue.from_wire(value.to_wire()) == value
