"""The receiving API over real sockets: who may report, what is refused and why (401, 403,
400 naming the field, 409 with the expected seq), listing and status, and the sender's
renumbering when the two sides' numbering parted."""

from __future__ import annotations

import asyncio
import http.client
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from idnode.auth.identity import Identity
from idnode.reports import ReportClient
from idnode.reports.files import Outbox
from reports.harness import (
    ADMIN_KEY,
    ENT_ID,
    ENT_KEY,
    OTHER_KEY,
    SOURCE,
    Receiver,
    flush,
    nodes,
)

Client = Callable[..., ReportClient]


@pytest.fixture
def client() -> Iterator[Client]:
    """``client(receiver, identity=ENT_ID, key=ENT_KEY)``; closed after the test."""
    made: list[ReportClient] = []

    def make(receiver: Receiver, identity: str = ENT_ID, key: Any = ENT_KEY) -> ReportClient:
        made.append(ReportClient(receiver.url, Identity.parse(identity), private_key=key,
                                 timeout=5))
        return made[-1]
    yield make
    for done in made:
        done.close()


def post(c: ReportClient, body: Any) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = c.post_report(raw)
    return reply.status, reply.body


def batch(seq: int, stream: str = "registrations", source: str = SOURCE,
          items: Any = None) -> dict[str, Any]:
    return {"source": source, "stream": stream, "seq": seq,
            "items": items if items is not None else [{"kind": "txn", "txn": seq}]}


