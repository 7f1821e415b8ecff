"""Envelope (20 bytes), header (24 bytes) and the whole message (``handle-protocol.md`` §2).

A :class:`Message` is the unit a server handles: the envelope fields that matter past framing
(version, session and request ids, flags) plus the header, the opaque ``body`` and the raw
``credential`` section. Typed bodies are in :mod:`idnode.protocol.bodies`; framing over UDP
and TCP is in :mod:`idnode.protocol.framing`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from idnode.errors import ProtocolError
from idnode.protocol.constants import (
    COMPAT_MAJOR,
    COMPAT_MINOR,
    ENVELOPE_SIZE,
    HEADER_SIZE,
    MAJOR_VERSION,
    MAX_MESSAGE_SIZE,
    MINOR_VERSION,
    EnvelopeFlag,
    OpFlag,
)

__all__ = [
    "ENVELOPE", "HEADER", "Envelope", "Message", "decode_envelope", "decode_frame",
    "decode_message",
]

ENVELOPE = struct.Struct(">BBBBIIII")
HEADER = struct.Struct(">IIIHBBII")
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Envelope:
    """The 20-byte envelope in front of every message (or UDP chunk)."""

    major: int
    minor: int
    flags: int  # CP/EC/TC bits; the low 2 bits are the suggested major version
    suggested_minor: int
    session_id: int
    request_id: int
    sequence: int
    message_length: int

    @property
    def truncated(self) -> bool:
        return bool(self.flags & EnvelopeFlag.TRUNCATED)

    @property
    def suggested_version(self) -> tuple[int, int]:
        major = self.flags & 0x03
        if major == 0 and self.suggested_minor == 0:
            return (self.major, self.minor)
        return (major, self.suggested_minor)

    def to_wire(self) -> bytes:
        return ENVELOPE.pack(self.major, self.minor, self.flags, self.suggested_minor,
                             self.session_id, self.request_id, self.sequence,
                             self.message_length)


def decode_envelope(data: bytes | memoryview, max_message: int = MAX_MESSAGE_SIZE) -> Envelope:
    """Decode the first 20 bytes of ``data``.

    :raises ProtocolError: too short, or a message length outside 28 … ``max_message``.
    """
    if len(data) < ENVELOPE_SIZE:
        raise ProtocolError(reason=f"envelope needs {ENVELOPE_SIZE} bytes, got {len(data)}")
    env = Envelope(*ENVELOPE.unpack_from(data, 0))
    if env.message_length > max_message:
        raise ProtocolError(reason=f"message length {env.message_length} exceeds the limit "
                                   f"of {max_message} bytes")
    if env.message_length < HEADER_SIZE + 4:
        raise ProtocolError(reason=f"message length {env.message_length} is shorter than "
                                   "a header and a credential length")
    return env


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded message: envelope essentials, header, body and credential.

    ``body`` and ``credential`` are raw bytes; the credential excludes its ``int4`` length.
    """

    opcode: int
    response_code: int = 0
    opflags: int = 0
    site_serial: int = 0xFFFF
    recursion_count: int = 0
    expiration: int = 0
    body: bytes = b""
    credential: bytes = b""
    request_id: int = 0
    session_id: int = 0
    major: int = COMPAT_MAJOR
    minor: int = COMPAT_MINOR
    suggested_major: int = MAJOR_VERSION
    suggested_minor: int = MINOR_VERSION
    envelope_flags: int = 0  # CP/EC bits only; TC and the version bits are framing

    def has_flag(self, flag: OpFlag) -> bool:
        return bool(self.opflags & flag)

    @property
    def is_request(self) -> bool:
        return self.response_code == 0

    @property
    def version(self) -> tuple[int, int]:
        return (self.major, self.minor)

    @property
    def effective_version(self) -> tuple[int, int]:
        """The lower of the message version and the suggested version."""
        return min((self.major, self.minor), (self.suggested_major, self.suggested_minor))

    def header_bytes(self) -> bytes:
        return HEADER.pack(self.opcode, self.response_code, self.opflags, self.site_serial,
                           self.recursion_count, 0, self.expiration, len(self.body))

    def to_wire(self) -> bytes:
        """Header + body + ``int4`` credential length + credential (no envelope)."""
        return b"".join((self.header_bytes(), self.body, _U32.pack(len(self.credential)),
                         self.credential))

    def envelope(self, length: int, *, sequence: int = 0, truncated: bool = False) -> Envelope:
        flags = (self.envelope_flags & 0xC0) | (self.suggested_major & 0x03)
        if truncated:
            flags |= EnvelopeFlag.TRUNCATED
        return Envelope(self.major, self.minor, flags, self.suggested_minor, self.session_id,
                        self.request_id, sequence, length)

    def to_frame(self) -> bytes:
        """Envelope + message: one TCP frame, HTTP-tunnel body or single UDP datagram."""
        payload = self.to_wire()
        return self.envelope(len(payload)).to_wire() + payload

    def with_(self, **changes: object) -> Message:
        return replace(self, **changes)  # type: ignore[arg-type]

    def reply(self, response_code: int, body: bytes = b"", *, opflags: int | None = None,
              major: int | None = None, minor: int | None = None) -> Message:
        """A response to this request: same ids, the given code and body.

        The version is the one the request suggested, capped at ours, as CNRI servers answer
        (a 2.3 request suggesting 2.11 gets a 2.11 response).
        """
        if major is None or minor is None:
            major, minor = min((self.suggested_major, self.suggested_minor),
                               (MAJOR_VERSION, MINOR_VERSION))
        return Message(
            opcode=self.opcode, response_code=response_code,
            opflags=self.opflags if opflags is None else opflags,
            site_serial=self.site_serial, recursion_count=self.recursion_count,
            expiration=self.expiration, body=body, request_id=self.request_id,
            session_id=self.session_id,
            major=major,
            minor=minor,
            suggested_major=MAJOR_VERSION, suggested_minor=MINOR_VERSION,
        )


