"""Authorisation decisions over an in-memory record lookup."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from idnode.auth import Authorizer, Identity, permission_names
from idnode.errors import (
    InsufficientPermissions,
    InvalidAdmin,
    OperationNotSupported,
    RegistryError,
    StorageError,
)
from idnode.identifiers.handle import handle_key
from idnode.identifiers.value import PERM_DEFAULT, HandleValue, Reference
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData, AdminPerm
from idnode.identifiers.values.vlist import VListData

P = AdminPerm
ADMIN = Identity.parse("300:88.100.1/ADMIN")
ALICE = Identity.parse("300:88.100.1/ALICE")
BOB = Identity.parse("300:88.100.1/BOB")
TARGET = "88.100.1/abc"


def admin(index: int, ref: str, perms: int = ALL_PERMISSIONS) -> HandleValue:
    ref_index, _, ref_handle = ref.partition(":")
    return HandleValue(index, "HS_ADMIN", AdminData(perms, ref_handle, int(ref_index)).to_bytes())


def vlist(index: int, *members: str) -> HandleValue:
    refs = []
    for member in members:
        idx, _, handle = member.partition(":")
        refs.append(Reference(handle, int(idx)))
    return HandleValue(index, "HS_VLIST", VListData(tuple(refs)).to_bytes())


def url(index: int, text: str = "https://example.org", permissions: int = PERM_DEFAULT
        ) -> HandleValue:
    return HandleValue(index, "URL", text.encode(), permissions=permissions)


class Store:
    """A dict of records keyed by handle key, counting lookups."""

    def __init__(self, records: dict[str, Sequence[HandleValue]] | None = None,
                 failing: frozenset[str] = frozenset()) -> None:
        self.records = {handle_key(k): tuple(v) for k, v in (records or {}).items()}
        self.failing = {handle_key(h) for h in failing}
        self.lookups: list[str] = []

    async def __call__(self, handle: str) -> Sequence[HandleValue] | None:
        self.lookups.append(handle)
        if handle_key(handle) in self.failing:
            raise StorageError(reason="backend down")
        return self.records.get(handle_key(handle))


def authorize(authorizer: Authorizer, identity: Identity, operation: str, target: str,
              values: Sequence[HandleValue] | None, **kwargs: Sequence[object]) -> None:
    asyncio.run(authorizer.authorize(identity, operation, target, values,
                                     **kwargs))  # type: ignore[arg-type]


def denied(authorizer: Authorizer, identity: Identity, operation: str, target: str,
           values: Sequence[HandleValue] | None, **kwargs: Sequence[object]
           ) -> RegistryError:
    with pytest.raises((InvalidAdmin, InsufficientPermissions)) as info:
        authorize(authorizer, identity, operation, target, values, **kwargs)
    return info.value


# -- who is an admin ----------------------------------------------------------------------

def test_direct_admin() -> None:
    auth = Authorizer(Store())
    values = [url(1), admin(100, "300:88.100.1/ADMIN")]
    authorize(auth, ADMIN, "delete", TARGET, values)
    error = denied(auth, ALICE, "delete", TARGET, values)
    assert isinstance(error, InvalidAdmin) and error.response_code == 400
    assert "300:88.100.1/ALICE" in str(error) and "delete" in str(error)


def test_admin_reference_with_index_zero_means_any_index() -> None:
    auth = Authorizer(Store())
    values = [admin(100, "0:88.100.1/ADMIN")]
    authorize(auth, Identity.parse("301:88.100.1/ADMIN"), "delete", TARGET, values)
    specific = [admin(100, "300:88.100.1/ADMIN")]
    denied(auth, Identity.parse("301:88.100.1/ADMIN"), "delete", TARGET, specific)


def test_handle_case_rules_apply_to_admin_references() -> None:
    auth = Authorizer(Store())
    user = Identity.parse("300:88.ABC/Admin")
    authorize(auth, user, "delete", TARGET, [admin(100, "300:88.abc/Admin")])  # prefix: any case
    denied(auth, user, "delete", TARGET, [admin(100, "300:88.ABC/admin")])  # suffix: exact


def test_vlist_membership() -> None:
    store = Store({"88.100.1/GROUP": [vlist(200, "300:88.100.1/ALICE", "0:88.100.1/BOB")]})
    auth = Authorizer(store)
    values = [admin(100, "200:88.100.1/GROUP")]
    authorize(auth, ALICE, "delete", TARGET, values)
    authorize(auth, BOB, "delete", TARGET, values)  # member reference with index 0
    denied(auth, ADMIN, "delete", TARGET, values)
    # a group reference with index 0 takes every HS_VLIST of the group handle
    authorize(auth, ALICE, "delete", TARGET, [admin(100, "0:88.100.1/GROUP")])
    # but a specific index must be an HS_VLIST at that index
    denied(auth, ALICE, "delete", TARGET, [admin(100, "201:88.100.1/GROUP")])


def test_nested_vlists() -> None:
    store = Store({
        "88.100.1/OUTER": [vlist(200, "200:88.100.1/MIDDLE")],
        "88.100.1/MIDDLE": [vlist(200, "300:88.100.1/NOBODY", "200:88.100.1/INNER")],
        "88.100.1/INNER": [vlist(200, "300:88.100.1/ALICE")],
    })
    auth = Authorizer(store)
    authorize(auth, ALICE, "delete", TARGET, [admin(100, "200:88.100.1/OUTER")])


def test_vlist_cycle_terminates() -> None:
    store = Store({
        "88.100.1/G1": [vlist(200, "200:88.100.1/G2")],
        "88.100.1/G2": [vlist(200, "200:88.100.1/G1", "200:88.100.1/G2")],
    })
    auth = Authorizer(store, max_depth=50)
    error = denied(auth, ALICE, "delete", TARGET, [admin(100, "200:88.100.1/G1")])
    assert isinstance(error, InvalidAdmin)
    assert len(store.lookups) <= 4  # each group fetched once (memoised across checks)


def _chain(length: int) -> Store:
    records: dict[str, Sequence[HandleValue]] = {}
    for level in range(length):
        nxt = (f"200:88.100.1/G{level + 1}" if level + 1 < length else "300:88.100.1/ALICE")
        records[f"88.100.1/G{level}"] = [vlist(200, nxt)]
    return Store(records)


def test_depth_limit() -> None:
    values = [admin(100, "200:88.100.1/G0")]
    denied(Authorizer(_chain(10), max_depth=8), ALICE, "delete", TARGET, values)
    authorize(Authorizer(_chain(10), max_depth=10), ALICE, "delete", TARGET, values)
    authorize(Authorizer(_chain(8)), ALICE, "delete", TARGET, values)  # default depth 8


def test_lookup_budget_bounds_work() -> None:
    wide = [vlist(200, *(f"200:88.100.1/M{i}" for i in range(100)))]
    store = Store({"88.100.1/WIDE": wide})
    auth = Authorizer(store, max_lookups=10)
    denied(auth, ALICE, "delete", TARGET, [admin(100, "200:88.100.1/WIDE")])
    assert len(store.lookups) <= 10


def test_unfetchable_vlist_does_not_match() -> None:
    store = Store({"88.100.1/GROUP": [vlist(200, "300:88.100.1/ALICE")]},
                  failing=frozenset({"88.100.1/DOWN"}))
    auth = Authorizer(store)
    values = [admin(100, "200:88.100.1/DOWN"), admin(101, "200:88.100.1/MISSING")]
    denied(auth, ALICE, "delete", TARGET, values)
    authorize(auth, ALICE, "delete", TARGET, [*values, admin(102, "200:88.100.1/GROUP")])


def test_malformed_admin_and_vlist_values_are_skipped() -> None:
    store = Store({"88.100.1/GROUP": [HandleValue(200, "HS_VLIST", b"\xff\xff")]})
    auth = Authorizer(store)
    broken = HandleValue(100, "HS_ADMIN", b"\x00")
    denied(auth, ALICE, "delete", TARGET, [broken, admin(101, "200:88.100.1/GROUP")])
    authorize(auth, ALICE, "delete", TARGET, [broken, admin(101, "300:88.100.1/ALICE")])


def test_is_admin_of_and_admin_can_read() -> None:
    auth = Authorizer(Store(), server_admins=[Identity.parse("300:0.NA/88.100.1")])
    values = [admin(100, "300:88.100.1/ADMIN", P.READ_VALUE | P.ADD_VALUE)]
    assert asyncio.run(auth.is_admin_of(ADMIN, values, P.READ_VALUE | P.ADD_VALUE))
    assert not asyncio.run(auth.is_admin_of(ADMIN, values, P.READ_VALUE | P.DELETE_HANDLE))
    assert asyncio.run(auth.admin_can_read(ADMIN, values))
    assert not asyncio.run(auth.admin_can_read(ALICE, values))
    assert not asyncio.run(auth.admin_can_read(ALICE, None))
    assert asyncio.run(auth.admin_can_read(Identity.parse("300:0.NA/88.100.1"), None))
    no_read = [admin(100, "300:88.100.1/ADMIN", P.ADD_VALUE)]
    assert not asyncio.run(auth.admin_can_read(ADMIN, no_read))
    authorize(auth, ADMIN, "read", TARGET, values)
    error = denied(auth, ADMIN, "read", TARGET, no_read)
    assert "READ_VALUE" in str(error)


# -- server admins ------------------------------------------------------------------------

def test_server_admin_may_do_everything() -> None:
    root = Identity.parse("300:0.NA/88.100")
    auth = Authorizer(Store(), server_admins=[root])
    for operation in ("create", "delete", "add", "modify", "remove", "list", "home",
                      "unhome", "read"):
        authorize(auth, root, operation, TARGET, None)
    assert asyncio.run(auth.is_server_admin(root))
    error = denied(auth, ADMIN, "home", "88.100.1", None)
    assert isinstance(error, InsufficientPermissions)
    assert "only server admins" in str(error) and "300:88.100.1/ADMIN" in str(error)


def test_server_admin_through_a_group() -> None:
    store = Store({"0.NA/88.100": [vlist(200, "300:88.100.1/ALICE")]})
    auth = Authorizer(store, server_admins=[Identity.parse("200:0.NA/88.100")])
    authorize(auth, ALICE, "unhome", "88.100.1", None)
    denied(auth, BOB, "unhome", "88.100.1", None)


def test_unknown_operation() -> None:
    with pytest.raises(OperationNotSupported):
        authorize(Authorizer(Store()), ADMIN, "frobnicate", TARGET, [])


# -- permission rules ---------------------------------------------------------------------

def test_missing_permission_message() -> None:
    auth = Authorizer(Store())
    values = [admin(100, "300:88.100.1/ADMIN", ALL_PERMISSIONS & ~P.DELETE_HANDLE)]
    error = denied(auth, ADMIN, "delete", TARGET, values)
    assert isinstance(error, InsufficientPermissions)
    assert error.response_code == 401
    text = str(error)
    assert "300:88.100.1/ADMIN" in text and "delete" in text and "DELETE_HANDLE" in text
    assert TARGET in text


def test_create_needs_add_handle_in_the_prefix_handle() -> None:
    store = Store({"0.NA/88.100.1": [admin(100, "300:88.100.1/ADMIN", P.ADD_HANDLE)]})
    auth = Authorizer(store)
    authorize(auth, ADMIN, "create", "88.100.1/new", None, new_values=[url(1)])
    authorize(auth, ADMIN, "create", "88.100.1/NEW", None)
    assert handle_key(store.lookups[-1]) == "0.NA/88.100.1"
    error = denied(auth, ALICE, "create", "88.100.1/new", None)
    assert "0.NA/88.100.1" in str(error) and "ADD_HANDLE" in str(error)
    error = denied(auth, ADMIN, "create", "88.999/new", None)
    assert isinstance(error, InvalidAdmin) and "does not exist" in str(error)


def test_derived_prefix_rule() -> None:
    store = Store({
        "0.NA/88.100": [admin(100, "300:88.100.1/ADMIN", P.ADD_HANDLE)],
        "0.NA/0.NA": [admin(100, "300:0.NA/ROOT", P.ADD_HANDLE)],
    })
    auth = Authorizer(store)
    error = denied(auth, ADMIN, "create", "0.NA/88.100.1", None)
    assert isinstance(error, InsufficientPermissions)
    assert "ADD_DERIVED_PREFIX" in str(error) and "0.NA/88.100" in str(error)
    store.records["0.NA/88.100"] = (admin(100, "300:88.100.1/ADMIN", P.ADD_DERIVED_PREFIX),)
    authorize(Authorizer(store), ADMIN, "create", "0.na/88.100.1", None)
    # a top-level prefix handle is created under the root 0.NA/0.NA
    authorize(Authorizer(store), Identity.parse("300:0.NA/ROOT"), "create", "0.NA/99", None)
    denied(Authorizer(store), ADMIN, "create", "0.NA/99", None)


def test_operations_on_a_prefix_handle_use_its_own_admins() -> None:
    own = [admin(100, "300:88.100.1/ADMIN", P.DELETE_HANDLE | P.ADD_VALUE)]
    auth = Authorizer(Store({"0.NA/88.100": [admin(100, "300:88.100.1/ALICE")]}))
    authorize(auth, ADMIN, "delete", "0.NA/88.100.1", own)
    authorize(auth, ADMIN, "add", "0.NA/88.100.1", own, new_values=[url(5)])
    denied(auth, ALICE, "delete", "0.NA/88.100.1", own)


def test_add_rules() -> None:
    auth = Authorizer(Store())
    values = [url(1), admin(100, "300:88.100.1/ADMIN", P.ADD_VALUE)]
    authorize(auth, ADMIN, "add", TARGET, values, new_values=[url(2)])
    error = denied(auth, ADMIN, "add", TARGET, values,
                   new_values=[admin(101, "300:88.100.1/ALICE")])
    assert "ADD_ADMIN" in str(error)
    # an existing index with a different value follows the modify rules
    error = denied(auth, ADMIN, "add", TARGET, values, new_values=[url(1, "https://b")])
    assert "MODIFY_VALUE" in str(error)
    # an identical value needs nothing more than the add itself
    authorize(auth, ADMIN, "add", TARGET, values, new_values=[url(1), url(3)])


def test_modify_rules() -> None:
    auth = Authorizer(Store())
    values = [url(1), url(2, permissions=0x0F),
              admin(100, "300:88.100.1/ADMIN", P.MODIFY_VALUE),
              admin(101, "300:88.100.1/ALICE", ALL_PERMISSIONS & ~P.MODIFY_ADMIN)]
    authorize(auth, ADMIN, "modify", TARGET, values, new_values=[url(1, "https://b")])
    error = denied(auth, ADMIN, "modify", TARGET, values,
                   new_values=[admin(100, "300:88.100.1/BOB")])
    assert isinstance(error, InsufficientPermissions) and "MODIFY_ADMIN" in str(error)
    error = denied(auth, ALICE, "modify", TARGET, values,
                   new_values=[admin(100, "300:88.100.1/BOB")])
    assert "MODIFY_ADMIN" in str(error)
    # HS_ADMIN -> other needs REMOVE_ADMIN and MODIFY_VALUE in one admin value
    authorize(auth, ALICE, "modify", TARGET, values, new_values=[url(100)])
    error = denied(auth, ADMIN, "modify", TARGET, values, new_values=[url(100)])
    assert "REMOVE_ADMIN" in str(error) and "MODIFY_VALUE" in str(error)
    # other -> HS_ADMIN needs MODIFY_VALUE and ADD_ADMIN
    error = denied(auth, ADMIN, "modify", TARGET, values,
                   new_values=[admin(1, "300:88.100.1/BOB")])
    assert "ADD_ADMIN" in str(error)
    # a publicly writable value needs no permission at all
    authorize(auth, BOB, "modify", TARGET, values, new_values=[url(2, "https://anyone")])


def test_modify_read_only_value() -> None:
    auth = Authorizer(Store())
    values = [url(1, permissions=0x0A), admin(100, "300:88.100.1/ADMIN")]
    with pytest.raises(InsufficientPermissions, match="read-only"):
        authorize(auth, ADMIN, "modify", TARGET, values, new_values=[url(1, "x")])


def test_read_only_values_cannot_be_replaced_by_add_or_overwrite() -> None:
    read_only = url(1, permissions=0x0A)
    values = [read_only, admin(100, "300:88.100.1/ADMIN")]
    auth = Authorizer(Store())
    with pytest.raises(InsufficientPermissions, match="read-only"):
        authorize(auth, ADMIN, "add", TARGET, values, new_values=[url(1, "https://other")])
    # re-adding the identical value changes nothing and is fine
    authorize(auth, ADMIN, "add", TARGET, values, new_values=[read_only])
    # overwrite in place is refused even with every right over the record ...
    store = Store({"0.NA/88.100.1": [admin(100, "300:88.100.1/BOB", P.ADD_HANDLE)]})
    everything = [read_only, admin(100, "300:88.100.1/BOB")]
    error = denied(Authorizer(store), BOB, "create", TARGET,
                   [read_only, admin(100, "300:88.100.1/BOB", P.ADD_ADMIN | P.MODIFY_VALUE)],
                   new_values=[url(1, "https://other")])
    assert "DELETE_HANDLE" in str(error)
    # ... but delete + re-create (DELETE_HANDLE here, ADD_HANDLE in the prefix) remains
    authorize(Authorizer(store), BOB, "create", TARGET, everything,
              new_values=[url(1, "https://other"), everything[1]])


def test_remove_rules() -> None:
    auth = Authorizer(Store())
    values = [url(1), admin(100, "300:88.100.1/ADMIN", P.REMOVE_VALUE),
              admin(101, "300:88.100.1/ALICE", P.REMOVE_ADMIN | P.REMOVE_VALUE)]
    authorize(auth, ADMIN, "remove", TARGET, values, removed_indexes=[1])
    error = denied(auth, ADMIN, "remove", TARGET, values, removed_indexes=[101])
    assert "REMOVE_ADMIN" in str(error)
    authorize(auth, ALICE, "remove", TARGET, values, removed_indexes=[1, 100])


def test_list_needs_list_handles_in_the_prefix_handle() -> None:
    store = Store({"0.NA/88.100.1": [admin(100, "300:88.100.1/ADMIN", P.LIST_HANDLES),
                                      admin(101, "300:88.100.1/ALICE", P.ADD_HANDLE)]})
    auth = Authorizer(store)
    authorize(auth, ADMIN, "list", "88.100.1", None)
    authorize(auth, ADMIN, "list", "0.NA/88.100.1", None)
    error = denied(auth, ALICE, "list", "88.100.1", None)
    assert isinstance(error, InsufficientPermissions) and "LIST_HANDLES" in str(error)


def test_create_with_overwrite() -> None:
    prefix_admins = [admin(100, "300:88.100.1/ADMIN", P.ADD_HANDLE)]
    store = Store({"0.NA/88.100.1": prefix_admins})
    auth = Authorizer(store)
    existing = [url(1), admin(100, "300:88.100.1/ALICE", P.MODIFY_VALUE | P.ADD_VALUE),
                admin(101, "300:88.100.1/BOB", P.DELETE_HANDLE)]
    replacement = [url(1, "https://new"), existing[1], existing[2], url(2)]
    # the record's own admin holds what the change needs
    authorize(auth, ALICE, "create", TARGET, existing, new_values=replacement)
    # an identical record needs nothing
    authorize(auth, BOB, "create", TARGET, existing, new_values=existing)
    # BOB may delete but lacks ADD_HANDLE in the prefix: no delete + re-create either
    error = denied(auth, BOB, "create", TARGET, existing, new_values=replacement)
    assert "ADD_HANDLE" in str(error)
    # the prefix admin alone may not replace someone else's record
    error = denied(auth, ADMIN, "create", TARGET, existing, new_values=replacement)
    assert "DELETE_HANDLE" in str(error)
    # delete + re-create rights together suffice
    store.records["0.NA/88.100.1"] = (*prefix_admins, admin(101, "300:88.100.1/BOB",
                                                            P.ADD_HANDLE))
    authorize(Authorizer(store), BOB, "create", TARGET, existing, new_values=replacement)


def test_permission_names() -> None:
    assert permission_names(P.REMOVE_ADMIN | P.MODIFY_VALUE) == "MODIFY_VALUE+REMOVE_ADMIN"
    assert permission_names(0) == "no permission"


def test_can_read_names_the_handle() -> None:
    auth = Authorizer(Store())
    values = [admin(100, "300:88.100.1/ADMIN", P.READ_VALUE)]
    assert asyncio.run(auth.can_read(ADMIN, TARGET, values))
    assert not asyncio.run(auth.can_read(ALICE, TARGET, values))
