"""On a recursive node the face answers through the resolver (aliases already followed)."""

from __future__ import annotations

import asyncio
from typing import cast

import dns.message
import dns.rcode
import dns.rdatatype

from idnode.config_dns import DnsConfig
from idnode.dnsface import DnsFace
from idnode.dnsface.sources import ResolverSource
from idnode.errors import HandleNotFound, UpstreamUnavailable
from idnode.identifiers.value import HandleValue
from idnode.resolver import Resolved, Resolver

CONFIG = DnsConfig(zone="oid-res.org.", handle_zone="hdl.example.cn.", ttl=600,
                   oids=(("1.2.156.3001", "88.100.1"),))


class StubResolver:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(self, handle: str) -> Resolved:
        self.asked.append(handle)
        if handle == "88.100.1/DOWN":
            raise UpstreamUnavailable(handle=handle, reason="no server answered")
        if handle == "88.100.1/OLD":
            return Resolved(handle, (HandleValue(1, "URL", b"https://example.cn/new"),), 60,
                            ("88.100.1/NEW",), False)
        if handle == "0.NA/88.100.1":
            return Resolved(handle, (HandleValue(1, "URL", b"https://example.cn/oid"),), 900,
                            (), True)
        raise HandleNotFound(handle=handle)


def ask(face: DnsFace, name: str, rdtype: str) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    out = asyncio.run(face.respond(query.to_wire(), tcp=True))
    assert out is not None
    return dns.message.from_wire(out)


def test_answers_come_from_the_resolver() -> None:
    stub = StubResolver()
    face = DnsFace(CONFIG, ResolverSource(cast(Resolver, stub)))
    oid = ask(face, "3001.156.2.1.oid-res.org.", "NAPTR")
    assert oid.answer[0][0].regexp == b"!^.*$!https://example.cn/oid!"
    assert oid.answer[0].ttl == 600  # capped by [dns] ttl
    alias = ask(face, "old._.1.100.88.hdl.example.cn.", "URI")
    cname, uri = alias.answer
    assert str(cname[0].target) == "new._.1.100.88.hdl.example.cn."
    assert uri.name == cname[0].target and uri.ttl == 60
    assert stub.asked == ["0.NA/88.100.1", "88.100.1/OLD"]


def test_missing_is_nodata_and_upstream_trouble_servfail() -> None:
    face = DnsFace(CONFIG, ResolverSource(cast(Resolver, StubResolver())))
    # a resolver cannot know whether longer identifiers exist below: no NXDOMAIN
    missing = ask(face, "nope._.1.100.88.hdl.example.cn.", "TXT")
    assert missing.rcode() == dns.rcode.NOERROR and not missing.answer
    assert missing.authority[0].rdtype == dns.rdatatype.SOA
    down = ask(face, "down._.1.100.88.hdl.example.cn.", "TXT")
    assert down.rcode() == dns.rcode.SERVFAIL
    # unmapped OIDs need no resolver to be known absent
    assert ask(face, "9.oid-res.org.", "NAPTR").rcode() == dns.rcode.NXDOMAIN
