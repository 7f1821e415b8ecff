"""DNS answers from a worker's records, asked over loopback with dnspython."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from idnode.dnsface import DnsFace
from idnode.dnsface.names import encode_handle
from idnode.identifiers.handle import handle_key

from .conftest import DNS, HANDLE_ZONE, ZONE, Served, serve

HOST = "127.0.0.1"


def hname(handle: str) -> str:
    name = encode_handle(handle_key(handle), dns.name.from_text(HANDLE_ZONE))
    assert name is not None
    return str(name)


def ask(served: Served, name: str, rdtype: str, *, tcp: bool = False,
        payload: int | None = 1232) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, use_edns=0 if payload else False,
                                   payload=payload or 512)
    if tcp:
        return dns.query.tcp(query, HOST, port=served.port, timeout=5)
    return dns.query.udp(query, HOST, port=served.port, timeout=5)


def resolver(served: Served) -> dns.resolver.Resolver:
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [HOST]
    res.port = served.port
    res.lifetime = 5
    return res


def texts(message: dns.message.Message) -> list[str]:
    """The TXT strings of the answer, ``handle=…`` first (an RRset has no order)."""
    lines = [b"".join(r.strings).decode() for rrset in message.answer
             if rrset.rdtype == dns.rdatatype.TXT for r in rrset]
    return sorted(lines, key=lambda line: not line.startswith("handle="))


def test_oid_naptr_through_a_stub_resolver(served: Served) -> None:
    answer = resolver(served).resolve("3001.156.2.1." + ZONE, "NAPTR")
    records = sorted(answer, key=lambda r: (r.order, r.preference))
    assert [(r.order, r.preference, r.flags, r.service) for r in records] == [
        (10, 5, b"U", b"RINF"), (100, 1, b"U", b"UINF")]
    assert records[0].regexp == b"!^.*$!https://example.cn/rinf/3001.xml!"
    assert records[1].regexp == b"!^.*$!https://example.cn/oid/3001!"
    assert answer.response.flags & dns.flags.AA
    assert answer.rrset is not None and answer.rrset.ttl == 300


def test_deeper_oid_is_a_handle_under_the_prefix(served: Served) -> None:
    response = ask(served, "12.7.3001.156.2.1." + ZONE, "NAPTR")
    assert response.rcode() == dns.rcode.NOERROR
    [rrset] = response.answer
    assert [r.regexp for r in rrset] == [b"!^.*$!https://example.cn/oid/3001/7/12!"]


@pytest.mark.parametrize("name", ["7.3001.156.2.1.", "156.2.1.", "2.1.", ""])
def test_empty_non_terminals_are_nodata_not_nxdomain(served: Served, name: str) -> None:
    response = ask(served, name + ZONE, "NAPTR")
    assert response.rcode() == dns.rcode.NOERROR
    assert not response.answer
    assert response.flags & dns.flags.AA
    assert [r.rdtype for r in response.authority] == [dns.rdatatype.SOA]


def test_unmapped_oid_is_nxdomain_with_the_zone_soa(served: Served) -> None:
    for name in ("99.156.2.1.", "5.3001.156.2.1.", "x.1.", "01.1."):
        response = ask(served, name + ZONE, "NAPTR")
        assert response.rcode() == dns.rcode.NXDOMAIN, name
        assert response.flags & dns.flags.AA
        [soa] = response.authority
        assert soa.name == dns.name.from_text(ZONE) and soa.rdtype == dns.rdatatype.SOA
        assert soa[0].minimum == 300


def test_oid_mapping_records_when_enabled(served: Served) -> None:
    face = DnsFace(replace(DNS, oid_mapping="88.100.1"), served.face.handles.source)

    def naptr(name: str) -> dns.message.Message:
        wire = dns.message.make_query(name + ZONE, "NAPTR").to_wire()
        out = served.run(face.respond(wire, tcp=True))
        assert out is not None
        return dns.message.from_wire(out)

    mapped = naptr("5.4000.156.2.1.")  # 88.100.1/MAP.OID.1.2.156.4000 → 88.100.1/1.2.156.4000.5
    assert [r.regexp for r in mapped.answer[0]] == [b"!^.*$!https://example.cn/mapped!"]
    assert naptr("3001.156.2.1.").answer  # the [dns.oids] table still comes first
    # deeper arcs may have mapping records of their own: no NXDOMAIN for unmapped OIDs
    for name in ("6.4000.156.2.1.", "99.156.2.1."):
        response = naptr(name)
        assert response.rcode() == dns.rcode.NOERROR and not response.answer, name


def test_top_arc_names_are_dnames(served: Served) -> None:
    response = ask(served, "3001.156.2.iso." + ZONE, "NAPTR")
    types = [r.rdtype for r in response.answer]
    assert types == [dns.rdatatype.DNAME, dns.rdatatype.CNAME, dns.rdatatype.NAPTR]
    assert str(response.answer[0][0].target) == "1." + ZONE
    assert str(response.answer[1][0].target) == "3001.156.2.1." + ZONE
    assert ask(served, "iso." + ZONE, "DNAME").answer[0].rdtype == dns.rdatatype.DNAME


def test_identifier_txt_uri_and_naptr(served: Served) -> None:
    name = hname("88.100.1/JXDY2106023")
    assert name == "jxdy2106023._.1.100.88." + HANDLE_ZONE
    lines = texts(resolver(served).resolve(name, "TXT").response)
    assert lines[0] == "handle=88.100.1/JXDY2106023"
    assert set(lines[1:]) == {"1=URL:https://example.cn/p/JXDY2106023",
                              "2=EMAIL:qa@example.cn", "2000=productName:冲击扳手",
                              "100=HS_ADMIN;base64:AA8AAAAB"}  # HS_SECKEY is not public
    [uri] = resolver(served).resolve(name, "URI")
    assert (uri.priority, uri.weight, uri.target) == (1, 1, b"https://example.cn/p/JXDY2106023")
    [naptr] = resolver(served).resolve(name, "NAPTR")
    assert naptr.service == b"UINF" and naptr.flags == b"U"
    everything = ask(served, name, "ANY", tcp=True)
    assert {r.rdtype for r in everything.answer} == {dns.rdatatype.TXT, dns.rdatatype.URI,
                                                     dns.rdatatype.NAPTR}


def test_names_are_case_insensitive(served: Served) -> None:
    for name in ("JXDY2106023._.1.100.88.HDL.Example.CN.", "jXdY2106023._.1.100.88." +
                 HANDLE_ZONE):
        assert texts(ask(served, name, "TXT"))[0] == "handle=88.100.1/JXDY2106023"
    assert texts(ask(served, hname("88.100.1/lower"), "TXT"))[0] == "handle=88.100.1/lower"
    # lower-case letters are escaped, so the plain letters name another (absent) handle
    assert ask(served, "lower._.1.100.88." + HANDLE_ZONE, "TXT").rcode() == dns.rcode.NXDOMAIN


def test_dotted_suffixes_and_their_empty_non_terminals(served: Served) -> None:
    name = hname("88.100.1/87.01.SG1020")
    assert name == "sg1020.01.87._.1.100.88." + HANDLE_ZONE
    assert texts(ask(served, name, "TXT"))[0] == "handle=88.100.1/87.01.SG1020"
    for above in ("01.87._.1.100.88.", "87._.1.100.88.", "_.1.100.88."):
        response = ask(served, above + HANDLE_ZONE, "TXT")
        assert response.rcode() == dns.rcode.NOERROR and not response.answer, above
        assert response.authority[0].rdtype == dns.rdatatype.SOA


def test_prefix_record_and_nodata_for_other_types(served: Served) -> None:
    assert texts(ask(served, "1.100.88." + HANDLE_ZONE, "TXT"))[0] == "handle=0.NA/88.100.1"
    response = ask(served, hname("88.100.1/JXDY2106023"), "MX")
    assert response.rcode() == dns.rcode.NOERROR and not response.answer
    assert response.authority[0].rdtype == dns.rdatatype.SOA
    for name in ("100.88.", "88."):  # above a homed prefix: they exist
        assert ask(served, name + HANDLE_ZONE, "TXT").rcode() == dns.rcode.NOERROR


def test_missing_identifier_is_nxdomain_with_soa(served: Served) -> None:
    for name in (hname("88.100.1/NOPE"), "_zz._.1.100.88." + HANDLE_ZONE,
                 "_41._.1.100.88." + HANDLE_ZONE):
        response = ask(served, name, "TXT")
        assert response.rcode() == dns.rcode.NXDOMAIN, name
        assert response.flags & dns.flags.AA
        assert response.authority[0].name == dns.name.from_text(HANDLE_ZONE)
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver(served).resolve(hname("88.100.1/NOPE"), "TXT")


def test_hs_alias_is_a_cname(served: Served) -> None:
    response = ask(served, hname("88.100.1/OLD"), "TXT")
    cname, txt = response.answer
    assert cname.rdtype == dns.rdatatype.CNAME
    assert str(cname[0].target) == hname("88.100.1/JXDY2106023")
    assert txt.name == cname[0].target
    assert texts(response)[0] == "handle=88.100.1/JXDY2106023"
    only = ask(served, hname("88.100.1/OLD"), "CNAME")
    assert [r.rdtype for r in only.answer] == [dns.rdatatype.CNAME]


def test_refused_outside_the_zones_and_for_other_nodes_prefixes(served: Served) -> None:
    for name, rdtype in (("example.com.", "A"), ("org.", "NAPTR"),
                         (hname("88.200.1/X"), "TXT"), ("1.200.88." + HANDLE_ZONE, "TXT")):
        response = ask(served, name, rdtype)
        assert response.rcode() == dns.rcode.REFUSED, name
        assert not response.flags & dns.flags.AA
    transfer = ask(served, ZONE, "AXFR", tcp=True)
    assert transfer.rcode() == dns.rcode.REFUSED


def test_apex_soa(served: Served) -> None:
    for zone in (ZONE, HANDLE_ZONE):
        [soa] = ask(served, zone, "SOA").answer
        assert soa[0].mname == dns.name.from_text(zone)


def test_formerr_on_garbage_and_two_questions(served: Served) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(b"\x12\x34\x01\x00" + b"\xff" * 30, (HOST, served.port))
        reply = dns.message.from_wire(sock.recv(4096))
    assert reply.id == 0x1234 and reply.rcode() == dns.rcode.FORMERR
    query = dns.message.make_query("1." + ZONE, "NAPTR")
    query.question.append(query.question[0])
    assert dns.query.udp(query, HOST, port=served.port, timeout=5).rcode() == \
        dns.rcode.FORMERR


def test_edns_version_and_opcodes(served: Served) -> None:
    query = dns.message.make_query("1." + ZONE, "NAPTR", use_edns=1)
    assert dns.query.udp(query, HOST, port=served.port, timeout=5).rcode() == \
        dns.rcode.BADVERS
    notify = dns.message.make_query(ZONE, "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert dns.query.udp(notify, HOST, port=served.port, timeout=5).rcode() == \
        dns.rcode.NOTIMP


def test_truncated_over_udp_then_whole_over_tcp(served: Served) -> None:
    name = hname("88.100.1/BIG")
    small = ask(served, name, "TXT")
    assert small.flags & dns.flags.TC and not small.answer
    medium = hname("88.100.1/MEDIUM")
    assert not ask(served, medium, "TXT").flags & dns.flags.TC
    assert ask(served, medium, "TXT", payload=None).flags & dns.flags.TC  # 512 without EDNS
    whole = ask(served, name, "TXT", tcp=True)
    assert not whole.flags & dns.flags.TC
    assert len(texts(whole)) == 40 and len(whole.to_wire()) > 1232
    # a stub resolver falls back to TCP by itself
    assert len(resolver(served).resolve(name, "TXT")) == 40
    roomy = ask(served, name, "TXT", payload=4096)  # capped at max_udp_payload (1232)
    assert roomy.flags & dns.flags.TC


def test_tcp_carries_several_queries_per_connection(served: Served) -> None:
    queries = [dns.message.make_query(n, "TXT") for n in
               (hname("88.100.1/JXDY2106023"), hname("88.100.1/lower"), "example.com.")]
    wire = b"".join(len(w).to_bytes(2, "big") + w for w in (q.to_wire() for q in queries))
    with socket.create_connection((HOST, served.port), timeout=5) as sock:
        sock.sendall(wire)
        replies: list[dns.message.Message] = []
        data = b""
        while len(replies) < 3:
            chunk = sock.recv(65536)
            assert chunk
            data += chunk
            while len(data) >= 2 and len(data) >= 2 + int.from_bytes(data[:2], "big"):
                size = int.from_bytes(data[:2], "big")
                replies.append(dns.message.from_wire(data[2:2 + size]))
                data = data[2 + size:]
    assert [r.id for r in replies] == [q.id for q in queries]
    assert [r.rcode() for r in replies] == [dns.rcode.NOERROR, dns.rcode.NOERROR,
                                            dns.rcode.REFUSED]


def test_tcp_connections_are_bounded_and_idle_ones_closed(tmp_path: Path) -> None:
    config = replace(DNS, max_tcp_connections=2, tcp_idle_timeout=0.5)
    for small in serve(tmp_path, config):
        held = [socket.create_connection((HOST, small.port), timeout=5) for _ in range(2)]
        extra = socket.create_connection((HOST, small.port), timeout=5)
        try:
            try:  # the third connection is aborted at once
                assert extra.recv(1) == b""
            except ConnectionResetError:
                pass
            started = time.monotonic()
            for conn in held:  # and idle ones are closed after tcp_idle_timeout
                assert conn.recv(1) == b""
            assert 0.3 < time.monotonic() - started < 3
            query = dns.message.make_query("1." + ZONE, "NAPTR")
            assert dns.query.tcp(query, HOST, port=small.port, timeout=5).rcode() == \
                dns.rcode.NOERROR  # room again
        finally:
            for conn in [*held, extra]:
                conn.close()
