"""Typed message bodies (``handle-protocol.md`` §3, ``idis.md`` §4).

One frozen dataclass per body layout, each with ``from_wire_parser()`` and ``_to_wire()`` side
by side; the shared base gives every class ``from_wire(data, *, max_values=…)`` (which rejects
trailing bytes) and ``to_wire()``. A request-digest prefix (RD flag, RC 402) is *not* part of
these bodies: strip it first with :func:`idnode.protocol.digest.split_digest`.

Decoders raise only :class:`~idnode.errors.ProtocolError`. Its ``response_code`` is 102 when a
handle field is not valid UTF-8 or longer than 2048 bytes, 202 when a body carries more values
than ``max_values``, 504 for an unknown session key-exchange mode, 5 for an unknown opcode in
:func:`decode_request_body`, and 4 otherwise.

Layout notes, confirmed against the CNRI-derived encoder in ``teleinfo-dev/id-pointer-sdk``
(``core/Encoder.java``, ``core/MsgConverter.java``):

- OC 401 (session terminate), OC 2 (site info), OC 300/301 carry a bare handle.
- OC 302 (list homed prefixes): CNRI's client *does* send a handle; an empty body is accepted
  as well and decodes to ``None``.
- OC 2001: handle + ``int4`` index, sent by id-pointer-sdk without a credential section.
- OC 400: ``int2`` key-exchange mode, ``int4`` timeout, identity handle, ``int4`` identity
  index, then per mode: 1 (client cipher) and 4 (Diffie-Hellman) a public key byte array;
  3 (key from a handle) handle + ``int4`` index; 2 (server cipher) nothing. CNRI sizes the
  body for an ``int4`` mode but writes an ``int2``, so its bodies end in two zero bytes;
  decoders accept that padding. (RFC 3652 §3.8.1 describes a different ``SessionAttribute``
  layout that CNRI clients do not send.)
- OC 201: the original request digest is a :class:`RequestDigest`; CNRI writes the legacy
  length-prefixed form.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from idnode.errors import ProtocolError, RegistryError
from idnode.identifiers.value import HandleValue
from idnode.protocol.constants import MAX_HANDLE_LENGTH, MAX_VALUES_PER_HANDLE, OpCode
from idnode.protocol.digest import RequestDigest
from idnode.protocol.replication import DumpRequest, LogRequest, StatusRequest
from idnode.protocol.wire import Parser, Writer

__all__ = [
    "KEY_EXCHANGE_CIPHER_CLIENT",
    "KEY_EXCHANGE_CIPHER_HDL",
    "KEY_EXCHANGE_CIPHER_SERVER",
    "KEY_EXCHANGE_DH",
    "REQUEST_DECODERS",
    "AddValueRequest",
    "Body",
    "ChallengeAnswerRequest",
    "ChallengeBody",
    "CreateHandleRequest",
    "CreateHandleResponse",
    "ErrorBody",
    "HandleRequest",
    "LegacyLoginRequest",
    "ListHandlesResponse",
    "LoginRequest",
    "ModifyValueRequest",
    "ReferralBody",
    "RemoveValueRequest",
    "ResolutionRequest",
    "ResolutionResponse",
    "SessionExchangeKeyRequest",
    "SessionSetupRequest",
    "SessionSetupResponse",
    "SiteInfoResponse",
    "VerifyChallengeRequest",
    "VerifyChallengeResponse",
    "decode_request_body",
]

KEY_EXCHANGE_CIPHER_CLIENT = 1
KEY_EXCHANGE_CIPHER_SERVER = 2
KEY_EXCHANGE_CIPHER_HDL = 3
KEY_EXCHANGE_DH = 4
_KEY_EXCHANGE_MODES = frozenset({KEY_EXCHANGE_CIPHER_CLIENT, KEY_EXCHANGE_CIPHER_SERVER,
                                 KEY_EXCHANGE_CIPHER_HDL, KEY_EXCHANGE_DH})

_U32_MAX = 0xFFFF_FFFF
#: The smallest encoded HandleValue: 14 fixed bytes + type, data and reference counts.
_MIN_VALUE_SIZE = 26
#: CNRI's int2-for-int4 sizing slip leaves these two bytes at the end of OC 400 bodies.
_CNRI_PADDING = b"\x00\x00"


# -- field readers and writers ------------------------------------------------------------

def _get_handle(parser: Parser) -> str:
    """A handle field: UTF8-String of at most 2048 bytes (RC 102 otherwise)."""
    length = parser.get_uint32()
    if length > MAX_HANDLE_LENGTH:
        raise ProtocolError(reason=f"{parser.what}: handle of {length} bytes exceeds "
                                   f"{MAX_HANDLE_LENGTH}", response_code=102)
    raw = parser.get_bytes(length)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(reason=f"{parser.what}: handle is not valid UTF-8",
                            response_code=102) from None


def _get_values(parser: Parser, max_values: int) -> tuple[HandleValue, ...]:
    """``int4 n`` + n HandleValues; n is checked before anything is allocated."""
    count = parser.get_uint32()
    if count > max_values:
        raise ProtocolError(reason=f"{parser.what}: {count} values exceed the limit of "
                                   f"{max_values}", response_code=202)
    if count * _MIN_VALUE_SIZE > parser.remaining():
        raise parser.error(f"{count} values cannot fit in {parser.remaining()} bytes")
    return tuple(HandleValue.from_wire_parser(parser) for _ in range(count))


def _put_values(writer: Writer, values: tuple[HandleValue, ...]) -> None:
    writer.put_uint32(len(values))
    for value in values:
        value.write(writer)


def _u32(owner: object, name: str, value: int) -> None:
    if not 0 <= value <= _U32_MAX:
        raise ProtocolError(reason=f"{type(owner).__name__}.{name} {value} is not an "
                                   "unsigned 32-bit number")


def _u32s(owner: object, name: str, values: tuple[int, ...]) -> None:
    for value in values:
        _u32(owner, name, value)


# -- base -------------------------------------------------------------------------------

class Body(ABC):
    """Base of every body class: ``from_wire()``/``to_wire()`` over the per-class pair."""

    __slots__ = ()

    @classmethod
    def from_wire(cls, data: bytes, *, max_values: int = MAX_VALUES_PER_HANDLE) -> Self:
        """Decode a whole body; trailing bytes are an error.

        :param max_values: bound on value lists (and index/type arrays) in the body.
        :raises ProtocolError: malformed, truncated, over a limit, or trailing bytes.
        """
        parser = Parser(data, cls.__name__)
        try:
            body = cls.from_wire_parser(parser, max_values=max_values)
            parser.expect_end()
        except ProtocolError:
            raise
        except RegistryError as exc:
            # Value constructors validate too; to callers every bad body is a ProtocolError.
            raise ProtocolError(exc.message, response_code=exc.response_code) from None
        return body

    @classmethod
    @abstractmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        """Read the body from ``parser`` (each body class reads its own layout)."""

    def to_wire(self) -> bytes:
        writer = Writer()
        self._to_wire(writer)
        return writer.getvalue()

    @abstractmethod
    def _to_wire(self, writer: Writer) -> None:
        """Write the body's layout (the mirror of :meth:`from_wire_parser`)."""


