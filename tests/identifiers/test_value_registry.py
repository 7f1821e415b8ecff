"""The value type registry, text and generic data, and HS_PUBKEY's JWK form."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from idnode.errors import InvalidValue, ProtocolError
from idnode.identifiers.values import (
    SITE_TYPES,
    TEXT_TYPES,
    AdminData,
    GenericData,
    PublicKeyData,
    SiteData,
    TextData,
    VListData,
    data_class_for,
    decode_data,
    register_value_type,
)
from idnode.identifiers.values import registry as registry_module
from idnode.identifiers.values.pubkey import DSA_PUB_KEY, RSA_PUB_KEY, int_to_java


@pytest.mark.parametrize(("type_name", "cls"), [
    ("HS_ADMIN", AdminData), ("hs_admin", AdminData), ("HS_VLIST", VListData),
    ("HS_PUBKEY", PublicKeyData), ("HS_SITE", SiteData), ("hs_site.6", SiteData),
    ("HS_SITE.PREFIX", SiteData), ("HS_NA_DELEGATE", SiteData), ("URL", TextData),
    ("10320/loc", TextData), ("HS_SECKEY", TextData), ("HS_SERV.PREFIX", TextData),
    ("CHECKSUM", GenericData), ("", GenericData), ("HS_SITE.", GenericData),
])
def test_data_class_for(type_name: str, cls: object) -> None:
    assert data_class_for(type_name) is cls


def test_every_listed_type_is_registered() -> None:
    for name in TEXT_TYPES:
        assert data_class_for(name) is TextData
    for name in SITE_TYPES:
        assert data_class_for(name) is SiteData


def test_decode_text_and_generic() -> None:
    assert decode_data("URL", b"http://x") == TextData("http://x")
    assert decode_data("email", "ü@example.org".encode()) == TextData("ü@example.org")
    assert decode_data("UNKNOWN", b"\x00\xff") == GenericData(b"\x00\xff")
    # Invalid UTF-8 in a text type is kept as generic data, never an error.
    assert decode_data("URL", b"\xff\xfe") == GenericData(b"\xff\xfe")


def test_text_from_bytes_is_strict() -> None:
    with pytest.raises(ProtocolError, match="not valid UTF-8"):
        TextData.from_bytes(b"ok\xc3")


@pytest.mark.parametrize(("type_name", "data", "message"), [
    ("HS_ADMIN", b"\x0f", "HS_ADMIN data is malformed"),
    ("hs_admin", b"\x0f\xff\x00\x00\x00\x01a\x00\x00\x00\x01\x00", "hs_admin data is malformed"),
    ("HS_VLIST", b"\x00\x00\x00\x05", "HS_VLIST data is malformed"),
    ("HS_SITE.6", b"\x00\x01\x02", "HS_SITE.6 data is malformed"),
    ("HS_PUBKEY", b"\x00\x00\x00\x0bRSA_PUB_KEY\x00\x00", "HS_PUBKEY data is malformed"),
])
def test_decode_data_malformed_is_invalid_value(type_name: str, data: bytes,
                                                message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        decode_data(type_name, data)


@dataclass(frozen=True, slots=True)
class _Point:
    x: int

    @classmethod
    def from_bytes(cls, data: bytes) -> _Point:
        if len(data) != 1:
            raise ProtocolError(reason="point is one byte")
        return cls(data[0])

    def to_bytes(self) -> bytes:
        return bytes([self.x])


@pytest.fixture
def saved_registry() -> Iterator[None]:
    saved = dict(registry_module._REGISTRY)
    yield
    registry_module._REGISTRY.clear()
    registry_module._REGISTRY.update(saved)


@pytest.mark.usefixtures("saved_registry")
def test_register_value_type() -> None:
    register_value_type("x_Point", _Point)
    assert data_class_for("X_POINT") is _Point
    assert decode_data("x_point", b"\x07") == _Point(7)
    with pytest.raises(InvalidValue, match="x_point data is malformed: point is one byte"):
        decode_data("x_point", b"")
    with pytest.raises(InvalidValue, match="empty type name"):
        register_value_type("", _Point)


def test_text_validation() -> None:
    with pytest.raises(InvalidValue, match="lone surrogate"):
        TextData("\ud800")
    with pytest.raises(InvalidValue, match="must be a str"):
        TextData(b"x")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="must be bytes"):
        GenericData("x")  # type: ignore[arg-type]


def test_generic_round_trip() -> None:
    data = bytes(range(256))
    assert GenericData.from_bytes(data).to_bytes() == data


# -- HS_PUBKEY and JWK ---------------------------------------------------------------------

RSA_N = (1 << 2047) + 12345  # top bit set: Java writes a leading zero byte
RSA_E = 65537


def test_rsa_jwk() -> None:
    key = PublicKeyData.rsa(RSA_E, RSA_N)
    assert key.components[1][0] == 0
    jwk = key.to_jwk()
    assert jwk is not None
    assert jwk["kty"] == "RSA" and jwk["e"] == "AQAB"
    assert "=" not in jwk["n"] and len(jwk["n"]) == 342  # 256 bytes, no sign byte
    assert PublicKeyData.from_jwk(jwk) == key
    assert PublicKeyData.from_bytes(key.to_bytes()) == key


def test_dsa_jwk_order() -> None:
    key = PublicKeyData.dsa(q=11, p=23, g=4, y=9)
    assert key.to_jwk() == {"kty": "DSA", "p": "Fw", "q": "Cw", "g": "BA", "y": "CQ"}
    assert PublicKeyData.from_jwk({"kty": "dsa", "p": "Fw==", "q": "Cw", "g": "BA",
                                   "y": "CQ"}) == key


def test_jwk_none_for_other_keys() -> None:
    assert PublicKeyData("SM2_PUB_KEY", 0, (), b"\x01\x02").to_jwk() is None
    negative = PublicKeyData(RSA_PUB_KEY, 0, (b"\x01\x00\x01", b"\xff"))
    assert negative.to_jwk() is None


@pytest.mark.parametrize(("jwk", "message"), [
    ({"kty": "EC"}, "kty 'EC' is not 'RSA' or 'DSA'"),
    ({"n": "AQAB"}, "kty None"),
    ({"kty": "RSA", "e": "AQAB"}, "member 'n' is missing"),
    ({"kty": "RSA", "n": "!!", "e": "AQAB"}, "'n' is not a base64url string"),
    ({"kty": "RSA", "n": "A", "e": "AQAB"}, "'n' is not valid base64url"),
    ({"kty": "RSA", "n": 5, "e": "AQAB"}, "'n' is not a base64url string"),
    ({"kty": "RSA", "n": "", "e": "AQAB"}, "'n' is not a base64url string"),
    ([], "must be an object"),
])
def test_jwk_errors(jwk: object, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        PublicKeyData.from_jwk(jwk)  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "message"), [
    ((RSA_PUB_KEY, 0, (b"\x01",)), "needs 2 components, got 1"),
    ((DSA_PUB_KEY, 0, (b"",) * 4, b"x"), "extra bytes"),
    (("DH_PUB_KEY", 0, (b"\x01",)), "needs 0 components"),
    ((RSA_PUB_KEY, 0x10000, (b"", b"")), "flags 65536 out of range"),
])
def test_pubkey_validation(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        PublicKeyData(*args)  # type: ignore[arg-type]


def test_int_to_java_sign_byte() -> None:
    assert int_to_java(0x80) == b"\x00\x80"
    assert int_to_java(0x7F) == b"\x7f"
