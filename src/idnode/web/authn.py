"""Who is asking: the REST API's three authentication methods (``handle-protocol.md`` §14.8).

* HTTP Basic: the user name is ``index:handle`` percent-encoded (``300%3APREFIX/ADMIN``), the
  password the secret in that HS_SECKEY value.
* ``Authorization: Handle clientCert="true"`` over TLS: the client certificate's subject UID
  (else CN) names ``index:handle`` and its public key must equal that HS_PUBKEY value.
* ``Authorization: Handle sessionId=…, id=…, type=…, cnonce=…, alg=…, signature=…``: a
  signature over ``nonce ‖ cnonce`` (the base64-decoded bytes) with the HS_PUBKEY's private
  key, or an HS_SECKEY MAC of the same bytes; ``sessionId`` alone continues a session that
  authenticated earlier.

Credentials count only over HTTPS (as with CNRI); over plain HTTP they are refused with a
message saying so, unless the operator allowed it for loopback testing. Failures are counted
per client address by the same throttle as the native protocol's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import unquote

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from idnode.auth.certs import certificate_identity, certificate_public_key
from idnode.auth.identity import Identity
from idnode.auth.keys import public_key_from_data, verify_data
from idnode.errors import (
    AuthenticationError,
    AuthenticationFailed,
    AuthenticationNeeded,
    InvalidCredential,
    RegistryError,
)
from idnode.http.messages import Request
from idnode.identifiers.values.pubkey import PublicKeyData
from idnode.node.credentials import SecretVerifier, credential_value
from idnode.node.records import Records
from idnode.node.throttle import FailureThrottle
from idnode.protocol.wire import Writer
from idnode.web.sessions import Sessions, SessionState

__all__ = ["Authenticator", "HandleCredentials", "parse_handle_params"]

_PARAM = re.compile(r'\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)')
#: ``alg`` of an HS_SECKEY answer -> the native protocol's MAC form byte (``challenge``).
_SECRET_ALGS = {"SHA1": 0x02, "SHA-1": 0x02, "SHA256": 0x03, "SHA-256": 0x03,
                "MD5": 0x01, "HMAC-SHA1": 0x12, "HMAC-SHA256": 0x13}
_PBKDF2 = 0x22


def parse_handle_params(text: str) -> dict[str, str]:
    """The ``key="value"`` pairs after ``Handle`` (quoted or bare values, comma-separated).

    :raises InvalidCredential: the header is not a list of such pairs.
    """
    out: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _PARAM.match(text, pos)
        if match is None or match.end() == pos:
            raise InvalidCredential(reason=f"malformed Authorization: Handle header near "
                                           f"{text[pos:pos + 20]!r}")
        value = match.group(2)
        out[match.group(1)] = (re.sub(r"\\(.)", r"\1", value) if value is not None
                               else match.group(3))
        pos = match.end()
    return out


@dataclass(frozen=True, slots=True)
class HandleCredentials:
    """The parsed ``Authorization: Handle`` challenge answer."""

    session_id: str
    identity: Identity
    kind: str
    cnonce: bytes
    alg: str
    signature: bytes
    params: dict[str, str]

    @classmethod
    def from_params(cls, params: dict[str, str]) -> HandleCredentials:
        try:
            identity = Identity.parse(params["id"])
            cnonce = base64.b64decode(params["cnonce"], validate=True)
            signature = base64.b64decode(params["signature"], validate=True)
            return cls(params["sessionId"], identity, params.get("type", "HS_PUBKEY").upper(),
                       cnonce, params.get("alg", "SHA256").upper(), signature, params)
        except KeyError as exc:
            raise InvalidCredential(reason=f"Authorization: Handle lacks {exc.args[0]}") \
                from None
        except (binascii.Error, ValueError):
            raise InvalidCredential(reason="cnonce and signature must be base64") from None


class Authenticator:
    """Turns a request's credentials into an :class:`Identity` (or None when it has none)."""

    def __init__(self, records: Records, sessions: Sessions, throttle: FailureThrottle, *,
                 allow_plain_http: bool = False, pbkdf2_max_iterations: int = 10_000) -> None:
        self.records = records
        self.sessions = sessions
        self.throttle = throttle
        self.allow_plain_http = allow_plain_http
        self.secrets = SecretVerifier(pbkdf2_max_iterations)
        # Parsing a certificate and comparing keys costs far more than a dict lookup:
        # certificates already matched are remembered with the HS_PUBKEY data they matched.
        self._cert_ok: OrderedDict[bytes, tuple[Identity, bytes]] = OrderedDict()

    async def identify(self, request: Request) -> Identity | None:
        """The identity the request proves, or None when it carries no credentials.

        :raises AuthenticationNeeded: credentials over plain HTTP, or a client-certificate
            request without a certificate (RC 402: the client can fix it and retry).
        :raises AuthenticationFailed: wrong credentials (RC 402 too, so clients re-prompt).
        :raises InvalidCredential: malformed credentials.
        """
        header = request.header("authorization")
        if header is None:
            return None
        scheme, _, rest = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme not in ("basic", "handle"):
            raise InvalidCredential(reason=f"authorization scheme {scheme!r} is not Basic or "
                                           "Handle")
        if request.scheme != "https" and not self.allow_plain_http:
            raise AuthenticationNeeded(reason="credentials are accepted over HTTPS only; "
                                              "this request came over plain HTTP")
        address = request.peer[0]
        self.throttle.check(address)
        try:
            if scheme == "basic":
                return await self._basic(rest)
            params = parse_handle_params(rest)
            if params.get("clientCert", "").lower() == "true":
                return await self._client_cert(request)
            if "signature" in params:
                return await self._answer(HandleCredentials.from_params(params))
            if "sessionId" in params:
                state = self.sessions.get(params["sessionId"])
                if state.identity is None:
                    raise AuthenticationFailed(reason="the session is not authenticated yet")
                return state.identity
            raise InvalidCredential(reason="Authorization: Handle needs clientCert, "
                                           "sessionId or a signed challenge answer")
        except (AuthenticationFailed, AuthenticationError, InvalidCredential):
            self.throttle.failed(address)
            raise

    def challenge(self) -> SessionState:
        return self.sessions.new()

    # -- methods ------------------------------------------------------------------------
    async def _basic(self, token: str) -> Identity:
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise InvalidCredential(reason="Basic credentials are not base64 of "
                                           "user:password") from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise InvalidCredential(reason="Basic credentials lack the ':' between user "
                                           "and password")
        try:
            identity = Identity.parse(unquote(user))
        except RegistryError:
            raise InvalidCredential(reason="the Basic user name must be index:handle "
                                           "percent-encoded, e.g. 300%3APREFIX/ADMIN") from None
        value = await credential_value(self.records, identity, "HS_SECKEY")
        if not hmac.compare_digest(value.data, password.encode("utf-8")):
            raise AuthenticationFailed(reason=f"wrong secret for {identity}")
        return identity

    async def _client_cert(self, request: Request) -> Identity:
        der = request.client_cert
        if der is None:
            raise AuthenticationNeeded(reason="clientCert was asked for but no client "
                                              "certificate reached the server (over HTTPS, "
                                              "is a proxy in between dropping it?)")
        digest = hashlib.sha256(der).digest()
        seen = self._cert_ok.get(digest)
        if seen is not None:
            identity, expected = seen
            value = await credential_value(self.records, identity, "HS_PUBKEY")
            if value.data == expected:
                return identity
        text = certificate_identity(der)
        if text is None:
            raise InvalidCredential(reason="the client certificate's subject has no UID or "
                                           "CN naming index:handle")
        try:
            identity = Identity.parse(text)
        except RegistryError:
            raise InvalidCredential(reason=f"the client certificate names {text!r}, not "
                                           "index:handle (e.g. UID=300:PREFIX/ADMIN)") from None
        value = await credential_value(self.records, identity, "HS_PUBKEY")
        try:
            stored = public_key_from_data(PublicKeyData.from_bytes(value.data))
        except RegistryError as exc:
            raise AuthenticationFailed(reason=f"HS_PUBKEY of {identity}: {exc}") from None
        presented = certificate_public_key(der)
        if _spki(stored) != _spki(presented):
            raise AuthenticationFailed(reason=f"the client certificate's key is not the "
                                              f"HS_PUBKEY of {identity}")
        _remember(self._cert_ok, digest, (identity, value.data))
        return identity

    async def _answer(self, creds: HandleCredentials) -> Identity:
        session = self.sessions.get(creds.session_id)
        data_nonce, cnonce = session.nonce, creds.cnonce
        identity = creds.identity
        if creds.kind == "HS_PUBKEY":
            value = await credential_value(self.records, identity, "HS_PUBKEY")
            try:
                key = public_key_from_data(PublicKeyData.from_bytes(value.data))
            except RegistryError as exc:
                raise AuthenticationFailed(reason=f"HS_PUBKEY of {identity}: {exc}") from None
            ok = verify_data(key, data_nonce + cnonce, creds.signature, creds.alg)
        elif creds.kind == "HS_SECKEY":
            value = await credential_value(self.records, identity, "HS_SECKEY")
            ok = await self.secrets.verify(value.data, data_nonce, cnonce,
                                           self._secret_answer(creds))
        else:
            raise InvalidCredential(reason=f"type {creds.kind!r} is not HS_PUBKEY or "
                                           "HS_SECKEY")
        if not ok:
            raise AuthenticationFailed(reason=f"the signature does not verify with the "
                                              f"{creds.kind} of {identity}")
        self.sessions.authenticate(creds.session_id, identity)
        return identity

    @staticmethod
    def _secret_answer(creds: HandleCredentials) -> bytes:
        """The answer in the native protocol's coded form, so one verifier serves both."""
        params = creds.params
        if "salt" in params or creds.alg.startswith("PBKDF2"):
            try:
                salt = base64.b64decode(params["salt"], validate=True)
                iterations = int(params["iterations"])
                bits = int(params.get("length", "160"))
            except (KeyError, ValueError, binascii.Error):
                raise InvalidCredential(reason="a PBKDF2 answer needs base64 salt and "
                                               "integer iterations (and length in bits)") \
                    from None
            if not (0 <= iterations <= 0xFFFF_FFFF and 0 <= bits <= 0xFFFF_FFFF):
                raise InvalidCredential(reason="PBKDF2 iterations/length out of range")
            writer = Writer()
            writer.put_uint8(_PBKDF2)
            writer.put_counted_bytes(salt)
            writer.put_uint32(iterations)
            writer.put_uint32(bits)
            writer.put_counted_bytes(creds.signature)
            return writer.getvalue()
        form = _SECRET_ALGS.get(creds.alg)
        if form is None:
            raise InvalidCredential(reason=f"alg {creds.alg!r} is not one of "
                                           f"{', '.join(sorted(_SECRET_ALGS))} or PBKDF2")
        return bytes([form]) + creds.signature


def _spki(key: object) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined,no-any-return]


def _remember(cache: OrderedDict[bytes, tuple[Identity, bytes]], key: bytes,
              entry: tuple[Identity, bytes]) -> None:
    cache[key] = entry
    cache.move_to_end(key)
    while len(cache) > 4096:
        cache.popitem(last=False)