# -- resolution -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ResolutionRequest(Body):
    """OC 1: handle; ``int4`` array of indexes; string array of types (empty = all)."""

    handle: str
    indexes: tuple[int, ...] = ()
    types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _u32s(self, "indexes", self.indexes)

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        handle = _get_handle(parser)
        indexes = parser.get_int4_array(max_values)
        types = parser.get_string_array(max_values)
        return cls(handle, indexes, types)

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.handle)
        writer.put_int4_array(self.indexes)
        writer.put_string_array(self.types)


@dataclass(frozen=True, slots=True)
class _HandleValues(Body):
    """handle; ``int4 n``; n x HandleValue (OC 1 answers, OC 100, 102, 104)."""

    handle: str
    values: tuple[HandleValue, ...]

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        return cls(_get_handle(parser), _get_values(parser, max_values))

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.handle)
        _put_values(writer, self.values)


@dataclass(frozen=True, slots=True)
class ResolutionResponse(_HandleValues):
    """OC 1 success: handle; ``int4 n``; n x HandleValue."""


@dataclass(frozen=True, slots=True)
class HandleRequest(Body):
    """A body that is just a handle: OC 2, 101, 105, 300, 301 (and 302, 401)."""

    handle: str

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        return cls(_get_handle(parser))

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.handle)


@dataclass(frozen=True, slots=True)
class SiteInfoResponse(Body):
    """OC 2 success: the raw HS_SITE data bytes (decode them with the HS_SITE type)."""

    site: bytes

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        return cls(parser.get_remaining())

    def _to_wire(self, writer: Writer) -> None:
        writer.put_bytes(self.site)


