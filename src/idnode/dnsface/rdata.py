"""Typed constructors for the dnspython rdata the face serves (their ``__init__`` is untyped,
so each class is called through a typed alias)."""

from __future__ import annotations

from collections.abc import Callable

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.DNAME
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.URI
import dns.rdtypes.IN.NAPTR

__all__ = ["cname", "dname", "naptr", "soa", "uri"]

_IN = dns.rdataclass.IN
_Make = Callable[..., dns.rdata.Rdata]
_NAPTR: _Make = dns.rdtypes.IN.NAPTR.NAPTR
_URI: _Make = dns.rdtypes.ANY.URI.URI
_CNAME: _Make = dns.rdtypes.ANY.CNAME.CNAME
_DNAME: _Make = dns.rdtypes.ANY.DNAME.DNAME
_SOA: _Make = dns.rdtypes.ANY.SOA.SOA


def naptr(order: int, preference: int, flags: str, service: str, regexp: str,
          replacement: dns.name.Name) -> dns.rdata.Rdata:
    """:raises ValueError: a field out of range (strings over 255 bytes)."""
    return _NAPTR(_IN, dns.rdatatype.NAPTR, order, preference, flags, service, regexp,
                  replacement)


def uri(priority: int, weight: int, target: str) -> dns.rdata.Rdata:
    return _URI(_IN, dns.rdatatype.URI, priority, weight, target)


def cname(target: dns.name.Name) -> dns.rdata.Rdata:
    return _CNAME(_IN, dns.rdatatype.CNAME, target)


def dname(target: dns.name.Name) -> dns.rdata.Rdata:
    return _DNAME(_IN, dns.rdatatype.DNAME, target)


def soa(origin: dns.name.Name, minimum: int) -> dns.rdata.Rdata:
    """A synthesised SOA: the apex as primary, ``hostmaster.<apex>``, serial 1 (nothing
    transfers this zone, so the serial never needs to move)."""
    rname = dns.name.Name((b"hostmaster",)).concatenate(origin)
    return _SOA(_IN, dns.rdatatype.SOA, origin, rname, 1, 3600, 600, 86_400, minimum)
