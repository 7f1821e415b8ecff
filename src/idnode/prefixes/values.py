"""The handle records an application's decisions write, as storage operations.

* approve, hosted: the admin identity ``<prefix>/ADMIN`` (HS_ADMIN 100 over itself, HS_VLIST
  group 200, HS_PUBKEY 300, HS_SECKEY 301 admin-only), ``0.NA/<prefix>`` with this node's
  HS_SITE, HS_ADMIN 100 for the group and 101 for the approving operator, and the prefix
  homed here;
* approve, delegated: ``0.NA/<prefix>`` with the enterprise node's HS_SITE and
  HS_SITE.PREFIX (as ``idnode delegate`` writes them) and the same two HS_ADMIN values;
* suspend: the route values (HS_SITE, HS_SITE.PREFIX) removed and returned to be kept in
  the ledger, and a hosted prefix unhomed; reinstate puts both back;
* revoke: ``0.NA/<prefix>`` deleted (and a hosted prefix unhomed, its identity handle
  deleted: its identifiers stay in storage but are no longer served).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from idnode.auth.identity import Identity
from idnode.identifiers.handle import Handle, prefix_handle
from idnode.identifiers.value import PERM_SECRET, HandleValue, Reference
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.identifiers.values.pubkey import PublicKeyData
from idnode.identifiers.values.site import SiteData
from idnode.identifiers.values.vlist import VListData
from idnode.prefixes.application import Form
from idnode.storage import CreateHandle

__all__ = ["ROUTE_TYPES", "approval_ops", "decode_values", "encode_values", "route_values"]

ROUTE_TYPES = ("HS_SITE", "HS_SITE.PREFIX")
PREFIX_TTL = 86_400
_SITE_BASE, _PREFIX_BASE = 1, 11  # as ``idnode delegate``


def _admin(identity: Identity, index: int) -> HandleValue:
    return HandleValue(index, "HS_ADMIN",
                       AdminData(ALL_PERMISSIONS, identity.handle, identity.index).to_bytes())


def route_values(sites: Sequence[SiteData], *, subprefixes: bool) -> list[HandleValue]:
    """HS_SITE (1…) and, with ``subprefixes``, HS_SITE.PREFIX (11…), primary sites first."""
    ordered = sorted(sites, key=lambda s: not s.primary)
    values = [HandleValue(_SITE_BASE + i, "HS_SITE", s.to_bytes(), ttl=PREFIX_TTL)
              for i, s in enumerate(ordered)]
    if subprefixes:
        values += [HandleValue(_PREFIX_BASE + i, "HS_SITE.PREFIX", s.to_bytes(),
                               ttl=PREFIX_TTL) for i, s in enumerate(ordered)]
    return values


def identity_values(form: Form, pubkey: PublicKeyData | None) -> list[HandleValue]:
    """The hosted admin identity's record, as ``idnode init`` makes ``<prefix>/ADMIN``."""
    handle = form.admin.handle
    members, values = [], [_admin(Identity(handle, 200), 100)]
    if pubkey is not None:
        members.append(Reference(handle, 300))
        values.append(HandleValue(300, "HS_PUBKEY", pubkey.to_bytes()))
    if form.secret is not None:
        members.append(Reference(handle, 301))
        values.append(HandleValue(301, "HS_SECKEY", form.secret.encode(),
                                  permissions=PERM_SECRET))
    values.append(HandleValue(200, "HS_VLIST", VListData(tuple(members)).to_bytes()))
    return sorted(values, key=lambda v: v.index)


def approval_ops(form: Form, operator: Identity, sites: Sequence[SiteData],
                 pubkey: PublicKeyData | None) -> list[CreateHandle]:
    """The records approval creates (the caller homes a hosted prefix after them)."""
    routes = route_values(sites, subprefixes=not form.hosted)
    record = [*routes, _admin(form.admin, 100), _admin(operator, 101)]
    ops = []
    if form.hosted:
        ops.append(CreateHandle(Handle.parse(form.admin.handle),
                                tuple(v.with_timestamp()
                                      for v in identity_values(form, pubkey))))
    ops.append(CreateHandle(Handle.parse(prefix_handle(form.prefix)),
                            tuple(v.with_timestamp() for v in record)))
    return ops


def encode_values(values: Sequence[HandleValue]) -> str:
    """Withheld route values as JSON, to keep in the ledger while suspended."""
    return json.dumps([{"index": v.index, "type": v.type,
                        "data": base64.b64encode(v.data).decode(), "ttl": v.ttl,
                        "ttlType": v.ttl_type, "permissions": v.permissions}
                       for v in values])


def decode_values(text: str) -> list[HandleValue]:
    return [HandleValue(int(o["index"]), str(o["type"]), base64.b64decode(o["data"]),
                        ttl_type=int(o["ttlType"]), ttl=int(o["ttl"]),
                        permissions=int(o["permissions"])).with_timestamp()
            for o in json.loads(text)]