# -- administration -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CreateHandleRequest(_HandleValues):
    """OC 100. OpFlags OVERWRITE and MINT_NEW_SUFFIX modify it."""


@dataclass(frozen=True, slots=True)
class AddValueRequest(_HandleValues):
    """OC 102."""


@dataclass(frozen=True, slots=True)
class ModifyValueRequest(_HandleValues):
    """OC 104: values replace the existing values with the same index."""


@dataclass(frozen=True, slots=True)
class RemoveValueRequest(Body):
    """OC 103: handle; ``int4`` array of indexes."""

    handle: str
    indexes: tuple[int, ...]

    def __post_init__(self) -> None:
        _u32s(self, "indexes", self.indexes)

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        return cls(_get_handle(parser), parser.get_int4_array(max_values))

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.handle)
        writer.put_int4_array(self.indexes)


@dataclass(frozen=True, slots=True)
class CreateHandleResponse(Body):
    """OC 100 success after a mint-new-suffix create: the created handle.

    A plain create's success body is empty; do not use this class for it.
    """

    handle: str

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        return cls(_get_handle(parser))

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.handle)


@dataclass(frozen=True, slots=True)
class ListHandlesResponse(Body):
    """OC 105 / 302 success: ``int4 n``; n x handle.

    The count is bounded by the body size (4 bytes per handle at least), not ``max_values``:
    one message of a listing may carry many thousand handles.
    """

    handles: tuple[str, ...]

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        count = parser.get_count(4)
        return cls(tuple(_get_handle(parser) for _ in range(count)))

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string_array(self.handles)


# -- authentication -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ChallengeBody(Body):
    """RC 402 body after the request-digest prefix: the nonce as a byte array.

    The 402 response must carry the RD opflag, or clients will not look for the digest.
    Clients below 2.1 expect instead nonce + length-prefixed MD5 digest *after* it; build
    that as ``ChallengeBody(nonce).to_wire() + RequestDigest(0, md5).to_wire()``.
    """

    nonce: bytes

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        return cls(parser.get_counted_bytes())

    def _to_wire(self, writer: Writer) -> None:
        writer.put_counted_bytes(self.nonce)


@dataclass(frozen=True, slots=True)
class ChallengeAnswerRequest(Body):
    """OC 200: authType; user handle; ``int4`` user index; signedResponse."""

    auth_type: str
    handle: str
    index: int
    signed_response: bytes

    def __post_init__(self) -> None:
        _u32(self, "index", self.index)

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        auth_type = parser.get_string()
        handle = _get_handle(parser)
        index = parser.get_uint32()
        return cls(auth_type, handle, index, parser.get_counted_bytes())

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.auth_type)
        writer.put_string(self.handle)
        writer.put_uint32(self.index)
        writer.put_counted_bytes(self.signed_response)


@dataclass(frozen=True, slots=True)
class VerifyChallengeRequest(Body):
    """OC 201 (server to server): handle; ``int4`` index; nonce; request digest; answer."""

    handle: str
    index: int
    nonce: bytes
    digest: RequestDigest
    signed_response: bytes

    def __post_init__(self) -> None:
        _u32(self, "index", self.index)

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        handle = _get_handle(parser)
        index = parser.get_uint32()
        nonce = parser.get_counted_bytes()
        digest = RequestDigest.from_wire_parser(parser)
        return cls(handle, index, nonce, digest, parser.get_counted_bytes())

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.handle)
        writer.put_uint32(self.index)
        writer.put_counted_bytes(self.nonce)
        writer.put_bytes(self.digest.to_wire())
        writer.put_counted_bytes(self.signed_response)


@dataclass(frozen=True, slots=True)
class VerifyChallengeResponse(Body):
    """OC 201 success: one byte, bit ``0x01`` = the answer is valid."""

    valid: bool

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        return cls(bool(parser.get_uint8() & 0x01))

    def _to_wire(self, writer: Writer) -> None:
        writer.put_uint8(0x01 if self.valid else 0x00)


@dataclass(frozen=True, slots=True)
class LoginRequest(Body):
    """IDIS OC 2001 (key login): identity handle + ``int4`` index; a challenge follows."""

    handle: str
    index: int

    def __post_init__(self) -> None:
        _u32(self, "index", self.index)

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        return cls(_get_handle(parser), parser.get_uint32())

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.handle)
        writer.put_uint32(self.index)


