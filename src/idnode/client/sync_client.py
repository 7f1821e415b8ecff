"""A blocking facade over :class:`~idnode.client.async_client.HandleClient`.

The async client runs on a private event loop in a daemon thread; each method submits the
coroutine there and waits. Nothing is re-implemented here, so the sync and async clients
cannot drift apart. Usable from code that already runs an event loop in its own thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from idnode.client.async_client import Address, HandleClient, Transport
from idnode.client.auth import Authenticator
from idnode.client.results import ResolutionResult
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from idnode.protocol.constants import MAX_MESSAGE_SIZE
from idnode.transport.client import DEFAULT_UDP_TIMEOUTS

__all__ = ["SyncHandleClient"]

T = TypeVar("T")


class SyncHandleClient:
    """The blocking twin of :class:`HandleClient`; same parameters, same methods.

    Close it (or use it as a context manager) to stop its loop thread.
    """

    def __init__(self, server: Address, *, transport: Transport = "udp",
                 auth: Authenticator | None = None, timeout: float = 10.0,
                 udp_timeouts: Sequence[float] = DEFAULT_UDP_TIMEOUTS,
                 max_message: int = MAX_MESSAGE_SIZE) -> None:
        self._client = HandleClient(server, transport=transport, auth=auth, timeout=timeout,
                                    udp_timeouts=udp_timeouts, max_message=max_message)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name="idnode-sync-client", daemon=True)
        self._thread.start()

    @property
    def client(self) -> HandleClient:
        """The async client underneath (its ``auth`` may be replaced between calls)."""
        return self._client

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coro.close()
            raise RuntimeError("SyncHandleClient is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        """Close the connection and stop the loop thread (idempotent)."""
        if self._loop.is_closed():
            return
        try:
            self._call(self._client.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> SyncHandleClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- the async client's operations, one line each -------------------------------------
    def resolve(self, handle: str, *, types: Iterable[str] = (), indexes: Iterable[int] = (),
                authoritative: bool = False, public_only: bool = True) -> ResolutionResult:
        return self._call(self._client.resolve(handle, types=types, indexes=indexes,
                                               authoritative=authoritative,
                                               public_only=public_only))

    def get_site_info(self) -> SiteData:
        return self._call(self._client.get_site_info())

    def create_handle(self, handle: str, values: Iterable[HandleValue], *,
                      overwrite: bool = False, mint: bool = False) -> str:
        return self._call(self._client.create_handle(handle, values, overwrite=overwrite,
                                                     mint=mint))

    def delete_handle(self, handle: str) -> None:
        self._call(self._client.delete_handle(handle))

    def add_values(self, handle: str, values: Iterable[HandleValue],
                   overwrite: bool = False) -> None:
        self._call(self._client.add_values(handle, values, overwrite=overwrite))

    def modify_values(self, handle: str, values: Iterable[HandleValue]) -> None:
        self._call(self._client.modify_values(handle, values))

    def remove_values(self, handle: str, indexes: Iterable[int]) -> None:
        self._call(self._client.remove_values(handle, indexes))

    def list_handles(self, prefix: str) -> list[str]:
        return self._call(self._client.list_handles(prefix))

    def list_homed_prefixes(self) -> list[str]:
        return self._call(self._client.list_homed_prefixes())

    def home_prefix(self, prefix: str) -> None:
        self._call(self._client.home_prefix(prefix))

    def unhome_prefix(self, prefix: str) -> None:
        self._call(self._client.unhome_prefix(prefix))
