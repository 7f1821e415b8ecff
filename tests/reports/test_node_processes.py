"""Upward reporting between two real node processes: an enterprise node (企业节点) whose
worker runs the reporter, and a secondary node (二级节点) whose web face receives; the
secondary is stopped for a while and nothing is lost or counted twice."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from idnode.auth.keys import load_private_key, public_key_data
from idnode.config import load_config
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.storage import open_store
from integration.nodeproc import NodeProcess, free_port_pair, init_node
from replication.group import url, wait_for

pytestmark = pytest.mark.integration

SECONDARY, ENTERPRISE = "88.310", "88.310.5"


def _received(home: Path) -> list[tuple[str, int]]:
    """(stream, seq) of every batch in the secondary's inbox (SQLite, same file)."""
    db = load_config(home).storage_url[len("sqlite://"):]
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        table = next((t for t in tables if "batch" in t), None)
        if table is None:
            return []
        return [(str(r[0]), int(r[1])) for r in
                conn.execute(f"SELECT stream, seq FROM {table} ORDER BY stream, seq")]


def test_enterprise_reports_survive_an_outage_of_the_secondary(tmp_path: Path) -> None:
    sec, ent = tmp_path / "secondary", tmp_path / "enterprise"
    init_node(sec, SECONDARY, "--role", "secondary")
    init_node(ent, ENTERPRISE, "--role", "enterprise")
    http = free_port_pair()
    text = (sec / "config.toml").read_text().replace('http = "off"',
                                                     f'http = "127.0.0.1:{http}"')
    text = text.replace("allow_credentials_over_http = false",
                        "allow_credentials_over_http = true")
    (sec / "config.toml").write_text(text)
    # The secondary holds the enterprise prefix record and the reporting identity (the
    # enterprise node's server key), with admin rights over it.
    key = load_private_key(ent / "keys" / "server.key")
    with open_store(load_config(sec).storage_url) as store:
        store.create_handle(Handle.parse(f"{SECONDARY}/ENT-5"), [
            HandleValue(300, "HS_PUBKEY", public_key_data(key).to_bytes())])
        store.create_handle(Handle.parse(f"0.NA/{ENTERPRISE}"), [HandleValue(
            100, "HS_ADMIN", AdminData(ALL_PERMISSIONS, f"{SECONDARY}/ENT-5", 300).to_bytes())])
    with (ent / "config.toml").open("a") as out:
        out.write(f'\n[reports]\nto = "http://127.0.0.1:{http}"\n'
                  f'identity = "300:{SECONDARY}/ENT-5"\nprivate_key = "keys/server.key"\n'
                  f'source = "{ENTERPRISE}"\ninterval = 1\nbackoff_max = 1\n')
    secondary = NodeProcess.start(sec)
    enterprise = NodeProcess.start(ent)
    try:
        from idnode.auth.identity import Identity
        from idnode.client import SecretKeyAuth, SyncHandleClient
        auth = SecretKeyAuth(Identity(f"{ENTERPRISE}/ADMIN", 301), b"s3cret-for-tests")
        with SyncHandleClient(enterprise.tcp, transport="tcp", auth=auth) as admin:
            for i in range(5):
                admin.create_handle(f"{ENTERPRISE}/p-{i}", [url(1, f"https://p/{i}")])
            wait_for("the first reports", lambda: ("registrations", 1) in _received(sec))
            secondary.stop()  # the receiver goes away; the enterprise keeps registering
            for i in range(5, 12):
                admin.create_handle(f"{ENTERPRISE}/p-{i}", [url(1, f"https://p/{i}")])
            time.sleep(2.5)  # a few cycles fail and leave batches in the outbox
            assert list((ent / "reports" / "outbox").rglob("*.json"))
            secondary = NodeProcess.start(sec)
            wait_for("the outbox to drain",
                     lambda: not list((ent / "reports" / "outbox").rglob("*.json")), 30)
        got = _received(sec)
        assert len(got) == len(set(got)), f"a batch was stored twice: {got}"
        seqs = [seq for stream, seq in got if stream == "registrations"]
        assert seqs == list(range(1, len(seqs) + 1)), f"missing or out of order: {seqs}"
        db = load_config(sec).storage_url[len("sqlite://"):]
        with sqlite3.connect(db) as conn:
            table = next(r[0] for r in conn.execute("SELECT name FROM sqlite_master")
                         if "batch" in r[0])
            items = "".join(str(r[0]) for r in conn.execute(f"SELECT items FROM {table}"))
        for i in range(12):  # every registration reported, exactly once
            assert items.count(f'"{ENTERPRISE}/p-{i}"') == 1, i
    finally:
        enterprise.stop()
        secondary.stop()
