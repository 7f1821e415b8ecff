"""Handle values as DNS records (``docs/identifiers.md``, "The DNS face").

- ``URL`` values become NAPTR records (flags ``U``, service ``UINF``, the X.672 service type
  whose regexp carries a URI, order 100, preference the value's index, regexp
  ``!^.*$!<url>!``) and URI records (RFC 7553: priority the index, weight 1).
- ``OID.NAPTR`` values (JSON ``{"order", "preference", "flags", "service", "regexp",
  "replacement"}``) are served verbatim as NAPTR records; malformed ones are skipped.
- Every public value is one TXT record ``<index>=<type>:<text>`` (``<index>=<type>;base64:…``
  when its data is not text), after a TXT record ``handle=<identifier>``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

from idnode.dnsface.rdata import naptr, uri
from idnode.identifiers.value import TTL_ABSOLUTE, HandleValue

__all__ = ["URL_SERVICE", "naptr_rdatas", "txt_rdatas", "uri_rdatas", "values_ttl"]

#: X.672's service type for "a URI which indicates a service point" (ITU-T X.672 record)
URL_SERVICE = "UINF"
_URL_ORDER = 100
_IN = dns.rdataclass.IN
_STRING_MAX = 255  # one DNS <character-string>
_DELIMITERS = "!#|~%^"


def _u16(value: int) -> int:
    return max(0, min(value, 0xFFFF))


def values_ttl(values: Iterable[HandleValue], cap: int) -> int:
    """The shortest remaining TTL of ``values``, at most ``cap``."""
    now = int(time.time())
    ttl = cap
    for value in values:
        left = value.ttl - now if value.ttl_type == TTL_ABSOLUTE else value.ttl
        ttl = min(ttl, max(left, 0))
    return ttl


def _urls(values: Sequence[HandleValue]) -> list[tuple[int, str]]:
    out = []
    for value in values:
        if not value.matches_type("URL"):
            continue
        url = value.text().strip()
        if url and urlsplit(url).scheme:
            out.append((value.index, url))
    return out


def _regexp(url: str) -> str | None:
    """``!^.*$!<url>!`` with a delimiter the URL does not contain (RFC 3402 §3.2)."""
    for delim in _DELIMITERS:
        if delim not in url:
            text = f"{delim}^.*${delim}{url.replace(chr(92), chr(92) * 2)}{delim}"
            return text if len(text.encode()) <= _STRING_MAX else None
    return None


def naptr_rdatas(values: Sequence[HandleValue]) -> list[dns.rdata.Rdata]:
    """NAPTR records: ``OID.NAPTR`` values verbatim, then one per URL value."""
    out: list[dns.rdata.Rdata] = []
    for value in values:
        if value.matches_type("OID.NAPTR"):
            rdata = _verbatim(value.data)
            if rdata is not None:
                out.append(rdata)
    for index, url in _urls(values):
        regexp = _regexp(url)
        if regexp is not None:
            out.append(naptr(_URL_ORDER, _u16(index), "U", URL_SERVICE, regexp,
                             dns.name.root))
    return out


def _verbatim(data: bytes) -> dns.rdata.Rdata | None:
    try:
        spec = json.loads(data)
        if not isinstance(spec, dict):
            return None
        order, preference = spec.get("order"), spec.get("preference")
        flags, service, regexp = (spec.get(k, "") for k in ("flags", "service", "regexp"))
        replacement = spec.get("replacement", ".")
        if not (isinstance(order, int) and isinstance(preference, int)
                and isinstance(flags, str) and isinstance(service, str)
                and isinstance(regexp, str) and isinstance(replacement, str)):
            return None
        if isinstance(order, bool) or isinstance(preference, bool) \
                or not (0 <= order <= 0xFFFF and 0 <= preference <= 0xFFFF):
            return None
        return naptr(order, preference, flags, service, regexp,
                     dns.name.from_text(replacement))
    except (ValueError, dns.exception.DNSException):  # JSON, lengths, names
        return None


def uri_rdatas(values: Sequence[HandleValue]) -> list[dns.rdata.Rdata]:
    """URI records (RFC 7553) for the URL values."""
    return [uri(_u16(index), 1, url) for index, url in _urls(values)]


def _chunks(text: str) -> list[bytes]:
    """``text`` as UTF-8 in character-strings of at most 255 bytes, split between
    characters (clients concatenate the strings of one TXT record)."""
    raw = text.encode("utf-8", "replace")
    out = []
    while len(raw) > _STRING_MAX:
        cut = _STRING_MAX
        while raw[cut] & 0xC0 == 0x80:  # never inside a character
            cut -= 1
        out.append(raw[:cut])
        raw = raw[cut:]
    out.append(raw)
    return out


def _is_text(value: HandleValue) -> bool:
    try:
        text = value.data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch >= " " or ch in "\t\n\r" for ch in text)


def txt_rdatas(handle: str, values: Sequence[HandleValue]) -> list[dns.rdata.Rdata]:
    """``handle=<identifier>``, then ``<index>=<type>:<data>`` per value."""
    lines = [f"handle={handle}"]
    for value in sorted(values, key=lambda v: v.index):
        if _is_text(value):
            lines.append(f"{value.index}={value.type}:{value.text()}")
        else:
            lines.append(f"{value.index}={value.type};base64:"
                         + base64.b64encode(value.data).decode())
    return [dns.rdtypes.ANY.TXT.TXT(_IN, dns.rdatatype.TXT, _chunks(line)) for line in lines]
