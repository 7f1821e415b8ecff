"""The REST JSON form of handle values (``handle-protocol.md`` §14.3) and of sites (§6.5).

Output is what CNRI's REST API writes. Structured types get their typed format (``admin``,
``vlist``, ``site``, ``key``) only when that form converts back to the very same bytes;
otherwise, and for every other type, data is a ``string`` when it is UTF-8 text (no control
characters but tab, CR and LF, as CNRI's "looks like binary" test) and ``base64`` when not.
So ``value_from_json(value_to_json(v)) == v`` for every value whose data is valid for its
type, and for every value with ``validate=False``.

Input keeps the leniency real clients rely on (§14.3, §15): bare-string ``data``, integers as
numeric strings (pyhandle's ``"index":"200"``), ``ttl`` as an ISO date for an absolute TTL,
optional ``permissions`` and ``timestamp``, case-insensitive format names. Anything malformed
raises :class:`~idnode.errors.InvalidValue` whose message names the field and the problem,
e.g. ``value 3: data.format 'xml' is not one of string, base64, …``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, NoReturn

from idnode.errors import InvalidValue, TooManyValues
from idnode.identifiers.value import (
    DEFAULT_TTL,
    PERM_DEFAULT,
    TTL_ABSOLUTE,
    TTL_RELATIVE,
    HandleValue,
    Reference,
)
from idnode.identifiers.values import (
    AdminData,
    InterfaceProtocol,
    PublicKeyData,
    SiteData,
    VListData,
    decode_data,
)
from idnode.identifiers.values.site import Interface, ServerRecord, address_from_ip
from idnode.protocol.constants import MAX_VALUES_PER_HANDLE

__all__ = [
    "FORMATS",
    "data_from_json",
    "data_to_json",
    "format_time",
    "site_from_json",
    "site_to_json",
    "value_from_json",
    "value_to_json",
    "values_from_json",
    "values_to_json",
]

FORMATS = ("string", "base64", "hex", "admin", "vlist", "site", "key")
_U32_MAX = 0xFFFF_FFFF
_ALL_ADMIN_PERMS = 0x0FFF
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,30}")
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_PERMS4 = re.compile(r"[01]{4}")
_PERMS12 = re.compile(r"[01]{12}")
_PROTOCOL_NAMES = {p.name: p.value for p in InterfaceProtocol}
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# -- reading helpers -----------------------------------------------------------------------
# ``where`` is the full path of the thing being read, e.g. "value 3: data.value.index"; the
# root ends with ":" ("value 3:", "site:").

def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: object) -> str:
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _at(where: str, field: str) -> str:
    return f"{where} {field}" if where.endswith(":") else f"{where}.{field}"


def _fail(where: str, problem: str) -> NoReturn:
    raise InvalidValue(reason=f"{where} {problem}")


def _reason(exc: InvalidValue) -> str:
    return str(exc.kwargs.get("reason", exc.message))


def _require(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        _fail(_at(where, key), "is missing")
    return obj[key]


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(where, f"must be an object, got {_kind(value)}")
    return value


def _array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(where, f"must be an array, got {_kind(value)}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        _fail(where, f"must be a string, got {_kind(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        _fail(where, "contains a lone surrogate, which is not UTF-8")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        _fail(where, f"must be true or false, got {_show(value)}")
    return value


def _int(value: Any, where: str, high: int = _U32_MAX) -> int:
    """A non-negative integer up to ``high``; numeric strings and integral floats count."""
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        _fail(where, f"{_show(value)} is not an integer")
    if not 0 <= number <= high:
        _fail(where, f"{number} is out of range 0..{high}")
    return number


def _is_number(value: Any) -> bool:
    if isinstance(value, str):
        return _INT_TEXT.fullmatch(value.strip()) is not None
    return isinstance(value, int | float) and not isinstance(value, bool)


def _time(value: Any, where: str) -> int:
    """Unix seconds from a number, a numeric string or an ISO-8601 date (UTC if no zone)."""
    if _is_number(value):
        return _int(value, where)
    problem = f"{_show(value)} is neither a number nor an ISO-8601 date"
    if not isinstance(value, str):
        _fail(where, problem)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        _fail(where, problem)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = math.floor(moment.timestamp())
    if not 0 <= seconds <= _U32_MAX:
        _fail(where, f"{_show(value)} is outside 1970-01-01..2106-02-07")
    return seconds


def _utf8(value: Any, where: str) -> bytes:
    return _str(value, where).encode("utf-8")


def _base64(value: Any, where: str) -> bytes:
    # Whitespace (MIME line breaks), either alphabet and missing padding are all accepted.
    text = "".join(_str(value, where).split())
    if not _BASE64_TEXT.fullmatch(text):
        _fail(where, "is not valid base64")
    text = text.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        _fail(where, "is not valid base64")


def _hex(value: Any, where: str) -> bytes:
    try:
        return bytes.fromhex(_str(value, where))
    except ValueError:
        _fail(where, "is not valid hex")


def format_time(seconds: int) -> str:
    """Unix seconds as ISO-8601 UTC, e.g. ``2026-11-24T09:53:29Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- typed data ----------------------------------------------------------------------------

