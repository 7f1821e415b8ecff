"""What the client returns, and how an error response becomes an exception."""

from __future__ import annotations

from dataclasses import dataclass

from idnode.client.flow import response_body
from idnode.errors import ProtocolError, RemoteError
from idnode.identifiers.value import HandleValue
from idnode.protocol.bodies import ErrorBody
from idnode.protocol.constants import ResponseCode, describe_response_code
from idnode.protocol.message import Message

__all__ = ["ResolutionResult", "error_text", "remote_error"]


@dataclass(frozen=True, slots=True)
class ResolutionResult:
    """A successful resolution.

    :ivar handle: the handle as the server echoed it.
    :ivar values: the values returned, in server order.
    """

    handle: str
    values: tuple[HandleValue, ...]

    def by_type(self, wanted: str) -> tuple[HandleValue, ...]:
        """Values whose type matches ``wanted`` (``X.`` matches subtypes)."""
        return tuple(v for v in self.values if v.matches_type(wanted))

    def by_index(self, index: int) -> HandleValue | None:
        return next((v for v in self.values if v.index == index), None)


def error_text(response: Message) -> str:
    """The server's message in an error response, or ``""`` if it has none or is unreadable."""
    if response.response_code == ResponseCode.AUTHENTICATION_NEEDED:
        return ""  # the body is a digest and a nonce, not a message
    try:
        return ErrorBody.from_wire(response_body(response)).message
    except ProtocolError:
        return ""  # referral bodies and odd servers: the response code still says enough


def remote_error(response: Message) -> RemoteError:
    """A :class:`RemoteError` for a non-success ``response``.

    The message reads ``response code 401 (insufficient permissions): <server text>``; the
    server's text alone is in ``exc.kwargs["server_message"]``.
    """
    text = error_text(response)
    description = f"response code {describe_response_code(response.response_code)}"
    message = f"{description}: {text}" if text else description
    return RemoteError(message, response_code=response.response_code, server_message=text)