def decode_message(env: Envelope, payload: bytes | memoryview) -> Message:
    """Decode header + body + credential (everything after the envelope).

    A message that ends right after its body (no ``int4`` credential length) decodes with an
    empty credential.

    :raises ProtocolError: truncated, inconsistent lengths, or trailing bytes.
    """
    size = len(payload)
    if size != env.message_length:
        raise ProtocolError(reason=f"envelope says {env.message_length} bytes, "
                                   f"{size} arrived")
    if size < HEADER_SIZE:
        raise ProtocolError(reason="message shorter than a header")
    opcode, rc, opflags, serial, rcount, _reserved, expiration, body_len = \
        HEADER.unpack_from(payload, 0)
    body_end = HEADER_SIZE + body_len
    if body_end == size:
        # No credential section at all: the IDIS id-pointer-sdk sends OC 2001 this way
        # (header + body only), and CNRI reads a credential only "if there is room".
        cred_start = size
    elif body_end + 4 > size:
        raise ProtocolError(reason=f"body length {body_len} overruns the message of "
                                   f"{size} bytes")
    else:
        (cred_len,) = _U32.unpack_from(payload, body_end)
        cred_start = body_end + 4
        if cred_start + cred_len != size:
            raise ProtocolError(reason=f"credential length {cred_len} does not match the "
                                       f"message length {size}")
    data = bytes(payload)
    sug_major, sug_minor = env.suggested_version
    return Message(
        opcode=opcode, response_code=rc, opflags=opflags, site_serial=serial,
        recursion_count=rcount, expiration=expiration,
        body=data[HEADER_SIZE:body_end], credential=data[cred_start:],
        request_id=env.request_id, session_id=env.session_id, major=env.major,
        minor=env.minor, suggested_major=sug_major, suggested_minor=sug_minor,
        envelope_flags=env.flags & 0xC0,
    )


def decode_frame(frame: bytes | memoryview, max_message: int = MAX_MESSAGE_SIZE) -> Message:
    """Decode one complete envelope + message (a TCP frame or a single-packet datagram)."""
    env = decode_envelope(frame, max_message)
    return decode_message(env, memoryview(frame)[ENVELOPE_SIZE:])
