"""How the CLI shows values, results and errors to people (and to ``--json`` readers)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from typing import Any

from idnode.errors import RegistryError, RemoteError
from idnode.identifiers.jsonvalue import format_time, value_to_json
from idnode.identifiers.value import TTL_ABSOLUTE, HandleValue
from idnode.identifiers.values import (
    AdminData,
    GenericData,
    InterfaceProtocol,
    PublicKeyData,
    SiteData,
    TextData,
    VListData,
    decode_data,
)
from idnode.identifiers.values.pubkey import DSA_PUB_KEY, RSA_PUB_KEY
from idnode.protocol.constants import describe_response_code

__all__ = [
    "dumps",
    "error_json",
    "format_error",
    "format_values_table",
    "render_data",
    "resolution_json",
]

#: Binary data up to this many bytes is shown as hex, longer data as base64.
_HEX_LIMIT = 32
_PROTOCOLS = {p.value: p.name.lower() for p in InterfaceProtocol}
_HEADINGS = ("INDEX", "TYPE", "TTL", "TIMESTAMP", "PERMS", "DATA")


def _printable(text: str) -> str:
    # One value per table row: make line breaks and other controls visible.
    return "".join(ch if ch >= " " and ch != "\x7f" else repr(ch)[1:-1] for ch in text)


def _binary(data: bytes) -> str:
    if len(data) <= _HEX_LIMIT:
        return f"hex:{data.hex()}"
    return f"base64:{base64.b64encode(data).decode('ascii')}"


def _site(site: SiteData) -> str:
    role = "primary" if site.primary else "secondary"
    head = (f"{role} site, protocol {site.protocol_major}.{site.protocol_minor}, "
            f"serial {site.serial}")
    servers = []
    for server in site.servers:
        ports = " ".join(f"{_PROTOCOLS.get(i.protocol, str(i.protocol))}/{i.port}"
                         for i in server.interfaces)
        servers.append(f"#{server.server_id} {server.ip} {ports}".rstrip())
    return f"{head}; " + "; ".join(servers) if servers else f"{head}; no servers"


def _pubkey(key: PublicKeyData) -> str:
    ints = key.ints()
    if key.key_type == RSA_PUB_KEY and len(ints) == 2:
        return f"{key.key_type} {ints[1].bit_length()}-bit, exponent {ints[0]}"
    if key.key_type == DSA_PUB_KEY and len(ints) == 4:
        return f"{key.key_type} {ints[1].bit_length()}-bit"
    return f"{key.key_type} ({len(key.extra)} bytes)"


def render_data(value: HandleValue) -> str:
    """The value's data as one readable line.

    URLs and other text as text; HS_ADMIN as ``index:handle permissions`` (12 bits
    MSB-first, as in the REST API); HS_VLIST as ``index:handle, …``; HS_SITE summarised;
    HS_PUBKEY as key type and size; HS_SECKEY masked (``--json`` shows it); anything else
    as ``hex:…`` or ``base64:…``.
    """
    if value.type.upper() == "HS_SECKEY":
        return f"<secret, {len(value.data)} bytes>"  # not on a screen by accident
    try:
        data = decode_data(value.type, value.data)
    except RegistryError:
        return _binary(value.data)  # malformed structured data is still shown, as bytes
    if isinstance(data, TextData):
        return _printable(data.text)
    if isinstance(data, AdminData):
        return f"{data.index}:{data.handle} {data.permissions_text}"
    if isinstance(data, VListData):
        return ", ".join(f"{m.index}:{m.handle}" for m in data.members)
    if isinstance(data, SiteData):
        return _site(data)
    if isinstance(data, PublicKeyData):
        return _pubkey(data)
    if isinstance(data, GenericData):
        # Unknown types are often text all the same (e.g. IDIS metadata types).
        try:
            text = value.data.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if text and text.isprintable():
            return text
    return _binary(value.data)


def _ttl(value: HandleValue) -> str:
    return f"until {format_time(value.ttl)}" if value.ttl_type == TTL_ABSOLUTE \
        else str(value.ttl)


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def format_values_table(values: Iterable[HandleValue]) -> str:
    """A table of index, type, TTL, timestamp, permissions and data, one value a row."""
    rows = [_HEADINGS]
    for value in values:
        rows.append((str(value.index), value.type, _ttl(value),
                     format_time(value.timestamp) if value.timestamp else "-",
                     format(value.permissions & 0x0F, "04b"), render_data(value)))
    return _table(rows)


def resolution_json(handle: str, values: Iterable[HandleValue]) -> dict[str, Any]:
    """The REST API's answer shape: ``{"responseCode":1,"handle":…,"values":[…]}``."""
    return {"responseCode": 1, "handle": handle,
            "values": [value_to_json(value) for value in values]}


def error_json(exc: RemoteError, **fields: Any) -> dict[str, Any]:
    """``{"responseCode": rc, …fields, "message": server text}`` for a server error."""
    out: dict[str, Any] = {"responseCode": exc.response_code, **fields}
    text = exc.kwargs.get("server_message") or ""
    if text:
        out["message"] = text
    return out


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)


def format_error(what: str, exc: BaseException) -> str:
    """``error: <what> — <reason>``; a server error reads
    ``response code 401 (insufficient permissions): <server message>``.
    """
    if isinstance(exc, RemoteError):
        reason = str(exc) or f"response code {describe_response_code(exc.response_code)}"
    else:
        reason = str(exc) or type(exc).__name__
    return f"error: {what} — {reason}"
