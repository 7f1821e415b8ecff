"""The UDP fast path: answer the commonest request without building message objects.

It takes only a single-packet, public-only resolution request with no credential, session,
digest or signature flags, whose record is already in the worker's cache, and answers it by
slicing the request and joining pre-encoded value bytes (``performance-notes.md``: a codec that
builds objects costs ~10× the event loop). Anything else returns ``None`` and goes through the
full stage chain, which produces byte-identical answers (the test suite checks both paths).
The answers come from a :data:`Lookup`: the authoritative node's hot-record cache
(:func:`records_lookup`, which checks that this node is responsible for the handle), or the
recursive node's resolver cache. A cached entry implies a well-formed handle, since only
parsed handles are ever looked up.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from time import perf_counter

from idnode.identifiers.handle import handle_key
from idnode.node.accesslog import AccessLog
from idnode.node.records import Records
from idnode.protocol.constants import MAJOR_VERSION, MINOR_VERSION, OpFlag

__all__ = ["FastResolver", "Lookup", "records_lookup"]

#: normalised handle key → (response code 1 or 100, encoded answer tail), or None for "ask
#: the chain"; the tail is ``int4 n`` + the public values in wire form
Lookup = Callable[[str], "tuple[int, bytes] | None"]
_NOT_FOUND = (100, b"")


def records_lookup(records: Records) -> Lookup:
    """The authoritative node's source: the worker's hot-record cache."""
    def lookup(key: str) -> tuple[int, bytes] | None:
        entry = records.cached(key)
        # Authentication and authorization lookups cache records too, including handles
        # this node is not responsible for: the chain answers those (RC 301).
        if entry is None or not records.responsible_for_key(key):
            return None
        if entry.record is None:
            return _NOT_FOUND
        # no public value: the full path explains RC 200
        return (1, entry.public_tail) if entry.public_tail else None
    return lookup

_REQ = struct.Struct(">BBBBIIIIIIIHBBII")  # envelope + header, 44 bytes
_ENV = struct.Struct(">BBBBIIII")
_HDR = struct.Struct(">IIIHBBII")
_U32 = struct.Struct(">I")
# Plain ints: an ``int & IntFlag`` runs enum code in Python and builds a member per request.
_REFUSED_FLAGS = int(OpFlag.CERTIFY | OpFlag.ENCRYPT | OpFlag.RETURN_REQUEST_DIGEST
                     | OpFlag.CONTINUOUS)
_PUBLIC_ONLY = int(OpFlag.PUBLIC_ONLY)
_AUTHORITATIVE = int(OpFlag.AUTHORITATIVE)
_SUGGESTED = MAJOR_VERSION & 0x03
_EMPTY = b"\x00\x00\x00\x00"
_NOT_FOUND_BODY = _EMPTY  # RC 100 carries an empty message
_NO_FILTER = bytes(12)  # empty index list, empty type list, empty credential
_UDP_LIMIT = 512


class FastResolver:
    """:param authoritative: an authoritative node sets AT on its answers and may answer AT
        requests; a recursive node's cache does neither (AT asks it to bypass the cache)."""

    def __init__(self, lookup: Lookup, access_log: AccessLog, *, max_handle_bytes: int,
                 max_answer_bytes: int = _UDP_LIMIT, authoritative: bool = True) -> None:
        self.lookup = lookup
        self.at_flag = _AUTHORITATIVE if authoritative else 0
        # A recursive node leaves AT requests and forwarded ones (recursion count > 0) to
        # the chain, which decides about going upstream.
        self.refused = _REFUSED_FLAGS if authoritative else _REFUSED_FLAGS | _AUTHORITATIVE
        self.max_rcount = 255 if authoritative else 0
        self.log = access_log
        self.max_handle = max_handle_bytes
        self.max_answer = max_answer_bytes
        self.hits = 0

    def __call__(self, data: bytes, peer: tuple[str, int]) -> list[bytes] | None:
        started = perf_counter()
        size = len(data)
        if size < 60:
            return None
        (major, minor, eflags, sminor, session, request_id, _seq, length, opcode, rc,
         opflags, serial, rcount, _res, expiration, body_len) = _REQ.unpack_from(data)
        if (opcode != 1 or rc or major != 2 or session or eflags & 0xE0
                or length != size - 20 or not opflags & _PUBLIC_ONLY
                or opflags & self.refused or body_len + 48 != size
                or rcount > self.max_rcount):
            return None
        (hlen,) = _U32.unpack_from(data, 44)
        end = 48 + hlen
        if hlen > self.max_handle or end + 12 != size:
            return None  # indexes or types present, or a credential: full path
        if data[end:] != _NO_FILTER:
            return None
        try:
            text = data[48:end].decode("utf-8")
        except UnicodeDecodeError:
            return None
        found = self.lookup(handle_key(text))
        if found is None:
            return None
        rc_out, tail = found
        body = data[44:end] + tail if rc_out == 1 else _NOT_FOUND_BODY
        smajor = eflags & 0x03
        suggested = (smajor, sminor) if smajor or sminor else (major, minor)
        rmajor, rminor = min(suggested, (MAJOR_VERSION, MINOR_VERSION))
        payload_len = 24 + len(body) + 4
        if payload_len + 20 > self.max_answer:
            return None  # the full path splits or truncates
        out = b"".join((
            _ENV.pack(rmajor, rminor, _SUGGESTED, MINOR_VERSION, 0, request_id, 0, payload_len),
            _HDR.pack(1, rc_out, opflags | self.at_flag if rc_out == 1 else opflags,
                      serial, rcount, 0,
                      expiration, len(body)),
            body, _EMPTY,
        ))
        self.hits += 1
        self.log.write(peer, "udp", (major, minor), 1, rc_out, perf_counter() - started, "-",
                       text)
        return [out]
