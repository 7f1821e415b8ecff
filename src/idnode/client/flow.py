"""The decision logic of one client request, without I/O (``handle-protocol.md`` §8.1, §3).

:class:`RequestFlow` is told each response and says what to do next: send a message, receive
another message of the same request (continued answers), or stop. The async client drives it
over UDP or a TCP connection; the sync facade drives the async client, so this is the only
place that knows how a challenge is answered::

    flow = RequestFlow(request, authenticator)
    action = flow.start()
    while not isinstance(action, Done):
        response = await (send(action.message) if isinstance(action, Send) else receive())
        action = flow.on_response(response)
    return action.responses

Challenge-response: on RC 402 the body is the request digest (§2.4) followed by the nonce.
The flow checks that the digest is that of the request it sent (so a challenge for some other
request cannot be answered), asks the authenticator to sign, and sends OC 200 with the same
request id. The server's answer to that is the answer to the original request.
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.client.auth import Authenticator
from idnode.errors import AuthenticationError, ProtocolError
from idnode.protocol.bodies import ChallengeAnswerRequest, ChallengeBody
from idnode.protocol.constants import OpCode, OpFlag, ResponseCode
from idnode.protocol.digest import split_digest
from idnode.protocol.message import Message

__all__ = ["Action", "Done", "Receive", "RequestFlow", "Send", "response_body"]


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` and feed the answer to :meth:`RequestFlow.on_response`."""

    message: Message


@dataclass(frozen=True, slots=True)
class Receive:
    """Read one more message of the same request (a continued answer) from the connection."""

    request_id: int


@dataclass(frozen=True, slots=True)
class Done:
    """Finished: ``responses`` are the final answer(s), in order; the last one is not continued.

    The responses may be errors; turning them into exceptions is the caller's business.
    """

    responses: tuple[Message, ...]

    @property
    def last(self) -> Message:
        return self.responses[-1]


Action = Send | Receive | Done


def response_body(response: Message) -> bytes:
    """The body of ``response`` without its request-digest prefix, if it carries one.

    A response carries the prefix when it has the RD opflag (servers echo the request's flags)
    or is an RC 402 challenge, which always does.
    """
    if response.response_code == ResponseCode.AUTHENTICATION_NEEDED or \
            response.has_flag(OpFlag.RETURN_REQUEST_DIGEST):
        return split_digest(response.body)[1]
    return response.body


class RequestFlow:
    """One request, its optional challenge-response and its continued answers.

    :param request: the request to send (its request id is kept for the whole flow).
    :param authenticator: answers a challenge; ``None`` makes RC 402 a final answer.
    """

    __slots__ = ("_answered", "_authenticator", "_collected", "_request")

    def __init__(self, request: Message, authenticator: Authenticator | None = None) -> None:
        self._request = request
        self._authenticator = authenticator
        self._answered = False
        self._collected: list[Message] = []

    @property
    def request(self) -> Message:
        return self._request

    def start(self) -> Send:
        return Send(self._request)

    def on_response(self, response: Message) -> Action:
        """Take the next response; say what to do next.

        :raises ProtocolError: the response belongs to another request or is not a response.
        :raises AuthenticationError: the challenge is not for this request or cannot be read.
        """
        if response.request_id != self._request.request_id:
            raise ProtocolError(reason=f"response for request {response.request_id}, "
                                       f"expected {self._request.request_id}")
        if response.is_request:
            raise ProtocolError(reason="got a request where a response was expected")
        code = response.response_code
        if (code == ResponseCode.AUTHENTICATION_NEEDED and not self._answered
                and self._authenticator is not None):
            self._answered = True  # a second 402 is final: never loop on challenges
            return Send(self._answer(response))
        self._collected.append(response)
        if code == ResponseCode.SUCCESS and response.has_flag(OpFlag.CONTINUOUS):
            return Receive(self._request.request_id)
        return Done(tuple(self._collected))

    def _answer(self, challenge: Message) -> Message:
        assert self._authenticator is not None
        try:
            digest, rest = split_digest(challenge.body)
            nonce = ChallengeBody.from_wire(rest).nonce
        except ProtocolError as exc:
            raise AuthenticationError(reason=f"unreadable challenge: {exc}") from None
        if not digest.matches(self._request):
            raise AuthenticationError(reason="the challenge's request digest does not match "
                                             "the request sent; refusing to sign it")
        signed = self._authenticator.sign_challenge(nonce, digest, challenge.effective_version)
        identity = self._authenticator.identity
        body = ChallengeAnswerRequest(self._authenticator.auth_type, identity.handle,
                                      identity.index, signed).to_wire()
        # Same request and session ids: the server pairs the answer with its challenge.
        return Message(
            opcode=OpCode.CHALLENGE_RESPONSE,
            opflags=self._request.opflags & ~OpFlag.RETURN_REQUEST_DIGEST,
            site_serial=self._request.site_serial, expiration=self._request.expiration,
            body=body, request_id=self._request.request_id,
            session_id=self._request.session_id, major=self._request.major,
            minor=self._request.minor,
        )

