"""The credential (signature) section of a message (``handle-protocol.md`` §7).

Layout, after the message's ``int4 credentialLength``::

    version        1 byte (0)
    reserved       1 byte (0)
    options        int2   (0)
    signer         UTF8-String handle (CNRI writes "") + int4 index
    type           UTF8-String: HS_SIGNED, HS_MAC, legacy HS_DSAPUBKEY
    sectionLength  int4: length of the signed-info part that follows
    digest alg     UTF8-String (CNRI writes "SHA1", "SHA-256", "HMAC-SHA256")
    signature      byte array

CNRI (``AbstractMessage.signMessage``) no longer uses the signer index for a signer: it
carries the *session counter*, and the verifier reads the counter back from that field, so
the index is what enters the signed bytes as ``sessionCounter``.

What is signed depends on the message version (the envelope's major/minor, not the
suggested one), exactly as in CNRI's ``signMessage``/``verifyMessage``:

* ≥ 2.8: ``major minor suggMajor suggMinor`` + ``int4 sessionId`` + ``int4 requestId`` +
  ``int4 sessionCounter`` + header + body;
* 2.7: the same without the two suggested-version bytes;
* 2.6: a 14-byte prefix produced by a CNRI offset bug (see :func:`signed_bytes`);
* < 2.6: header + body only.

This module is standard-library only; the cryptography is in :mod:`idnode.auth.signing`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from idnode.errors import ProtocolError
from idnode.protocol.message import Message
from idnode.protocol.wire import Parser, Writer

__all__ = [
    "CREDENTIAL_MAC",
    "CREDENTIAL_OLD_SIGNED",
    "CREDENTIAL_SIGNED",
    "Credential",
    "decode_credential",
    "signed_bytes",
    "version_at_least",
]

CREDENTIAL_SIGNED = "HS_SIGNED"
CREDENTIAL_MAC = "HS_MAC"
#: Deprecated server signature type; verifiers still accept it as HS_SIGNED.
CREDENTIAL_OLD_SIGNED = "HS_DSAPUBKEY"

_U32 = struct.Struct(">I")
_U32_MAX = 0xFFFF_FFFF


def version_at_least(major: int, minor: int, want_major: int, want_minor: int) -> bool:
    """CNRI's ``hasEqualOrGreaterVersion``: is ``major.minor`` ≥ ``want_major.want_minor``?

    A message of major version 5 (sent by mistake by very old clients) only counts as
    new enough for a 5.x test, so it is treated as older than every 2.x feature.
    """
    if major == 5:
        return want_major == 5 and minor >= want_minor
    if want_major == 5:
        return True
    return (major, minor) >= (want_major, want_minor)


def _check_range(name: str, value: int, limit: int) -> None:
    if not 0 <= value <= limit:
        raise ProtocolError(reason=f"credential {name} {value} is out of range 0..{limit}")


@dataclass(frozen=True, slots=True)
class Credential:
    """A decoded credential section.

    :ivar signer_index: the signer's index; CNRI puts the session counter here.
    :ivar type: ``HS_SIGNED``, ``HS_MAC`` or ``HS_DSAPUBKEY``.
    :ivar digest_alg: the algorithm name as on the wire. CNRI writes ``"SHA-256"`` and
        ``"SHA1"`` for signatures (``Common.HASH_ALG_SHA256``/``HASH_ALG_SHA1``) and
        accepts ``"SHA256"``/``"SHA-1"`` too; ``"HMAC-SHA256"`` for session MACs.
    :ivar signature: the raw signature or MAC bytes.
    """

    version: int = 0
    reserved: int = 0
    options: int = 0
    signer_handle: str = ""
    signer_index: int = 0
    type: str = CREDENTIAL_SIGNED
    digest_alg: str = "SHA-256"
    signature: bytes = b""

    def __post_init__(self) -> None:
        _check_range("version", self.version, 0xFF)
        _check_range("reserved byte", self.reserved, 0xFF)
        _check_range("options", self.options, 0xFFFF)
        _check_range("signer index", self.signer_index, _U32_MAX)

    @property
    def session_counter(self) -> int:
        """The session counter CNRI carries in the signer index field."""
        return self.signer_index

    def to_wire(self) -> bytes:
        """The credential bytes (without the message's ``int4 credentialLength``)."""
        alg = self.digest_alg.encode("utf-8")
        writer = Writer()
        writer.put_uint8(self.version)
        writer.put_uint8(self.reserved)
        writer.put_uint16(self.options)
        writer.put_string(self.signer_handle)
        writer.put_uint32(self.signer_index)
        writer.put_string(self.type)
        writer.put_uint32(4 + len(alg) + 4 + len(self.signature))
        writer.put_counted_bytes(alg)
        writer.put_counted_bytes(self.signature)
        return writer.getvalue()

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> Credential:
        version = parser.get_uint8()
        reserved = parser.get_uint8()
        options = parser.get_uint16()
        signer_handle = parser.get_string()
        signer_index = parser.get_uint32()
        type_ = parser.get_string()
        section_length = parser.get_uint32()
        # The signed-info part must be exactly sectionLength bytes: no slack, no overrun.
        with parser.restrict_to(section_length):
            digest_alg = parser.get_string()
            signature = parser.get_counted_bytes()
        return cls(version, reserved, options, signer_handle, signer_index, type_,
                   digest_alg, signature)

    @classmethod
    def from_wire(cls, data: bytes | bytearray | memoryview) -> Credential:
        """Decode a credential section.

        :raises ProtocolError: truncated, inconsistent section length or trailing bytes.
        """
        parser = Parser(data, "credential")
        credential = cls.from_wire_parser(parser)
        parser.expect_end()
        return credential


def decode_credential(data: bytes) -> Credential | None:
    """``None`` for an empty credential section (no credential), else the decoded one.

    :raises ProtocolError: as :meth:`Credential.from_wire`.
    """
    if not data:
        return None
    return Credential.from_wire(data)


def signed_bytes(message: Message, session_counter: int = 0) -> bytes:
    """Exactly the bytes an HS_SIGNED signature or HS_MAC covers for ``message``.

    :param message: the message; its ``major``/``minor`` (the envelope's version) select
        the form, and ``header_bytes()`` + ``body`` are the signed content.
    :param session_counter: the counter carried in the credential's signer index.
    """
    major, minor = message.major & 0xFF, message.minor & 0xFF
    content = message.header_bytes() + message.body
    if not version_at_least(major, minor, 2, 6):
        return content
    ids = (_U32.pack(message.session_id & _U32_MAX) + _U32.pack(message.request_id & _U32_MAX)
           + _U32.pack(session_counter & _U32_MAX))
    if not version_at_least(major, minor, 2, 7):
        # Protocol 2.6 as CNRI implemented it: the offset was *assigned* the int size (4)
        # instead of advanced, so every int lands at offset 2 then 4 and overwrites the
        # previous one. Result: major, minor, sessionId[0:2], counter[0:4], six zero bytes.
        prefix = bytearray(14)
        prefix[0], prefix[1] = major, minor
        prefix[2:6] = ids[0:4]
        prefix[4:8] = ids[4:8]
        prefix[4:8] = ids[8:12]
        return bytes(prefix) + content
    if not version_at_least(major, minor, 2, 8):
        return bytes((major, minor)) + ids + content
    suggested = bytes((message.suggested_major & 0xFF, message.suggested_minor & 0xFF))
    return bytes((major, minor)) + suggested + ids + content
