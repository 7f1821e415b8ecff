"""A receiving secondary node (二级节点) on a real loopback port and an enterprise node
(企业节点) that reports to it, both on real stores.

The receiver's web face is the node's own (``assemble`` + ``build_web_app``) on an
:class:`HttpServer`, running on an event loop in a thread of its own, so the sender under
test talks to it over TCP from the test's loop. It can be stopped (the port then refuses
connections) and started again on the same port.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from idnode.auth.certs import self_signed_certificate
from idnode.auth.keys import (
    generate_private_key,
    public_key_data,
    save_private_key,
    save_secret,
)
from idnode.config import HttpConfig, NodeConfig
from idnode.config_reports import ReportsConfig
from idnode.http import HttpServer, HttpSettings, TlsSettings
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import PERM_SECRET, HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData, AdminPerm
from idnode.identifiers.values.site import Interface, ServerRecord, SiteData
from idnode.node.accesslog import AccessLog
from idnode.node.cache import Generation
from idnode.node.worker import assemble
from idnode.reports import Reporter, site_writer
from idnode.reports.inbox import Channel, Inbox, open_inbox
from idnode.storage import Store, open_store
from idnode.transport.sockets import bind_tcp
from idnode.web.factory import build_web_app

SERVER_KEY = generate_private_key("RSA", 1024)
ADMIN_KEY = generate_private_key("RSA", 1024)  # 300:88.118/ADMIN, a server admin
ENT_KEY = generate_private_key("RSA", 1024)  # 300:88.118/ENT8, admin of 0.NA/88.118.8
OTHER_KEY = generate_private_key("RSA", 1024)  # 300:88.118/OTHER, administers nothing
ENT_SECRET = b"ent8 secret"
SOURCE = "88.118.8"
ENT_ID = "300:88.118/ENT8"


def site(desc: str, *, primary: bool = True, ip: str = "10.0.0.8") -> SiteData:
    server = ServerRecord.from_ip(1, ip, interfaces=(Interface(3, 1, 2641),
                                                     Interface(2, 0, 2641)))
    return SiteData(serial=2, primary=primary, attributes=((b"desc", desc.encode()),),
                    servers=(server,))


OLD_SITE = site("old enterprise site", ip="10.0.0.1")
MIRROR_SITE = site("enterprise mirror", primary=False, ip="10.0.0.2")
NEW_SITE = site("88.118.8 moved", ip="10.0.0.8")


def _admin(handle: str, index: int, perms: int = ALL_PERMISSIONS) -> bytes:
    return AdminData(perms, handle, index).to_bytes()


def provision_receiver(store: Store) -> None:
    store.home_prefix("88.118")
    put = store.create_handle
    put(Handle.parse("0.NA/88.118"), [HandleValue(100, "HS_ADMIN", _admin("88.118/ADMIN", 300))])
    put(Handle.parse("88.118/ADMIN"), [
        HandleValue(100, "HS_ADMIN", _admin("88.118/ADMIN", 300)),
        HandleValue(300, "HS_PUBKEY", public_key_data(ADMIN_KEY).to_bytes())])
    put(Handle.parse("88.118/ENT8"), [
        HandleValue(100, "HS_ADMIN", _admin("88.118/ADMIN", 300)),
        HandleValue(300, "HS_PUBKEY", public_key_data(ENT_KEY).to_bytes()),
        HandleValue(301, "HS_SECKEY", ENT_SECRET, permissions=PERM_SECRET)])
    put(Handle.parse("88.118/OTHER"), [
        HandleValue(300, "HS_PUBKEY", public_key_data(OTHER_KEY).to_bytes())])
    # The enterprise prefix record the secondary node holds: primary site and its mirror.
    put(Handle.parse(f"0.NA/{SOURCE}"), [
        HandleValue(1, "HS_SITE", OLD_SITE.to_bytes()),
        HandleValue(2, "HS_SITE", MIRROR_SITE.to_bytes()),
        HandleValue(100, "HS_ADMIN", _admin("88.118/ADMIN", 300)),
        HandleValue(101, "HS_ADMIN", _admin("88.118/ENT8", 300)),
        HandleValue(102, "HS_ADMIN", _admin("88.118/ENT8", 301))])
    # 88.118.9's record lets ENT8 read it, but not change it.
    put(Handle.parse("0.NA/88.118.9"), [
        HandleValue(1, "HS_SITE", OLD_SITE.to_bytes()),
        HandleValue(100, "HS_ADMIN", _admin("88.118/ENT8", 300, int(AdminPerm.READ_VALUE)))])


class Receiver:
    """The secondary node's web face on 127.0.0.1 (HTTP, or HTTPS with ``tls``)."""

    def __init__(self, home: Path, storage_url: str, *, tls: bool = False) -> None:
        home.mkdir(parents=True, exist_ok=True)
        (home / "run").mkdir(exist_ok=True)
        self.home = home
        self.storage_url = storage_url
        self.store = open_store(storage_url)
        provision_receiver(self.store)
        self.tls: TlsSettings | None = None
        if tls:
            key = generate_private_key("RSA", 2048)  # OpenSSL refuses smaller for TLS
            save_private_key(home / "tls.key", key)
            (home / "tls.crt").write_bytes(self_signed_certificate(key, hosts=["127.0.0.1"]))
            self.tls = TlsSettings(home / "tls.crt", home / "tls.key",
                                   request_client_cert=False)
        self.port = 0
        self.server: HttpServer | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.config = NodeConfig(home=home, prefixes=("88.118",),
                                 server_admins=("300:88.118/ADMIN",), storage_url=storage_url,
                                 web=HttpConfig(allow_credentials_over_http=True))
        self._call(self._assemble())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _assemble(self) -> None:
        self.parts = assemble(self.config, self.store, Generation(None, 0), AccessLog("off"),
                              SERVER_KEY, ("127.0.0.1", 2641), ("127.0.0.1", 2641))
        self.app = build_web_app(self.config, self.parts.records, self.parts.authorizer,
                                 self.parts.edge, AccessLog("off"), SERVER_KEY,
                                 self.parts.site,
                                 write_site=site_writer(self.parts.records.get,
                                                        self.parts.writes.submit))

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> None:
        async def start() -> None:
            self.server = HttpServer(bind_tcp("127.0.0.1", self.port), self.app,
                                     HttpSettings(), self.tls)
            await self.server.start()
            self.port = self.server.address[1]
        self._call(start())

    def stop(self) -> None:
        if self.server is not None:
            self._call(self.server.close(1.0))
            self.server = None

    def close(self) -> None:
        self.stop()
        self.app.close()
        self._call(self.parts.writes.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
        self.store.close()

    def inbox(self) -> Inbox:
        """A connection of the test's own to the receiver's inbox tables."""
        return open_inbox(self.storage_url)

    def seqs(self, stream: str, reporter: str = "") -> list[int]:
        inbox = self.inbox()
        try:
            return [b.seq for b in inbox.batches(Channel(SOURCE, reporter, stream), 0, 1000)]
        finally:
            inbox.close()

    def items(self, stream: str, reporter: str = "") -> list[dict[str, Any]]:
        import json
        inbox = self.inbox()
        try:
            return [item for b in inbox.batches(Channel(SOURCE, reporter, stream), 0, 1000)
                    for item in json.loads(b.items)]
        finally:
            inbox.close()

    def sites(self, prefix: str = SOURCE) -> list[tuple[int, SiteData]]:
        record = self.store.get_record(Handle.parse(f"0.NA/{prefix}").key)
        assert record is not None
        return [(v.index, SiteData.from_bytes(v.data)) for v in record.values
                if v.type == "HS_SITE"]


class Enterprise:
    """The reporting enterprise node's home: a SQLite store homing 88.118.8 (and an
    unrelated prefix whose handles must not be reported) and an access-log file."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.db = home / "handles.db"
        self.store = open_store(f"sqlite:///{self.db}")
        self.store.home_prefix(SOURCE)
        self.store.home_prefix("88.200.1")
        self.store.create_handle(Handle.parse(f"0.NA/{SOURCE}"), [
            HandleValue(1, "HS_SITE", NEW_SITE.to_bytes())])
        self.access_log = home / "logs" / "access.log"
        self.key_file = home / "ent.key"
        save_private_key(self.key_file, ENT_KEY)
        self.other_key_file = home / "other.key"
        save_private_key(self.other_key_file, OTHER_KEY)
        self.secret_file = home / "ent.secret"
        save_secret(self.secret_file, ENT_SECRET + b"\n")
        self.created = 0

    def create(self, count: int, prefix: str = SOURCE) -> None:
        for _ in range(count):
            self.created += 1
            self.store.create_handle(Handle.parse(f"{prefix}/P{self.created}"), [
                HandleValue(1, "URL", f"https://example.com/{self.created}".encode()),
                HandleValue(2000, "productName", b"impact wrench")])

    def log(self, lines: int, handle: str = f"{SOURCE}/P1", rc: int = 1) -> None:
        log = AccessLog(str(self.access_log))
        for _ in range(lines):
            log.write(("127.0.0.1", 5000), "udp", (2, 11), 1, rc, 0.0001, "-", handle)
        log.close()

    def config(self, url: str, **changes: Any) -> ReportsConfig:
        base = ReportsConfig(to=url, identity=ENT_ID, source=SOURCE, private_key=self.key_file,
                             interval=1.0, backoff_max=1.0, timeout=5.0)
        return replace(base, **changes)

    def reporter(self, url: str, **changes: Any) -> Reporter:
        client = changes.pop("client", None)
        return Reporter(self.config(url, **changes), self.home, self.store,
                        access_log=self.access_log, sites=lambda: NEW_SITE,
                        role="enterprise", client=client)

    def prune_log(self, up_to: int) -> None:
        """Delete transaction-log entries with id ≤ ``up_to``, as a pruning job would."""
        with sqlite3.connect(self.db) as db:
            db.execute("DELETE FROM txlog WHERE id <= ?", (up_to,))
        db.close()

    def close(self) -> None:
        self.store.close()


@contextmanager
def nodes(tmp_path: Path, storage_url: str | None = None, *,
          tls: bool = False) -> Iterator[tuple[Receiver, Enterprise]]:
    receiver = Receiver(tmp_path / "secondary",
                        storage_url or f"sqlite:///{tmp_path / 'secondary.db'}", tls=tls)
    enterprise = Enterprise(tmp_path / "enterprise")
    try:
        receiver.start()
        yield receiver, enterprise
    finally:
        enterprise.close()
        receiver.close()


async def flush(reporter: Reporter) -> Any:
    try:
        return await reporter.flush()
    finally:
        await reporter.close()
