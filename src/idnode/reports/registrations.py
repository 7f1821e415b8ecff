"""The ``registrations`` stream (标识注册日志上报): transaction-log entries after a cursor.

Each successful write is one log entry (:meth:`idnode.storage.Store.txns_after`). An item
names the entry and the indexes and types of the record's values after the write, never
their data::

    {"kind": "txn", "txn": 42, "time": 1732455834.019, "op": "create",
     "handle": "88.118.8/JXDY2106023", "values": [[1, "URL"], [100, "HS_ADMIN"]]}

Only entries of the source's handles are reported: handles under the source prefix or a
prefix below it, and their prefix handles ``0.NA/<prefix>``. The cursor (the last txn id
looked at) moves over the others too.

Ids may have holes (a failed transaction can burn one), so a hole alone proves nothing. When
the *oldest* entry still in the log is newer than the cursor, the entries in between were
pruned before they were reported: a ``gap`` item names them. When the newest id is below
the cursor the log was restarted (the database replaced): a ``reset`` item says so and the
cursor starts again from 0.
"""

from __future__ import annotations

import json
from typing import Any

from idnode.identifiers.handle import ascii_upper
from idnode.storage import Store, Txn

__all__ = ["build_registrations", "in_source"]

_PAGE = 1000
#: log entries one batch may look at (the others' handles are skipped but cost a read)
_SCAN_MAX = 50_000


def in_source(prefix: str, source: str) -> bool:
    """Is the (upper-cased) ``prefix`` the source or a prefix below it?"""
    return prefix == source or prefix.startswith(source + ".")


def _belongs(txn: Txn, source: str) -> bool:
    prefix, _, rest = txn.handle.partition("/")
    prefix = ascii_upper(prefix)
    if prefix == "0.NA":
        return in_source(ascii_upper(rest), source)
    return in_source(prefix, source)


def _item(txn: Txn) -> dict[str, Any]:
    return {"kind": "txn", "txn": txn.txn_id, "time": round(txn.timestamp, 3), "op": txn.op,
            "handle": txn.handle, "values": [[v.index, v.type] for v in txn.values]}


def build_registrations(store: Store, source: str, cursor: int, *, max_items: int,
                        max_bytes: int) -> tuple[list[dict[str, Any]], int]:
    """The next batch's items and the cursor after them (equal to ``cursor``: nothing new).

    ``max_bytes`` bounds the items' encoded size; one oversized item still goes alone.
    """
    items: list[dict[str, Any]] = []
    size = 0
    last = store.last_txn_id()
    # An empty log (0) may just be pruned to nothing: only entries below the cursor prove
    # that the log started again.
    if 0 < last < cursor:
        items.append({"kind": "reset", "after": cursor, "newest": last,
                      "reason": "the transaction log restarted below the cursor (database "
                                "replaced or restored?); reporting starts again from id 1"})
        cursor = 0
    pos = cursor
    scanned = 0
    first = True
    while scanned < _SCAN_MAX and len(items) < max_items:
        txns = store.txns_after(pos, _PAGE)
        if not txns:
            break
        if first and txns[0].txn_id > pos + 1:
            oldest = store.txns_after(0, 1)
            if oldest and oldest[0].txn_id > pos + 1:
                items.append({"kind": "gap", "first": pos + 1, "last": oldest[0].txn_id - 1,
                              "reason": "pruned from the transaction log before they were "
                                        "reported"})
        first = False
        for txn in txns:
            if _belongs(txn, source):
                item = _item(txn)
                encoded = len(json.dumps(item, ensure_ascii=False)) + 1
                if items and size + encoded > max_bytes:
                    return items, pos
                items.append(item)
                size += encoded
            pos = txn.txn_id
            scanned += 1
            if len(items) >= max_items or scanned >= _SCAN_MAX:
                break
    return items, pos
