"""The two zones of the DNS face: what a name holds, as answer records and a response code.

- The ORS zone (ITU-T X.672): an OID's name is its arcs reversed under the zone
  (``1.2.156.3001`` → ``3001.156.2.1.oid-res.org.``), answered with NAPTR records from the
  handle the ``[dns] oids`` table maps it to, or else (with ``[dns] oid_mapping``) its
  mapping record (映射记录, :mod:`idnode.schemes.mapping`). The top arcs' names are DNAMEs
  to their numbers (``joint-iso-itu-t.<zone> DNAME 2.<zone>``), as ORS zones publish them.
- The handle zone: identifiers encoded by :mod:`idnode.dnsface.names`, answered with TXT,
  URI and NAPTR records; HS_ALIAS becomes a CNAME to the target's name.

Negative answers distinguish a name that cannot exist (NXDOMAIN, RFC 8020: nothing below it
either) from one that exists without the type asked for, or only has names below it (an
empty non-terminal: NOERROR/NODATA, which QNAME-minimising resolvers depend on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.rrset

from idnode.dnsface.mapping import naptr_rdatas, txt_rdatas, uri_rdatas
from idnode.dnsface.names import decode_handle_name, encode_handle
from idnode.dnsface.oid import OidMap, canonical_arc
from idnode.dnsface.rdata import cname, dname, soa
from idnode.dnsface.sources import Lookup, Source
from idnode.errors import HandleNotFound, InvalidHandle, InvalidIdentifier
from idnode.identifiers.handle import PREFIX_NA, Handle, handle_key
from idnode.identifiers.value import HandleValue
from idnode.schemes.mapping import MappingSettings, find_mapping
from idnode.schemes.oid import OidScheme

__all__ = ["TOP_ARCS", "HandleZone", "OrsZone", "Reply"]

_ANY = dns.rdatatype.ANY
_CNAME = dns.rdatatype.CNAME
#: the top arcs' names (ITU-T X.660) and their numbers
TOP_ARCS = {b"itu-t": 0, b"iso": 1, b"joint-iso-itu-t": 2}


@dataclass(slots=True)
class Reply:
    """A response's code and records; ``negative`` adds the zone's SOA (RFC 2308)."""

    rcode: dns.rcode.Rcode = dns.rcode.NOERROR
    answer: list[dns.rrset.RRset] = field(default_factory=list)
    negative: bool = False


def _rrset(owner: dns.name.Name, ttl: int, rdatas: list[dns.rdata.Rdata]) -> dns.rrset.RRset:
    return dns.rrset.from_rdata_list(owner, ttl, rdatas)


def _nodata() -> Reply:
    return Reply(negative=True)


def _nxdomain() -> Reply:
    return Reply(dns.rcode.NXDOMAIN, negative=True)


def _select(sets: dict[int, dns.rrset.RRset], qtype: int) -> list[dns.rrset.RRset]:
    if qtype == _ANY:
        return list(sets.values())
    found = sets.get(qtype)
    return [found] if found is not None else []


class _Zone:
    def __init__(self, origin: str, source: Source, ttl: int) -> None:
        self.origin = dns.name.from_text(origin)
        self.source = source
        self.ttl = ttl
        self.soa = _rrset(self.origin, ttl, [soa(self.origin, ttl)])

    def apex(self, qtype: int) -> Reply:
        if qtype in (dns.rdatatype.SOA, _ANY):
            return Reply(answer=[self.soa])
        return _nodata()


class OrsZone(_Zone):
    """The OID resolution system zone."""

    def __init__(self, origin: str, source: Source, ttl: int, oids: OidMap,
                 mapping: MappingSettings | None = None) -> None:
        super().__init__(origin, source, ttl)
        self.oids = oids
        self.mapping = mapping

    async def answer(self, qname: dns.name.Name, qtype: int) -> Reply:
        labels = qname.relativize(self.origin).labels
        if not labels:
            return self.apex(qtype)
        top = labels[-1].lower()
        if top not in TOP_ARCS:
            return await self._oid(qname, labels, qtype)
        owner = dns.name.Name((top,)).concatenate(self.origin)
        number = dns.name.Name((str(TOP_ARCS[top]).encode(),)).concatenate(self.origin)
        alias = _rrset(owner, self.ttl, [dname(number)])
        if len(labels) == 1:  # a DNAME does not redirect its own name (RFC 6672 §2.3)
            return Reply(answer=[alias]) if qtype in (dns.rdatatype.DNAME, _ANY) \
                else _nodata()
        try:
            redirected = dns.name.Name(labels[:-1]).concatenate(number)
        except dns.name.NameTooLong:
            return Reply(dns.rcode.YXDOMAIN, [alias])
        synthesised = _rrset(qname, self.ttl, [cname(redirected)])
        if qtype == _CNAME:
            return Reply(answer=[alias, synthesised])
        inner = await self._oid(redirected, redirected.relativize(self.origin).labels, qtype)
        inner.answer[:0] = [alias, synthesised]
        return inner

    async def _oid(self, qname: dns.name.Name, labels: tuple[bytes, ...], qtype: int) -> Reply:
        arcs = []
        for label in reversed(labels):
            arc = canonical_arc(label.decode("ascii", "replace"))
            if arc is None:
                return _nxdomain()
            arcs.append(arc)
        target = self.oids.target(tuple(arcs))
        mapped, below = target.handle, target.below
        if mapped is None and self.mapping is not None:
            mapped = await self._mapping_record(arcs, self.mapping)
            below = True  # mapping records of deeper arcs cannot be listed
        if mapped is None:
            return _nodata() if below else _nxdomain()
        try:
            handle = Handle.parse(mapped)
        except InvalidHandle:
            return _nxdomain()
        look = await self.source.lookup(handle)
        if look is None:  # mapped to a handle this node does not answer for
            return _nodata() if below else Reply(dns.rcode.REFUSED)
        values = look.values if look.resolved else None
        if values is None:
            exists = below or bool(look.aliases) or await self.source.below(handle)
            return _nodata() if exists else _nxdomain()
        naptrs = naptr_rdatas(values)
        if qtype in (dns.rdatatype.NAPTR, _ANY) and naptrs:
            return Reply(answer=[_rrset(qname, min(self.ttl, look.ttl), naptrs)])
        return _nodata()


    async def _mapping_record(self, arcs: list[int], settings: MappingSettings) -> str | None:
        """The handle the OID's mapping record maps it to, or None when none applies."""
        try:
            parsed = OidScheme().parse(".".join(map(str, arcs)), explicit=True)
            if parsed is None:
                return None
            return (await find_mapping(parsed, self._values, settings)).handle
        except (InvalidIdentifier, HandleNotFound):
            return None

    async def _values(self, text: str) -> Sequence[HandleValue] | None:
        try:
            look = await self.source.lookup(Handle.parse(text))
        except InvalidHandle:
            return None
        return None if look is None or not look.resolved else look.values