def _admin_from_json(value: Any, where: str) -> AdminData:
    obj = _object(value, where)
    handle = _str(_require(obj, "handle", where), _at(where, "handle"))
    if not handle:
        _fail(_at(where, "handle"), "is empty")
    index = _int(_require(obj, "index", where), _at(where, "index"))
    perms = _require(obj, "permissions", where)
    if perms == "*":
        return AdminData(_ALL_ADMIN_PERMS, handle, index)
    if not isinstance(perms, str) or not _PERMS12.fullmatch(perms.strip()):
        _fail(_at(where, "permissions"), f"{_show(perms)} must be 12 characters of 0/1")
    return AdminData(int(perms.strip(), 2), handle, index)


def _admin_to_json(admin: AdminData) -> dict[str, Any]:
    return {"handle": admin.handle, "index": admin.index, "permissions": admin.permissions_text}


def _references_from_json(value: Any, where: str) -> tuple[Reference, ...]:
    refs = []
    for i, item in enumerate(_array(value, where)):
        item_where = f"{where}[{i}]"
        obj = _object(item, item_where)
        handle = _str(_require(obj, "handle", item_where), _at(item_where, "handle"))
        index = _int(_require(obj, "index", item_where), _at(item_where, "index"))
        refs.append(Reference(handle, index))
    return tuple(refs)


def _references_to_json(refs: Iterable[Reference]) -> list[dict[str, Any]]:
    return [{"handle": ref.handle, "index": ref.index} for ref in refs]


def _key_from_json(value: Any, where: str) -> PublicKeyData:
    jwk = _object(value, where)
    try:
        return PublicKeyData.from_jwk(jwk)
    except InvalidValue as exc:
        _fail(where, _reason(exc))


def _server_key_from_json(value: Any, where: str) -> bytes:
    obj = _object(value, where)
    fmt = _str(_require(obj, "format", where), _at(where, "format"))
    readers = {"base64": _base64, "hex": _hex, "string": _utf8}
    inner = _at(where, "value")
    if fmt.lower() == "key":
        return _key_from_json(_require(obj, "value", where), inner).to_bytes()
    if fmt.lower() not in readers:
        _fail(_at(where, "format"), f"{_show(fmt)} is not one of base64, hex, key, string")
    return readers[fmt.lower()](_require(obj, "value", where), inner)


def _interface_from_json(value: Any, where: str) -> Interface:
    obj = _object(value, where)
    query = obj.get("query") is not None and _bool(obj["query"], _at(where, "query"))
    admin = obj.get("admin") is not None and _bool(obj["admin"], _at(where, "admin"))
    protocol = _require(obj, "protocol", where)
    if isinstance(protocol, str) and protocol.strip().upper() in _PROTOCOL_NAMES:
        number = _PROTOCOL_NAMES[protocol.strip().upper()]
    elif _is_number(protocol):
        number = _int(protocol, _at(where, "protocol"), 0xFF)
    else:
        _fail(_at(where, "protocol"), f"{_show(protocol)} is not one of UDP, TCP, HTTP, HTTPS")
    port = _int(_require(obj, "port", where), _at(where, "port"), 0xFFFF)
    return Interface((2 if query else 0) | (1 if admin else 0), number, port)


