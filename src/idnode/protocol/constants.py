"""Protocol constants of Handle protocol 2.x and its IDIS dialect.

Opcodes, response codes and flags are :class:`IntEnum`s with ``make()`` (int or mnemonic in,
member or plain int out) and ``to_text()``; numbers idnode does not know round-trip as plain
ints so that dialect codes (2001, 407, 3001 …) never make a decoder fail.
"""

from __future__ import annotations

import enum
from typing import Self

__all__ = [
    "COMPAT_MAJOR",
    "COMPAT_MINOR",
    "ENVELOPE_SIZE",
    "HEADER_SIZE",
    "MAJOR_VERSION",
    "MAX_HANDLE_LENGTH",
    "MAX_MESSAGE_SIZE",
    "MAX_VALUES_PER_HANDLE",
    "MINOR_VERSION",
    "UDP_PACKET_SIZE",
    "UDP_PAYLOAD_SIZE",
    "EnvelopeFlag",
    "OpCode",
    "OpFlag",
    "ResponseCode",
]

MAJOR_VERSION = 2
MINOR_VERSION = 11
#: The version CNRI clients put in the envelope of requests (the "compatibility version").
COMPAT_MAJOR = 2
COMPAT_MINOR = 3

ENVELOPE_SIZE = 20
HEADER_SIZE = 24
MAX_MESSAGE_SIZE = 262_144
UDP_PACKET_SIZE = 512
UDP_PAYLOAD_SIZE = UDP_PACKET_SIZE - ENVELOPE_SIZE
MAX_VALUES_PER_HANDLE = 2048
MAX_HANDLE_LENGTH = 2048


class _Enum(enum.IntEnum):
    @classmethod
    def make(cls, value: int | str) -> Self | int:
        """Return the member for ``value`` (a number or a mnemonic), or the plain int.

        :raises ValueError: for an unknown mnemonic.
        """
        if isinstance(value, str):
            text = value.strip().upper()
            if text.isdigit():
                return cls.make(int(text))
            try:
                return cls[text]
            except KeyError:
                raise ValueError(f"unknown {cls.__name__} {value!r}") from None
        try:
            return cls(value)
        except ValueError:
            return value

    @classmethod
    def to_text(cls, value: int) -> str:
        """Mnemonic for ``value``, or its number as text."""
        try:
            return cls(value).name
        except ValueError:
            return str(value)


class OpCode(_Enum):
    RESOLUTION = 1
    GET_SITE_INFO = 2
    CREATE_HANDLE = 100
    DELETE_HANDLE = 101
    ADD_VALUE = 102
    REMOVE_VALUE = 103
    MODIFY_VALUE = 104
    LIST_HANDLES = 105
    LIST_DERIVED_PREFIXES = 106
    CHALLENGE_RESPONSE = 200
    VERIFY_RESPONSE = 201
    HOME_PREFIX = 300
    UNHOME_PREFIX = 301
    LIST_HOMED_PREFIXES = 302
    SESSION_SETUP = 400
    SESSION_TERMINATE = 401
    SESSION_EXCHANGEKEY = 402
    GET_NEXT_TXN_ID = 1000
    RETRIEVE_TXN_LOG = 1001
    DUMP_HANDLES = 1002
    BACKUP_SERVER = 1003
    LOGIN = 2000
    LOGIN_ID_SYSTEM = 2001


class ResponseCode(_Enum):
    RESERVED = 0
    SUCCESS = 1
    ERROR = 2
    SERVER_TOO_BUSY = 3
    PROTOCOL_ERROR = 4
    OPERATION_NOT_SUPPORTED = 5
    RECURSION_COUNT_TOO_HIGH = 6
    SERVER_BACKUP = 7
    HANDLE_NOT_FOUND = 100
    HANDLE_ALREADY_EXISTS = 101
    INVALID_HANDLE = 102
    VALUES_NOT_FOUND = 200
    VALUE_ALREADY_EXISTS = 201
    INVALID_VALUE = 202
    OUT_OF_DATE_SITE_INFO = 300
    SERVER_NOT_RESP = 301
    SERVICE_REFERRAL = 302
    PREFIX_REFERRAL = 303
    INVALID_ADMIN = 400
    INSUFFICIENT_PERMISSIONS = 401
    AUTHENTICATION_NEEDED = 402
    AUTHENTICATION_FAILED = 403
    INVALID_CREDENTIAL = 404
    AUTHEN_TIMEOUT = 405
    AUTHEN_ERROR = 406
    RELOGIN = 407
    LOGIN_FIRST = 408
    SESSION_TIMEOUT = 500
    SESSION_FAILED = 501
    INVALID_SESSION_KEY = 502
    NEED_RSAKEY_FOR_SESSIONEXCHANGE = 503
    INVALID_SESSIONSETUP_REQUEST = 504
    SESSION_MESSAGE_REJECTED = 505
    CLIENT_CHANNEL_ERROR = 601
    CLIENT_TIMEOUT = 602
    DAILY_REQUEST_LIMIT = 603
    REGISTER_COUNT_LIMIT = 604
    PREFIX_LIMIT = 605
    VERIFY_CREDENTIAL_FAILED = 3001


#: Human-readable meanings, used by the CLI and error pages.
RESPONSE_CODE_MEANINGS: dict[int, str] = {
    1: "success",
    2: "error",
    3: "server too busy",
    4: "protocol error",
    5: "operation not supported",
    6: "recursion count too high",
    7: "server read-only / backup",
    100: "handle not found",
    101: "handle already exists",
    102: "invalid handle",
    200: "values not found",
    201: "value already exists",
    202: "invalid value",
    300: "out-of-date site info",
    301: "server not responsible for handle",
    302: "service referral",
    303: "prefix referral",
    400: "invalid admin",
    401: "insufficient permissions",
    402: "authentication needed",
    403: "authentication failed",
    404: "invalid credential",
    405: "authentication timed out",
    406: "authentication error",
    407: "re-login required",
    408: "login first",
    500: "session timeout",
    501: "session failed",
    502: "invalid session key",
    503: "need RSA key for session exchange",
    504: "invalid session setup request",
    505: "session duplicate message rejected",
    601: "client channel error",
    602: "client timeout",
    603: "daily request limit reached",
    604: "registration count limit reached",
    605: "prefix limit reached",
    3001: "credential verification failed",
}


def describe_response_code(code: int) -> str:
    """``"100 (handle not found)"``-style text for people."""
    meaning = RESPONSE_CODE_MEANINGS.get(code, "unknown response code")
    return f"{code} ({meaning})"


class OpFlag(enum.IntFlag):
    AUTHORITATIVE = 0x8000_0000
    CERTIFY = 0x4000_0000
    ENCRYPT = 0x2000_0000
    RECURSIVE = 0x1000_0000
    CACHE_CERTIFY = 0x0800_0000
    CONTINUOUS = 0x0400_0000
    KEEP_ALIVE = 0x0200_0000
    PUBLIC_ONLY = 0x0100_0000
    RETURN_REQUEST_DIGEST = 0x0080_0000
    OVERWRITE = 0x0040_0000
    MINT_NEW_SUFFIX = 0x0020_0000
    DO_NOT_REFER = 0x0010_0000


#: The CNRI client's default OpFlags for a resolution (REC | CA | PO).
DEFAULT_RESOLUTION_FLAGS = OpFlag.RECURSIVE | OpFlag.CACHE_CERTIFY | OpFlag.PUBLIC_ONLY


class EnvelopeFlag(enum.IntFlag):
    COMPRESSED = 0x80
    ENCRYPTED = 0x40
    TRUNCATED = 0x20
