"""A replication group of real ``idnode serve`` processes on 127.0.0.1, for fault tests.

Each member is a node home made by ``idnode init`` with a ``[replication]`` section: a TLS
listener, an identity ``300:<prefix>/repl-<name>`` whose HS_PUBKEY is the member's server
key (created in the first member's store, which replicates it to the others), and every
other member as a pinned peer. Traffic between members can be routed through a
:class:`Cutter` so a test can cut and heal the connection.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idnode.auth.identity import Identity
from idnode.auth.keys import load_private_key, public_key_data
from idnode.client import SecretKeyAuth, SyncHandleClient
from idnode.config import load_config
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.replication.tls import ensure_certificate
from idnode.storage import Store, open_store
from integration.nodeproc import NodeProcess, free_port_pair, idnode, init_node

SECRET = "s3cret-for-tests"
PREFIX = "88.200.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cutter:
    """A TCP relay 127.0.0.1:listen → 127.0.0.1:target that can be cut (every relayed
    connection closed and new ones refused) and healed. Runs its own event loop thread."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
            self._ready.set()
            await self._server.serve_forever()
        task = self._loop.create_task(main())
        try:
            self._loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        # Let the cancelled relays finish closing their sockets.
        pending = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def set_cut(self, cut: bool) -> None:
        def apply() -> None:
            self.cut = cut
            if cut:
                for writer in list(self._writers):
                    writer.transport.abort()
                self._writers.clear()
        self._loop.call_soon_threadsafe(apply)
        time.sleep(0.05)

    def close(self) -> None:
        self.set_cut(True)

        def cancel_all() -> None:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
        self._loop.call_soon_threadsafe(cancel_all)
        self._thread.join(5)
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()


@dataclass
class Member:
    name: str
    home: Path
    port: int
    repl_port: int
    identity: str
    node: NodeProcess | None = None
    drain: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    @property
    def repl_address(self) -> str:
        return f"127.0.0.1:{self.repl_port}"

    @property
    def certificate(self) -> Path:
        return self.home / "replication.crt"

    def client(self) -> SyncHandleClient:
        auth = SecretKeyAuth(Identity(f"{PREFIX}/ADMIN", 301), SECRET.encode())
        return SyncHandleClient(self.address, transport="tcp", auth=auth, timeout=10)

    def status(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.home / "run" / "replication.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


@dataclass
class Group:
    """Members named by ``names``; the first starts as primary."""

    root: Path
    names: tuple[str, ...] = ("a", "b")
    storage: Callable[[str], str] | None = None
    durability: str = "primary"
    extra: dict[str, str] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    cutters: dict[tuple[str, str], Cutter] = field(default_factory=dict)
    via_cutter: bool = False
    #: more identities allowed to pull (name → server key file), e.g. an escrow holder
    pullers: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.names:
            home = self.root / name
            extra = ["--storage", self.storage(name)] if self.storage else []
            init_node(home, PREFIX, *extra, secret=SECRET)
            port = int(load_config(home).tcp.port)  # type: ignore[union-attr]
            member = Member(name, home, port, free_port(), f"300:{PREFIX}/repl-{name}")
            self.members[name] = member
            ensure_certificate(member.certificate,
                               load_private_key(home / "keys" / "server.key"), "127.0.0.1")
        for name, member in self.members.items():
            self._configure(member, primary=name == self.names[0])
        first = self.members[self.names[0]]
        store = self.open(first.name)
        try:
            keys = {m.name: m.home / "keys" / "server.key" for m in self.members.values()}
            for name, path in {**keys, **self.pullers}.items():
                key = load_private_key(path)
                store.create_handle(Handle.parse(f"{PREFIX}/repl-{name}"),
                                    [HandleValue(300, "HS_PUBKEY",
                                                 public_key_data(key).to_bytes())])
        finally:
            store.close()

    def _peer_port(self, src: str, dst: str) -> int:
        target = self.members[dst].repl_port
        if not self.via_cutter:
            return target
        cutter = self.cutters.get((src, dst))
        if cutter is None:
            cutter = self.cutters[(src, dst)] = Cutter(target)
        return cutter.port

    def _configure(self, member: Member, *, primary: bool) -> None:
        lines = ["", "[replication]", f'listen = "{member.repl_address}"',
                 f'role = "{"primary" if primary else "mirror"}"',
                 f'identity = "{member.identity}"',
                 "admins = [" + ", ".join([f'"{m.identity}"' for m in self.members.values()]
                                          + [f'"300:{PREFIX}/repl-{n}"' for n in self.pullers])
                 + "]",
                 f'durability = "{self.durability}"', "poll_wait = 0.5",
                 "probe_interval = 0.5", "connect_timeout = 2.0"]
        if not primary:
            first = self.names[0]
            lines.append(f'primary = "127.0.0.1:{self._peer_port(member.name, first)}"')
        lines += [f"{key} = {value}" for key, value in self.extra.items()]
        for other in self.members.values():
            if other is member:
                continue
            lines += ["", "[[replication.peers]]",
                      f'address = "127.0.0.1:{self._peer_port(member.name, other.name)}"',
                      f'certificate = "{other.certificate}"']
        with (member.home / "config.toml").open("a") as out:
            out.write("\n".join(lines) + "\n")

    def open(self, name: str) -> Store:
        return open_store(load_config(self.members[name].home).storage_url)

    def start(self, name: str) -> Member:
        member = self.members[name]
        member.node = NodeProcess.start(member.home)
        node = member.node

        def drain() -> None:  # keep the pipe from filling with the node's log lines
            try:
                while node.proc.poll() is None:
                    node._readline(time.monotonic() + 0.5)
            except (OSError, ValueError):  # the pipe was closed by kill()/stop()
                return
        member.drain = threading.Thread(target=drain, daemon=True)
        member.drain.start()
        return member

    def kill(self, name: str) -> None:
        member = self.members[name]
        if member.node is not None:
            member.node.kill()
            member.node = None

    def stop(self, name: str) -> None:
        member = self.members[name]
        if member.node is not None:
            member.node.stop()
            member.node = None

    def promote(self, name: str) -> str:
        return idnode("promote", str(self.members[name].home)).stdout

    def close(self) -> None:
        for name in self.members:
            self.kill(name)
        for cutter in self.cutters.values():
            cutter.close()

    def output(self, name: str) -> str:
        node = self.members[name].node
        return node.text if node is not None else ""


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def url(index: int, text: str) -> HandleValue:
    return HandleValue(index, "URL", text.encode())


def has(store_or_member: Member, handle: str) -> bool:
    """Whether ``handle`` resolves at the member (over UDP, public values)."""
    with SyncHandleClient(store_or_member.address, timeout=2) as client:
        try:
            client.resolve(handle)
        except Exception:
            return False
        return True


def each_handle(store: Store, prefix: str = PREFIX) -> Iterator[str]:
    after = ""
    while page := store.list_handles(prefix, after=after, limit=1000):
        yield from page
        after = Handle.parse(page[-1]).key


__all__ = ["PREFIX", "SECRET", "Cutter", "Group", "Member", "each_handle", "free_port_pair",
           "has", "url", "wait_for"]
