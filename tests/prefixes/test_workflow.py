"""The workflow through the HTTP handlers, on SQLite and on PostgreSQL ledgers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from idnode.identifiers.values.admin import AdminData
from idnode.identifiers.values.site import SiteData
from services import drop_postgres_schema, postgres_url

from .forms import ORGANISATION, PHONE, SECRET, VALID_CODES, delegated_form, hosted_form
from .harness import ENTERPRISE_SITES, OPERATOR, SECONDARY_SITE, Node, sqlite_url

BASE = "/api/prefix-applications"
APPLICANT = "300:88.118.77/ADMIN"


@pytest.fixture(params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Node]:
    ledger = None
    if request.param == "postgresql":
        ledger = postgres_url()
    made = Node(sqlite_url(tmp_path), ledger)
    yield made
    made.close()
    if ledger is not None:
        drop_postgres_schema(ledger)


def _apply(node: Node, body: dict[str, object]) -> int:
    status, out = node.call("POST", BASE, body, who=APPLICANT)
    assert status == 201, out
    assert out["application"]["status"] == "pending"
    return int(out["application"]["id"])


def _actions(node: Node, ident: int) -> list[str]:
    status, out = node.call("GET", f"{BASE}/{ident}")
    assert status == 200, out
    assert all(e["actor"] for e in out["audit"])
    return [e["action"] for e in out["audit"]]


def test_hosted_apply_approve_suspend_reinstate_revoke(node: Node) -> None:
    ident = _apply(node, hosted_form())
    status, out = node.call("POST", f"{BASE}/{ident}/approve")
    assert status == 200, out
    assert out["application"]["status"] == "approved"
    record = node.values("0.NA/88.118.77")
    assert record is not None
    assert SiteData.from_bytes(record[1].data) == SECONDARY_SITE
    assert str(AdminData.from_bytes(record[100].data).handle) == "88.118.77/ADMIN"
    assert AdminData.from_bytes(record[100].data).index == 200
    operator = AdminData.from_bytes(record[101].data)
    assert f"{operator.index}:{operator.handle}" == OPERATOR
    admin = node.values("88.118.77/ADMIN")
    assert admin is not None and admin[301].data == SECRET.encode()
    assert admin[301].permissions & 0x02 == 0  # HS_SECKEY not publicly readable
    assert "88.118.77" in node.store.homed_prefixes()
    # the ledger forgets the secret once it is in the identity handle
    assert "secret" not in node.call("GET", f"{BASE}/{ident}")[1]["application"]["form"][
        "admin"]

    assert node.call("POST", f"{BASE}/{ident}/suspend", {"reason": "证照过期"})[0] == 200
    record = node.values("0.NA/88.118.77")
    assert record is not None and 1 not in record and 100 in record
    assert "88.118.77" not in node.store.homed_prefixes()

    assert node.call("POST", f"{BASE}/{ident}/reinstate")[0] == 200
    record = node.values("0.NA/88.118.77")
    assert record is not None and SiteData.from_bytes(record[1].data) == SECONDARY_SITE
    assert "88.118.77" in node.store.homed_prefixes()

    assert node.call("POST", f"{BASE}/{ident}/revoke", {"reason": "企业注销"})[0] == 200
    assert node.values("0.NA/88.118.77") is None
    assert node.values("88.118.77/ADMIN") is None
    assert "88.118.77" not in node.store.homed_prefixes()
    assert _actions(node, ident) == ["apply", "approve", "suspend", "reinstate", "revoke"]
    # a revoked prefix can be applied for again
    _apply(node, hosted_form())


def test_delegated_approval_writes_the_enterprise_sites(node: Node) -> None:
    ident = _apply(node, delegated_form("9", list(ENTERPRISE_SITES)))
    assert node.call("POST", f"{BASE}/{ident}/approve")[0] == 200
    record = node.values("0.NA/88.118.9")
    assert record is not None
    sites = [SiteData.from_bytes(v.data) for v in record.values() if v.type == "HS_SITE"]
    prefix_sites = [v for v in record.values() if v.type == "HS_SITE.PREFIX"]
    assert sites == list(ENTERPRISE_SITES.values()) and len(prefix_sites) == 2
    assert "88.118.9" not in node.store.homed_prefixes()
    assert node.values("88.118.9/ADMIN") is None  # the identity lives on its own node
    node.call("POST", f"{BASE}/{ident}/suspend")
    record = node.values("0.NA/88.118.9")
    assert record is not None
    assert {v.type for v in record.values()} == {"HS_ADMIN"}
    node.call("POST", f"{BASE}/{ident}/reinstate")
    record = node.values("0.NA/88.118.9")
    assert record is not None and len(record) == 6


def test_reject_needs_a_reason_and_records_it(node: Node) -> None:
    ident = _apply(node, hosted_form())
    status, out = node.call("POST", f"{BASE}/{ident}/reject")
    assert status == 400 and "reason" in out["message"]
    status, out = node.call("POST", f"{BASE}/{ident}/reject",
                            {"reason": "营业执照与统一社会信用代码不符"})
    assert status == 200 and out["application"]["status"] == "rejected"
    assert out["application"]["reason"] == "营业执照与统一社会信用代码不符"
    assert node.values("0.NA/88.118.77") is None
    status, out = node.call("POST", f"{BASE}/{ident}/approve")
    assert status == 409 and "rejected" in out["message"]
    assert _actions(node, ident) == ["apply", "reject"]


def test_non_operators_are_refused(node: Node) -> None:
    ident = _apply(node, hosted_form())
    for method, path in (("GET", BASE), ("GET", f"{BASE}/{ident}"),
                         ("POST", f"{BASE}/{ident}/approve")):
        status, out = node.call(method, path, who=APPLICANT)
        assert status == 403 and "not an operator" in out["message"], out
        status, out = node.call(method, path, who=None)
        assert status == 401, out
    assert node.call("POST", BASE, hosted_form("78"), who=None)[0] == 401
    assert node.values("0.NA/88.118.77") is None


def test_listing_and_errors(node: Node) -> None:
    first = _apply(node, hosted_form())
    status, out = node.call("POST", BASE, hosted_form(), who=APPLICANT)
    assert status == 409 and "already has an application" in out["message"]
    status, out = node.call("POST", BASE, hosted_form("78", creditCode="91110108MA01C8D91X"),
                            who=APPLICANT)
    assert status == 400 and "creditCode" in out["message"] and "'R'" in out["message"]
    second = _apply(node, delegated_form("9", ["10.0.0.9:2641"]))
    node.call("POST", f"{BASE}/{second}/approve")
    status, out = node.call("GET", BASE, query="status=pending")
    assert [a["id"] for a in out["applications"]] == [first]
    app = out["applications"][0]
    assert app["form"]["organisation"] == ORGANISATION
    assert app["form"]["creditCode"] == VALID_CODES[0]
    assert app["form"]["contact"]["phone"] == PHONE
    assert app["form"]["admin"]["secret"] == "(withheld)"
    assert node.call("GET", BASE, query="status=nonsense")[0] == 400
    assert node.call("GET", f"{BASE}/999")[0] == 404
    assert node.call("POST", f"{BASE}/{first}/explode")[0] == 400
    assert node.call("DELETE", f"{BASE}/{first}")[0] == 405


def test_applications_and_audit_survive_a_restart(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    node = Node(url)
    ident = _apply(node, hosted_form())
    node.call("POST", f"{BASE}/{ident}/approve")
    node.close()
    again = Node(url, fresh=False)
    try:
        assert _actions(again, ident) == ["apply", "approve"]
        assert again.call("POST", f"{BASE}/{ident}/suspend")[0] == 200
    finally:
        again.close()


def test_real_name_data_is_not_in_any_handle_value(node: Node) -> None:
    ident = _apply(node, hosted_form())
    node.call("POST", f"{BASE}/{ident}/approve")
    for handle in ("0.NA/88.118.77", "88.118.77/ADMIN"):
        values = node.values(handle)
        assert values is not None
        blob = b"".join(v.data for v in values.values())
        for text in (ORGANISATION, VALID_CODES[0], PHONE, "wang@example.cn", "王小明"):
            assert text.encode() not in blob
