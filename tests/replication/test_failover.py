"""Replication between real node processes: following, read-only mirrors, synchronous
writes through a kill -9 and a promotion, a mirror killed mid-dump, a cut connection,
retention past a mirror, and a demoted primary following the new one. Each runs on SQLite
and on PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from idnode.client import SyncHandleClient
from idnode.errors import RegistryError, RemoteError
from idnode.identifiers.handle import Handle
from integration.nodeproc import idnode
from replication.conftest import MakeGroup
from replication.group import PREFIX, Group, Member, each_handle, has, url, wait_for

pytestmark = pytest.mark.integration


def _caught_up(group: Group, mirror: str, primary: str) -> bool:
    with group.open(primary) as p, group.open(mirror) as m:
        return m.position() >= p.position()


def _handles(group: Group, name: str) -> set[str]:
    with group.open(name) as store:
        return set(each_handle(store))


def test_mirror_follows_refuses_writes_and_shows_lag(make_group: MakeGroup) -> None:
    group = make_group()
    a = group.start("a")
    b = group.start("b")
    with a.client() as admin:
        for i in range(50):
            admin.create_handle(f"{PREFIX}/item-{i}", [url(1, f"https://e.example/{i}")])
        admin.add_values(f"{PREFIX}/item-0", [url(2, "https://e.example/second")])
        admin.delete_handle(f"{PREFIX}/item-1")
    wait_for("the mirror to catch up", lambda: _caught_up(group, "b", "a"))
    assert has(b, f"{PREFIX}/item-49")
    assert not has(b, f"{PREFIX}/item-1")
    with SyncHandleClient(b.address, timeout=2) as reader:
        values = reader.resolve(f"{PREFIX}/item-0").values
    assert {v.index for v in values} == {1, 2}
    assert _handles(group, "a") == _handles(group, "b")
    # A mirror refuses writes with RC 7 and says where to send them.
    with b.client() as admin, pytest.raises(RemoteError) as refused:
        admin.create_handle(f"{PREFIX}/on-mirror", [url(1, "https://nope.example")])
    assert refused.value.response_code == 7
    assert "mirror" in str(refused.value)
    # The lag is visible: the status command on both sides.
    wait_for("status files", lambda: (b.status() or {}).get("state") == "following")
    shown = json.loads(idnode("replication", "status", str(b.home), "--json").stdout)
    assert shown["role"] == "mirror"
    assert shown["live"]["lag_txns"] == 0
    primary = json.loads(idnode("replication", "status", str(a.home), "--json").stdout)
    assert primary["role"] == "primary"
    wait_for("the primary to see the mirror", lambda: any(
        m["position"] > 0 for m in (a.status() or {}).get("mirrors", [])))


class _Writer:
    """Creates handles on a member until told to stop; records which were acknowledged."""

    def __init__(self, group: Group, name: str) -> None:
        self.member = group.members[name]
        self.acked: list[str] = []
        self.failed: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        with self.member.client() as admin:
            while not self.stop.is_set() and i < 100_000:
                handle = f"{PREFIX}/w-{i}"
                i += 1
                try:
                    admin.create_handle(handle, [url(1, f"https://w.example/{i}")])
                except RegistryError:
                    self.failed.append(handle)
                    return
                self.acked.append(handle)


def test_sync_writes_survive_kill9_of_primary_and_promotion(make_group: MakeGroup) -> None:
    group = make_group(durability="mirrors:1")
    group.start("a")
    b = group.start("b")
    wait_for("the mirror to load", lambda: (b.status() or {}).get("state") == "following")
    writer = _Writer(group, "a")
    writer.thread.start()
    wait_for("some writes", lambda: len(writer.acked) >= 150)
    group.kill("a")  # kill -9 in the middle of the stream
    writer.stop.set()
    writer.thread.join(30)
    acked = list(writer.acked)
    assert len(acked) >= 150
    out = group.promote("b")
    assert "promoted" in out
    present = _handles(group, "b")
    missing = [h for h in acked if h not in present]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:3]}"
    # The promoted mirror takes writes, but in synchronous mode it says so only once a
    # mirror has them: with none left, the client is told the write is not yet safe.
    unsafe = _write_settled(b, f"{PREFIX}/alone")
    assert unsafe is not None and unsafe.response_code == 2
    assert "0 of the 1 mirrors" in str(unsafe)
    # The old primary comes back, learns it was demoted, follows: writes are safe again.
    a = group.start("a")
    wait_for("the old primary to follow", lambda: (a.status() or {}).get("state")
             == "following", timeout=60)
    wait_for("the new primary to accept writes", lambda: _accepts(b))
    assert has(a, f"{PREFIX}/alone")


def _write_settled(member: Member, handle: str) -> RemoteError | None:
    """Create ``handle``; retry while the node says it is busy confirming its role."""
    deadline = time.monotonic() + 15
    while True:
        try:
            with member.client() as admin:
                admin.create_handle(handle, [url(1, "https://settled.example")])
        except RemoteError as exc:
            if exc.response_code == 3 and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            return exc
        return None


def _accepts(member: object) -> bool:
    from replication.group import Member
    assert isinstance(member, Member)
    try:
        with member.client() as admin:
            admin.create_handle(f"{PREFIX}/after-{time.monotonic_ns()}", [url(1, "https://x")])
    except RegistryError:
        return False
    return True


def test_mirror_restarted_mid_dump_completes(make_group: MakeGroup) -> None:
    group = make_group(extra={"dump_page": "50"})
    with group.open("a") as store:
        for start in range(0, 12000, 1000):
            from idnode.storage.ops import CreateHandle
            store.apply([CreateHandle(Handle.parse(f"{PREFIX}/bulk-{i:05d}"),
                                      (url(1, f"https://b.example/{i}"),))
                         for i in range(start, start + 1000)])
    group.start("a")
    b = group.start("b")
    wait_for("the dump to be under way", lambda: ((b.status() or {}).get("dumped") or 0) >= 500,
             timeout=60)
    group.kill("b")
    with group.open("b") as store:
        from idnode.replication.state import load_state
        assert load_state(store, role="mirror").dump is not None  # interrupted mid-dump
    b = group.start("b")
    wait_for("the mirror to finish", lambda: _caught_up(group, "b", "a")
             and (b.status() or {}).get("state") == "following", timeout=60)
    assert _handles(group, "b") == _handles(group, "a")
    status = b.status() or {}
    # Resumed where it stopped: no new dump was started, only the rest was fetched.
    assert status["dumps"] == 0
    assert 0 < status["dumped"] < 12_000


def test_cut_connection_heals_and_catches_up(make_group: MakeGroup) -> None:
    group = make_group(via_cutter=True)
    a = group.start("a")
    b = group.start("b")
    wait_for("following", lambda: (b.status() or {}).get("state") == "following")
    cutter = group.cutters[("b", "a")]
    cutter.set_cut(True)
    with a.client() as admin:
        for i in range(40):
            admin.create_handle(f"{PREFIX}/during-cut-{i}", [url(1, "https://c.example")])
    wait_for("the mirror to notice", lambda: (b.status() or {}).get("state") == "disconnected")
    assert not has(b, f"{PREFIX}/during-cut-39")
    cutter.set_cut(False)
    wait_for("the mirror to catch up after the cut", lambda: has(b, f"{PREFIX}/during-cut-39"))
    wait_for("equal", lambda: _caught_up(group, "b", "a"))
    assert _handles(group, "a") == _handles(group, "b")


def test_retention_past_the_mirror_forces_a_new_dump(make_group: MakeGroup) -> None:
    group = make_group()
    a = group.start("a")
    b = group.start("b")
    wait_for("following", lambda: (b.status() or {}).get("state") == "following")
    group.stop("b")
    with a.client() as admin:
        for i in range(30):
            admin.create_handle(f"{PREFIX}/while-away-{i}", [url(1, "https://r.example")])
        admin.delete_handle(f"{PREFIX}/while-away-0")
    with group.open("a") as store:  # the retention job, run now
        pruned = store.prune_txns(before=time.time() + 60, keep=1)
        assert pruned > 0
        assert store.oldest_txn_id() == store.position()
    b = group.start("b")
    wait_for("the re-dump", lambda: ((b.status() or {}).get("dumps") or 0) >= 1
             and _caught_up(group, "b", "a"), timeout=60)
    assert _handles(group, "a") == _handles(group, "b")
    assert not has(b, f"{PREFIX}/while-away-0")


def test_demoted_primary_follows_the_new_one(make_group: MakeGroup) -> None:
    group = make_group(via_cutter=True)
    a = group.start("a")
    b = group.start("b")
    wait_for("following", lambda: (b.status() or {}).get("state") == "following")
    with a.client() as admin:
        admin.create_handle(f"{PREFIX}/shared", [url(1, "https://s.example")])
    wait_for("shared on b", lambda: has(b, f"{PREFIX}/shared"))
    group.cutters[("b", "a")].set_cut(True)
    with a.client() as admin:  # acknowledged by a alone (asynchronous mode)
        admin.create_handle(f"{PREFIX}/only-on-old", [url(1, "https://o.example")])
        admin.modify_values(f"{PREFIX}/shared", [url(1, "https://changed-on-old.example")])
    group.kill("a")
    group.promote("b")
    wait_for("b accepts writes", lambda: _accepts(b))
    with b.client() as admin:
        admin.create_handle(f"{PREFIX}/only-on-new", [url(1, "https://n.example")])
    group.cutters[("b", "a")].set_cut(False)
    a = group.start("a")
    wait_for("the old primary to become a mirror", lambda: (a.status() or {}).get("state")
             == "following", timeout=60)
    wait_for("the old primary to catch up", lambda: has(a, f"{PREFIX}/only-on-new"))
    assert not has(a, f"{PREFIX}/only-on-old")
    with SyncHandleClient(a.address, timeout=2) as reader:
        shared = reader.resolve(f"{PREFIX}/shared").values
    assert shared[0].data == b"https://s.example"
    divergent = list((a.home / "replication").glob("divergent-*.jsonl"))
    assert len(divergent) == 1
    kept = [json.loads(line) for line in divergent[0].read_text().splitlines()]
    assert {entry["handle"] for entry in kept} >= {f"{PREFIX}/only-on-old", f"{PREFIX}/shared"}
    with a.client() as admin, pytest.raises(RemoteError) as refused:
        admin.create_handle(f"{PREFIX}/x", [url(1, "https://x")])
    assert refused.value.response_code == 7
    assert _handles(group, "a") == _handles(group, "b")


def test_verify_finds_a_corrupted_value(make_group: MakeGroup, tmp_path: Path) -> None:
    group = make_group()
    a = group.start("a")
    b = group.start("b")
    with a.client() as admin:
        for i in range(20):
            admin.create_handle(f"{PREFIX}/v-{i}", [url(1, f"https://v.example/{i}")])
    wait_for("caught up", lambda: _caught_up(group, "b", "a"))
    key = str(a.home / "keys" / "server.key")
    common = ["--auth", f"300:{PREFIX}/repl-a", "--key", key]
    same = idnode("verify", f"tls://{a.repl_address}", f"tls://{b.repl_address}",
                  "--pin-a", str(a.certificate), "--pin-b", str(b.certificate), *common)
    assert same.returncode == 0, same.stdout + same.stderr
    # Corrupt one value on the mirror behind the node's back.
    with group.open("b") as store:
        record = store.get_record(Handle.parse(f"{PREFIX}/v-7").key)
        assert record is not None
        bad = record.values[0]
        store.install({record.key: type(record)(record.handle, record.key, (
            type(bad)(bad.index, bad.type, b"https://evil.example/7"),))})
    found = idnode("verify", f"tls://{a.repl_address}", f"tls://{b.repl_address}",
                   "--pin-a", str(a.certificate), "--pin-b", str(b.certificate), *common,
                   check=False)
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"{PREFIX}/v-7" in found.stdout and "evil.example" in found.stdout


def test_escrow_copy_at_the_top_level_node(make_group: MakeGroup, tmp_path: Path) -> None:
    """A secondary node's data, escrowed (托管) continuously at its top-level node."""
    from integration.nodeproc import NodeProcess, init_node
    top = tmp_path / "top"
    init_node(top, "88.200", "--role", "top-level")
    group = make_group(names=("a",), pullers={"top": top / "keys" / "server.key"})
    a = group.start("a")
    with (top / "config.toml").open("a") as out:
        out.write(f'\n[replication]\nidentity = "300:{PREFIX}/repl-top"\n'
                  f'poll_wait = 0.5\n\n[[escrow]]\nname = "{PREFIX}"\n'
                  f'source = "{a.repl_address}"\ncertificate = "{a.certificate}"\n')
    node = NodeProcess.start(top)
    try:
        with a.client() as admin:
            for i in range(25):
                admin.create_handle(f"{PREFIX}/e-{i}", [url(1, f"https://e.example/{i}")])
        escrow_url = f"sqlite:///{top}/escrow/{PREFIX}.db"
        key = ["--auth", f"300:{PREFIX}/repl-top", "--key", str(top / "keys" / "server.key"),
               "--pin-a", str(a.certificate)]

        def same() -> bool:
            return idnode("verify", f"tls://{a.repl_address}", escrow_url, *key,
                          check=False).returncode == 0
        wait_for("the escrow copy to match", same)
        shown = json.loads(idnode("replication", "status", str(top), "--json").stdout)
        assert shown["escrow"][PREFIX]["state"] == "following"
    finally:
        node.stop()


