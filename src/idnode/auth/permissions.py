"""Authorisation: may this identity perform this operation on this handle?

Pure decision logic over one async record lookup (:data:`RecordLookup`), so the same code
serves storage-backed and resolver-backed nodes and tests run on a dict.

Rules, following CNRI Handle.Net's ``HandleServer`` (``authenticateUser``,
``adminHasPermission``, ``doCreateHandle`` …):

* A permission is granted by one HS_ADMIN value of the record that holds **all** needed
  bits and whose admin reference ``index:handle`` is the identity (index 0 = any index) or
  an HS_VLIST group that contains it, recursively (cycle-safe, depth- and lookup-limited;
  a group that cannot be fetched simply does not match).
* Server admins (:class:`Authorizer` ``server_admins``, which may also name groups) may do
  everything; ``home``/``unhome`` are for server admins only.
* ``create``: ADD_HANDLE in ``0.NA/<prefix>``; a derived prefix handle ``0.NA/<a.b>`` needs
  ADD_DERIVED_PREFIX in ``0.NA/<a>`` instead, and a top-level ``0.NA/<a>`` needs ADD_HANDLE
  in ``0.NA/0.NA``. Creating over an existing record (overwrite) is allowed by the record's
  own admins when they hold what the change needs (add/modify/remove rules below; ADD_ADMIN
  alone also suffices), otherwise it needs DELETE_HANDLE on the record **and** the create
  permission (delete and re-create).
* ``delete``: DELETE_HANDLE. ``read`` (non-public values): READ_VALUE. ``list``:
  LIST_HANDLES in ``0.NA/<prefix>``.
* ``add``: ADD_VALUE, ADD_ADMIN for HS_ADMIN values; an index that already exists with a
  different value follows the modify rules, an identical one needs nothing.
* ``modify``: MODIFY_VALUE; HS_ADMIN → HS_ADMIN needs MODIFY_ADMIN; HS_ADMIN → other needs
  REMOVE_ADMIN + MODIFY_VALUE; other → HS_ADMIN needs MODIFY_VALUE + ADD_ADMIN. Changing a
  publicly writable value needs nothing; a value without the admin-write bit is read-only.
* ``remove``: REMOVE_VALUE, REMOVE_ADMIN for HS_ADMIN values.

Operations on a prefix handle ``0.NA/<prefix>`` itself use its own HS_ADMIN values.

Data rights (数据权限, ``idis.md`` §5.1, §7.4): a record's ``IDIS.AUTH`` value at index 1100
(:mod:`idnode.identifiers.values.rights`) lists readers and writers of its business values
(index 2000 and up), each a user or an HS_VLIST group (matched exactly as HS_ADMIN
references are: index 0 = any index, groups followed recursively under the same limits),
optionally limited to some indexes. :meth:`Authorizer.data_grant` says what one identity is
granted; ``add``/``modify``/``remove`` by a listed writer is allowed without any HS_ADMIN
permission when every value it touches, old and new, is a granted business value of an
unprotected type (never ``HS_*`` nor ``IDIS.AUTH``). Everything the decision needs is in the
record itself, so it costs what an HS_ADMIN check costs.

Refusals: :class:`~idnode.errors.InvalidAdmin` (RC 400) when the identity is no
administrator of the record at all, :class:`~idnode.errors.InsufficientPermissions`
(RC 401) when it is one but lacks the permission. Both name the identity, the operation and
the permission. (CNRI answers 400 in both cases; its source marks that as a to-do.)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace

from idnode.auth.identity import Identity
from idnode.errors import (
    InsufficientPermissions,
    InvalidAdmin,
    OperationNotSupported,
    RegistryError,
)
from idnode.identifiers.handle import PREFIX_NA, handle_key, prefix_handle
from idnode.identifiers.value import PERM_ADMIN_WRITE, PERM_PUBLIC_WRITE, HandleValue, Reference
from idnode.identifiers.values.admin import AdminData, AdminPerm
from idnode.identifiers.values.rights import Coverage, Grant, is_protected_type, rights_of
from idnode.identifiers.values.vlist import VListData

__all__ = ["OPERATIONS", "Authorizer", "RecordLookup", "permission_names"]

log = logging.getLogger(__name__)

#: ``lookup(handle_text)`` → the record's values, or ``None`` when there is no such record.
RecordLookup = Callable[[str], Awaitable[Sequence[HandleValue] | None]]

OPERATIONS = frozenset({"create", "delete", "add", "modify", "remove", "list", "home",
                        "unhome", "read"})
_NONE = AdminPerm(0)
_ROOT = f"{PREFIX_NA}/{PREFIX_NA}"
#: operations a writer named in a record's data rights may perform
_WRITER_OPS = frozenset({"add", "modify", "remove"})


def permission_names(perms: AdminPerm | int) -> str:
    """``"REMOVE_ADMIN+MODIFY_VALUE"``-style text for a set of permission bits."""
    names = [perm.name or "" for perm in AdminPerm if perms & perm]
    return "+".join(names) if names else "no permission"


def _is_admin_value(value: HandleValue) -> bool:
    return value.matches_type("HS_ADMIN")


def _same_value(old: HandleValue, new: HandleValue) -> bool:
    return replace(old, timestamp=0) == replace(new, timestamp=0)


def _check_writable(old: HandleValue, target: str, op: str) -> None:
    """A value without the admin-write bit is read-only for every path that replaces it."""
    if not old.permissions & PERM_ADMIN_WRITE:
        raise InsufficientPermissions(
            reason=f"may not {op} {target}: value {old.index} is read-only "
                   "(no admin-write permission)")


def _modify_needs(old: HandleValue, new: HandleValue) -> AdminPerm:
    old_admin, new_admin = _is_admin_value(old), _is_admin_value(new)
    if old_admin and new_admin:
        return AdminPerm.MODIFY_ADMIN
    if old_admin:
        return AdminPerm.REMOVE_ADMIN | AdminPerm.MODIFY_VALUE
    if new_admin:
        return AdminPerm.MODIFY_VALUE | AdminPerm.ADD_ADMIN
    if old.permissions & PERM_PUBLIC_WRITE:
        return _NONE  # anyone may write it
    return AdminPerm.MODIFY_VALUE


def _by_index(values: Sequence[HandleValue] | None) -> dict[int, HandleValue]:
    return {value.index: value for value in values or ()}


class _Walk:
    """Per-decision state: memoised lookups and a budget, shared by all traversals."""

    __slots__ = ("_authorizer", "_budget", "_lookup", "_memo")

    def __init__(self, authorizer: Authorizer, lookup: RecordLookup | None = None) -> None:
        self._authorizer = authorizer
        self._lookup = authorizer.lookup if lookup is None else lookup
        self._budget = authorizer.max_lookups
        self._memo: dict[str, Sequence[HandleValue] | None] = {}

    async def values(self, handle: str) -> Sequence[HandleValue] | None:
        key = handle_key(handle)
        if key in self._memo:
            return self._memo[key]
        if self._budget <= 0:
            log.debug("authorization lookup budget exhausted before %s", handle)
            return None
        self._budget -= 1
        try:
            found = await self._lookup(handle)
        except (RegistryError, OSError) as exc:
            log.debug("cannot fetch %s for an admin check: %s", handle, exc)
            found = None
        self._memo[key] = found
        return found

    async def group_members(self, ref: Reference) -> list[Reference]:
        """Members of the HS_VLIST value(s) ``ref`` points at (index 0 = every HS_VLIST)."""
        values = await self.values(ref.handle)
        members: list[Reference] = []
        for value in values or ():
            if not value.matches_type("HS_VLIST"):
                continue
            if ref.index not in (0, value.index):
                continue
            try:
                members.extend(VListData.from_bytes(value.data).members)
            except RegistryError:
                log.debug("skipping malformed HS_VLIST %d in %s", value.index, ref.handle)
        return members

    async def in_groups(self, identity: Identity, groups: Iterable[Reference]) -> bool:
        """Is ``identity`` a (transitive) member of any of ``groups``?"""
        seen: set[tuple[str, int]] = set()
        frontier = list(groups)
        depth = 1
        # Breadth first, so every group is expanded at its shallowest depth and the depth
        # limit never hides a member reachable by a shorter path.
        while frontier and depth <= self._authorizer.max_depth:
            next_level: list[Reference] = []
            for ref in frontier:
                mark = (handle_key(ref.handle), ref.index)
                if mark in seen:
                    continue
                seen.add(mark)
                for member in await self.group_members(ref):
                    if identity.matches(member.handle, member.index):
                        return True
                    next_level.append(member)
            frontier = next_level
            depth += 1
        return False


class Authorizer:
    """Authorisation decisions over ``lookup``.

    :param lookup: fetches a record's values by handle text (``None`` = no such record).
    :param server_admins: identities (or groups) that may do everything.
    :param max_depth: how many levels of nested HS_VLIST groups are followed.
    :param max_lookups: how many records one decision may fetch, bounding the work a
        hostile group structure can cause.
    :param admin_lookup: fetches the groups of ``server_admins`` (default ``lookup``); a
        node that resolves identities on other nodes keeps these local.
    """

    __slots__ = ("admin_lookup", "lookup", "max_depth", "max_lookups", "server_admins")

    def __init__(self, lookup: RecordLookup, *, server_admins: Sequence[Identity] = (),
                 max_depth: int = 8, max_lookups: int = 256,
                 admin_lookup: RecordLookup | None = None) -> None:
        self.lookup = lookup
        self.admin_lookup = admin_lookup
        self.server_admins = tuple(server_admins)
        self.max_depth = max_depth
        self.max_lookups = max_lookups

    # -- membership -----------------------------------------------------------------------
    async def _is_server_admin(self, identity: Identity, walk: _Walk) -> bool:
        refs = [Reference(admin.handle, admin.index) for admin in self.server_admins]
        if any(identity.matches(ref.handle, ref.index) for ref in refs):
            return True
        if self.admin_lookup is not None and refs:
            walk = _Walk(self, self.admin_lookup)
        return await walk.in_groups(identity, refs)

    async def _has(self, identity: Identity, values: Sequence[HandleValue],
                   needed: AdminPerm, walk: _Walk) -> bool:
        groups: list[Reference] = []
        for value in values:
            if not _is_admin_value(value):
                continue
            try:
                admin = AdminData.from_bytes(value.data)
            except RegistryError:
                log.debug("skipping malformed HS_ADMIN at index %d", value.index)
                continue
            if not admin.has(needed):
                continue
            if identity.matches(admin.handle, admin.index):
                return True
            groups.append(Reference(admin.handle, admin.index))
        return await walk.in_groups(identity, groups)

    async def is_server_admin(self, identity: Identity) -> bool:
        """Is ``identity`` one of the server admins (directly or through a group)?"""
        return await self._is_server_admin(identity, _Walk(self))

    async def is_admin_of(self, identity: Identity, values_of_target: Sequence[HandleValue],
                          needed: AdminPerm) -> bool:
        """Does an HS_ADMIN value in ``values_of_target`` grant ``identity`` all of ``needed``?

        Server admins are not considered here; :meth:`authorize` adds them.
        """
        return await self._has(identity, values_of_target, needed, _Walk(self))

    async def admin_can_read(self, identity: Identity,
                             target_values: Sequence[HandleValue] | None) -> bool:
        """May ``identity`` read the admin-readable (non-public) values of the record?"""
        walk = _Walk(self)
        if await self._is_server_admin(identity, walk):
            return True
        return target_values is not None and await self._has(
            identity, target_values, AdminPerm.READ_VALUE, walk)

    async def data_grant(self, identity: Identity, target_values: Sequence[HandleValue], *,
                         writers_only: bool = False) -> Coverage | None:
        """The business values the record's data rights grant ``identity`` (readers and
        writers, or only writers), or None when it is not listed (nor in a listed group).

        Writers may read what they may write.
        """
        rights = rights_of(target_values)
        if rights is None:
            return None
        grants = rights.writers if writers_only else (*rights.readers, *rights.writers)
        return await self._coverage(identity, grants, _Walk(self))

    async def _coverage(self, identity: Identity, grants: Sequence[Grant],
                        walk: _Walk) -> Coverage | None:
        found: Coverage | None = None
        groups: list[Grant] = []
        for grant in grants:
            if identity.matches(grant.ref.handle, grant.ref.index):
                found = grant.coverage if found is None else found | grant.coverage
            else:
                groups.append(grant)
        for grant in groups:
            if found is not None and found.every:
                break
            if await walk.in_groups(identity, (grant.ref,)):
                found = grant.coverage if found is None else found | grant.coverage
        return found

    async def can_read(self, identity: Identity, target_handle: str,
                       target_values: Sequence[HandleValue] | None) -> bool:
        """:meth:`admin_can_read` for ``target_handle`` (named for the debug log)."""
        allowed = await self.admin_can_read(identity, target_values)
        log.debug("%s %s read restricted values of %s", identity,
                  "may" if allowed else "may not", target_handle)
        return allowed

    # -- decisions --------------------------------------------------------------------------
    async def authorize(self, identity: Identity, operation: str, target_handle: str,
                        target_values: Sequence[HandleValue] | None, *,
                        new_values: Sequence[HandleValue] = (),
                        removed_indexes: Sequence[int] = ()) -> None:
        """Raise unless ``identity`` may perform ``operation`` on ``target_handle``.

        :param operation: one of :data:`OPERATIONS`.
        :param target_values: the record's current values (``None`` if it does not exist).
            For ``create`` pass them only when overwriting an existing record.
        :param new_values: values being created, added or modified.
        :param removed_indexes: indexes being removed.
        :raises InvalidAdmin: the identity administers nothing relevant.
        :raises InsufficientPermissions: it is an administrator but lacks the permission.
        :raises OperationNotSupported: an unknown ``operation``.
        """
        op = operation.strip().lower()
        if op not in OPERATIONS:
            raise OperationNotSupported(reason=f"cannot authorize unknown operation "
                                               f"{operation!r}")
        walk = _Walk(self)
        if await self._is_server_admin(identity, walk):
            return
        if op in ("home", "unhome"):
            raise InsufficientPermissions(reason=f"{identity} may not {op} prefix "
                                                 f"{target_handle}: only server admins may")
        if op == "create":
            await self._authorize_create(identity, target_handle, target_values, new_values,
                                         walk)
            return
        if op == "list":
            record = prefix_handle(target_handle)
            values = (target_values if target_values is not None
                      and handle_key(target_handle) == record else await walk.values(record))
            await self._require(identity, op, target_handle, record=record, values=values,
                                needed=AdminPerm.LIST_HANDLES, walk=walk)
            return
        needed = self._needed(identity, op, target_handle, target_values=target_values,
                              new_values=new_values, removed_indexes=removed_indexes)
        if needed == _NONE:
            return
        if op in _WRITER_OPS and target_values:
            # Administrators first (the common case), then writers named by data rights.
            if await self._has(identity, target_values, needed, walk):
                return
            if await self._as_writer(identity, op, target_handle, target_values, walk,
                                     new_values=new_values, removed_indexes=removed_indexes):
                return
        await self._require(identity, op, target_handle, record=target_handle,
                            values=target_values, needed=needed, walk=walk)

    async def _as_writer(self, identity: Identity, op: str, target: str,
                         values: Sequence[HandleValue], walk: _Walk, *,
                         new_values: Sequence[HandleValue], removed_indexes: Sequence[int]
                         ) -> bool:
        """Allowed as a writer named by the record's data rights? False when it is not one
        (the HS_ADMIN rules decide); raises when it is one but the change exceeds its grant
        (the caller knows it holds no HS_ADMIN permission for the change)."""
        rights = rights_of(values)
        if rights is None or not rights.writers:
            return False
        coverage = await self._coverage(identity, rights.writers, walk)
        if coverage is None:
            return False
        existing = _by_index(values)
        touched = ([(new.index, new, existing.get(new.index)) for new in new_values]
                   if op in ("add", "modify")
                   else [(index, None, existing.get(index)) for index in removed_indexes])
        if not touched:
            return False
        problem = None
        for index, new, old in touched:
            if not coverage.covers(index):
                problem = (f"value {index} is not among the values its data rights let it "
                           f"write ({coverage.describe()})")
            else:
                kind = next((v.type for v in (new, old) if v is not None
                             and is_protected_type(v.type)), None)
                if kind is not None:
                    problem = f"value {index} is {kind}, which only administrators may write"
            if problem is not None:
                break
        if problem is None:
            return True
        raise InsufficientPermissions(reason=f"{identity} may not {op} {target} as a writer: "
                                             f"{problem}")

    @staticmethod
    def _needed(identity: Identity, op: str, target: str, *,
                target_values: Sequence[HandleValue] | None,
                new_values: Sequence[HandleValue], removed_indexes: Sequence[int]
                ) -> AdminPerm:
        existing = _by_index(target_values)
        needed = _NONE
        if op == "delete":
            return AdminPerm.DELETE_HANDLE
        if op == "read":
            return AdminPerm.READ_VALUE
        if op == "add":
            for new in new_values:
                old = existing.get(new.index)
                if old is None:
                    needed |= AdminPerm.ADD_ADMIN if _is_admin_value(new) else AdminPerm.ADD_VALUE
                elif not _same_value(old, new):
                    _check_writable(old, target, "overwrite a value of")
                    needed |= _modify_needs(old, new)
            return needed if new_values else AdminPerm.ADD_VALUE
        if op == "modify":
            for new in new_values:
                old = existing.get(new.index)
                if old is None:
                    # The operation reports the missing index; demand the plain right.
                    needed |= (AdminPerm.MODIFY_ADMIN if _is_admin_value(new)
                               else AdminPerm.MODIFY_VALUE)
                    continue
                _check_writable(old, target, "modify")
                needed |= _modify_needs(old, new)
            return needed if new_values else AdminPerm.MODIFY_VALUE
        # remove
        for index in removed_indexes:
            old = existing.get(index)
            if old is not None:
                needed |= (AdminPerm.REMOVE_ADMIN if _is_admin_value(old)
                           else AdminPerm.REMOVE_VALUE)
        return needed or AdminPerm.REMOVE_VALUE

    async def _authorize_create(self, identity: Identity, target: str,
                                existing: Sequence[HandleValue] | None,
                                new_values: Sequence[HandleValue], walk: _Walk) -> None:
        key = handle_key(target)
        prefix, _, suffix = key.partition("/")
        if prefix == PREFIX_NA and "." in suffix:
            record = f"{PREFIX_NA}/{suffix.rsplit('.', 1)[0]}"
            create_perm = AdminPerm.ADD_DERIVED_PREFIX
        else:
            record = _ROOT if prefix == PREFIX_NA else prefix_handle(prefix)
            create_perm = AdminPerm.ADD_HANDLE
        if existing is not None:
            needed, read_only = self._overwrite_needs(existing, new_values)
            if needed == _NONE and not read_only:
                return
            # Changing a read-only value in place is never allowed; only the route of
            # deleting the handle and creating it again (both rights) remains.
            if not read_only:
                if not needed & AdminPerm.ADD_ADMIN and await self._has(identity, existing,
                                                                        needed, walk):
                    return
                if await self._has(identity, existing, AdminPerm.ADD_ADMIN, walk):
                    return
            # Otherwise only as delete + re-create: both rights are needed.
            wanted = (f"{permission_names(needed)} or ADD_ADMIN, or DELETE_HANDLE plus "
                      f"{permission_names(create_perm)} in {record}")
            await self._require(identity, "overwrite", target, record=target, values=existing,
                                needed=AdminPerm.DELETE_HANDLE, walk=walk, wanted=wanted)
        values = await walk.values(record)
        await self._require(identity, "create", target, record=record, values=values,
                            needed=create_perm, walk=walk)

    @staticmethod
    def _overwrite_needs(existing: Sequence[HandleValue], new_values: Sequence[HandleValue]
                         ) -> tuple[AdminPerm, bool]:
        """Rights to turn ``existing`` into ``new_values`` in place, and whether that would
        change a read-only value (no admin-write bit)."""
        old_by_index = _by_index(existing)
        new_by_index = _by_index(new_values)
        needed = _NONE
        read_only = False
        for index, old in old_by_index.items():
            new = new_by_index.get(index)
            if new is None:
                needed |= (AdminPerm.REMOVE_ADMIN if _is_admin_value(old)
                           else AdminPerm.REMOVE_VALUE)
            elif not _same_value(old, new):
                read_only = read_only or not old.permissions & PERM_ADMIN_WRITE
                needed |= _modify_needs(old, new)
        for index, new in new_by_index.items():
            if index not in old_by_index:
                needed |= AdminPerm.ADD_ADMIN if _is_admin_value(new) else AdminPerm.ADD_VALUE
        return needed, read_only

    async def _require(self, identity: Identity, op: str, target: str, *, record: str,
                       values: Sequence[HandleValue] | None, needed: AdminPerm, walk: _Walk,
                       wanted: str | None = None) -> None:
        if values is not None and await self._has(identity, values, needed, walk):
            return
        wanted = wanted or permission_names(needed)
        where = "" if handle_key(record) == handle_key(target) else f" in {record}"
        if values is None:
            raise InvalidAdmin(reason=f"{identity} may not {op} {target}: {record} does not "
                                      f"exist, so nobody but a server admin holds {wanted}")
        if await self._has(identity, values, _NONE, walk):
            raise InsufficientPermissions(reason=f"{identity} may not {op} {target}: "
                                                 f"needs {wanted}{where}")
        raise InvalidAdmin(reason=f"{identity} may not {op} {target}: not an administrator"
                                  f"{where or f' of {target}'} (needs {wanted})")
