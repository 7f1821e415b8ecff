"""Typed views of value data (``handle-protocol.md`` §6) and the type registry.

:func:`decode_data` turns a value's bytes into the class registered for its type; every class
has ``from_bytes()`` / ``from_wire_parser()`` and ``to_bytes()``, and unknown types round-trip
through :class:`GenericData`.
"""

from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData, AdminPerm
from idnode.identifiers.values.generic import GenericData
from idnode.identifiers.values.pubkey import DSA_PUB_KEY, RSA_PUB_KEY, PublicKeyData
from idnode.identifiers.values.registry import (
    SITE_TYPES,
    TEXT_TYPES,
    ValueData,
    ValueDataClass,
    data_class_for,
    decode_data,
    register_value_type,
)
from idnode.identifiers.values.site import (
    HashOption,
    Interface,
    InterfaceProtocol,
    InterfaceType,
    ServerRecord,
    SiteData,
    handle_hash,
)
from idnode.identifiers.values.text import TextData
from idnode.identifiers.values.vlist import VListData

__all__ = [
    "ALL_PERMISSIONS",
    "DSA_PUB_KEY",
    "RSA_PUB_KEY",
    "SITE_TYPES",
    "TEXT_TYPES",
    "AdminData",
    "AdminPerm",
    "GenericData",
    "HashOption",
    "Interface",
    "InterfaceProtocol",
    "InterfaceType",
    "PublicKeyData",
    "ServerRecord",
    "SiteData",
    "TextData",
    "VListData",
    "ValueData",
    "ValueDataClass",
    "data_class_for",
    "decode_data",
    "handle_hash",
    "register_value_type",
]
