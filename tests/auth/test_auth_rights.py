"""Data rights (数据权限): the IDIS.AUTH value and the decisions on it, over a dict lookup.

(The same over real sockets, with the REST and SNMS faces and the authorization endpoint, is
``tests/integration/test_data_rights.py``.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from idnode.auth import Authorizer, Identity
from idnode.errors import InsufficientPermissions, InvalidAdmin, InvalidValue, ProtocolError
from idnode.identifiers.handle import handle_key
from idnode.identifiers.value import PERM_DEFAULT, PERM_SECRET, HandleValue, Reference
from idnode.identifiers.values import decode_data
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.identifiers.values.rights import (
    RIGHTS_INDEX,
    Coverage,
    Grant,
    RightsData,
    rights_of,
    with_scope,
)
from idnode.identifiers.values.vlist import VListData
from idnode.node.stages.authoritative import readable_values

OWNER = Identity.parse("300:88.1/OWNER")
READER = Identity.parse("300:88.2/READER")
WRITER = Identity.parse("301:88.2/WRITER")
MEMBER = Identity.parse("300:88.2/MEMBER")
STRANGER = Identity.parse("300:88.2/STRANGER")
TARGET = "88.1/wine"


def business(index: int, text: str = "x") -> HandleValue:
    return HandleValue(index, "field", text.encode(), permissions=0x0C)


RIGHTS = RightsData(2, (Grant(Reference("88.2/READER", 0), (2000, 2001)),
                        Grant(Reference("88.2/PARTNERS", 200), (2000,))),
                    (Grant(Reference("88.2/WRITER", 301), (2001,)),))
RECORD = (
    HandleValue(1, "URL", b"https://example.org/wine"),
    HandleValue(100, "HS_ADMIN", AdminData(ALL_PERMISSIONS, "88.1/OWNER", 300).to_bytes()),
    RIGHTS.to_value(),
    business(2000), business(2001), business(2002),
)
GROUPS = {
    handle_key("88.2/PARTNERS"): (HandleValue(200, "HS_VLIST", VListData(
        (Reference("88.2/TEAM", 200),)).to_bytes()),),
    handle_key("88.2/TEAM"): (HandleValue(200, "HS_VLIST", VListData(
        (Reference("88.2/MEMBER", 300),)).to_bytes()),),
}


async def _lookup(handle: str) -> Sequence[HandleValue] | None:
    return GROUPS.get(handle_key(handle))


AUTHORIZER = Authorizer(_lookup)


def readable(identity: Identity | None, indexes: Sequence[int] = ()) -> list[int]:
    values = asyncio.run(readable_values(RECORD, indexes, (), public_only=False,
                                         identity=identity, authorizer=AUTHORIZER,
                                         handle=TARGET, requested=TARGET))
    return [v.index for v in values]


# -- the value ------------------------------------------------------------------------------
def test_the_value_round_trips_and_is_admin_read_only() -> None:
    value = RIGHTS.to_value()
    assert (value.index, value.type, value.permissions) == (RIGHTS_INDEX, "IDIS.AUTH",
                                                            PERM_SECRET)
    assert RightsData.from_bytes(value.data) == RIGHTS
    assert decode_data("idis.auth", value.data) == RIGHTS
    assert rights_of(RECORD) == RIGHTS
    assert b'"handleUserReaders":[{"id":"0:88.2/READER","indexes":[2000,2001]}' in value.data


@pytest.mark.parametrize(("data", "needle"), [
    (b"[]", "JSON object"),
    (b"{\"readerScope\": 0}", "1 (public) or 2"),
    (b"{\"readerScope\": true}", "1 (public) or 2"),
    (b"{\"handleUserReaders\": [\"88.2/READER\"]}", "handleUserReaders[0]"),
    (b"{\"handleUserReaders\": [\"x:88.2/READER\"]}", "not a number"),
    (b"{\"handleUserReaders\": [{\"id\": \"300:88.2/R\", \"indexes\": []}]}", "grants nothing"),
    (b"{\"handleUserWriters\": [{\"id\": \"300:88.2/R\", \"indexes\": [1999]}]}",
     "not a business value"),
    (b"{\"handleUserWriters\": [{\"id\": \"300:88.2/R\", \"who\": 1}]}", "unknown field"),
    (b"{\"readerScope\": 1, \"extra\": 1}", "unknown field"),
    (b"\xff", "not UTF-8 JSON"),
])
def test_malformed_values_are_refused_naming_the_problem(data: bytes, needle: str) -> None:
    with pytest.raises(ProtocolError) as err:
        RightsData.from_bytes(data)
    assert needle in str(err.value)
    with pytest.raises(InvalidValue):  # what a write of such a value gets (RC 202)
        decode_data("IDIS.AUTH", data)


def test_a_malformed_or_misplaced_value_grants_nothing() -> None:
    assert rights_of([HandleValue(RIGHTS_INDEX, "IDIS.AUTH", b"{")]) is None
    assert rights_of([HandleValue(RIGHTS_INDEX, "URL", RIGHTS.to_bytes())]) is None
    assert rights_of([HandleValue(1101, "IDIS.AUTH", RIGHTS.to_bytes())]) is None


def test_scoped_records_keep_business_values_unpublished() -> None:
    sent = (HandleValue(1, "URL", b"u"), HandleValue(2000, "f", b"v", permissions=0x06),
            HandleValue(RIGHTS_INDEX, "IDIS.AUTH", RIGHTS.to_bytes(), permissions=PERM_DEFAULT))
    stored = with_scope(sent, RIGHTS)
    assert [v.permissions for v in stored] == [PERM_DEFAULT, 0x0C, 0x0C]
    public = with_scope(sent, RightsData())
    assert [v.permissions for v in public] == [PERM_DEFAULT, 0x06, 0x0C]


def test_coverage() -> None:
    assert Coverage(every=True).covers(2000) and not Coverage(every=True).covers(1999)
    some = Coverage(indexes=frozenset({2001})) | Coverage(indexes=frozenset({2003}))
    assert [i for i in range(2000, 2005) if some.covers(i)] == [2001, 2003]
    assert some.describe() == "values 2001, 2003"


# -- reading --------------------------------------------------------------------------------
def test_who_reads_what() -> None:
    assert readable(OWNER) == [1, 100, RIGHTS_INDEX, 2000, 2001, 2002]
    assert readable(READER) == [1, 100, 2000, 2001]  # index 0 in the grant: any key
    assert readable(MEMBER) == [1, 100, 2000]  # through PARTNERS ∋ TEAM ∋ MEMBER
    assert readable(WRITER) == [1, 100, 2001]  # writers read what they may write
    assert readable(STRANGER) == [1, 100]
    with pytest.raises(InsufficientPermissions, match="2002"):
        readable(READER, [2002])


def test_grants_follow_groups_under_the_lookup_budget() -> None:
    tight = Authorizer(_lookup, max_depth=1)
    assert asyncio.run(tight.data_grant(MEMBER, RECORD)) is None  # TEAM is two levels down
    assert asyncio.run(AUTHORIZER.data_grant(MEMBER, RECORD)) == Coverage(
        indexes=frozenset({2000}))
    assert asyncio.run(AUTHORIZER.data_grant(READER, RECORD, writers_only=True)) is None


# -- writing --------------------------------------------------------------------------------
def authorize(identity: Identity, op: str, *, new: Sequence[HandleValue] = (),
              removed: Sequence[int] = ()) -> None:
    asyncio.run(AUTHORIZER.authorize(identity, op, TARGET, RECORD, new_values=new,
                                     removed_indexes=removed))


def test_a_writer_writes_its_granted_values_only() -> None:
    authorize(WRITER, "modify", new=[business(2001, "new")])
    authorize(WRITER, "add", new=[business(2001, "new")])
    authorize(WRITER, "remove", removed=[2001])
    for op, kwargs, needle in [
            ("modify", {"new": [business(2002)]}, "value 2002 is not among"),
            ("add", {"new": [business(2005)]}, "value 2005"),
            ("remove", {"removed": [2000]}, "value 2000"),
            ("modify", {"new": [HandleValue(100, "HS_ADMIN", b"")]}, "value 100"),
            ("modify", {"new": [HandleValue(RIGHTS_INDEX, "IDIS.AUTH", b"{}")]}, "1100"),
            ("modify", {"new": [HandleValue(2001, "HS_PUBKEY", b"")]}, "HS_PUBKEY")]:
        with pytest.raises(InsufficientPermissions, match="as a writer") as err:
            authorize(WRITER, op, **kwargs)  # type: ignore[arg-type]
        assert needle in str(err.value)
    with pytest.raises(InvalidAdmin):
        authorize(WRITER, "delete")
    with pytest.raises(InvalidAdmin):  # readers do not write
        authorize(READER, "modify", new=[business(2001)])


def test_an_admin_listed_as_writer_keeps_its_admin_rights() -> None:
    values = (*RECORD[:2], RightsData(1, (), (Grant(Reference("88.1/OWNER", 300),
                                                    (2001,)),)).to_value(), *RECORD[3:])
    asyncio.run(AUTHORIZER.authorize(OWNER, "modify", TARGET, values,
                                     new_values=[business(2002)]))