@dataclass(frozen=True, slots=True)
class LegacyLoginRequest(Body):
    """IDIS OC 2000 (legacy password login), shaped like a resolution request.

    The username is in the handle field and the password is the single entry of the type
    list; a type list of any other length is rejected (the SDKs send exactly one).
    """

    username: str
    password: str
    indexes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _u32s(self, "indexes", self.indexes)

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        username = _get_handle(parser)
        indexes = parser.get_int4_array(max_values)
        types = parser.get_string_array(max_values)
        if len(types) != 1:
            raise parser.error(f"login carries {len(types)} passwords, expected 1")
        return cls(username, types[0], indexes)

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.username)
        writer.put_int4_array(self.indexes)
        writer.put_string_array((self.password,))


# -- sessions -------------------------------------------------------------------------------

def _skip_cnri_padding(parser: Parser) -> None:
    if (parser.remaining() == len(_CNRI_PADDING)
            and parser.get_bytes(len(_CNRI_PADDING)) != _CNRI_PADDING):
        raise parser.error("unexpected trailing bytes")


@dataclass(frozen=True, slots=True)
class SessionSetupRequest(Body):
    """OC 400 as CNRI clients send it (see the module notes for the layout).

    :ivar key_exchange_mode: 1 client cipher, 2 server cipher, 3 key from a handle, 4 DH.
    :ivar timeout: requested session lifetime in seconds.
    :ivar identity_handle: the identity that will authenticate the session (may be empty).
    :ivar public_key: modes 1 and 4: the client's key (HS_PUBKEY encoding / DH parameters).
    :ivar exchange_key_handle: mode 3: where the exchange key is stored…
    :ivar exchange_key_index: …and at which index.
    """

    key_exchange_mode: int
    timeout: int
    identity_handle: str = ""
    identity_index: int = 0
    public_key: bytes = b""
    exchange_key_handle: str = ""
    exchange_key_index: int = 0

    def __post_init__(self) -> None:
        if self.key_exchange_mode not in _KEY_EXCHANGE_MODES:
            raise ProtocolError(reason=f"unknown key exchange mode {self.key_exchange_mode}",
                                response_code=504)
        _u32(self, "timeout", self.timeout)
        _u32(self, "identity_index", self.identity_index)
        _u32(self, "exchange_key_index", self.exchange_key_index)

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        mode = parser.get_uint16()
        if mode not in _KEY_EXCHANGE_MODES:
            raise ProtocolError(reason=f"{parser.what}: unknown key exchange mode {mode}",
                                response_code=504)
        timeout = parser.get_uint32()
        identity = _get_handle(parser)
        identity_index = parser.get_uint32()
        public_key = b""
        key_handle = ""
        key_index = 0
        if mode in (KEY_EXCHANGE_CIPHER_CLIENT, KEY_EXCHANGE_DH):
            public_key = parser.get_counted_bytes()
        elif mode == KEY_EXCHANGE_CIPHER_HDL:
            key_handle = _get_handle(parser)
            key_index = parser.get_uint32()
        _skip_cnri_padding(parser)
        return cls(mode, timeout, identity, identity_index, public_key, key_handle, key_index)

    def _to_wire(self, writer: Writer) -> None:
        writer.put_uint16(self.key_exchange_mode)
        writer.put_uint32(self.timeout)
        writer.put_string(self.identity_handle)
        writer.put_uint32(self.identity_index)
        if self.key_exchange_mode in (KEY_EXCHANGE_CIPHER_CLIENT, KEY_EXCHANGE_DH):
            writer.put_counted_bytes(self.public_key)
        elif self.key_exchange_mode == KEY_EXCHANGE_CIPHER_HDL:
            writer.put_string(self.exchange_key_handle)
            writer.put_uint32(self.exchange_key_index)


@dataclass(frozen=True, slots=True)
class SessionSetupResponse(Body):
    """OC 400 success: ``int2`` mode + data (encrypted session key, server key or DH data)."""

    key_exchange_mode: int
    data: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.key_exchange_mode <= 0xFFFF:
            raise ProtocolError(reason=f"key exchange mode {self.key_exchange_mode} "
                                       "out of range")

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        mode = parser.get_uint16()
        data = parser.get_counted_bytes()
        _skip_cnri_padding(parser)
        return cls(mode, data)

    def _to_wire(self, writer: Writer) -> None:
        writer.put_uint16(self.key_exchange_mode)
        writer.put_counted_bytes(self.data)


