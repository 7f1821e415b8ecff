"""The secondary-node (SNMS) API over real HTTP: tokens, templates, registration, batches."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from idnode.auth.identity import Identity
from idnode.errors import InvalidCredential
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.rights import RIGHTS_INDEX, RIGHTS_TYPE
from idnode.snms.tokens import (
    CHINA_STANDARD_TIME,
    TokenIssuer,
    hashed_password,
    hashed_password_dates,
)
from snms.snms_harness import APP, APP_SECRET, NOBODY_SECRET, Snms, snms_node

APP_IDENTITY = Identity(APP, 301)
TEMPLATE: dict[str, Any] = {
    "prefix": "TEST", "version": "1.0", "type": 2, "description": "电动工具 power tools",
    "items": [
        {"name": "产品名称", "idType": "productName", "idIndex": 2000, "required": True,
         "metadata": {"type": "string", "minLength": 1, "maxLength": 20}},
        {"name": "生产日期", "idType": "productionDate", "idIndex": 2001,
         "metadata": {"type": "date", "dateFormat": "YYYY-MM-DD"}}]}


def reg(handle: str, name: str = "小型机械01", date: str | None = None) -> dict[str, Any]:
    value = [{"index": 2000, "type": "productName", "auth": "",
              "data": {"format": "string", "value": name}}]
    if date is not None:
        value.append({"index": 2001, "type": "productionDate", "auth": "",
                      "data": {"format": "string", "value": date}})
    return {"handle": handle, "templateVersion": "1.0", "value": value}


def run(tmp_path: Path, scenario: Callable[[Snms], Awaitable[None]]) -> None:
    async def main() -> None:
        async with snms_node(tmp_path) as snms:
            await scenario(snms)
    asyncio.run(main())


async def published(snms: Snms) -> None:
    snms.token = await snms.login(APP, APP_SECRET)
    answer = await snms.call("POST", "/snms/api/v5/template", {**TEMPLATE,
                                                                "status": "published"})
    assert answer["status"] == 1, answer


def test_tokens(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        token = await snms.login(f"301:{APP}", APP_SECRET)
        bare = await snms.login(APP, APP_SECRET)  # a bare handle means index 301
        for t in (token, bare):
            answer = await snms.call("GET", "/identityv2/data/detail?handle=TEST/Doc", token=t)
            assert answer["status"] == 1, answer
        wrong = await snms.call("POST", "/identity/token",
                                {"username": APP, "password": "nope"}, token="")
        assert wrong["status"] == -1 and "login failed" in wrong["message"]
        today = datetime.now(CHINA_STANDARD_TIME).date().isoformat()
        hashed = await snms.call("POST", "/identity/token/v1", {
            "username": APP, "password": hashed_password(APP_SECRET.encode(), today)},
            token="")
        assert hashed["status"] == 1, hashed
        stale = await snms.call("POST", "/identity/token/v1", {
            "username": APP, "password": hashed_password(APP_SECRET.encode(), "2001-01-01")},
            token="")
        assert stale["status"] == -1
        for bad in (None, "", "garbage", token[:-2] + "xx"):
            answer = await snms.call("GET", "/identityv2/data/detail?handle=TEST/Doc",
                                     token=bad)
            assert answer["status"] == -1, (bad, answer)
        # An expired token: signed with the node's key but issued 25 h ago.
        issuer = snms.web.app.snms.tokens  # type: ignore[union-attr]
        identity, fingerprint = issuer.open(token)
        old = issuer.issue(identity, fingerprint, now=time.time() - 25 * 3600)
        answer = await snms.call("GET", "/identityv2/data/detail?handle=TEST/Doc", token=old)
        assert answer["status"] == -1 and "expired" in answer["message"]
    run(tmp_path, scenario)


def test_hashed_dates_around_midnight() -> None:
    midnight = datetime(2026, 3, 2, tzinfo=CHINA_STANDARD_TIME)
    assert hashed_password_dates((midnight + timedelta(hours=12)).timestamp()) == \
        ["2026-03-02"]
    assert hashed_password_dates((midnight + timedelta(minutes=5)).timestamp()) == \
        ["2026-03-01", "2026-03-02"]
    # 16:00 UTC is midnight in China: the date is China's, not UTC's.
    assert hashed_password_dates((midnight + timedelta(hours=1)).timestamp()) == \
        ["2026-03-02"]
    mine, other = TokenIssuer(b"this node"), TokenIssuer(b"another node")
    token = other.issue(APP_IDENTITY, "fp")
    with pytest.raises(InvalidCredential):
        mine.open(token)
    assert mine.open(mine.issue(APP_IDENTITY, "fp")) == (APP_IDENTITY, "fp")


def test_templates(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        snms.token = await snms.login(APP, APP_SECRET)
        added = await snms.call("POST", "/snms/api/v5/template", TEMPLATE)
        assert added["status"] == 1 and added["data"]["status"] == "draft", added
        again = await snms.call("POST", "/snms/api/v5/template", TEMPLATE)
        assert again["status"] == -2 and "已存在" in again["message"]
        bad = await snms.call("POST", "/snms/api/v5/template",
                              {**TEMPLATE, "version": "2", "items": [{"name": "x"}]})
        assert bad["status"] == -2 and "items[0]" in bad["message"], bad
        got = await snms.call("GET", "/snms/api/v5/template?prefix=TEST&version=1.0")
        assert got["status"] == 1 and got["data"]["items"][0]["idType"] == "productName"
        # A draft is editable; registering against it is refused until it is published.
        edited = {**TEMPLATE, "description": "edited"}
        answer = await snms.call("PUT", "/snms/api/v5/template", edited)
        assert answer["status"] == 1 and answer["data"]["description"] == "edited"
        answer = await snms.call("POST", "/identityv2/data", reg("TEST/t1"))
        assert answer["status"] == -2 and "published" in answer["message"], answer
        answer = await snms.call("PUT", "/snms/api/v5/template", {**edited, "state":
                                                                   "published"})
        assert answer["status"] == 1 and answer["data"]["status"] == "published", answer
        frozen = await snms.call("PUT", "/snms/api/v5/template",
                                 {**edited, "description": "again"})
        assert frozen["status"] == -2 and "draft" in frozen["message"], frozen
        assert (await snms.call("POST", "/identityv2/data", reg("TEST/t1")))["status"] == 1
        refused = await snms.call("DELETE", "/snms/api/v5/template?prefix=TEST&version=1.0")
        assert refused["status"] == -2 and "withdraw" in refused["message"]
        answer = await snms.call("PUT", "/snms/api/v5/template", {**edited, "status":
                                                                   "withdrawn"})
        assert answer["data"]["status"] == "withdrawn", answer
        answer = await snms.call("POST", "/identityv2/data", reg("TEST/t2"))
        assert answer["status"] == -2 and "withdrawn" in answer["message"]
        gone = await snms.call("DELETE", "/snms/api/v5/template?prefix=TEST&version=1.0")
        assert gone["status"] == 1, gone
        missing = await snms.call("GET", "/snms/api/v5/template?prefix=TEST&version=1.0")
        assert missing["status"] == -2 and "模板不存在" in missing["message"]
    run(tmp_path, scenario)


def test_register_update_detail_delete(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        await published(snms)
        ok = await snms.call("POST", "/identityv2/data", reg("TEST/p1", date="2024-06-23"))
        assert ok["status"] == 1, ok
        detail = await snms.call("GET", "/identityv2/data/detail?handle=TEST/p1")
        assert detail["status"] == 1, detail
        data = detail["data"]
        assert data["templateVersion"] == "1.0"
        by_index = {v["index"]: v for v in data["value"]}
        assert by_index[2000]["data"] == {"format": "string", "value": "小型机械01"}
        assert by_index[1000]["data"]["value"] == "TEST/META_1.0"
        # Invalid per the template: the message names the field.
        too_long = await snms.call("POST", "/identityv2/data", reg("TEST/p2", "x" * 21))
        assert too_long["status"] == -2 and "productName" in too_long["message"]
        bad_date = await snms.call("POST", "/identityv2/data", reg("TEST/p2", date="23/06"))
        assert bad_date["status"] == -2 and "productionDate" in bad_date["message"]
        missing = await snms.call("POST", "/identityv2/data",
                                  {**reg("TEST/p2"), "value": []})
        assert missing["status"] == -2 and "required" in missing["message"]
        reserved = await snms.call("POST", "/identityv2/data", {**reg("TEST/p2"), "value": [
            {"index": 1001, "type": "TEMPLATE", "data": {"format": "string", "value": "x"}}]})
        assert reserved["status"] == -2 and "1001" in reserved["message"]
        # Idempotent retry: same content succeeds, other content is 已存在.
        retry = await snms.call("POST", "/identityv2/data", reg("TEST/p1", date="2024-06-23"))
        assert retry["status"] == 1 and "same content" in retry["message"], retry
        clash = await snms.call("POST", "/identityv2/data", reg("TEST/p1", "other"))
        assert clash["status"] == -2 and "已存在" in clash["message"], clash
        # Update, then delete.
        updated = await snms.call("PUT", "/identityv2/data", reg("TEST/p1", "新名称"))
        assert updated["status"] == 1, updated
        detail = await snms.call("GET", "/identityv2/data/detail?handle=TEST/p1")
        values = {v["index"]: v["data"]["value"] for v in detail["data"]["value"]}
        assert values[2000] == "新名称" and 2001 not in values
        nothere = await snms.call("PUT", "/identityv2/data", reg("TEST/none"))
        assert nothere["status"] == -2 and "不存在" in nothere["message"]
        deleted = await snms.call("DELETE", "/identityv2/data", {"handle": "TEST/p1"})
        assert deleted["status"] == 1, deleted
        again = await snms.call("DELETE", "/identityv2/data", {"handle": "TEST/p1"})
        assert again["status"] == -2 and "不存在" in again["message"], again
        detail = await snms.call("GET", "/identityv2/data/detail?handle=TEST/p1")
        assert detail["status"] == -2
    run(tmp_path, scenario)


def test_batches(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        await published(snms)
        items = [reg(f"TEST/b{n}") for n in range(300)]
        items[7] = reg("TEST/b7", "x" * 50)  # one bad item
        items[9] = {"handle": "TEST/b9"}     # another
        answer = await snms.call("POST", "/identityv2/data/batchCreate", items)
        assert answer["status"] == -2 and answer["message"].startswith("2 of 300"), answer
        results = answer["data"]
        assert len(results) == 300
        assert [r["handle"] for r in results] == [i["handle"] for i in items]
        assert results[7]["code"] == -2 and "productName" in results[7]["msg"]
        assert results[9]["code"] == -2 and "templateVersion" in results[9]["msg"]
        assert all(r["code"] == 1 for n, r in enumerate(results) if n not in (7, 9))
        # Retrying the whole batch: same content succeeds item by item.
        items[7], items[9] = reg("TEST/b7"), reg("TEST/b9")
        answer = await snms.call("POST", "/identityv2/data/batchCreate", items)
        assert answer["status"] == 1, answer
        assert "same content" in answer["data"][0]["msg"]
        updated = await snms.call("PUT", "/identityv2/data/batchUpdate",
                                  [reg("TEST/b1", "改"), reg("TEST/zz")])
        assert [r["code"] for r in updated["data"]] == [1, -2], updated
        deleted = await snms.call("DELETE", "/identityv2/data/batchDelete",
                                  ["TEST/b1", "TEST/b2", "TEST/zz"])
        assert [r["code"] for r in deleted["data"]] == [1, 1, -2], deleted
        over = await snms.call("POST", "/identityv2/data/batchCreate",
                               [reg(f"TEST/o{n}") for n in range(2001)])
        assert over["status"] == -2 and "2000" in over["message"] and over["data"] is None
        assert snms.web.store.get_record("test/o0") is None
    run(tmp_path, scenario)


def test_batch_items_that_meet_each_other_or_stored_records(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        await published(snms)
        assert (await snms.call("POST", "/identityv2/data", reg("TEST/old", "旧")))["status"] == 1
        items = [reg("TEST/d1"), reg("TEST/d1"),           # the same twice: a retry
                 reg("TEST/d2"), reg("TEST/d2", "别的"),    # then other content
                 reg("TEST/old", "新"),                     # stored with other content
                 reg("99.9/elsewhere"),                     # a prefix not homed here
                 reg("TEST/d3", date="2024-13-40")]         # a bad date
        answer = await snms.call("POST", "/identityv2/data/batchCreate", items)
        codes = [r["code"] for r in answer["data"]]
        assert codes == [1, 1, 1, -2, -2, -2, -2], answer
        msgs = [r["msg"] for r in answer["data"]]
        assert "same content" in msgs[1] and "已存在" in msgs[3] and "已存在" in msgs[4]
        assert "productionDate" in msgs[6]
        # the batch's records are resolvable at once (the caches saw the commit)
        detail = await snms.call("GET", "/identityv2/data/detail?handle=TEST/d2")
        names = [v["data"]["value"] for v in detail["data"]["value"] if v["index"] == 2000]
        assert detail["status"] == 1 and names == ["小型机械01"], detail
        stored = snms.web.store.get_record("TEST/old")
        assert stored is not None and stored.value(2000).data == "旧".encode()  # kept
    run(tmp_path, scenario)


def test_an_update_keeps_the_data_rights(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        await published(snms)
        assert (await snms.call("POST", "/identityv2/data", reg("TEST/scoped")))["status"] == 1
        rights = json.dumps({"readerScope": 2, "handleUserReaders": ["300:TEST/NOBODY"]})
        snms.web.store.add_values(Handle.parse("TEST/scoped"), [
            HandleValue(RIGHTS_INDEX, RIGHTS_TYPE, rights.encode(), permissions=0x0C)])
        answer = await snms.call("PUT", "/identityv2/data", reg("TEST/scoped", "改过"))
        assert answer["status"] == 1, answer
        record = snms.web.store.get_record("TEST/scoped")
        assert record is not None and record.value(RIGHTS_INDEX) is not None  # still scoped
        business = record.value(2000)
        assert business is not None and business.data == "改过".encode()
        assert not business.public_read  # the scope (2) applies to the new values
    run(tmp_path, scenario)


def test_permissions(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        await published(snms)
        nobody = await snms.login("TEST/NOBODY", NOBODY_SECRET)
        answer = await snms.call("POST", "/identityv2/data", reg("TEST/n1"), token=nobody)
        assert answer["status"] == -3, answer
        batch = await snms.call("POST", "/identityv2/data/batchCreate",
                                [reg("TEST/n2"), reg("TEST/n3")], token=nobody)
        assert [r["code"] for r in batch["data"]] == [-3, -3], batch
        template = await snms.call("POST", "/snms/api/v5/template",
                                   {**TEMPLATE, "version": "9"}, token=nobody)
        assert template["status"] == -3, template
        assert (await snms.call("POST", "/identityv2/data", reg("TEST/mine")))["status"] == 1
        for method, path, body in (("PUT", "/identityv2/data", reg("TEST/mine", "x")),
                                   ("DELETE", "/identityv2/data", {"handle": "TEST/mine"})):
            answer = await snms.call(method, path, body, token=nobody)
            assert answer["status"] == -3, answer
        edit = await snms.call("PUT", "/snms/api/v5/template",
                               {**TEMPLATE, "status": "withdrawn"}, token=nobody)
        assert edit["status"] == -3, edit
    run(tmp_path, scenario)
