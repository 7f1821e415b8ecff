"""The ``metadata`` (元数据上报) and ``routes`` (解析路由上报) streams: snapshots sent only when
their content changed (the cursor is the SHA-256 of the last one built).

metadata, one item::

    {"kind": "snapshot", "role": "enterprise", "version": "0.1.0",
     "prefixes": [{"prefix": "88.118.8", "handles": 1234}]}

Value types in use are not included: counting them needs a scan of every record.

routes, one item per homed prefix at or below the source::

    {"kind": "route", "prefix": "88.118.8", "sites": [<HS_SITE in the REST API's JSON>]}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from idnode import __version__
from idnode.identifiers.jsonvalue import site_to_json
from idnode.identifiers.values.site import SiteData
from idnode.reports.registrations import in_source
from idnode.storage import Store

__all__ = ["content_hash", "metadata_items", "route_items"]


def content_hash(items: list[dict[str, Any]]) -> str:
    canonical = json.dumps(items, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _source_prefixes(store: Store, source: str) -> list[str]:
    return [p for p in store.homed_prefixes() if in_source(p, source)]


def metadata_items(store: Store, source: str, role: str) -> list[dict[str, Any]]:
    prefixes = [{"prefix": p, "handles": store.count_handles(p)}
                for p in _source_prefixes(store, source)]
    return [{"kind": "snapshot", "role": role, "version": __version__, "prefixes": prefixes}]


def route_items(store: Store, source: str, sites: Sequence[SiteData]) -> list[dict[str, Any]]:
    rendered = [site_to_json(site) for site in sites]
    return [{"kind": "route", "prefix": p, "sites": rendered}
            for p in _source_prefixes(store, source)]
