"""The registry against a node home, for the command line: the node's store opened
directly, as ``idnode promote`` does.

Writes go through :meth:`Store.apply` (transaction log, record hashes, one transaction per
operation) and then bump the tool slot of the node's ``run/generation``, so a running
node's workers drop their caches and serve the change at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from idnode.config import NodeConfig
from idnode.errors import InvalidValue, RegistryError
from idnode.identifiers.values.site import SiteData
from idnode.node.cache import TOOL_SLOT, Generation
from idnode.prefixes.ledger import Ledger, open_ledger
from idnode.prefixes.registry import Namespace, PrefixRegistry
from idnode.storage import Record, Store, WriteOp, WriteResult, normalise_prefix, open_store
from idnode.transport.client import TransportError

__all__ = ["LocalRegistry", "fetch_sites"]


async def fetch_sites(servers: Sequence[str], timeout: float) -> list[SiteData]:
    """Each server's own HS_SITE (OC 2), as ``idnode delegate`` asks for it."""
    from idnode.client import HandleClient

    sites = []
    for i, text in enumerate(servers):
        host, _, port = text.rpartition(":")  # HOST:PORT, checked with the form
        try:
            async with HandleClient((host.strip("[]"), int(port)), timeout=timeout) as client:
                sites.append(await client.get_site_info())
        except (RegistryError, TransportError, OSError) as exc:
            raise InvalidValue(reason=f"route.servers[{i}]: cannot read the HS_SITE of "
                                      f"{text}: {exc}") from None
    return sites


class LocalRegistry:
    """A :class:`PrefixRegistry` over a node home; use as a context manager."""

    def __init__(self, config: NodeConfig, *, timeout: float = 5.0) -> None:
        self.store: Store = open_store(config.storage_url,
                                       max_values=config.limits.max_values_per_handle)
        self.ledger: Ledger = open_ledger(config.storage_url)
        run_dir: Path = config.home / "run"
        self._generation = (Generation(run_dir / "generation", TOOL_SLOT)
                            if run_dir.is_dir() else None)
        parents = frozenset(normalise_prefix(p) for p in config.prefixes)

        async def read(key: str) -> Record | None:
            return self.store.get_record(key)

        async def submit(op: WriteOp) -> WriteResult:
            (result,) = self.store.apply([op])
            if self._generation is not None and not isinstance(result, RegistryError):
                self._generation.bump()
            return result

        async def sites(servers: Sequence[str]) -> list[SiteData]:
            return await fetch_sites(servers, timeout)

        self.registry = PrefixRegistry(self.ledger, Namespace(read, submit, lambda: parents,
                                                              sites))

    def __enter__(self) -> PrefixRegistry:
        return self.registry

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.ledger.close()
        self.store.close()
        if self._generation is not None:
            self._generation.close()


