"""A node reached over its replication listener, as one side of ``idnode verify``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from idnode.auth.identity import Identity
from idnode.auth.keys import load_private_key
from idnode.client.auth import PublicKeyAuth
from idnode.config_replication import Peer
from idnode.errors import ConfigError
from idnode.protocol.replication import DumpMode, DumpRequest
from idnode.replication.client import ReplicaClient
from idnode.storage import Record

__all__ = ["RemoteSource"]

_FETCH = 1000


class RemoteSource:
    """Digests, hashes and records of a node, over OC 1000 and OC 1002.

    :param pin: the node's replication certificate (PEM); required, since the channel's
        only proof of who answers is that certificate.
    """

    def __init__(self, address: tuple[str, int], *, identity: str, key_path: Path,
                 pin: Path | None) -> None:
        if pin is None:
            raise ConfigError(key="--pin", reason=f"give the replication certificate of "
                              f"{address[0]}:{address[1]} to pin")
        self.name = f"tls://{address[0]}:{address[1]}"
        auth = PublicKeyAuth(Identity.parse(identity), load_private_key(key_path))
        self._client = ReplicaClient(Peer(address[0], address[1], pin), auth, timeout=30.0)

    async def position(self) -> int:
        return (await self._client.status()).position

    async def homed(self) -> list[str]:
        page = await self._client.dump(DumpRequest(DumpMode.RECORDS, "", 0))
        return sorted(page.homed)

    async def bucket_digests(self) -> list[tuple[int, bytes, int]]:
        return list((await self._client.digests()).digests)

    async def bucket_hashes(self, bucket: int) -> list[tuple[str, bytes]]:
        answer = await self._client.dump(DumpRequest(DumpMode.HASHES, bucket=bucket))
        return list(answer.hashes)

    async def records(self, keys: Sequence[str]) -> dict[str, Record]:
        out: dict[str, Record] = {}
        for start in range(0, len(keys), _FETCH):
            answer = await self._client.fetch(keys[start:start + _FETCH])
            for item in answer.records:
                if item.handle is not None:
                    out[item.key] = Record(item.handle, item.key, item.values)
        return out

    async def close(self) -> None:
        await self._client.close()
