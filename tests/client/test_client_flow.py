"""The challenge-response state object, in memory: no sockets, no event loop."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from idnode.auth import (
    Identity,
    public_key_data,
    public_key_from_data,
    verify_private_key_answer,
    verify_secret_answer,
)
from idnode.client import Done, PublicKeyAuth, Receive, RequestFlow, SecretKeyAuth, Send
from idnode.client.flow import response_body
from idnode.client.results import error_text, remote_error
from idnode.errors import AuthenticationError, ProtocolError
from idnode.protocol.bodies import (
    ChallengeAnswerRequest,
    ChallengeBody,
    ErrorBody,
    HandleRequest,
    ListHandlesResponse,
)
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.digest import HASH_SHA1, compute_request_digest, with_digest
from idnode.protocol.message import Message

NONCE = bytes(range(16))
IDENTITY = Identity("88.1/ADMIN", 300)
REQUEST = Message(opcode=OpCode.DELETE_HANDLE, opflags=OpFlag.KEEP_ALIVE,
                  body=HandleRequest("88.1/x").to_wire(), request_id=4242, session_id=7,
                  expiration=1_900_000_000)


def challenge(request: Message = REQUEST, *, hash_type: int = 3, nonce: bytes = NONCE,
              minor: int = 11) -> Message:
    """What a server sends: RC 402, body = request digest + nonce, RD flag set."""
    digest = compute_request_digest(request, hash_type)
    body = with_digest(digest, ChallengeBody(nonce).to_wire())
    return request.reply(ResponseCode.AUTHENTICATION_NEEDED, body,
                         opflags=request.opflags | OpFlag.RETURN_REQUEST_DIGEST).with_(
        suggested_minor=minor)


def test_public_key_answer(admin_key: rsa.RSAPrivateKey) -> None:
    flow = RequestFlow(REQUEST, PublicKeyAuth(IDENTITY, admin_key))
    assert flow.start() == Send(REQUEST)
    action = flow.on_response(challenge())
    assert isinstance(action, Send)
    answer = action.message
    # OC 200 with the same request and session ids, a request, not a response
    assert answer.opcode == OpCode.CHALLENGE_RESPONSE
    assert (answer.request_id, answer.session_id) == (4242, 7)
    assert answer.response_code == 0
    assert not answer.has_flag(OpFlag.RETURN_REQUEST_DIGEST)
    body = ChallengeAnswerRequest.from_wire(answer.body)
    assert (body.auth_type, body.handle, body.index) == ("HS_PUBKEY", "88.1/ADMIN", 300)
    # the signature covers nonce ‖ the bare SHA-256 digest of the request sent
    digest = compute_request_digest(REQUEST, 3).digest
    public = public_key_from_data(public_key_data(admin_key))
    assert verify_private_key_answer(public, NONCE, digest, body.signed_response)
    assert not verify_private_key_answer(public, bytes(16), digest, body.signed_response)
    # the server's answer to OC 200 is the final answer
    final = REQUEST.reply(ResponseCode.SUCCESS)
    assert flow.on_response(final) == Done((final,))


def test_secret_key_answer_follows_the_version() -> None:
    flow = RequestFlow(REQUEST, SecretKeyAuth(IDENTITY, b"sesame"))
    flow.start()
    action = flow.on_response(challenge(hash_type=HASH_SHA1, minor=5))
    assert isinstance(action, Send)
    body = ChallengeAnswerRequest.from_wire(action.message.body)
    assert body.auth_type == "HS_SECKEY"
    # effective version 2.3 (message) vs 2.5 (suggested): below 2.7, the SHA-1 form (0x02)
    assert body.signed_response[0] == 0x02
    digest = compute_request_digest(REQUEST, HASH_SHA1).digest
    assert verify_secret_answer(b"sesame", NONCE, digest, body.signed_response)
    assert not verify_secret_answer(b"other", NONCE, digest, body.signed_response)


def test_secret_key_answer_uses_pbkdf2_from_2_7() -> None:
    request = REQUEST.with_(major=2, minor=11)
    flow = RequestFlow(request, SecretKeyAuth(IDENTITY, b"sesame"))
    flow.start()
    action = flow.on_response(challenge(request).with_(major=2, minor=11))
    assert isinstance(action, Send)
    signed = ChallengeAnswerRequest.from_wire(action.message.body).signed_response
    assert signed[0] == 0x22
    digest = compute_request_digest(request, 3).digest
    assert verify_secret_answer(b"sesame", NONCE, digest, signed)


def test_challenge_for_another_request_is_refused(admin_key: rsa.RSAPrivateKey) -> None:
    other = REQUEST.with_(body=HandleRequest("88.1/other").to_wire())
    flow = RequestFlow(REQUEST, PublicKeyAuth(IDENTITY, admin_key))
    flow.start()
    with pytest.raises(AuthenticationError, match="does not match"):
        flow.on_response(challenge(other).with_(request_id=REQUEST.request_id))


def test_unreadable_challenge() -> None:
    flow = RequestFlow(REQUEST, SecretKeyAuth(IDENTITY, b"x"))
    flow.start()
    broken = REQUEST.reply(ResponseCode.AUTHENTICATION_NEEDED, b"\x07garbage")
    with pytest.raises(AuthenticationError, match="unreadable challenge"):
        flow.on_response(broken)


def test_without_authenticator_402_is_final() -> None:
    flow = RequestFlow(REQUEST)
    flow.start()
    response = challenge()
    assert flow.on_response(response) == Done((response,))


def test_a_second_challenge_is_final() -> None:
    flow = RequestFlow(REQUEST, SecretKeyAuth(IDENTITY, b"x"))
    flow.start()
    assert isinstance(flow.on_response(challenge()), Send)
    again = challenge()
    assert flow.on_response(again) == Done((again,))


def test_continued_answers_are_collected() -> None:
    request = Message(opcode=OpCode.LIST_HANDLES, body=HandleRequest("0.NA/88.1").to_wire(),
                      request_id=9)
    flow = RequestFlow(request)
    flow.start()
    parts = [request.reply(ResponseCode.SUCCESS, ListHandlesResponse((h,)).to_wire(),
                           opflags=OpFlag.CONTINUOUS if h != "88.1/c" else 0)
             for h in ("88.1/a", "88.1/b", "88.1/c")]
    assert flow.on_response(parts[0]) == Receive(9)
    assert flow.on_response(parts[1]) == Receive(9)
    assert flow.on_response(parts[2]) == Done(tuple(parts))


def test_an_error_ends_a_continued_answer() -> None:
    flow = RequestFlow(REQUEST)
    flow.start()
    failed = REQUEST.reply(ResponseCode.ERROR, ErrorBody("boom").to_wire(),
                           opflags=OpFlag.CONTINUOUS)
    assert flow.on_response(failed) == Done((failed,))


def test_responses_must_match_the_request() -> None:
    flow = RequestFlow(REQUEST)
    flow.start()
    with pytest.raises(ProtocolError, match="expected 4242"):
        flow.on_response(REQUEST.reply(1).with_(request_id=1))
    with pytest.raises(ProtocolError, match="request where a response"):
        flow.on_response(REQUEST)


def test_response_body_strips_the_digest_only_when_flagged() -> None:
    digest = compute_request_digest(REQUEST)
    flagged = REQUEST.reply(1, with_digest(digest, b"payload"),
                            opflags=OpFlag.RETURN_REQUEST_DIGEST)
    assert response_body(flagged) == b"payload"
    assert response_body(REQUEST.reply(1, b"payload", opflags=0)) == b"payload"


def test_remote_error_message() -> None:
    response = REQUEST.reply(ResponseCode.INSUFFICIENT_PERMISSIONS,
                             ErrorBody("not an admin of 88.1/x").to_wire())
    exc = remote_error(response)
    assert exc.response_code == 401
    assert str(exc) == ("response code 401 (insufficient permissions): "
                        "not an admin of 88.1/x")
    assert exc.kwargs["server_message"] == "not an admin of 88.1/x"
    bare = remote_error(REQUEST.reply(ResponseCode.HANDLE_NOT_FOUND, b""))
    assert str(bare) == "response code 100 (handle not found)"
    # a body that is no error message (a referral) still gives a clean error
    assert error_text(REQUEST.reply(302, b"\xff\xff\xff\xff")) == ""
