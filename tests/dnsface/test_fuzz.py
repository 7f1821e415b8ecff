"""Hostile bytes never crash the DNS face: every query-shaped input gets a well-formed
response with its id, and the server keeps answering."""

from __future__ import annotations

import random
import socket

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import ZONE, Served

HOST = "127.0.0.1"


def query_bytes(data: bytes) -> bytes:
    """``data`` with the QR bit clear (a response is never answered)."""
    if len(data) >= 3:
        return data[:2] + bytes([data[2] & 0x7F]) + data[3:]
    return data


def check(served: Served, data: bytes, tcp: bool) -> None:
    wire = query_bytes(data)
    out = served.run(served.face.respond(wire, tcp=tcp))
    if len(wire) < 12:
        assert out is None
        return
    assert out is not None
    reply = dns.message.from_wire(out)
    assert reply.id == int.from_bytes(wire[:2], "big")
    assert len(out) <= (65_535 if tcp else 1232)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_random_bytes(served: Served, data: bytes, tcp: bool) -> None:
    check(served, data, tcp)


_valid = dns.message.make_query("3001.156.2.1." + ZONE, "NAPTR", use_edns=0).to_wire()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_valid) - 1), st.integers(0, 255)),
                min_size=1, max_size=6), st.integers(0, len(_valid)))
def test_mutated_queries(served: Served, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(_valid)
    for at, value in flips:
        data[at] = value
    check(served, bytes(data[:max(cut, 12)]), tcp=False)


def test_the_server_survives_garbage_on_both_transports(served: Served) -> None:
    rng = random.Random(7)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(300):
            sock.sendto(rng.randbytes(rng.randrange(0, 700)), (HOST, served.port))
    for _ in range(20):
        with socket.create_connection((HOST, served.port), timeout=5) as conn:
            conn.sendall(rng.randbytes(rng.randrange(0, 3000)))
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(5)
            while conn.recv(65536):
                pass  # the server answers what parsed, then closes
    query = dns.message.make_query("3001.156.2.1." + ZONE, "NAPTR")
    for reply in (dns.query.udp(query, HOST, port=served.port, timeout=5),
                  dns.query.tcp(query, HOST, port=served.port, timeout=5)):
        assert reply.rcode() == dns.rcode.NOERROR
        assert reply.answer[0].rdtype == dns.rdatatype.NAPTR