def _server_from_json(value: Any, where: str) -> ServerRecord:
    obj = _object(value, where)
    server_id = _int(obj.get("serverId", 0), _at(where, "serverId"))
    address_where = _at(where, "address")
    address = _str(_require(obj, "address", where), address_where)
    try:
        raw_address = address_from_ip(address)
    except InvalidValue:
        _fail(address_where, f"{_show(address)} is not an IP address")
    key = b""
    if obj.get("publicKey") is not None:
        key = _server_key_from_json(obj["publicKey"], _at(where, "publicKey"))
    interfaces_where = _at(where, "interfaces")
    interfaces = tuple(_interface_from_json(item, f"{interfaces_where}[{i}]")
                       for i, item in enumerate(_array(obj.get("interfaces", []),
                                                       interfaces_where)))
    return ServerRecord(server_id, raw_address, key, interfaces)


def _attributes_from_json(value: Any, where: str) -> tuple[tuple[bytes, bytes], ...]:
    if isinstance(value, dict):  # CNRI also reads {"name": "value" | ["value", …]}
        pairs = []
        for name, item in value.items():
            item_where = _at(where, name)
            for text in item if isinstance(item, list) else [item]:
                pairs.append((_utf8(name, where), _utf8(text, item_where)))
        return tuple(pairs)
    result = []
    for i, item in enumerate(_array(value, where)):
        item_where = f"{where}[{i}]"
        obj = _object(item, item_where)
        result.append((_utf8(_require(obj, "name", item_where), _at(item_where, "name")),
                       _utf8(_require(obj, "value", item_where), _at(item_where, "value"))))
    return tuple(result)


def _protocol_version(value: Any, where: str) -> tuple[int, int]:
    major, dot, minor = _str(value, where).strip().partition(".")
    if not (dot and major.isascii() and major.isdigit() and minor.isascii()
            and minor.isdigit() and int(major) <= 0xFF and int(minor) <= 0xFF):
        _fail(where, f"{_show(value)} is not a version like '2.10'")
    return int(major), int(minor)


def site_from_json(obj: Any, where: str = "site:") -> SiteData:
    """Read a site in the CNRI ``siteinfo.json`` shape (§6.5).

    Missing fields take :class:`SiteData`'s defaults, except that ``primarySite`` and
    ``multiPrimary`` default to false as in CNRI.

    :param where: the path used in error messages.
    :raises InvalidValue: a field is malformed; the message names it.
    """
    site = _object(obj, where)
    defaults = SiteData()
    version = defaults.protocol_major, defaults.protocol_minor
    if site.get("protocolVersion") is not None:
        version = _protocol_version(site["protocolVersion"], _at(where, "protocolVersion"))

    def number(key: str, default: int, high: int) -> int:
        return default if site.get(key) is None else _int(site[key], _at(where, key), high)

    def flag(key: str) -> bool:
        return site.get(key) is not None and _bool(site[key], _at(where, key))

    hash_filter = b""
    if site.get("hashFilter") is not None:
        hash_filter = _utf8(site["hashFilter"], _at(where, "hashFilter"))
    attributes: tuple[tuple[bytes, bytes], ...] = ()
    if site.get("attributes") is not None:
        attributes = _attributes_from_json(site["attributes"], _at(where, "attributes"))
    servers_where = _at(where, "servers")
    servers = tuple(_server_from_json(item, f"{servers_where}[{i}]")
                    for i, item in enumerate(_array(site.get("servers", []), servers_where)))
    return SiteData(number("version", defaults.version, 0xFFFF), version[0], version[1],
                    number("serialNumber", defaults.serial, 0xFFFF), flag("primarySite"),
                    flag("multiPrimary"), number("hashOption", defaults.hash_option, 0xFF),
                    hash_filter, attributes, servers)


def _interface_to_json(interface: Interface) -> dict[str, Any]:
    protocol: str | int = interface.protocol
    if interface.protocol in _PROTOCOL_NAMES.values():
        protocol = InterfaceProtocol(interface.protocol).name
    return {"query": interface.query, "admin": interface.admin, "protocol": protocol,
            "port": interface.port}


