"""Reports from an enterprise node to a secondary node over real loopback sockets: every
stream's content, exactly-once delivery through outages and lost acknowledgements, routes
written into the receiver's prefix record, and the transaction-log gap item."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from idnode.identifiers.handle import Handle
from idnode.identifiers.jsonvalue import site_to_json
from idnode.reports import ReceiverUnreachable, Reply, ReportClient
from idnode.reports.files import Outbox
from reports.harness import (
    MIRROR_SITE,
    NEW_SITE,
    SOURCE,
    Enterprise,
    Receiver,
    flush,
    nodes,
)
from services import drop_postgres_schema, postgres_url

STREAMS = ("registrations", "resolutions", "metadata", "routes")


def _txn_handles(receiver: Receiver) -> list[str]:
    """The handles created under the source, in report order (prefix handle aside)."""
    return [i["handle"] for i in receiver.items("registrations")
            if i["kind"] == "txn" and i["op"] == "create" and i["handle"].startswith(SOURCE)]


def _txn_ids(receiver: Receiver) -> list[int]:
    return [i["txn"] for i in receiver.items("registrations") if i["kind"] == "txn"]


def _check_all_streams(receiver: Receiver, enterprise: Enterprise) -> None:
    enterprise.create(3)
    enterprise.create(2, prefix="88.200.1")  # another prefix: never reported
    enterprise.log(5)
    enterprise.log(2, handle=f"0.NA/{SOURCE}")
    enterprise.log(1, handle="88.200.1/P9", rc=100)
    result = asyncio.run(flush(enterprise.reporter(receiver.url)))
    assert result.ok, result.errors
    assert result.pending == {}
    for stream in STREAMS:
        assert receiver.seqs(stream) == [1], stream

    txns = [i for i in receiver.items("registrations") if i["kind"] == "txn"]
    assert [(t["op"], t["handle"]) for t in txns] == [
        ("home", f"0.NA/{SOURCE}"), ("create", f"0.NA/{SOURCE}"),
        ("create", f"{SOURCE}/P1"), ("create", f"{SOURCE}/P2"), ("create", f"{SOURCE}/P3")]
    assert txns[2]["values"] == [[1, "URL"], [2000, "productName"]]
    assert txns[1]["values"] == [[1, "HS_SITE"]]
    assert all("data" not in str(t) and "example.com" not in str(t) for t in txns)
    assert [t["txn"] for t in txns] == sorted(t["txn"] for t in txns)

    counts = {(i["prefix"], i["op"], i["code"]): i["count"]
              for i in receiver.items("resolutions")}
    assert counts == {(SOURCE, "RESOLUTION", 1): 5, (f"0.NA/{SOURCE}", "RESOLUTION", 1): 2,
                      ("-", "RESOLUTION", 100): 1}
    minutes = {i["minute"] for i in receiver.items("resolutions")}
    assert all(len(m) == 17 and m.endswith("Z") for m in minutes)

    [snapshot] = receiver.items("metadata")
    assert snapshot["role"] == "enterprise"
    assert snapshot["prefixes"] == [{"prefix": SOURCE, "handles": 3}]

    [route] = receiver.items("routes")
    assert route == {"kind": "route", "prefix": SOURCE, "sites": [site_to_json(NEW_SITE)]}


def test_every_stream_arrives_with_its_content(tmp_path: Path) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        _check_all_streams(receiver, enterprise)
        # Nothing changed: nothing is sent, the snapshots are not repeated.
        result = asyncio.run(flush(enterprise.reporter(receiver.url)))
        assert result.ok and result.built == {}
        # A new handle: one registrations batch and a new metadata snapshot, no route.
        enterprise.create(1)
        result = asyncio.run(flush(enterprise.reporter(receiver.url)))
        assert result.sent == {"registrations": [2], "metadata": [2]}
        assert receiver.items("metadata")[-1]["prefixes"] == [{"prefix": SOURCE,
                                                                "handles": 4}]


@pytest.mark.postgres
def test_every_stream_arrives_at_a_postgresql_receiver(tmp_path: Path) -> None:
    url = postgres_url()
    try:
        with nodes(tmp_path, url) as (receiver, enterprise):
            _check_all_streams(receiver, enterprise)
            assert [s for _, s in receiver.sites()] == [NEW_SITE, MIRROR_SITE]
    finally:
        drop_postgres_schema(url)


def test_routes_report_rewrites_hs_site_of_the_prefix_record(tmp_path: Path) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        before = receiver.store.last_txn_id()
        result = asyncio.run(flush(enterprise.reporter(receiver.url, streams=("routes",))))
        assert result.sent == {"routes": [1]}
        # The primary site is replaced in place (index 1); the mirror is kept.
        assert receiver.sites() == [(1, NEW_SITE), (2, MIRROR_SITE)]
        record = receiver.store.get_record(Handle.parse(f"0.NA/{SOURCE}").key)
        assert record is not None and len([v for v in record.values
                                           if v.type == "HS_ADMIN"]) == 3
        # Written through the node's write path: the receiver's transaction log has it.
        [txn] = receiver.store.txns_after(before)
        assert txn.handle == f"0.NA/{SOURCE}"
        # Resolvable at once through the receiver's cached records (the write invalidated).
        async def cached() -> object:
            return await receiver.parts.records.get(Handle.parse(f"0.NA/{SOURCE}").key)
        fresh = asyncio.run_coroutine_threadsafe(cached(), receiver.loop).result(5)
        assert fresh == record


def test_outage_accumulates_batches_then_delivers_them_in_order_once(tmp_path: Path) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        enterprise.create(1)
        enterprise.log(1)
        assert asyncio.run(flush(enterprise.reporter(receiver.url))).ok
        receiver.stop()  # the port now refuses connections
        for cycle in range(3):
            enterprise.create(2)
            enterprise.log(4)
            result = asyncio.run(flush(enterprise.reporter(receiver.url)))
            assert not result.ok
            assert "cannot reach" in next(iter(result.errors.values()))
            assert result.pending["registrations"] == cycle + 1
            assert result.pending["resolutions"] == cycle + 1
        status = {s["stream"]: s for s in Outbox(enterprise.home).summary()}
        assert status["registrations"]["pending"] == 3
        assert status["registrations"]["oldest_pending_seq"] == 2
        assert "cannot reach" in status["registrations"]["last_error"]

        receiver.start()  # same port
        result = asyncio.run(flush(enterprise.reporter(receiver.url)))
        assert result.ok and result.pending == {}
        assert result.sent["registrations"] == [2, 3, 4]
        assert receiver.seqs("registrations") == [1, 2, 3, 4]
        assert receiver.seqs("resolutions") == [1, 2, 3, 4]
        assert Counter(_txn_ids(receiver)).most_common(1)[0][1] == 1  # none twice
        assert _txn_handles(receiver) == [f"{SOURCE}/P{n}" for n in range(1, 8)]
        total = sum(i["count"] for i in receiver.items("resolutions"))
        assert total == 13
        assert Outbox(enterprise.home).pending("registrations") == []


class _LosesAcks(ReportClient):
    """Delivers the first ``lose`` batches, then fails as if the answer never came (the
    sender crashed, or the connection dropped, after the receiver stored the batch)."""

    def __init__(self, *args: object, lose: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lose = lose

    def post_report(self, body: bytes) -> Reply:
        reply = super().post_report(body)
        if self.lose > 0:
            self.lose -= 1
            raise ReceiverUnreachable(url=self.url, reason="connection reset (simulated)")
        return reply


def test_batch_stored_before_a_lost_ack_is_resent_and_kept_once(tmp_path: Path) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        enterprise.create(2)
        from idnode.auth.identity import Identity
        from reports.harness import ENT_ID, ENT_KEY
        losing = _LosesAcks(receiver.url, Identity.parse(ENT_ID), private_key=ENT_KEY,
                            lose=1)
        result = asyncio.run(flush(enterprise.reporter(receiver.url, client=losing,
                                                       streams=("registrations",))))
        assert not result.ok and result.pending == {"registrations": 1}
        assert receiver.seqs("registrations") == [1]  # the receiver has it already

        # "After the restart": a new reporter re-sends the identical pending batch.
        result = asyncio.run(flush(enterprise.reporter(receiver.url,
                                                       streams=("registrations",))))
        assert result.ok
        assert result.duplicates == {"registrations": [1]}
        assert receiver.seqs("registrations") == [1]
        assert _txn_handles(receiver) == [f"{SOURCE}/P1", f"{SOURCE}/P2"]  # once each
        enterprise.create(1)
        result = asyncio.run(flush(enterprise.reporter(receiver.url,
                                                       streams=("registrations",))))
        assert result.sent == {"registrations": [2]}


def test_servers_of_one_site_report_for_the_source_apart(tmp_path: Path) -> None:
    with nodes(tmp_path) as (receiver, first):
        second = Enterprise(tmp_path / "server2")  # its own store: its share of handles
        try:
            first.create(2)
            second.create(3)
            for server, name in ((first, "s1"), (second, "s2"), (first, "s1")):
                reporter = server.reporter(receiver.url, reporter=name,
                                           streams=("registrations",))
                assert asyncio.run(flush(reporter)).ok
            assert receiver.seqs("registrations", "s1") == [1]
            assert receiver.seqs("registrations", "s2") == [1]
            assert receiver.seqs("registrations") == []
            created = [i["handle"] for i in receiver.items("registrations", "s2")
                       if i["kind"] == "txn" and i["handle"].startswith(SOURCE)]
            assert created == [f"{SOURCE}/P1", f"{SOURCE}/P2", f"{SOURCE}/P3"]
        finally:
            second.close()


def test_pruned_log_is_reported_as_a_gap(tmp_path: Path) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        enterprise.create(1)
        reporter = enterprise.reporter(receiver.url, streams=("registrations",))
        assert asyncio.run(flush(reporter)).ok
        cursor = enterprise.store.last_txn_id()
        enterprise.create(5)
        enterprise.prune_log(cursor + 3)  # three entries never reported are gone
        result = asyncio.run(flush(enterprise.reporter(receiver.url,
                                                       streams=("registrations",))))
        assert result.ok
        items = receiver.items("registrations")
        gap = items[-3]
        assert gap["kind"] == "gap"
        assert (gap["first"], gap["last"]) == (cursor + 1, cursor + 3)
        assert [i["txn"] for i in items[-2:]] == [cursor + 4, cursor + 5]


def test_reporting_with_a_secret_over_basic(tmp_path: Path) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        enterprise.create(1)
        reporter = enterprise.reporter(receiver.url, identity="301:88.118/ENT8",
                                       private_key=None, secret_file=enterprise.secret_file)
        result = asyncio.run(flush(reporter))
        assert result.ok, result.errors
        assert receiver.seqs("registrations") == [1]


def test_https_with_the_receivers_certificate_pinned(tmp_path: Path) -> None:
    with nodes(tmp_path, tls=True) as (receiver, enterprise):
        enterprise.create(1)
        pinned = enterprise.reporter(receiver.url, certificate=receiver.home / "tls.crt",
                                     streams=("registrations",))
        result = asyncio.run(flush(pinned))
        assert result.ok, result.errors
        # Without the pin the self-signed certificate is not trusted: nothing is sent.
        enterprise.create(1)
        unpinned = enterprise.reporter(receiver.url, streams=("registrations",))
        result = asyncio.run(flush(unpinned))
        assert "CERTIFICATE_VERIFY_FAILED" in result.errors["registrations"]
        assert receiver.seqs("registrations") == [1]


def test_run_reports_on_its_schedule_and_retries_while_the_receiver_is_down(
        tmp_path: Path) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        receiver.stop()
        enterprise.create(1)

        async def scenario() -> None:
            reporter = enterprise.reporter(receiver.url, streams=("registrations",))
            task = asyncio.create_task(reporter.run())
            try:
                await asyncio.sleep(1.2)  # a cycle or two against the closed port
                assert Outbox(enterprise.home).pending("registrations") == [1]
                await asyncio.to_thread(receiver.start)
                enterprise.create(1)
                for _ in range(60):
                    if len(_txn_handles(receiver)) == 2:
                        break
                    await asyncio.sleep(0.1)
            finally:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await reporter.close()

        asyncio.run(scenario())
        assert _txn_handles(receiver) == [f"{SOURCE}/P1", f"{SOURCE}/P2"]
        seqs = receiver.seqs("registrations")
        assert seqs == list(range(1, len(seqs) + 1))