class HandleZone(_Zone):
    """Identifiers as DNS names."""

    async def answer(self, qname: dns.name.Name, qtype: int) -> Reply:
        labels = qname.relativize(self.origin).labels
        if not labels:
            return self.apex(qtype)
        name = decode_handle_name(labels)
        if not name.valid:
            return _nxdomain()
        if name.handle is None:  # "_.<prefix>": there when the prefix's handles may be
            prefix = Handle.parse(f"{PREFIX_NA}/{name.prefix}")
            return _nodata() if await self.source.below(prefix) else _nxdomain()
        look = await self.source.lookup(name.handle)
        if look is None:  # not this node's; names above its prefixes still exist
            return _nodata() if await self.source.below(name.handle) else \
                Reply(dns.rcode.REFUSED)
        return await self._records(qname, qtype, name.handle, look)

    async def _records(self, qname: dns.name.Name, qtype: int, handle: Handle,
                       look: Lookup) -> Reply:
        ttl = min(self.ttl, look.ttl)
        answer = []
        owner = qname
        for target in look.aliases:
            target_name = encode_handle(handle_key(target), self.origin)
            if target_name is None:
                break  # no DNS name for the target: its records are served here
            answer.append(_rrset(owner, ttl, [cname(target_name)]))
            if qtype == _CNAME:
                return Reply(answer=answer)
            owner = target_name
        if not look.resolved:  # the chain leaves this node; the client follows it
            return Reply(answer=answer)
        final = look.aliases[-1] if look.aliases else handle.text
        if look.values is None:
            try:
                below = await self.source.below(Handle.parse(final))
            except InvalidHandle:
                below = False
            return Reply(dns.rcode.NOERROR if below else dns.rcode.NXDOMAIN, answer,
                         negative=True)
        selected = _select(self._sets(owner, final, look.values, ttl), qtype)
        return Reply(answer=answer + selected, negative=not selected)

    @staticmethod
    def _sets(owner: dns.name.Name, handle: str, values: tuple[HandleValue, ...],
              ttl: int) -> dict[int, dns.rrset.RRset]:
        sets: dict[int, dns.rrset.RRset] = {
            dns.rdatatype.TXT: _rrset(owner, ttl, txt_rdatas(handle, values))}
        uris = uri_rdatas(values)
        if uris:
            sets[dns.rdatatype.URI] = _rrset(owner, ttl, uris)
        naptrs = naptr_rdatas(values)
        if naptrs:
            sets[dns.rdatatype.NAPTR] = _rrset(owner, ttl, naptrs)
        return sets
