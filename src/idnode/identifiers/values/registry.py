"""Value type name → data class, with :class:`GenericData` for everything else.

The table is a plain dict filled below at import time, so "go to definition" works and nothing
is imported by name at run time. Type names are compared ASCII-case-insensitively.
"""

from __future__ import annotations

from typing import Protocol

from idnode.errors import InvalidValue, ProtocolError
from idnode.identifiers.handle import ascii_upper
from idnode.identifiers.values.admin import AdminData
from idnode.identifiers.values.generic import GenericData
from idnode.identifiers.values.pubkey import PublicKeyData
from idnode.identifiers.values.rights import RIGHTS_TYPE, RightsData
from idnode.identifiers.values.site import SiteData
from idnode.identifiers.values.text import TextData
from idnode.identifiers.values.vlist import VListData

__all__ = [
    "SITE_TYPES",
    "TEXT_TYPES",
    "ValueData",
    "ValueDataClass",
    "data_class_for",
    "decode_data",
    "register_value_type",
]


class ValueData(Protocol):
    """Typed value data: anything that encodes back to its wire bytes."""

    def to_bytes(self) -> bytes: ...


class ValueDataClass(Protocol):
    """A data class: decodes wire bytes, raising :class:`~idnode.errors.ProtocolError`."""

    def from_bytes(self, data: bytes, /) -> ValueData: ...


#: HS_SITE.PREFIX was called HS_NA_DELEGATE before Handle.Net 8.
SITE_TYPES = ("HS_SITE", "HS_SITE.6", "HS_SITE.PREFIX", "HS_NA_DELEGATE")
TEXT_TYPES = (
    "URL", "EMAIL", "URN", "INET_HOST", "DESC", "HS_SERV", "HS_SERV.PREFIX", "HS_ALIAS",
    "HS_SECKEY", "HS_SIGNATURE", "HS_CERT", "HS_NAMESPACE", "10320/LOC",
)

_REGISTRY: dict[str, ValueDataClass] = {
    "HS_ADMIN": AdminData,
    "HS_VLIST": VListData,
    "HS_PUBKEY": PublicKeyData,
    RIGHTS_TYPE: RightsData,
    **dict.fromkeys(SITE_TYPES, SiteData),
    **dict.fromkeys(TEXT_TYPES, TextData),
}


def data_class_for(type_name: str) -> ValueDataClass:
    """The data class registered for ``type_name``, or :class:`GenericData`."""
    return _REGISTRY.get(ascii_upper(type_name), GenericData)


def register_value_type(type_name: str, cls: ValueDataClass) -> None:
    """Register (or replace) the data class of ``type_name``.

    :raises InvalidValue: ``type_name`` is empty.
    """
    if not type_name:
        raise InvalidValue(reason="cannot register a data class for an empty type name")
    _REGISTRY[ascii_upper(type_name)] = cls


def decode_data(type_name: str, data: bytes) -> ValueData:
    """Decode ``data`` with the class registered for ``type_name``.

    Text types whose bytes are not UTF-8 and unknown types give :class:`GenericData`.

    :raises InvalidValue: the data of a structured type (HS_ADMIN, HS_SITE, …) is malformed;
        the message names the type and the problem, so callers can use this to validate
        client input.
    """
    cls = data_class_for(type_name)
    try:
        return cls.from_bytes(data)
    except ProtocolError as exc:
        if getattr(cls, "fallback_to_generic", False):
            return GenericData(data)
        detail = exc.kwargs.get("reason", exc.message)
        raise InvalidValue(reason=f"{type_name} data is malformed: {detail}") from None