def site_to_json(site: SiteData) -> dict[str, Any]:
    """The CNRI ``siteinfo.json`` shape of ``site`` (§6.5).

    Flag bits other than primary/multi-primary and interface types above 3 have no JSON
    form; non-UTF-8 attribute bytes are shown with replacement characters.
    """
    out: dict[str, Any] = {
        "version": site.version,
        "protocolVersion": f"{site.protocol_major}.{site.protocol_minor}",
        "serialNumber": site.serial,
        "primarySite": site.primary,
        "multiPrimary": site.multi_primary,
    }
    if site.hash_option != 2:
        out["hashOption"] = int(site.hash_option)
    if site.hash_filter:
        out["hashFilter"] = site.hash_filter.decode("utf-8", "replace")
    out["attributes"] = [{"name": name.decode("utf-8", "replace"),
                          "value": value.decode("utf-8", "replace")}
                         for name, value in site.attributes]
    out["servers"] = [{
        "serverId": server.server_id,
        "address": str(server.ip),
        "publicKey": {"format": "base64",
                      "value": base64.b64encode(server.public_key).decode("ascii")},
        "interfaces": [_interface_to_json(i) for i in server.interfaces],
    } for server in site.servers]
    return out


# -- data ----------------------------------------------------------------------------------

_DATA_READERS: dict[str, Callable[[Any, str], bytes]] = {
    "string": _utf8,
    "base64": _base64,
    "hex": _hex,
    "admin": lambda value, where: _admin_from_json(value, where).to_bytes(),
    "vlist": lambda value, where: VListData(_references_from_json(value, where)).to_bytes(),
    "site": lambda value, where: site_from_json(value, where).to_bytes(),
    "key": lambda value, where: _key_from_json(value, where).to_bytes(),
}


def data_from_json(data: Any, where: str = "data") -> bytes:
    """The bytes of a JSON ``data`` member: a bare string (UTF-8) or ``{format, value}``.

    :raises InvalidValue: unknown format or a malformed value; the message names the field.
    """
    if isinstance(data, str):
        return _utf8(data, where)
    obj = _object(data, where)
    fmt = _str(_require(obj, "format", where), _at(where, "format"))
    reader = _DATA_READERS.get(fmt.lower())
    if reader is None:
        _fail(_at(where, "format"), f"{_show(fmt)} is not one of {', '.join(FORMATS)}")
    return reader(_require(obj, "value", where), _at(where, "value"))


def _typed_json(decoded: object) -> tuple[str, Any] | None:
    """The typed format of decoded data, if it has one that reproduces it exactly."""
    try:
        if isinstance(decoded, AdminData):
            value: Any = _admin_to_json(decoded)
            ok = _admin_from_json(value, "") == decoded
            return ("admin", value) if ok else None
        if isinstance(decoded, VListData):
            return "vlist", _references_to_json(decoded.members)
        if isinstance(decoded, SiteData):
            value = site_to_json(decoded)
            return ("site", value) if site_from_json(value) == decoded else None
        if isinstance(decoded, PublicKeyData):
            jwk = decoded.to_jwk()
            ok = jwk is not None and PublicKeyData.from_jwk(jwk) == decoded
            return ("key", jwk) if ok else None
    except InvalidValue:
        return None
    return None


def data_to_json(type_name: str, data: bytes) -> dict[str, Any]:
    """``{"format", "value"}`` for ``data`` of type ``type_name`` (see the module docstring)."""
    try:
        typed = _typed_json(decode_data(type_name, data))
    except InvalidValue:
        typed = None
    if typed is not None:
        return {"format": typed[0], "value": typed[1]}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _BINARY_CHARS.search(text):
        return {"format": "string", "value": text}
    return {"format": "base64", "value": base64.b64encode(data).decode("ascii")}


# -- values --------------------------------------------------------------------------------

def value_to_json(value: HandleValue) -> dict[str, Any]:
    """The REST JSON form of ``value``.

    ``permissions`` is omitted when it is ``1110``, ``timestamp`` when it is 0 and
    ``references`` when there are none. Permission bits above the four defined ones have no
    JSON form.
    """
    out: dict[str, Any] = {"index": value.index, "type": value.type,
                           "data": data_to_json(value.type, value.data)}
    if value.permissions & 0x0F != PERM_DEFAULT:
        out["permissions"] = format(value.permissions & 0x0F, "04b")
    out["ttl"] = value.ttl if value.ttl_type == TTL_RELATIVE else format_time(value.ttl)
    if value.timestamp:
        out["timestamp"] = format_time(value.timestamp)
    if value.references:
        out["references"] = _references_to_json(value.references)
    return out