def test_metrics_show_replication_lag(make_group: MakeGroup) -> None:
    """GET /metrics on both members: the primary's view of its mirror, the mirror's lag."""
    import urllib.request

    from integration.nodeproc import free_port_pair
    group = make_group()
    ports = {}
    for name in ("a", "b"):
        ports[name] = free_port_pair()
        path = group.members[name].home / "config.toml"
        text = path.read_text().replace('http = "off"', f'http = "127.0.0.1:{ports[name]}"')
        path.write_text(text)
    a = group.start("a")
    b = group.start("b")
    with a.client() as admin:
        admin.create_handle(f"{PREFIX}/m-1", [url(1, "https://m.example")])
    wait_for("caught up", lambda: _caught_up(group, "b", "a"))

    def metrics(name: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[name]}/metrics",
                                    timeout=5) as answer:
            assert answer.headers["Content-Type"].startswith("text/plain")
            return str(answer.read().decode())
    wait_for("the mirror's figures", lambda: "idnode_replication_lag_transactions{copy=\"mirror\""
             in metrics("b") and (b.status() or {}).get("lag_txns") == 0)
    text = metrics("b")
    assert "idnode_replication_is_primary 0" in text
    assert "idnode_replication_connected{copy=\"mirror\"" in text
    wait_for("the primary's figures", lambda: "mirror=\"300:88.200.1/repl-b\"} 0"
             in metrics("a"))
    assert "idnode_replication_is_primary 1" in metrics("a")
    assert a.node is not None
