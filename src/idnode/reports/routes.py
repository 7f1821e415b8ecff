"""Applying a reported resolution route (解析路由上报) to the prefix record ``0.NA/<prefix>``.

The reported sites replace the record's HS_SITE values *of the same kind*: primary sites
replace the primary HS_SITE values and leave mirror sites (``primary = false``) alone, and
the other way round, so a primary enterprise site reporting its route does not drop the
mirror the secondary node lists for it. Other values (HS_ADMIN, HS_SITE.PREFIX …) are kept.
Replaced values keep their index, TTL and permissions; extra sites take free indexes.

:func:`site_writer` turns a record read and a write submission into the receiver's
``write_site(prefix, sites)``: one compare-and-set overwrite of the record, retried when
the record changed meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from idnode.errors import HandleNotFound, RegistryError, WriteConflict
from idnode.identifiers.handle import Handle, prefix_handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.site import SiteData
from idnode.storage import CreateHandle, Record, WriteOp, WriteResult

__all__ = ["WriteSite", "merged_sites", "record_with_sites", "site_writer", "sites_of"]

#: ``write_site(prefix, sites)``: make ``sites`` the HS_SITE values of ``0.NA/<prefix>``.
WriteSite = Callable[[str, Sequence[SiteData]], Awaitable[None]]

_DEFAULT_TTL = 86_400


def sites_of(values: Sequence[HandleValue]) -> list[SiteData]:
    """The HS_SITE values of a record, parsed (malformed ones skipped), in index order."""
    out = []
    for value in sorted(values, key=lambda v: v.index):
        if value.type == "HS_SITE":
            try:
                out.append(SiteData.from_bytes(value.data))
            except RegistryError:
                continue
    return out


def merged_sites(current: Sequence[SiteData], reported: Sequence[SiteData]) -> list[SiteData]:
    """The record's sites after a report: ``reported`` replaces the sites of its kinds."""
    kinds = {site.primary for site in reported}
    waiting = {kind: [site for site in reported if site.primary == kind] for kind in kinds}
    out = []
    for site in current:  # in place, so a primary site keeps its index
        if site.primary not in kinds:
            out.append(site)
        elif waiting[site.primary]:
            out.append(waiting[site.primary].pop(0))
    placed = {id(site) for site in out}
    return out + [site for site in reported if id(site) not in placed]


def record_with_sites(values: Sequence[HandleValue], sites: Sequence[SiteData], *,
                      now: int | None = None) -> tuple[HandleValue, ...]:
    """``values`` with exactly ``sites`` as their HS_SITE values (other types untouched)."""
    stamp = int(time.time()) if now is None else now
    old_sites = sorted((v for v in values if v.type == "HS_SITE"), key=lambda v: v.index)
    kept = [v for v in values if v.type != "HS_SITE"]
    used = {v.index for v in kept}
    out = list(kept)
    free = 1
    for i, site in enumerate(sites):
        data = site.to_bytes()
        if i < len(old_sites):
            old = old_sites[i]
            out.append(HandleValue(old.index, "HS_SITE", data, ttl_type=old.ttl_type,
                                   ttl=old.ttl, timestamp=stamp, permissions=old.permissions,
                                   references=old.references))
            used.add(old.index)
            continue
        while free in used:
            free += 1
        out.append(HandleValue(free, "HS_SITE", data, ttl=_DEFAULT_TTL, timestamp=stamp))
        used.add(free)
    return tuple(sorted(out, key=lambda v: v.index))


def site_writer(read: Callable[[str], Awaitable[Record | None]],
                submit: Callable[[WriteOp], Awaitable[WriteResult]], *,
                attempts: int = 3) -> WriteSite:
    """A ``write_site`` over a record read (by key) and a write submission.

    In the node: ``site_writer(records.get, writes.submit)``, so the write goes through the
    worker's group commit (transaction log, cache invalidation, other workers told).
    """
    async def write_site(prefix: str, sites: Sequence[SiteData]) -> None:
        handle = Handle.parse(prefix_handle(prefix))
        for attempt in range(attempts):
            record = await read(handle.key)
            if record is None:
                raise HandleNotFound(handle=handle.text)
            if sites_of(record.values) == list(sites):
                return  # already so: no write, no log entry
            values = record_with_sites(record.values, sites)
            try:
                result = await submit(CreateHandle(handle, values, overwrite=True,
                                                   expect=record.values))
            except WriteConflict:
                if attempt == attempts - 1:
                    raise
                continue
            if isinstance(result, RegistryError):
                raise result
            return
    return write_site