@dataclass(frozen=True, slots=True)
class SessionExchangeKeyRequest(Body):
    """OC 402: the session key encrypted with the server's key (byte array)."""

    encrypted_session_key: bytes

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        return cls(parser.get_counted_bytes())

    def _to_wire(self, writer: Writer) -> None:
        writer.put_counted_bytes(self.encrypted_session_key)


# -- non-success responses ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ErrorBody(Body):
    """Any RC other than 1, 302, 303 and 402: the message as a UTF8-String.

    Decoding is lenient because the text is for people: an empty body (protocol 2.0
    servers) reads as ``""`` and invalid UTF-8 is replaced.
    """

    message: str = ""

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        if parser.at_end():
            return cls("")
        return cls(parser.get_counted_bytes().decode("utf-8", "replace"))

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.message)


@dataclass(frozen=True, slots=True)
class ReferralBody(Body):
    """RC 302 / 303: handle, optionally ``int4 n`` + n x HandleValue (HS_SITE / HS_SERV).

    Empty ``values`` encodes as the handle alone.
    """

    handle: str
    values: tuple[HandleValue, ...] = ()

    @classmethod
    def from_wire_parser(cls, parser: Parser, *, max_values: int = MAX_VALUES_PER_HANDLE
                         ) -> Self:
        handle = _get_handle(parser)
        if parser.at_end():
            return cls(handle)
        return cls(handle, _get_values(parser, max_values))

    def _to_wire(self, writer: Writer) -> None:
        writer.put_string(self.handle)
        if self.values:
            _put_values(writer, self.values)


# -- dispatch -------------------------------------------------------------------------------

def _list_homed(body: bytes, max_values: int) -> HandleRequest | None:
    # The reference says OC 302 has no body, but CNRI's client sends a handle; take both.
    return None if not body else HandleRequest.from_wire(body, max_values=max_values)


_Decoder = Callable[[bytes, int], object]


def _by_class(cls: type[Body]) -> _Decoder:
    return lambda body, max_values: cls.from_wire(body, max_values=max_values)


#: Request body decoder per opcode: one table, no if/else chain.
REQUEST_DECODERS: dict[int, _Decoder] = {
    OpCode.RESOLUTION: _by_class(ResolutionRequest),
    OpCode.GET_SITE_INFO: _by_class(HandleRequest),
    OpCode.CREATE_HANDLE: _by_class(CreateHandleRequest),
    OpCode.DELETE_HANDLE: _by_class(HandleRequest),
    OpCode.ADD_VALUE: _by_class(AddValueRequest),
    OpCode.REMOVE_VALUE: _by_class(RemoveValueRequest),
    OpCode.MODIFY_VALUE: _by_class(ModifyValueRequest),
    OpCode.LIST_HANDLES: _by_class(HandleRequest),
    OpCode.CHALLENGE_RESPONSE: _by_class(ChallengeAnswerRequest),
    OpCode.VERIFY_RESPONSE: _by_class(VerifyChallengeRequest),
    OpCode.HOME_PREFIX: _by_class(HandleRequest),
    OpCode.UNHOME_PREFIX: _by_class(HandleRequest),
    OpCode.LIST_HOMED_PREFIXES: _list_homed,
    OpCode.SESSION_SETUP: _by_class(SessionSetupRequest),
    OpCode.SESSION_TERMINATE: _by_class(HandleRequest),
    OpCode.SESSION_EXCHANGEKEY: _by_class(SessionExchangeKeyRequest),
    OpCode.LOGIN: _by_class(LegacyLoginRequest),
    OpCode.LOGIN_ID_SYSTEM: _by_class(LoginRequest),
    OpCode.GET_NEXT_TXN_ID: lambda body, max_values: StatusRequest.from_wire(body),
    OpCode.RETRIEVE_TXN_LOG: lambda body, max_values: LogRequest.from_wire(body),
    OpCode.DUMP_HANDLES: lambda body, max_values: DumpRequest.from_wire(body),
}


def decode_request_body(opcode: int, body: bytes, *,
                        max_values: int = MAX_VALUES_PER_HANDLE) -> object:
    """Decode the body of a request with ``opcode`` into its body class.

    Returns ``None`` for an empty OC 302 body.

    :raises ProtocolError: malformed body, or ``response_code`` 5 for an opcode without a
        request body decoder.
    """
    decoder = REQUEST_DECODERS.get(opcode)
    if decoder is None:
        raise ProtocolError(reason=f"no request body decoder for opcode "
                                   f"{OpCode.to_text(opcode)}", response_code=5)
    return decoder(body, max_values)

