"""One DNS query in, one DNS response out (or nothing), whatever the bytes.

The message layer only; what names hold is :mod:`idnode.dnsface.zones`. Rules kept here:
responses are never answered (no loops between servers); bytes dnspython cannot parse get
FORMERR (NOTAUTH for a TSIG this server has no key for) echoing the query id; EDNS versions
above 0 get BADVERS; other opcodes NOTIMP; a query must carry one question of class IN;
zone transfers and names outside both zones are REFUSED. A UDP answer fits the client's
EDNS0 payload (512 bytes without EDNS, never more than ``max_udp_payload``), else it goes
out with TC=1 and no records so the client asks again over TCP.
"""

from __future__ import annotations

import logging

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from idnode.config_dns import DnsConfig
from idnode.dnsface.oid import OidMap
from idnode.dnsface.sources import Source
from idnode.dnsface.zones import HandleZone, OrsZone, Reply
from idnode.errors import RegistryError
from idnode.schemes.mapping import MappingSettings

__all__ = ["DnsFace"]

log = logging.getLogger("idnode.dns")

_HEADER = 12
_TCP_MAX = 65_535
_NO_EDNS_MAX = 512
_REFUSED_TYPES = frozenset({dns.rdatatype.AXFR, dns.rdatatype.IXFR, dns.rdatatype.MAILA,
                            dns.rdatatype.MAILB})


class DnsFace:
    """Answers DNS queries for the ORS zone and the handle zone from ``source``."""

    def __init__(self, config: DnsConfig, source: Source) -> None:
        self.payload = config.max_udp_payload
        mapping = (MappingSettings(home=config.oid_mapping) if config.oid_mapping is not None
                   else None)
        self.ors = OrsZone(config.zone, source, config.ttl, OidMap(config.oids), mapping)
        self.handles = HandleZone(config.handle_zone, source, config.ttl)

    async def respond(self, wire: bytes, *, tcp: bool) -> bytes | None:
        """The response to ``wire``, or None when nothing may be answered (a response, or
        fewer bytes than a header)."""
        if len(wire) < _HEADER or wire[2] & 0x80:
            return None
        try:
            request = dns.message.from_wire(wire)
        except dns.message.UnknownTSIGKey:
            return _bare_error(wire, dns.rcode.NOTAUTH)
        except Exception:  # dnspython raises many kinds of error on hostile bytes
            return _bare_error(wire, dns.rcode.FORMERR)
        response = dns.message.make_response(request, our_payload=self.payload)
        if request.edns > 0:
            response.set_rcode(dns.rcode.BADVERS)
            return response.to_wire()
        reply = await self._reply(request)
        if reply.rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.YXDOMAIN):
            response.flags |= dns.flags.AA
        response.set_rcode(reply.rcode)
        response.answer = reply.answer
        if reply.negative:
            zone = self.ors if request.question[0].name.is_subdomain(self.ors.origin) \
                else self.handles
            response.authority = [zone.soa]
        return self._render(response, self._limit(request, tcp))

    async def _reply(self, request: dns.message.Message) -> Reply:
        if request.opcode() != dns.opcode.QUERY:
            return Reply(dns.rcode.NOTIMP)
        if len(request.question) != 1:
            return Reply(dns.rcode.FORMERR)
        question = request.question[0]
        qtype = question.rdtype
        if question.rdclass not in (dns.rdataclass.IN, dns.rdataclass.ANY):
            return Reply(dns.rcode.REFUSED)
        if qtype in _REFUSED_TYPES:
            return Reply(dns.rcode.REFUSED)
        if dns.rdatatype.is_metatype(qtype) and qtype != dns.rdatatype.ANY:
            return Reply(dns.rcode.FORMERR)  # OPT, TSIG, TKEY are no questions
        try:
            if question.name.is_subdomain(self.ors.origin):
                return await self.ors.answer(question.name, qtype)
            if question.name.is_subdomain(self.handles.origin):
                return await self.handles.answer(question.name, qtype)
        except RegistryError as exc:  # storage or upstream trouble
            log.warning("DNS %s %s: %s", question.name, dns.rdatatype.to_text(qtype), exc)
            return Reply(dns.rcode.SERVFAIL)
        except Exception:
            log.exception("DNS %s %s failed", question.name, dns.rdatatype.to_text(qtype))
            return Reply(dns.rcode.SERVFAIL)
        return Reply(dns.rcode.REFUSED)

    def _limit(self, request: dns.message.Message, tcp: bool) -> int:
        if tcp:
            return _TCP_MAX
        if request.edns < 0:
            return _NO_EDNS_MAX
        return max(_NO_EDNS_MAX, min(request.payload, self.payload))

    @staticmethod
    def _render(response: dns.message.Message, limit: int) -> bytes:
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            pass
        response.answer = []
        response.authority = []
        if limit < _TCP_MAX:
            response.flags |= dns.flags.TC
        else:  # not even TCP can carry it
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.SERVFAIL)
        return response.to_wire(max_size=limit)


def _bare_error(wire: bytes, rcode: dns.rcode.Rcode) -> bytes:
    """An error response built from the header alone (the rest did not parse)."""
    message = dns.message.Message(id=int.from_bytes(wire[:2], "big"))
    opcode = dns.opcode.from_flags(int.from_bytes(wire[2:4], "big"))
    message.flags = dns.flags.QR | dns.opcode.to_flags(opcode)
    message.set_rcode(rcode)
    return message.to_wire()
