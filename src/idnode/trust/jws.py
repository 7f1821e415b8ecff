"""JWS compact serialisation (RFC 7515) with RS256 and SM2SM3, bounded before any parsing.

CNRI's hdllib/trust signs HS_CERT and HS_SIGNATURE as compact JWS with header
``{"alg":"RS256"}``; that is all we need, so no JOSE library.

SM2 keys sign with ``{"alg":"SM2SM3"}``, the name 4iot-dev/ID-SDK writes
(``security/SignatureStructImpl.java``): SM2 with SM3 over the ASCII signing input
``header.payload``, user ID ``1234567812345678`` (``security/gm/SM2Tool.sign``), signature
DER ``SEQUENCE { r, s }`` (``BaseConvertor.signatureFormat``). **Unconfirmed** that any
deployed node or other SDK reads these; ID-SDK's own reader only knows RS/DS algorithms. Its
Z value also drops leading zero bytes of the key's coordinates, so for about 1 key in 128 its
signatures will not verify here (nor anywhere else that follows GB/T 32918).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from idnode.auth.sm2 import SM2PrivateKey, SM2PublicKey
from idnode.errors import InvalidValue

__all__ = ["MAX_JWS_BYTES", "Jws", "b64url_decode", "b64url_encode", "parse_jws", "sign_jws"]

#: A JWT larger than this is refused unread (a digest list of ~200 values fits easily).
MAX_JWS_BYTES = 64 * 1024
_HEADER = {"alg": "RS256"}
_SM2_HEADER = {"alg": "SM2SM3"}


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not text.isascii():
        raise InvalidValue(reason="JWS part is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidValue(reason="JWS part is not base64url") from None


@dataclass(frozen=True, slots=True)
class Jws:
    """A parsed compact JWS; ``verify`` before trusting ``payload``."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def verify(self, key: object) -> bool:
        if self.header.get("alg") == "SM2SM3" and isinstance(key, SM2PublicKey):
            return key.verify(self.signature, self.signing_input)
        if self.header.get("alg") != "RS256" or not isinstance(key, rsa.RSAPublicKey):
            return False
        try:
            key.verify(self.signature, self.signing_input, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True


def sign_jws(payload: dict[str, Any], key: rsa.RSAPrivateKey | SM2PrivateKey) -> str:
    """A compact JWS: RS256 with an RSA key, SM2SM3 with an SM2 key."""
    header = _SM2_HEADER if isinstance(key, SM2PrivateKey) else _HEADER
    head = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    body = b64url_encode(json.dumps(payload, separators=(",", ":"),
                                    ensure_ascii=False).encode("utf-8"))
    signing_input = f"{head}.{body}".encode("ascii")
    if isinstance(key, SM2PrivateKey):
        signature = key.sign(signing_input)
    else:
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64url_encode(signature)}"


def _json_object(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(part))
    except (UnicodeDecodeError, ValueError):
        raise InvalidValue(reason=f"JWS {what} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidValue(reason=f"JWS {what} is not a JSON object")
    return value


def parse_jws(data: bytes | str) -> Jws:
    """Split and decode a compact JWS (CNRI also stores it with surrounding whitespace).

    :raises InvalidValue: too large, not three parts, or undecodable parts.
    """
    if len(data) > MAX_JWS_BYTES:
        raise InvalidValue(reason=f"JWS larger than {MAX_JWS_BYTES} bytes")
    try:
        text = data.decode("ascii") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise InvalidValue(reason="JWS is not ASCII") from None
    parts = text.strip().split(".")
    if len(parts) != 3:
        raise InvalidValue(reason="JWS compact form needs three parts")
    head, body, sig = parts
    return Jws(_json_object(head, "header"), _json_object(body, "payload"),
               f"{head}.{body}".encode("ascii"), b64url_decode(sig))
