"""Stage ``auth``: challenge–response authentication (``handle-protocol.md`` §8.1).

A stage behind this one that needs to know who is asking raises
:class:`~idnode.errors.AuthenticationNeeded`; this stage turns that into an RC 402 challenge
(nonce + request digest), remembers the request, and when the client's OC 200 answer arrives
with the same request id on the same channel, verifies it against the identity's HS_PUBKEY or
HS_SECKEY and replays the original request as that identity. It also answers OC 201, another
server asking whether a secret-key answer for an identity held here is valid.

IDIS clients log in once per TCP connection (OC 2001 key login, OC 2000 password login;
``idis.md`` §4.4) and then send requests without credentials, which run as the logged-in
identity (RC 407 once the login is older than ``login_lifetime``). On a connection that has
not logged in, those clients expect RC 408 "log in first" rather than a challenge
(``idis.md`` Appendix); :attr:`AuthSettings.login_first` decides who gets it.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass

from idnode.auth.challenge import (
    new_nonce,
    verify_private_key_answer,
)
from idnode.auth.identity import Identity
from idnode.auth.keys import public_key_from_data
from idnode.auth.sm2 import SM2PublicKey
from idnode.errors import (
    AuthenticationError,
    AuthenticationFailed,
    AuthenticationNeeded,
    AuthenticationTimeout,
    InvalidCredential,
    LoginFailed,
    LoginFirst,
    OperationNotSupported,
    RegistryError,
    ReloginNeeded,
)
from idnode.identifiers.values.pubkey import PublicKeyData
from idnode.node.challenges import Challenges, Pending
from idnode.node.context import RequestContext
from idnode.node.credentials import SecretVerifier, credential_value
from idnode.node.pipeline import Handler, Response
from idnode.node.records import Records
from idnode.node.throttle import FailureThrottle
from idnode.protocol.bodies import (
    ChallengeAnswerRequest,
    ChallengeBody,
    LegacyLoginRequest,
    LoginRequest,
    VerifyChallengeRequest,
    VerifyChallengeResponse,
    decode_request_body,
)
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.digest import compute_request_digest, digest_type_for, with_digest
from idnode.protocol.message import Message

__all__ = ["Auth", "AuthSettings"]

#: the protocol version of the IDIS SDKs, which ``login_first = "idis"`` answers with RC 408
_IDIS_VERSION = (2, 10)


@dataclass(frozen=True, slots=True)
class AuthSettings:
    timeout: float = 60.0
    max_pending: int = 65_536
    max_pending_bytes: int = 32 * 1024 * 1024
    max_values: int = 2048
    pbkdf2_max_iterations: int = 10_000
    #: secret-key answers needing a fresh PBKDF2 derivation that may wait for the one
    #: derivation thread of a worker; more get RC 3 (server too busy)
    max_waiting_derivations: int = 32
    #: failed authentications an address may have per minute before it must wait
    failures_per_minute: int = 30
    #: how long an IDIS login (OC 2000/2001) holds on a connection before RC 407
    login_lifetime: float = 86_400.0
    #: when a request that needs authentication, on a TCP connection that has not logged
    #: in, gets RC 408 (log in first) instead of the RC 402 challenge: ``"idis"`` for
    #: requests of protocol 2.10 (the IDIS SDKs, which log in once per connection; see
    #: ``_wants_login``), ``"always"``, or ``"never"`` (always challenge)
    login_first: str = "idis"


class Auth:
    name = "auth"

    def __init__(self, settings: AuthSettings, records: Records) -> None:
        self.settings = settings
        self.records = records
        self.throttle = FailureThrottle(settings.failures_per_minute)
        self.secrets = SecretVerifier(settings.pbkdf2_max_iterations,
                                      settings.max_waiting_derivations)
        self.challenges = Challenges(timeout=settings.timeout, max_pending=settings.max_pending,
                                     max_bytes=settings.max_pending_bytes)

    async def handle(self, ctx: RequestContext, request: Message, next_: Handler) -> Response:
        opcode = request.opcode
        if opcode == OpCode.CHALLENGE_RESPONSE:
            return await self._answer(ctx, request, next_)
        if opcode == OpCode.VERIFY_RESPONSE:
            return await self._verify_for_peer(ctx, request)
        if opcode == OpCode.LOGIN_ID_SYSTEM:
            self._login_channel(ctx)
            return self._challenge(ctx, request)  # the answer completes the login
        if opcode == OpCode.LOGIN:
            return await self._password_login(ctx, request)
        try:
            return await next_(ctx, request)
        except AuthenticationNeeded:
            if ctx.identity is not None or not ctx.challenge:
                raise
            login = self._logged_in(ctx)
            if login is not None:  # an IDIS client that logged in: no challenge per request
                return await next_(ctx.authenticated_as(login), request)
            if self._wants_login(ctx, request):
                raise LoginFirst(reason="this connection has not logged in; log in with "
                                        "OC 2001 (key login) or OC 2000 (password login) "
                                        "first, then repeat the request") from None
            return self._challenge(ctx, request)

    # -- IDIS login (OC 2000 / 2001): the connection, not the request, is authenticated ------
    @staticmethod
    def _login_channel(ctx: RequestContext) -> None:
        if ctx.transport == "udp" or not ctx.challenge:
            raise OperationNotSupported(reason="IDIS login (OC 2000/2001) authenticates a "
                                               "connection: use TCP")

    def _wants_login(self, ctx: RequestContext, request: Message) -> bool:
        """RC 408 rather than a challenge? Only where a login is possible (TCP); under
        ``"idis"`` for requests of protocol 2.10, as the message version or the suggested
        one. ID-SDK puts its compatibility version 2.3 in the envelope and suggests its own
        2.10; id-pointer-sdk sends 2.10 suggesting 2.11. CNRI clients (and idnode's) send
        2.1–2.9 suggesting 2.11, or 2.11 once they have read a 2.11 HS_SITE, and answer
        challenges, so 2.11 alone keeps the challenge."""
        mode = self.settings.login_first
        if mode == "never" or ctx.transport == "udp":
            return False
        return mode == "always" or _IDIS_VERSION in (
            (request.major, request.minor), (request.suggested_major, request.suggested_minor))

    def _logged_in(self, ctx: RequestContext) -> Identity | None:
        conn = ctx.connection
        if conn.login is None:
            return None
        if time.monotonic() - conn.login_at > self.settings.login_lifetime:
            who, conn.login = conn.login, None
            raise ReloginNeeded(reason=f"the login of {who} on this connection expired after "
                                       f"{self.settings.login_lifetime:g} s")
        return conn.login

    def _logged_in_reply(self, ctx: RequestContext, request: Message,
                         identity: Identity) -> Message:
        ctx.connection.login, ctx.connection.login_at = identity, time.monotonic()
        ctx.info.identity = str(identity)
        return request.reply(ResponseCode.SUCCESS, opflags=request.opflags)

    async def _password_login(self, ctx: RequestContext, request: Message) -> Message:
        """OC 2000: the username (``index:handle``, or a handle meaning index 301) and the
        HS_SECKEY secret as its password."""
        self._login_channel(ctx)
        body = ctx.body
        assert isinstance(body, LegacyLoginRequest)
        try:
            identity = (Identity.parse(body.username) if ":" in body.username
                        else Identity(body.username, body.indexes[0] if body.indexes else 301))
        except RegistryError as exc:
            raise LoginFailed(reason=f"user name {body.username!r}: {exc}") from None
        address = ctx.peer[0]
        self.throttle.check(address)
        try:
            value = await credential_value(self.records, identity, "HS_SECKEY")
        except (InvalidCredential, AuthenticationFailed) as exc:
            self.throttle.failed(address)
            raise LoginFailed(reason=str(exc)) from None
        if not hmac.compare_digest(value.data, body.password.encode("utf-8")):
            self.throttle.failed(address)
            raise LoginFailed(reason=f"wrong password for {identity}")
        return self._logged_in_reply(ctx, request, identity)

    def _challenge(self, ctx: RequestContext, request: Message) -> Message:
        nonce = new_nonce()
        digest = compute_request_digest(request, digest_type_for(request))
        self.challenges.add(ctx.connection.key, request, nonce, digest, ctx.body)
        body = with_digest(digest, ChallengeBody(nonce).to_wire())
        return request.reply(ResponseCode.AUTHENTICATION_NEEDED, body,
                             opflags=request.opflags | OpFlag.RETURN_REQUEST_DIGEST)

    async def _answer(self, ctx: RequestContext, answer: Message, next_: Handler) -> Response:
        body = ctx.body
        assert isinstance(body, ChallengeAnswerRequest)
        pending = self.challenges.take(ctx.connection.key, answer.request_id)
        if pending is None:
            raise AuthenticationError(reason=f"no challenge is outstanding for request id "
                                             f"{answer.request_id} on this connection")
        if not isinstance(pending, Pending):
            raise AuthenticationTimeout(reason="the challenge expired before it was answered")
        try:
            identity = Identity(body.handle, body.index)
        except RegistryError as exc:
            raise InvalidCredential(reason=str(exc)) from None
        ctx.info.identity = str(identity)
        address = ctx.peer[0]
        self.throttle.check(address)
        try:
            await self._verify(identity, body.auth_type, pending.nonce, pending.digest.digest,
                               body.signed_response)
        except (AuthenticationFailed, InvalidCredential) as exc:
            self.throttle.failed(address)  # the challenge reached this address: it is real
            if pending.request.opcode == OpCode.LOGIN_ID_SYSTEM:  # IDIS clients expect 3001
                raise LoginFailed(reason=exc.message) from None
            raise
        original = pending.request
        if original.opcode == OpCode.LOGIN_ID_SYSTEM:
            return self._key_login(ctx, original, pending.body, identity)
        body_of_original = pending.body
        if body_of_original is None:
            body_of_original = decode_request_body(original.opcode, original.body,
                                                   max_values=self.settings.max_values)
        target = getattr(body_of_original, "handle", None)
        if isinstance(target, str):
            ctx.info.handle = target
        inner = ctx.authenticated_as(identity).with_body(body_of_original)
        return await next_(inner, original)

    def _key_login(self, ctx: RequestContext, original: Message, body: object,
                   identity: Identity) -> Message:
        """OC 2001 answered: the identity that answered must be the one that asked."""
        if not isinstance(body, LoginRequest):
            body = decode_request_body(original.opcode, original.body,
                                       max_values=self.settings.max_values)
        assert isinstance(body, LoginRequest)
        wanted = Identity(body.handle, body.index)
        if str(wanted).upper() != str(identity).upper():
            raise LoginFailed(reason=f"the login was for {wanted} but the challenge was "
                                     f"answered as {identity}")
        return self._logged_in_reply(ctx, original, identity)

    async def _verify(self, identity: Identity, auth_type: str, nonce: bytes, digest: bytes,
                      signed: bytes) -> None:
        kind = auth_type.upper()
        if kind == "HS_PUBKEY":
            value = await credential_value(self.records, identity, "HS_PUBKEY")
            try:
                key = public_key_from_data(PublicKeyData.from_bytes(value.data),
                                           allow_sm2=True)
            except RegistryError as exc:
                raise InvalidCredential(reason=f"HS_PUBKEY of {identity}: {exc}") from None
            # SM2 answers (id-pointer-sdk) use the identity handle as the SM2 user ID.
            if isinstance(key, SM2PublicKey):
                # pure-Python SM2 takes tens of milliseconds: off the event loop
                ok = await asyncio.to_thread(verify_private_key_answer, key, nonce, digest,
                                             signed, identity=identity.handle)
            else:
                ok = verify_private_key_answer(key, nonce, digest, signed,
                                               identity=identity.handle)
        elif kind == "HS_SECKEY":
            value = await credential_value(self.records, identity, "HS_SECKEY")
            ok = await self.secrets.verify(value.data, nonce, digest, signed)
        else:
            raise InvalidCredential(reason=f"authentication type {auth_type!r} is not "
                                           "HS_PUBKEY or HS_SECKEY")
        if not ok:
            raise AuthenticationFailed(reason=f"the answer does not verify with the {kind} "
                                              f"of {identity}")

    async def _verify_for_peer(self, ctx: RequestContext, request: Message) -> Message:
        body = ctx.body
        assert isinstance(body, VerifyChallengeRequest)
        if ctx.transport == "udp":
            # It needs no challenge, so over UDP its source could be forged: streams only.
            raise OperationNotSupported(reason="verify-challenge (OC 201) is served over "
                                               "TCP only")
        address = ctx.peer[0]
        self.throttle.check(address)
        identity = Identity(body.handle, body.index)
        try:
            await self._verify(identity, "HS_SECKEY", body.nonce, body.digest.digest,
                               body.signed_response)
            valid = True
        except AuthenticationFailed:
            valid = False
            self.throttle.failed(address)
        return request.reply(ResponseCode.SUCCESS, VerifyChallengeResponse(valid).to_wire())
