"""idnode.protocol: the sans-I/O Handle protocol 2.x core.

Constants, the bounded :class:`Parser`, messages, typed bodies, request digests and UDP / TCP /
HTTP-tunnel framing. Nothing here does I/O; servers and clients are loops around it.

The body classes are loaded on first access (PEP 562): :mod:`idnode.identifiers.value` imports
:mod:`idnode.protocol.wire`, so importing the bodies (which need ``HandleValue``) eagerly from
this package would close an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idnode.protocol.constants import (
    COMPAT_MAJOR,
    COMPAT_MINOR,
    ENVELOPE_SIZE,
    HEADER_SIZE,
    MAJOR_VERSION,
    MAX_HANDLE_LENGTH,
    MAX_MESSAGE_SIZE,
    MAX_VALUES_PER_HANDLE,
    MINOR_VERSION,
    UDP_PACKET_SIZE,
    UDP_PAYLOAD_SIZE,
    EnvelopeFlag,
    OpCode,
    OpFlag,
    ResponseCode,
)
from idnode.protocol.digest import (
    HASH_LEGACY_MD5,
    HASH_MD5,
    HASH_SHA1,
    HASH_SHA256,
    RequestDigest,
    compute_request_digest,
    digest_type_for,
    hash_type_for_version,
    split_digest,
    with_digest,
)
from idnode.protocol.framing import (
    TUNNEL_CONTENT_TYPE,
    Frame,
    Reassembler,
    StreamDecoder,
    decode_tunnel_body,
    encode_tunnel_body,
    split_datagrams,
)
from idnode.protocol.message import (
    Envelope,
    Message,
    decode_envelope,
    decode_frame,
    decode_message,
)
from idnode.protocol.wire import Parser, Writer

if TYPE_CHECKING:
    from idnode.protocol.bodies import (
        AddValueRequest,
        Body,
        ChallengeAnswerRequest,
        ChallengeBody,
        CreateHandleRequest,
        CreateHandleResponse,
        ErrorBody,
        HandleRequest,
        LegacyLoginRequest,
        ListHandlesResponse,
        LoginRequest,
        ModifyValueRequest,
        ReferralBody,
        RemoveValueRequest,
        ResolutionRequest,
        ResolutionResponse,
        SessionExchangeKeyRequest,
        SessionSetupRequest,
        SessionSetupResponse,
        SiteInfoResponse,
        VerifyChallengeRequest,
        VerifyChallengeResponse,
        decode_request_body,
    )

__all__ = [
    "COMPAT_MAJOR",
    "COMPAT_MINOR",
    "ENVELOPE_SIZE",
    "HASH_LEGACY_MD5",
    "HASH_MD5",
    "HASH_SHA1",
    "HASH_SHA256",
    "HEADER_SIZE",
    "MAJOR_VERSION",
    "MAX_HANDLE_LENGTH",
    "MAX_MESSAGE_SIZE",
    "MAX_VALUES_PER_HANDLE",
    "MINOR_VERSION",
    "TUNNEL_CONTENT_TYPE",
    "UDP_PACKET_SIZE",
    "UDP_PAYLOAD_SIZE",
    "AddValueRequest",
    "Body",
    "ChallengeAnswerRequest",
    "ChallengeBody",
    "CreateHandleRequest",
    "CreateHandleResponse",
    "Envelope",
    "EnvelopeFlag",
    "ErrorBody",
    "Frame",
    "HandleRequest",
    "LegacyLoginRequest",
    "ListHandlesResponse",
    "LoginRequest",
    "Message",
    "ModifyValueRequest",
    "OpCode",
    "OpFlag",
    "Parser",
    "Reassembler",
    "ReferralBody",
    "RemoveValueRequest",
    "RequestDigest",
    "ResolutionRequest",
    "ResolutionResponse",
    "ResponseCode",
    "SessionExchangeKeyRequest",
    "SessionSetupRequest",
    "SessionSetupResponse",
    "SiteInfoResponse",
    "StreamDecoder",
    "VerifyChallengeRequest",
    "VerifyChallengeResponse",
    "Writer",
    "compute_request_digest",
    "decode_envelope",
    "decode_frame",
    "decode_message",
    "decode_request_body",
    "decode_tunnel_body",
    "digest_type_for",
    "encode_tunnel_body",
    "hash_type_for_version",
    "split_datagrams",
    "split_digest",
    "with_digest",
]

_BODY_NAMES = frozenset({
    "AddValueRequest", "Body", "ChallengeAnswerRequest", "ChallengeBody",
    "CreateHandleRequest", "CreateHandleResponse", "ErrorBody", "HandleRequest",
    "LegacyLoginRequest", "ListHandlesResponse", "LoginRequest", "ModifyValueRequest",
    "ReferralBody", "RemoveValueRequest", "ResolutionRequest", "ResolutionResponse",
    "SessionExchangeKeyRequest", "SessionSetupRequest", "SessionSetupResponse",
    "SiteInfoResponse", "VerifyChallengeRequest", "VerifyChallengeResponse",
    "decode_request_body",
})


def __getattr__(name: str) -> object:
    if name in _BODY_NAMES:
        from idnode.protocol import bodies

        return getattr(bodies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
