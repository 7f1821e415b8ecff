"""Template copies (复制), grants (授权), unique items (唯一), type-5 references and the older
SNMS paths, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from idnode.identifiers.handle import Handle
from idnode.identifiers.value import PERM_SECRET, HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from snms.snms_harness import APP, APP_SECRET, Snms, snms_node

OTHER, OTHER_SECRET = "88.1/APP2", "other-secret"
T = "/snms/api/v5/template"
ITEMS: list[dict[str, Any]] = [
    {"name": "产品名称", "idType": "productName", "idIndex": 2000, "required": True,
     "metadata": {"type": "string", "maxLength": 20}}]
SERIAL: list[dict[str, Any]] = [
    {"name": "序列号", "idType": "serial", "idIndex": 2000, "required": True, "unique": True,
     "metadata": {"type": "string", "maxLength": 40}},
    {"name": "备注", "idType": "note", "idIndex": 2001}]


def body(prefix: str, version: str, items: list[dict[str, Any]] | None = None,
         status: str = "published", **extra: Any) -> dict[str, Any]:
    return {"prefix": prefix, "version": version, "type": 2, "status": status,
            "items": ITEMS if items is None else items, **extra}


def value(index: int, type_: str, text: str) -> dict[str, Any]:
    return {"index": index, "type": type_, "auth": "",
            "data": {"format": "string", "value": text}}


def reg(handle: str, version: str, *values: dict[str, Any]) -> dict[str, Any]:
    return {"handle": handle, "templateVersion": version,
            "value": list(values) or [value(2000, "productName", "机床")]}


def serial(handle: str, text: str, version: str = "s1") -> dict[str, Any]:
    return reg(handle, version, value(2000, "serial", text))


def run(tmp_path: Path, scenario: Callable[[Snms], Awaitable[None]],
        index_types: tuple[str, ...] = ("URL", "CHECKSUM")) -> None:
    async def main() -> None:
        async with snms_node(tmp_path, index_types=index_types) as snms:
            # A second enterprise: prefix 88.1 administered by 88.1/APP2.
            store = snms.web.store
            store.create_handle(Handle.parse(OTHER), [HandleValue(
                301, "HS_SECKEY", OTHER_SECRET.encode(), permissions=PERM_SECRET)])
            admin = HandleValue(100, "HS_ADMIN", AdminData(ALL_PERMISSIONS, OTHER, 301)
                                .to_bytes())
            if store.get_record("0.NA/88.1") is None:
                store.create_handle(Handle.parse("0.NA/88.1"), [admin])
            else:
                store.add_values(Handle.parse("0.NA/88.1"), [HandleValue(
                    102, "HS_ADMIN", admin.data)])
            snms.token = await snms.login(APP, APP_SECRET)
            await scenario(snms)
    asyncio.run(main())


async def ok(snms: Snms, method: str, path: str, data: Any = None, *,
             token: str | None = None) -> Any:
    answer = await snms.call(method, path, data, token=token)
    assert answer["status"] == 1, (method, path, answer)
    return answer["data"]


async def refused(snms: Snms, status: int, method: str, path: str, data: Any = None, *,
                  token: str | None = None) -> str:
    answer = await snms.call(method, path, data, token=token)
    assert answer["status"] == status, (method, path, answer)
    message: str = answer["message"]
    return message


def test_copy_and_grant(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        other = await snms.login(OTHER, OTHER_SECRET)
        await ok(snms, "POST", T, body("TEST", "1.0", code="tool"))
        await ok(snms, "POST", T, body("TEST", "draft", status="draft"))
        copy = {"from": {"prefix": "TEST", "version": "1.0"}, "prefix": "88.1",
                "version": "c1"}
        # Not granted: no copy, no registration, no look at the grant list.
        message = await refused(snms, -3, "POST", f"{T}/baseon-create", copy, token=other)
        assert "not granted" in message or "neither" in message, message
        message = await refused(snms, -3, "POST", "/identityv2/data",
                                reg("88.1/r0", "TEST/1.0"), token=other)
        assert "授权" in message and "88.1" in message, message
        await refused(snms, -3, "GET", f"{T}/grant?prefix=TEST&version=1.0", token=other)
        await refused(snms, -3, "POST", f"{T}/grant", {"prefix": "TEST", "version": "1.0",
                                                       "grants": [OTHER]}, token=other)
        # The owner grants to the identity 88.1/APP2 (any index).
        granted = await ok(snms, "POST", f"{T}/grant",
                           {"prefix": "TEST", "version": "1.0", "grants": [OTHER]})
        assert granted == {"prefix": "TEST", "version": "1.0", "grants": [OTHER]}
        assert (await ok(snms, "GET", f"{T}/grant/info?prefix=TEST&version=1.0"))[
            "grants"] == [OTHER]
        # The grant list is not public: the template record's detail does not show it.
        detail = await ok(snms, "GET", "/identityv2/data/detail?handle=TEST/META_1.0",
                          token=other)
        assert all(v["index"] != 2 for v in detail["value"]), detail
        # Copy: a draft of 88.1 with the same items; edits of the copy are its own.
        made = await ok(snms, "POST", f"{T}/baseon-create", copy, token=other)
        assert (made["prefix"], made["version"], made["status"], made["code"]) == (
            "88.1", "c1", "draft", "tool")
        got = await ok(snms, "GET", f"{T}?prefix=88.1&version=c1", token=other)
        assert got["items"] == (await ok(snms, "GET", f"{T}?prefix=TEST&version=1.0"))["items"]
        again = {**copy, "version": "c2", "code": "", "description": "副本"}
        made = await ok(snms, "POST", f"{T}/copy", again, token=other)  # the alias
        assert "code" not in made and made["description"] == "副本"
        # ... but only into a prefix it administers, and only of published versions.
        await refused(snms, -3, "POST", f"{T}/baseon-create",
                      {**copy, "prefix": "TEST", "version": "c3"}, token=other)
        message = await refused(snms, -2, "POST", f"{T}/baseon-create",
                                {"from": {"prefix": "TEST", "version": "draft"},
                                 "prefix": "TEST", "version": "c4"})
        assert "published" in message, message
        await refused(snms, -2, "POST", f"{T}/baseon-create", {"prefix": "88.1"},
                      token=other)
        # Registering under 88.1 with the granted template, named two ways.
        await ok(snms, "POST", "/identityv2/data", reg("88.1/r1", "TEST/1.0"), token=other)
        await ok(snms, "POST", "/identityv2/data", reg("88.1/r2", "TEST/META_1.0"),
                 token=other)
        detail = await ok(snms, "GET", "/identityv2/data/detail?handle=88.1/r1", token=other)
        assert detail["templateVersion"] == "TEST/1.0"
        assert {v["index"]: v["data"]["value"] for v in detail["value"]}[1000] == \
            "TEST/META_tool"
        await ok(snms, "PUT", "/identityv2/data", reg("88.1/r1", detail["templateVersion"],
                                                      value(2000, "productName", "新")),
                 token=other)
        # Withdrawn grant: refused again; a grant to the prefix works for any identity.
        left = await ok(snms, "POST", f"{T}/grant", {"prefix": "TEST", "version": "1.0",
                                                     "remove": [OTHER.lower().replace(
                                                         "app2", "APP2")]})
        assert left["grants"] == []
        await refused(snms, -3, "POST", "/identityv2/data", reg("88.1/r3", "TEST/1.0"),
                      token=other)
        added = await ok(snms, "POST", f"{T}/grant", {"prefix": "TEST", "version": "1.0",
                                                      "add": ["88.1", "301:88.1/x"]})
        assert added["grants"] == ["88.1", "301:88.1/x"]
        await ok(snms, "POST", "/identityv2/data", reg("88.1/r3", "TEST/1.0"), token=other)
        # Bad entries and drafts are refused.
        message = await refused(snms, -2, "POST", f"{T}/grant", {
            "prefix": "TEST", "version": "1.0", "grants": ["", "88.1"]})
        assert "grants" in message
        await refused(snms, -2, "POST", f"{T}/grant", {"prefix": "TEST", "version": "1.0"})
        message = await refused(snms, -2, "POST", f"{T}/grant", {
            "prefix": "TEST", "version": "draft", "grants": ["88.1"]})
        assert "draft" in message
        # An unknown template stays 模板不存在.
        message = await refused(snms, -2, "POST", "/identityv2/data",
                                reg("88.1/r9", "TEST/nope"), token=other)
        assert "模板不存在" in message
    run(tmp_path, scenario)


def test_unique_items(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        await ok(snms, "POST", T, body("TEST", "s1", SERIAL))
        await ok(snms, "POST", T, body("TEST", "s2", SERIAL))  # another template
        await ok(snms, "POST", "/identityv2/data", serial("TEST/u1", "S-001"))
        message = await refused(snms, -2, "POST", "/identityv2/data",
                                serial("TEST/u2", "S-001"))
        assert "serial" in message and "'S-001'" in message and "TEST/u1" in message, message
        assert "唯一" in message
        # The holder itself: an idempotent retry and an update keep the value.
        answer = await ok(snms, "POST", "/identityv2/data", serial("TEST/u1", "S-001"))
        assert answer is None
        await ok(snms, "PUT", "/identityv2/data", reg("TEST/u1", "s1",
                                                     value(2000, "serial", "S-001"),
                                                     value(2001, "note", "改")))
        # Another template, or another prefix with the same template, is another scope.
        await ok(snms, "POST", "/identityv2/data", serial("TEST/v1", "S-001", "s2"))
        await ok(snms, "POST", f"{T}/grant", {"prefix": "TEST", "version": "s1",
                                              "grants": ["88.1"]})
        other = await snms.login(OTHER, OTHER_SECRET)
        await ok(snms, "POST", "/identityv2/data", serial("88.1/u1", "S-001", "TEST/s1"),
                 token=other)
        # One batch: the second item with a value fails, naming the first.
        answer = await snms.call("POST", "/identityv2/data/batchCreate", [
            serial("TEST/u3", "S-002"), serial("TEST/u4", "S-002"), serial("TEST/u5", "S-003"),
            serial("TEST/u6", "S-001")])
        codes = [r["code"] for r in answer["data"]]
        assert codes == [1, -2, 1, -2], answer
        assert "TEST/u3" in answer["data"][1]["msg"], answer
        assert "TEST/u1" in answer["data"][3]["msg"], answer
        # An update may not take another identifier's value either.
        message = await refused(snms, -2, "PUT", "/identityv2/data",
                                serial("TEST/u5", "S-002"))
        assert "TEST/u3" in message
        # A value with the index's wildcard is compared exactly.
        await ok(snms, "POST", "/identityv2/data", serial("TEST/w1", "SER*1234"))
        await ok(snms, "POST", "/identityv2/data", serial("TEST/w2", "SERX1234"))
        message = await refused(snms, -2, "POST", "/identityv2/data",
                                serial("TEST/w3", "SER*1234"))
        assert "TEST/w1" in message
        message = await refused(snms, -2, "POST", "/identityv2/data",
                                serial("TEST/w4", "A*"))
        assert "cannot check" in message, message
        # Two requests at once with one value: exactly one succeeds.
        answers = await asyncio.gather(*(snms.call("POST", "/identityv2/data",
                                                   serial(f"TEST/c{n}", "S-RACE"))
                                         for n in range(4)))
        assert sorted(a["status"] for a in answers) == [-2, -2, -2, 1], answers
        # Once the holder is deleted, the value is free.
        await ok(snms, "DELETE", "/identityv2/data", {"handle": "TEST/u1"})
        await ok(snms, "POST", "/identityv2/data", serial("TEST/u2", "S-001"))
    run(tmp_path, scenario, index_types=("URL", "CHECKSUM", "serial"))


def test_unique_needs_the_index(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        message = await refused(snms, -2, "POST", T, body("TEST", "s1", SERIAL))
        assert "reverse_index_types" in message and "serial" in message, message
        await ok(snms, "POST", T, body("TEST", "s1", SERIAL, status="draft"))
        message = await refused(snms, -2, "PUT", T, body("TEST", "s1", SERIAL))
        assert "reverse_index_types" in message
    run(tmp_path, scenario)


def test_reference_follows_its_template(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        part = [{"name": "所属箱", "idType": "box", "idIndex": 2000, "required": True,
                 "metadata": {"type": "reference", "referenceMetaHandle": "TEST/META_box"}},
                {"name": "任意", "idType": "any", "idIndex": 2001,
                 "metadata": {"type": "reference"}}]
        await ok(snms, "POST", T, body("TEST", "box"))
        await ok(snms, "POST", T, body("TEST", "other"))
        await ok(snms, "POST", T, body("TEST", "part", part))
        await ok(snms, "POST", "/identityv2/data", reg("TEST/box1", "box"))
        await ok(snms, "POST", "/identityv2/data", reg("TEST/o1", "other"))

        def ref(handle: str, target: str, any_: str | None = None) -> dict[str, Any]:
            values = [value(2000, "box", target)]
            if any_ is not None:
                values.append(value(2001, "any", any_))
            return reg(handle, "part", *values)
        await ok(snms, "POST", "/identityv2/data", ref("TEST/p1", "TEST/box1", "TEST/o1"))
        message = await refused(snms, -2, "POST", "/identityv2/data", ref("TEST/p2", "TEST/o1"))
        assert "follows the template TEST/META_other, not TEST/META_box" in message, message
        message = await refused(snms, -2, "POST", "/identityv2/data",
                                ref("TEST/p2", "TEST/Doc"))
        assert "follows no template" in message, message
        message = await refused(snms, -2, "POST", "/identityv2/data",
                                ref("TEST/p2", "TEST/nothing"))
        assert "does not exist" in message, message
        # Without referenceMetaHandle any existing identifier will do.
        await ok(snms, "POST", "/identityv2/data", ref("TEST/p3", "TEST/box1", "TEST/Doc"))
    run(tmp_path, scenario)


def test_older_paths(tmp_path: Path) -> None:
    async def scenario(snms: Snms) -> None:
        for n, path in enumerate(("/snms/api/v3/template", "/snms/api/template/v1",
                                  "/snms/template")):
            version = f"old{n}"
            added = await ok(snms, "POST", path, body("TEST", version, status="draft"))
            assert added["status"] == "draft"
            got = await ok(snms, "GET", f"{path}?prefix=TEST&version={version}")
            assert got["version"] == version
            edited = body("TEST", version, status="draft", description="改")
            if path == "/snms/api/v3/template":  # v3 has no PUT
                message = await refused(snms, -2, "PUT", path, edited)
                assert "not allowed" in message and "DELETE, GET, POST" in message, message
            else:
                assert (await ok(snms, "PUT", path, edited))["description"] == "改"
            await ok(snms, "DELETE", f"{path}?prefix=TEST&version={version}")
            await refused(snms, -2, "GET", f"{path}?prefix=TEST&version={version}")
        await ok(snms, "POST", T, body("TEST", "1.0"))
        await ok(snms, "POST", "/identityv2/data", reg("TEST/q1", "1.0"))
        old = await ok(snms, "GET", "/api/identityv2/query/data?handle=TEST/q1")
        assert old == await ok(snms, "GET", "/identityv2/data/detail?handle=TEST/q1")
        await refused(snms, -1, "GET", "/api/identityv2/query/data?handle=TEST/q1", token="")
    run(tmp_path, scenario)
