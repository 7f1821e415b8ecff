"""High-level Handle client: resolution and administration against one server.

:class:`HandleClient` is the asyncio client; :class:`SyncHandleClient` is its blocking
facade. Authenticate with :class:`PublicKeyAuth` or :class:`SecretKeyAuth`. The
challenge-response logic lives once, in :class:`~idnode.client.flow.RequestFlow`.
"""

from idnode.client.async_client import DEFAULT_PORT, HandleClient
from idnode.client.auth import Authenticator, PublicKeyAuth, SecretKeyAuth
from idnode.client.flow import Done, Receive, RequestFlow, Send
from idnode.client.results import ResolutionResult, remote_error
from idnode.client.sync_client import SyncHandleClient

__all__ = [
    "DEFAULT_PORT",
    "Authenticator",
    "Done",
    "HandleClient",
    "PublicKeyAuth",
    "Receive",
    "RequestFlow",
    "ResolutionResult",
    "SecretKeyAuth",
    "Send",
    "SyncHandleClient",
    "remote_error",
]
