"""Request digests (``handle-protocol.md`` §2.4).

A response to a request with the RD opflag (and every RC 402 challenge) starts its body with a
digest of the request's encoded header + body, so the client can tell the server answered
exactly what it sent. The prefix is ``hashType (1 byte)`` + a fixed-size digest, or, for the
legacy type 0, an ``int4``-length-prefixed MD5 (the first byte of that length is the 0 that
doubles as the type).

Which hash a server answers with (confirmed from the CNRI-derived SDK source,
``AbstractResponse.takeDigestOfRequest`` and ``AbstractMessage.setSupportedProtocolVersion``):
the response's version is the request's *suggested* version capped at the server's own
(2.11); below 2.1 the digest is legacy MD5 (type 0), from 2.1 up to 2.6 it is SHA-1 (type 2),
and from 2.7 on it is SHA-256 (type 3). A message of major version 5 (very old clients that
sent 5.0 by mistake) counts as older than 2.1. :func:`digest_type_for` applies that rule.
Decoders accept every type regardless of version, as CNRI's do.

SM3 is *not* a request-digest type. The IDIS SDKs hash challenges with SM3 only inside an SM2
answer (:mod:`idnode.auth.challenge`); ``teleinfo-dev/id-pointer-sdk``'s ``core/Common.java``
defines the digest codes 0 (legacy MD5), 1 (MD5), 2 (SHA-1), 3 (SHA-256) and the MAC codes
0x12, 0x13, 0x22, and no code for SM3, and 4iot-dev/ID-SDK's ``login(…, rdType)`` documents
1 = MD5, 2 = SHA1, 3 = SHA256 (``idis.md`` §4.4). A guessed code would break interoperability,
so none is added.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

from idnode.errors import ProtocolError
from idnode.protocol.constants import MAJOR_VERSION, MINOR_VERSION
from idnode.protocol.message import Message
from idnode.protocol.wire import Parser

__all__ = [
    "HASH_LEGACY_MD5",
    "HASH_MD5",
    "HASH_SHA1",
    "HASH_SHA256",
    "RequestDigest",
    "compute_request_digest",
    "digest_type_for",
    "hash_type_for_version",
    "split_digest",
    "with_digest",
]

#: Legacy format: ``int4`` length + MD5 digest (protocol < 2.1).
HASH_LEGACY_MD5 = 0
HASH_MD5 = 1
HASH_SHA1 = 2
HASH_SHA256 = 3

#: Digest sizes of the fixed-size hash types.
DIGEST_SIZES: dict[int, int] = {HASH_MD5: 16, HASH_SHA1: 20, HASH_SHA256: 32}
_ALGORITHMS: dict[int, str] = {
    HASH_LEGACY_MD5: "md5", HASH_MD5: "md5", HASH_SHA1: "sha1", HASH_SHA256: "sha256",
}
#: A legacy digest is an MD5, but its length is on the wire; anything longer is hostile.
_MAX_LEGACY_DIGEST = 64
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class RequestDigest:
    """A request digest as it appears on the wire.

    :ivar hash_type: 0 (legacy, length-prefixed MD5), 1 MD5, 2 SHA-1 or 3 SHA-256.
    :ivar digest: the digest bytes (16, 20 or 32 bytes for types 1-3).
    :raises ProtocolError: unknown hash type or a digest of the wrong size.
    """

    hash_type: int
    digest: bytes

    def __post_init__(self) -> None:
        if self.hash_type not in _ALGORITHMS:
            raise ProtocolError(reason=f"unknown request digest hash type {self.hash_type}")
        expected = DIGEST_SIZES.get(self.hash_type)
        if expected is not None and len(self.digest) != expected:
            raise ProtocolError(reason=f"digest of hash type {self.hash_type} must be "
                                       f"{expected} bytes, got {len(self.digest)}")
        if expected is None and len(self.digest) > _MAX_LEGACY_DIGEST:
            raise ProtocolError(reason=f"legacy digest of {len(self.digest)} bytes")

    def to_wire(self) -> bytes:
        if self.hash_type == HASH_LEGACY_MD5:
            # The int4 length's high byte is 0, which is what makes type 0 recognisable.
            return _U32.pack(len(self.digest)) + self.digest
        return bytes((self.hash_type,)) + self.digest

    @classmethod
    def from_wire_parser(cls, parser: Parser) -> RequestDigest:
        """Read a digest prefix; raises :class:`~idnode.errors.ProtocolError` on bad bytes."""
        hash_type = parser.get_uint8()
        if hash_type == HASH_LEGACY_MD5:
            # The type byte was the high byte of an int4 length; read the other three.
            length = (parser.get_uint16() << 8) | parser.get_uint8()
            if length > _MAX_LEGACY_DIGEST:
                raise parser.error(f"legacy digest length {length} exceeds "
                                   f"{_MAX_LEGACY_DIGEST}")
            return cls(hash_type, parser.get_bytes(length))
        size = DIGEST_SIZES.get(hash_type)
        if size is None:
            raise parser.error(f"unknown request digest hash type {hash_type}")
        return cls(hash_type, parser.get_bytes(size))

    @classmethod
    def from_wire(cls, data: bytes) -> RequestDigest:
        parser = Parser(data, "request digest")
        digest = cls.from_wire_parser(parser)
        parser.expect_end()
        return digest

    def matches(self, request: Message) -> bool:
        """True if this digest is the digest of ``request`` (constant-time compare)."""
        expected = compute_request_digest(request, self.hash_type)
        return hmac.compare_digest(expected.digest, self.digest)


def compute_request_digest(request: Message, hash_type: int = HASH_SHA256) -> RequestDigest:
    """Digest of ``request``'s encoded header + body with ``hash_type``.

    :raises ProtocolError: unknown hash type.
    """
    algorithm = _ALGORITHMS.get(hash_type)
    if algorithm is None:
        raise ProtocolError(reason=f"unknown request digest hash type {hash_type}")
    hasher = hashlib.new(algorithm)
    hasher.update(request.header_bytes())
    hasher.update(request.body)
    return RequestDigest(hash_type, hasher.digest())


def hash_type_for_version(major: int, minor: int) -> int:
    """The digest type a response of protocol ``major.minor`` carries (see module doc)."""
    if major == 5 or (major, minor) < (2, 1):
        return HASH_LEGACY_MD5
    if (major, minor) < (2, 7):
        return HASH_SHA1
    return HASH_SHA256


def digest_type_for(request: Message) -> int:
    """The digest type to answer ``request`` with: its suggested version, capped at ours."""
    version = (request.suggested_major, request.suggested_minor)
    if request.suggested_major != 5:
        version = min(version, (MAJOR_VERSION, MINOR_VERSION))
    return hash_type_for_version(*version)


def split_digest(body: bytes) -> tuple[RequestDigest, bytes]:
    """Split a response body that starts with a digest prefix into (digest, rest).

    :raises ProtocolError: the body does not start with a valid digest.
    """
    parser = Parser(body, "request digest")
    digest = RequestDigest.from_wire_parser(parser)
    return digest, parser.get_remaining()


def with_digest(digest: RequestDigest, body: bytes) -> bytes:
    """``body`` with ``digest`` in front (the RD prefix of a response body)."""
    return digest.to_wire() + body
