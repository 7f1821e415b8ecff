"""The records ``idnode init`` writes: prefix handles and the admin identity.

For each prefix ``P``: ``0.NA/P`` with HS_ADMIN (index 100) naming the admin group
``200:<first prefix>/ADMIN``, and HS_SITE (index 1) describing this server. The identity
handle ``<first prefix>/ADMIN`` holds HS_ADMIN (100) over itself, the group HS_VLIST (200)
listing its keys, HS_PUBKEY (300) and, when a secret is given, HS_SECKEY (301, admin-only).
The group lets either key administer every prefix, with one place to add or revoke keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.identifiers.handle import Handle, prefix_handle
from idnode.identifiers.value import PERM_SECRET, HandleValue, Reference
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.identifiers.values.pubkey import PublicKeyData
from idnode.identifiers.values.vlist import VListData
from idnode.storage import Store

__all__ = ["AdminIdentity", "provision"]

PUBKEY_INDEX = 300
SECKEY_INDEX = 301
GROUP_INDEX = 200


@dataclass(frozen=True, slots=True)
class AdminIdentity:
    handle: str
    pubkey: str
    seckey: str | None


def provision(store: Store, prefixes: tuple[str, ...], admin_key: PublicKeyData,
              secret: bytes | None, site: bytes) -> AdminIdentity:
    """Home ``prefixes`` and create their prefix handles and the admin identity."""
    admin = f"{prefixes[0]}/ADMIN"
    group = AdminData(ALL_PERMISSIONS, admin, GROUP_INDEX).to_bytes()
    members = [Reference(admin, PUBKEY_INDEX)]
    values = [
        HandleValue(100, "HS_ADMIN", group),
        HandleValue(PUBKEY_INDEX, "HS_PUBKEY", admin_key.to_bytes()),
    ]
    if secret is not None:
        members.append(Reference(admin, SECKEY_INDEX))
        values.append(HandleValue(SECKEY_INDEX, "HS_SECKEY", secret, permissions=PERM_SECRET))
    values.append(HandleValue(GROUP_INDEX, "HS_VLIST", VListData(tuple(members)).to_bytes()))
    values.sort(key=lambda v: v.index)
    for prefix in prefixes:
        store.home_prefix(prefix)
        store.create_handle(Handle.parse(prefix_handle(prefix)), [
            HandleValue(1, "HS_SITE", site).with_timestamp(),
            HandleValue(100, "HS_ADMIN", group).with_timestamp(),
        ])
    store.create_handle(Handle.parse(admin), [v.with_timestamp() for v in values])
    return AdminIdentity(admin, f"{PUBKEY_INDEX}:{admin}",
                         f"{SECKEY_INDEX}:{admin}" if secret is not None else None)