def values_to_json(values: Iterable[HandleValue]) -> list[dict[str, Any]]:
    """The ``values`` array of a REST response; see :func:`value_to_json`."""
    return [value_to_json(value) for value in values]


def _permissions(value: Any, where: str) -> int:
    if value == "*":
        return 0x0F
    if not isinstance(value, str) or not _PERMS4.fullmatch(value.strip()):
        _fail(where, f"{_show(value)} must be 4 characters of 0/1")
    return int(value.strip(), 2)


def _ttl(value: Any, where: str) -> tuple[int, int]:
    if _is_number(value):
        return TTL_RELATIVE, _int(value, where)
    if isinstance(value, str):
        return TTL_ABSOLUTE, _time(value, where)
    _fail(where, f"{_show(value)} is neither a number of seconds nor an ISO-8601 date")


def _value_from_json(obj: Any, now: int | None, validate: bool, label: str) -> HandleValue:
    if not isinstance(obj, dict):
        _fail(f"{label}:", f"expected a JSON object, got {_kind(obj)}")
    index = _int(_require(obj, "index", f"{label}:"), f"{label}: index")
    where = f"value {index}:"
    type_name = _str(_require(obj, "type", where), _at(where, "type"))
    if not type_name:
        _fail(_at(where, "type"), "is empty")
    data = data_from_json(_require(obj, "data", where), _at(where, "data"))
    if validate:
        try:
            decode_data(type_name, data)
        except InvalidValue as exc:
            _fail(where, _reason(exc))
    permissions = PERM_DEFAULT
    if obj.get("permissions") is not None:
        permissions = _permissions(obj["permissions"], _at(where, "permissions"))
    ttl_type, ttl = TTL_RELATIVE, DEFAULT_TTL
    if obj.get("ttl") is not None:
        ttl_type, ttl = _ttl(obj["ttl"], _at(where, "ttl"))
    timestamp = now or 0
    if obj.get("timestamp") is not None:
        timestamp = _time(obj["timestamp"], _at(where, "timestamp"))
    refs: tuple[Reference, ...] = ()
    if obj.get("references") is not None:
        refs = _references_from_json(obj["references"], _at(where, "references"))
    try:
        return HandleValue(index, type_name, data, ttl_type, ttl, timestamp, permissions, refs)
    except InvalidValue as exc:
        _fail(where, _reason(exc))


def value_from_json(obj: Any, *, now: int | None = None,
                    validate: bool = True) -> HandleValue:
    """Read one value in the REST JSON form.

    :param now: the timestamp given to a value without one (0 when None).
    :param validate: check the data against its type with
        :func:`~idnode.identifiers.values.decode_data` (malformed HS_ADMIN, HS_SITE, …
        data is rejected).
    :raises InvalidValue: the message names the value's index and the field at fault.
    """
    return _value_from_json(obj, now, validate, "value")


def values_from_json(obj: Any, *, now: int | None = None,
                     validate: bool = True) -> tuple[HandleValue, ...]:
    """Read a PUT body: an array of values, ``{"values": [...]}`` or a single value.

    A ``handle`` member next to ``values`` is not checked here; the caller knows the handle.

    :raises InvalidValue: a value is malformed or two values share an index.
    :raises TooManyValues: more than the per-handle limit.
    """
    if isinstance(obj, list):
        items = obj
    elif isinstance(obj, dict) and "values" in obj:
        items = _array(obj["values"], "values")
    elif isinstance(obj, dict):
        return (_value_from_json(obj, now, validate, "value"),)
    else:
        _fail("values:", f"expected an array or an object, got {_kind(obj)}")
    if len(items) > MAX_VALUES_PER_HANDLE:
        raise TooManyValues(count=len(items), limit=MAX_VALUES_PER_HANDLE)
    values = tuple(_value_from_json(item, now, validate, f"values[{i}]")
                   for i, item in enumerate(items))
    seen: set[int] = set()
    for value in values:
        if value.index in seen:
            _fail(f"value {value.index}:", "index is used by more than one value")
        seen.add(value.index)
    return values