def test_refusals_name_the_reason(tmp_path: Path, client: Client) -> None:
    with nodes(tmp_path) as (receiver, _):
        # No credentials: 401 with both challenges.
        conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
        conn.request("POST", "/api/reports", json.dumps(batch(1)),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 401
        assert "need credentials" in json.loads(response.read())["message"]
        assert "Handle sessionId" in str(response.headers.get_all("WWW-Authenticate"))
        conn.close()
        # A key that is not the identity's: 401.
        status, body = post(client(receiver, key=OTHER_KEY), batch(1))
        assert status == 401 and "does not verify" in body["message"]
        # An identity that administers nothing: 403.
        status, body = post(client(receiver, "300:88.118/OTHER", OTHER_KEY), batch(1))
        assert status == 403
        assert "no HS_ADMIN value of 0.NA/88.118.8 names it" in body["message"]
        # A source whose prefix record is not held here: only server admins.
        status, body = post(client(receiver), batch(1, source="88.118.77"))
        assert status == 403 and "not held at this node" in body["message"]
        # An admin without MODIFY_VALUE may report, but not routes.
        assert post(client(receiver), batch(1, source="88.118.9"))[0] == 200
        route = [{"kind": "route", "prefix": "88.118.9", "sites": [{"servers": []}]}]
        status, body = post(client(receiver), batch(1, "routes", "88.118.9", route))
        assert status == 403 and "needs MODIFY_VALUE" in body["message"]
        assert receiver.seqs("registrations") == []


def test_server_admin_reports_for_any_source(tmp_path: Path, client: Client) -> None:
    with nodes(tmp_path) as (receiver, _):
        admin = client(receiver, "300:88.118/ADMIN", ADMIN_KEY)
        site = {"primarySite": True, "servers": [{"serverId": 1, "address": "10.9.9.9",
                                                  "interfaces": []}]}
        route = [{"kind": "route", "prefix": "88.118.77", "sites": [site]}]
        status, body = post(admin, batch(1, "routes", "88.118.77", route))
        assert status == 200
        assert body["routes"] == {"88.118.77": "stored only: 0.NA/88.118.77 is not held here"}


def test_seq_rules_and_duplicates(tmp_path: Path, client: Client) -> None:
    with nodes(tmp_path) as (receiver, _):
        c = client(receiver)
        status, body = post(c, batch(3))
        assert status == 409 and body["expected"] == 1
        assert "expected seq 1" in body["message"]
        assert post(c, batch(1)) == (200, {"responseCode": 1, "source": SOURCE,
                                           "stream": "registrations", "seq": 1,
                                           "duplicate": False})
        status, body = post(c, batch(1))
        assert status == 200 and body["duplicate"] is True
        # Same seq, other content: the sender's numbering is not ours.
        status, body = post(c, batch(1, items=[{"kind": "txn", "txn": 99}]))
        assert status == 409 and body["expected"] == 2
        assert "different content" in body["message"]
        assert post(c, batch(2))[0] == 200
        assert receiver.seqs("registrations") == [1, 2]
        assert receiver.seqs("resolutions") == []  # streams count separately


@pytest.mark.parametrize(("body", "field"), [
    (b"{not json", "body: not valid JSON"),
    ([1, 2], "body: expected a JSON object"),
    ({**batch(1), "extra": 1}, "extra: unknown field"),
    ({k: v for k, v in batch(1).items() if k != "seq"}, "seq: missing"),
    (batch(1, stream="logs"), "stream: 'logs' is not one of"),
    ({**batch(1), "seq": 0}, "seq: expected an integer from 1"),
    ({**batch(1), "seq": True}, "seq: expected an integer from 1"),
    (batch(1, source="0.NA"), "source: '0.NA' is not an enterprise prefix"),
    (batch(1, source="88.1/x"), "source: '88.1/x' is not a prefix"),
    (batch(1, items=[]), "items: 0 items; a batch carries 1 to 10000"),
    (batch(1, items=[{"kind": "txn"}] * 10_001), "items: 10001 items"),
    (batch(1, items=[{"kind": "count"}]), "items[0].kind: 'count' is not one of"),
    (batch(1, items=["x"]), "items[0]: expected an object"),
    ({**batch(1), "reporter": "a b"}, "reporter: 'a b' is not a name"),
    (batch(1, "routes", items=[{"kind": "route", "prefix": "88.119", "sites": []}]),
     "items[0].prefix: 88.119 is not 88.118.8 or a prefix below it"),
    (batch(1, "routes", items=[{"kind": "route", "prefix": SOURCE, "sites": []}]),
     "items[0].sites: expected 1 to 16 sites"),
    (batch(1, "routes", items=[{"kind": "route", "prefix": SOURCE,
                                "sites": [{"servers": [{"serverId": 1}]}]}]),
     "items[0].sites[0]"),
])
def test_bad_batches_are_refused_naming_the_field(tmp_path: Path, client: Client,
                                                  body: Any, field: str) -> None:
    with nodes(tmp_path) as (receiver, _):
        status, answer = post(client(receiver), body)
        assert status == 400, answer
        assert field in answer["message"]


def test_listing_and_status(tmp_path: Path, client: Client) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        enterprise.create(2)
        assert asyncio.run(flush(enterprise.reporter(receiver.url))).ok
        enterprise.create(1)
        assert asyncio.run(flush(enterprise.reporter(receiver.url))).ok
        c = client(receiver)
        listed = c.get(f"/api/reports?source={SOURCE}&stream=registrations&limit=1")
        assert listed.status == 200
        assert listed.body["mark"] == 2 and listed.body["next"] == 1
        [first] = listed.body["batches"]
        assert first["seq"] == 1 and first["identity"] == ENT_ID
        assert first["items"][0]["kind"] == "txn"
        rest = c.get(f"/api/reports?source={SOURCE}&stream=registrations&after=1")
        assert [b["seq"] for b in rest.body["batches"]] == [2] and "next" not in rest.body
        own = c.get(f"/api/reports/status?source={SOURCE}")
        assert {(s["stream"], s["mark"]) for s in own.body["streams"]} == {
            ("registrations", 2), ("metadata", 2), ("routes", 1)}
        # Everyone's status is for server admins; another source's batches for its admins.
        assert c.get("/api/reports/status").status == 403
        assert c.get("/api/reports?source=88.200.1&stream=routes").status == 403
        assert c.get(f"/api/reports?source={SOURCE}&stream=x").status == 400
        admin = client(receiver, "300:88.118/ADMIN", ADMIN_KEY)
        assert len(admin.get("/api/reports/status").body["streams"]) == 3


def test_sender_renumbers_when_the_receiver_expects_other_seqs(tmp_path: Path) -> None:
    with nodes(tmp_path) as (receiver, enterprise):
        enterprise.create(1)
        streams = ("registrations",)
        assert asyncio.run(flush(enterprise.reporter(receiver.url, streams=streams))).ok
        enterprise.create(1)
        assert asyncio.run(flush(enterprise.reporter(receiver.url, streams=streams))).ok
        # The sender's state is lost: it starts again at seq 1 with other content.
        shutil.rmtree(enterprise.home / "reports")
        result = asyncio.run(flush(enterprise.reporter(receiver.url, streams=streams)))
        assert result.ok and result.sent == {"registrations": [3]}
        assert receiver.seqs("registrations") == [1, 2, 3]
        # A new receiver (empty inbox) expects seq 1 where the sender is at 4.
        fresh = Receiver(tmp_path / "fresh", f"sqlite:///{tmp_path / 'fresh.db'}")
        try:
            fresh.start()
            enterprise.create(1)
            result = asyncio.run(flush(enterprise.reporter(fresh.url, streams=streams)))
            assert result.sent == {"registrations": [1]}
            assert fresh.seqs("registrations") == [1]
            status = {s["stream"]: s for s in Outbox(enterprise.home).summary()}
            assert status["registrations"]["next_seq"] == 2
            assert "seq 4 became 1" in status["registrations"]["renumbered"]
        finally:
            fresh.close()
