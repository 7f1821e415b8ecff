"""Golden byte vectors of ``handle-protocol.md`` §13 (CNRI Handle.Net 9.2.0 encoder)."""

from __future__ import annotations

from idnode.identifiers.value import HandleValue, Reference
from idnode.identifiers.values import (
    AdminData,
    Interface,
    InterfaceProtocol,
    InterfaceType,
    ServerRecord,
    SiteData,
    VListData,
    decode_data,
)


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


HANDLE_VALUE = h("00000001 60000000 00 00015180 0e 00000003 55524c 00000008"
                 " 687474703a2f2f78 00000000")
ADMIN = h("0fff 00000011 302e4e412f32302e3530302e3132333435 000000c8")
VLIST = h("00000001 00000012") + b"20.500.12345/ADMIN" + h("0000012c")
SITE = h("0001 020a 0001 80 02 00000000 00000000 00000001 00000001 000000000000000000000000"
         " 7f000001 00000000 00000003 0301 00000a51 0200 00000a51 0302 00001f40")


def test_handle_value_vector() -> None:
    value = HandleValue(1, "URL", b"http://x", timestamp=0x60000000)
    assert value.to_wire() == HANDLE_VALUE
    assert HandleValue.from_wire(HANDLE_VALUE) == value


def test_hs_admin_vector() -> None:
    admin = AdminData(0x0FFF, "0.NA/20.500.12345", 200)
    assert admin.to_bytes() == ADMIN
    assert AdminData.from_bytes(ADMIN) == admin
    assert decode_data("HS_ADMIN", ADMIN) == admin


def test_hs_vlist_vector() -> None:
    vlist = VListData((Reference("20.500.12345/ADMIN", 300),))
    assert vlist.to_bytes() == VLIST
    assert VListData.from_bytes(VLIST) == vlist
    assert decode_data("hs_vlist", VLIST) == vlist


def test_hs_site_vector() -> None:
    site = SiteData(
        version=1, protocol_major=2, protocol_minor=10, serial=1, primary=True,
        multi_primary=False, hash_option=2,
        servers=(ServerRecord.from_ip(1, "127.0.0.1", b"", (
            Interface(InterfaceType.ADMIN_AND_QUERY, InterfaceProtocol.TCP, 2641),
            Interface(InterfaceType.QUERY, InterfaceProtocol.UDP, 2641),
            Interface(InterfaceType.ADMIN_AND_QUERY, InterfaceProtocol.HTTP, 8000),
        )),),
    )
    assert site.to_bytes() == SITE
    assert SiteData.from_bytes(SITE) == site
    for type_name in ("HS_SITE", "HS_SITE.6", "HS_SITE.PREFIX", "HS_NA_DELEGATE"):
        assert decode_data(type_name, SITE) == site


def test_hs_site_vector_defaults() -> None:
    # The dataclass defaults are exactly the vector's header fields.
    server = SiteData.from_bytes(SITE).servers[0]
    assert SiteData(servers=(server,)).to_bytes() == SITE
