"""The UDP fast path: answer the commonest request without building message objects.

It takes only a single-packet, public-only resolution request with no credential, session,
digest or signature flags, whose record is already in the worker's cache, and answers it by
slicing the request and joining pre-encoded value bytes (``performance-notes.md``: a codec that
builds objects costs ~10× the event loop). Anything else returns ``None`` and goes through the
full stage chain, which produces byte-identical answers (the test suite checks both paths).
Before answering it checks that this node is responsible for the handle (records read for
authentication or authorization are cached too, whatever their prefix); a cached entry
implies a well-formed handle, since only parsed handles are ever looked up.
"""

from __future__ import annotations

import struct
from time import perf_counter

from idnode.identifiers.handle import handle_key
from idnode.node.accesslog import AccessLog
from idnode.node.records import Records
from idnode.protocol.constants import MAJOR_VERSION, MINOR_VERSION, OpFlag

__all__ = ["FastResolver"]

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
    def __init__(self, records: Records, access_log: AccessLog, *, max_handle_bytes: int,
                 max_answer_bytes: int = _UDP_LIMIT) -> None:
        self.records = records
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
                or opflags & _REFUSED_FLAGS or body_len + 48 != size):
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
        key = handle_key(text)
        entry = self.records.cached(key)
        # Authentication and authorization lookups cache records too, including handles this
        # node is not responsible for: the chain answers those (RC 301).
        if entry is None or not self.records.responsible_for_key(key):
            return None
        record = entry.record
        if record is None:
            rc_out = 100
            body = _NOT_FOUND_BODY
        elif entry.public_tail:
            rc_out = 1
            body = data[44:end] + entry.public_tail
        else:
            return None  # no public value: the full path explains RC 200
        smajor = eflags & 0x03
        suggested = (smajor, sminor) if smajor or sminor else (major, minor)
        rmajor, rminor = min(suggested, (MAJOR_VERSION, MINOR_VERSION))
        payload_len = 24 + len(body) + 4
        if payload_len + 20 > self.max_answer:
            return None  # the full path splits or truncates
        out = b"".join((
            _ENV.pack(rmajor, rminor, _SUGGESTED, MINOR_VERSION, 0, request_id, 0, payload_len),
            _HDR.pack(1, rc_out, opflags | _AUTHORITATIVE if rc_out == 1 else opflags,
                      serial, rcount, 0,
                      expiration, len(body)),
            body, _EMPTY,
        ))
        self.hits += 1
        self.log.write(peer, "udp", (major, minor), 1, rc_out, perf_counter() - started, "-",
                       text)
        return [out]
