"""The one error tree of idnode.

Every error raised by idnode descends from :class:`RegistryError` and carries the Handle
response code that the server edge turns it into. Stages and codecs raise; only the server
edge (``idnode.node.edge``) and the HTTP layer write error replies.

Messages come from a ``fmt`` template and keyword arguments, so callers say *what* was wrong
and the wording stays consistent::

    raise InvalidHandle(handle="88.1/x\\x00", reason="contains a control character")
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AuthenticationError",
    "AuthenticationFailed",
    "AuthenticationNeeded",
    "AuthenticationTimeout",
    "ConfigError",
    "HandleExists",
    "HandleNotFound",
    "InsufficientPermissions",
    "InvalidAdmin",
    "InvalidCredential",
    "InvalidHandle",
    "InvalidIdentifier",
    "InvalidValue",
    "LoginFirst",
    "NotResponsible",
    "OperationNotSupported",
    "OutOfDateSiteInfo",
    "ProtocolError",
    "ReadOnly",
    "RecursionTooDeep",
    "RegistryError",
    "RemoteError",
    "ResolutionLoop",
    "ServerBusy",
    "StorageError",
    "TemplateError",
    "TemplateViolation",
    "TooManyValues",
    "UpstreamUnavailable",
    "ValueExists",
    "ValuesNotFound",
    "WriteConflict",
]


class RegistryError(Exception):
    """Root of all idnode errors.

    :param msg: a complete message; when omitted the class's ``fmt`` is formatted with
        ``kwargs``.
    :param response_code: overrides the class's default Handle response code.
    """

    response_code: int = 2
    fmt: ClassVar[str] = "{reason}"

    def __init__(self, msg: str | None = None, *, response_code: int | None = None,
                 **kwargs: Any) -> None:
        if msg is None:
            try:
                msg = self.fmt.format(**kwargs)
            except (KeyError, IndexError):
                msg = self.fmt
        super().__init__(msg)
        self.message = msg
        self.kwargs = kwargs
        if response_code is not None:
            self.response_code = response_code

    def __str__(self) -> str:
        return self.message


class ConfigError(RegistryError):
    """The node's configuration is invalid; ``key`` names the offending setting."""

    fmt = "config key {key!r}: {reason}"


class StorageError(RegistryError):
    """The storage backend failed (I/O, connection lost, corrupt data)."""

    fmt = "storage: {reason}"


class ProtocolError(RegistryError):
    """A message could not be decoded or violates the protocol (RC 4 unless hinted)."""

    response_code = 4
    fmt = "protocol error: {reason}"


class ServerBusy(RegistryError):
    response_code = 3
    fmt = "server too busy: {reason}"


class WriteConflict(RegistryError):
    """The record changed between authorization and commit; the write was not made.

    The server retries such writes itself; a client sees RC 3 only if they keep conflicting.
    """

    response_code = 3
    fmt = "{handle} changed while the request was being authorized; retry"


class OperationNotSupported(RegistryError):
    response_code = 5
    fmt = "operation not supported: {reason}"


class ReadOnly(RegistryError):
    response_code = 7
    fmt = "server is read-only: {reason}"


class HandleNotFound(RegistryError):
    response_code = 100
    fmt = "handle not found: {handle}"


class HandleExists(RegistryError):
    response_code = 101
    fmt = "handle already exists: {handle}"


class InvalidHandle(RegistryError):
    response_code = 102
    fmt = "invalid handle {handle!r}: {reason}"


class InvalidIdentifier(InvalidHandle):
    """Text that is not a valid identifier of a scheme (GS1, OID, Ecode …): same RC as an
    invalid handle, since a foreign identifier stands where a handle would."""

    fmt = "invalid {scheme} identifier {text!r}: {reason}"


class ValuesNotFound(RegistryError):
    response_code = 200
    fmt = "values not found in {handle}: {reason}"


class ValueExists(RegistryError):
    response_code = 201
    fmt = "value already exists in {handle}: {reason}"


class InvalidValue(RegistryError):
    response_code = 202
    fmt = "invalid value: {reason}"


class TemplateError(InvalidValue):
    """A metadata template (元数据模板) is malformed, or a state change is not allowed."""

    fmt = "template: {reason}"


class TemplateViolation(InvalidValue):
    """Registration data does not follow its template; ``problems`` lists every finding."""

    fmt = "data does not follow template {template}: {reason}"

    def __init__(self, template: str, problems: list[str]) -> None:
        super().__init__(template=template, reason="; ".join(problems))
        self.problems = problems


class TooManyValues(InvalidValue):
    fmt = "too many values: {count} (limit {limit})"


class NotResponsible(RegistryError):
    response_code = 301
    fmt = "server not responsible for {handle}: prefix {prefix} is not homed here"


class OutOfDateSiteInfo(RegistryError):
    """The client hashed with an older HS_SITE serial than the server's (RC 300)."""

    response_code = 300
    fmt = "out-of-date site info: {reason}"


class RecursionTooDeep(RegistryError):
    """Too many hops (referrals, HS_SERV indirections, recursive forwards) for one request."""

    response_code = 6
    fmt = "recursion count too high: {reason}"


class ResolutionLoop(RecursionTooDeep):
    """A referral, HS_SERV or HS_ALIAS chain came back to where it had been."""

    fmt = "resolution loop: {reason}"


class UpstreamUnavailable(RegistryError):
    """No server of the sites responsible for a handle answered (resolver side)."""

    response_code = 2
    fmt = "no server answered for {handle}: {reason}"


class InvalidAdmin(RegistryError):
    response_code = 400
    fmt = "invalid admin: {reason}"


class InsufficientPermissions(RegistryError):
    response_code = 401
    fmt = "insufficient permissions: {reason}"


class AuthenticationNeeded(RegistryError):
    response_code = 402
    fmt = "authentication needed: {reason}"


class AuthenticationFailed(RegistryError):
    response_code = 403
    fmt = "authentication failed: {reason}"


class InvalidCredential(RegistryError):
    response_code = 404
    fmt = "invalid credential: {reason}"


class AuthenticationTimeout(RegistryError):
    response_code = 405
    fmt = "authentication timed out: {reason}"


class AuthenticationError(RegistryError):
    response_code = 406
    fmt = "authentication error: {reason}"


class LoginFailed(RegistryError):
    """An IDIS login (OC 2000 / 2001) whose credential did not verify (RC 3001)."""

    response_code = 3001
    fmt = "credential verification failed: {reason}"


class ReloginNeeded(RegistryError):
    """The connection's IDIS login has expired (RC 407): log in again."""

    response_code = 407
    fmt = "log in again: {reason}"


class LoginFirst(RegistryError):
    """An administrative request on a connection that has not logged in (RC 408), for IDIS
    clients that log in once per connection (OC 2001 / 2000) instead of answering a
    challenge per request."""

    response_code = 408
    fmt = "log in first: {reason}"


class RemoteError(RegistryError):
    """An error response received from a server (client side).

    ``response_code`` is the code the server sent; the message is the server's text.
    """

    fmt = "{reason}"
