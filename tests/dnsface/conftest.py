"""A worker's assembly (memory store) with the DNS face on an ephemeral loopback port, served
by an event loop in a thread so tests can use dnspython's blocking queries and ``dig``."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from idnode.auth.keys import generate_private_key
from idnode.config import NodeConfig
from idnode.config_dns import DnsConfig
from idnode.dnsface import DnsDatagrams, DnsFace, build_face, stream_factory
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.node.accesslog import AccessLog
from idnode.node.cache import Generation
from idnode.node.worker import assemble
from idnode.node.writes import WriteQueue
from idnode.schemes import mapping_values
from idnode.storage import Store, open_store
from idnode.transport.sockets import bind_tcp, bind_udp
from idnode.transport.tcp import TcpServer
from idnode.transport.udp import UdpServer

T = TypeVar("T")

ZONE = "oid-res.org."
HANDLE_ZONE = "hdl.example.cn."
OID_NAPTR = {"order": 10, "preference": 5, "flags": "U", "service": "RINF",
             "regexp": "!^.*$!https://example.cn/rinf/3001.xml!", "replacement": "."}
DNS = DnsConfig(listen=("127.0.0.1", 0), zone=ZONE, handle_zone=HANDLE_ZONE, ttl=300,
                oids=(("1.2.156.3001", "88.100.1"),), tcp_idle_timeout=2.0)
SERVER_KEY = generate_private_key("RSA", 1024)


def v(index: int, type_: str, data: str | bytes, **kw: Any) -> HandleValue:
    raw = data.encode() if isinstance(data, str) else data
    return HandleValue(index, type_, raw, timestamp=1_700_000_000, **kw)


def fill(store: Store) -> None:
    store.home_prefix("88.100.1")
    records: dict[str, list[HandleValue]] = {
        "0.NA/88.100.1": [v(1, "URL", "https://example.cn/oid/3001"),
                          v(2, "OID.NAPTR", json.dumps(OID_NAPTR))],
        "88.100.1/JXDY2106023": [v(1, "URL", "https://example.cn/p/JXDY2106023"),
                                 v(2, "EMAIL", "qa@example.cn"),
                                 v(2000, "productName", "冲击扳手"),
                                 v(3, "HS_SECKEY", "hidden", permissions=0x0C),
                                 v(100, "HS_ADMIN", b"\x00\x0f\x00\x00\x00\x01")],
        "88.100.1/7.12": [v(1, "URL", "https://example.cn/oid/3001/7/12")],
        "88.100.1/OLD": [v(1, "HS_ALIAS", "88.100.1/JXDY2106023")],
        "88.100.1/lower": [v(1, "URL", "https://example.cn/lower")],
        "88.100.1/87.01.SG1020": [v(1, "URL", "https://example.cn/sg1020")],
        "88.100.1/MEDIUM": [v(i, "URL", f"https://example.cn/medium/{i}/" + "m" * 90)
                            for i in range(1, 7)],
        "88.100.1/BIG": [v(i, "URL", f"https://example.cn/big/{i}/" + "x" * 80)
                         for i in range(1, 40)],
    }
    # an OID mapping record (映射记录) as idnode.schemes writes them, and its target
    records["88.100.1/MAP.OID.1.2.156.4000"] = mapping_values("oid", "1.2.156.4000",
                                                              "88.100.1")
    records["88.100.1/1.2.156.4000.5"] = [v(1, "URL", "https://example.cn/mapped")]
    for text, values in records.items():
        store.create_handle(Handle.parse(text), values)


@dataclass
class Served:
    face: DnsFace
    loop: asyncio.AbstractEventLoop
    port: int

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)


def serve(tmp_path: Path, config: DnsConfig = DNS) -> Iterator[Served]:
    store = open_store("memory:")
    fill(store)
    node = NodeConfig(home=tmp_path, prefixes=("88.100.1",),
                      server_admins=("300:88.100.1/ADMIN",), storage_url="memory:")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    udp_sock = bind_udp("127.0.0.1", 0)
    port = int(udp_sock.getsockname()[1])
    tcp_sock = bind_tcp("127.0.0.1", port)

    async def start() -> tuple[DnsFace, UdpServer, TcpServer, WriteQueue]:
        parts = assemble(node, store, Generation(None, 0), AccessLog("off"), SERVER_KEY,
                         ("127.0.0.1", 2641), ("127.0.0.1", 2641))
        face = build_face(config, parts.records, None)
        udp = UdpServer(udp_sock, DnsDatagrams(face).datagram)
        tcp = TcpServer(tcp_sock, stream_factory(face, config.tcp_idle_timeout),
                        max_connections=config.max_tcp_connections)
        await udp.start()
        await tcp.start()
        return face, udp, tcp, parts.writes

    face, udp, tcp, writes = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield Served(face, loop, port)
    finally:
        async def stop() -> None:
            await udp.close()
            await tcp.close(grace=1.0)
            await writes.close()
        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("dns"))
