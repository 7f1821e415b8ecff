"""A blocking facade over :class:`~idnode.resolver.Resolver`.

The resolver runs on a private event loop in a daemon thread (as
:class:`~idnode.client.SyncHandleClient` does); each method submits the coroutine there and
waits. Nothing is re-implemented, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from types import TracebackType
from typing import Any, TypeVar

from idnode.identifiers.values.site import SiteData
from idnode.resolver.cache import ResolverCache
from idnode.resolver.resolver import Resolver
from idnode.resolver.settings import DEFAULT_SETTINGS, ResolverSettings
from idnode.resolver.trace import Trace
from idnode.resolver.walk import Resolved

__all__ = ["SyncResolver"]

T = TypeVar("T")


class SyncResolver:
    """The blocking twin of :class:`Resolver`: same parameters, same methods.

    Close it (or use it as a context manager) to stop its loop thread.
    """

    def __init__(self, roots: Sequence[SiteData], settings: ResolverSettings = DEFAULT_SETTINGS,
                 *, cache: ResolverCache | None = None) -> None:
        self._resolver = Resolver(roots, settings, cache=cache)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name="idnode-sync-resolver", daemon=True)
        self._thread.start()

    @property
    def resolver(self) -> Resolver:
        """The async resolver underneath (use it only on this facade's loop)."""
        return self._resolver

    @property
    def cache(self) -> ResolverCache:
        return self._resolver.cache

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coro.close()
            raise RuntimeError("SyncResolver is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def resolve(self, handle: str, *, authoritative: bool = False, trace: Trace | None = None,
                recursion_count: int = 0) -> Resolved:
        return self._call(self._resolver.resolve(handle, authoritative=authoritative,
                                                 trace=trace,
                                                 recursion_count=recursion_count))

    def site_info(self, server: tuple[str, int]) -> SiteData:
        return self._call(self._resolver.site_info(server))

    def prime(self, *, trace: Trace | None = None) -> None:
        self._call(self._resolver.prime(trace=trace))

    def health_snapshot(self) -> list[dict[str, object]]:
        async def snapshot() -> list[dict[str, object]]:
            return self._resolver.health_snapshot()
        return self._call(snapshot())

    def close(self) -> None:
        """Close the resolver and stop the loop thread (idempotent)."""
        if self._loop.is_closed():
            return
        try:
            self._call(self._resolver.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> SyncResolver:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
