"""Registration bodies (``idis.md`` §6.3) → handle values, and records → the SNMS JSON form.

A registered record holds the values the template check returns (index 2000 and up), plus
what the node writes itself (§8.1): 1000 ``TEMPLATE_ID`` (the template's handle) and 1001
``TEMPLATE`` (the version), and an HS_ADMIN at 100 naming the registering identity with all
permissions, so that identity may later update and delete it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from idnode.auth.identity import Identity
from idnode.errors import InvalidHandle
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
from idnode.snms.envelope import FAILED, SnmsFailure
from idnode.templates import (
    TEMPLATE_ID_INDEX,
    TEMPLATE_INDEX,
    Template,
    template_id,
    template_values,
)

__all__ = ["TEMPLATE_ID_INDEX", "Registration", "business_values", "parse_registration",
           "record_to_snms", "record_values", "same_content"]

ADMIN_INDEX = 100


@dataclass(frozen=True, slots=True)
class Registration:
    handle: Handle
    version: str
    data: object


def parse_registration(obj: object, *, max_handle_bytes: int) -> Registration:
    """:raises SnmsFailure: not a ``{handle, templateVersion, value}`` object."""
    if not isinstance(obj, dict):
        raise SnmsFailure(FAILED, "each item must be an object {handle, templateVersion, "
                                  "value}")
    text, version = obj.get("handle"), obj.get("templateVersion")
    if not isinstance(text, str) or not text:
        raise SnmsFailure(FAILED, "handle: missing or not text")
    if not isinstance(version, str) or not version:
        raise SnmsFailure(FAILED, "templateVersion: missing or not text")
    try:
        handle = Handle.parse(text, max_length=max_handle_bytes)
    except InvalidHandle as exc:
        raise SnmsFailure(FAILED, f"handle: {exc}") from None
    if "value" not in obj:
        raise SnmsFailure(FAILED, "value: missing")
    return Registration(handle, version, obj["value"])


def record_values(template: Template, identity: Identity, checked: Sequence[HandleValue],
                  *, cited: str | None = None) -> list[HandleValue]:
    """:param cited: the ``templateVersion`` to keep at 1001 when it is not the bare
        version: ``<prefix>/<version>`` for a granted template of another prefix, so that
        the detail's ``templateVersion`` names the same template when sent back."""
    version = template.version if cited is None else cited
    return [*_node_values(template_id(template), version, identity.handle, identity.index),
            *checked]


@functools.lru_cache(maxsize=1024)
def _node_values(template_id: str, version: str, admin: str, index: int,
                 ) -> tuple[HandleValue, ...]:
    # The same for every record of a template registered by one identity: built once and
    # shared (values are immutable), which also lets the chain check them once per batch.
    # 1000 and 1001 are built by idnode.templates, as `idnode import` builds them.
    return (HandleValue(ADMIN_INDEX, "HS_ADMIN",
                        AdminData(ALL_PERMISSIONS, admin, index).to_bytes()),
            *template_values(template_id, version))


def business_values(values: Sequence[HandleValue]) -> list[HandleValue]:
    """All but HS_ADMIN values, with timestamps cleared: what "the same content" compares."""
    return sorted((replace(v, timestamp=0) for v in values
                   if not v.matches_type("HS_ADMIN")), key=lambda v: v.index)


def same_content(stored: Sequence[HandleValue], wanted: Sequence[HandleValue]) -> bool:
    return business_values(stored) == business_values(wanted)


def record_to_snms(handle: str, values: Sequence[HandleValue]) -> dict[str, Any]:
    """``{handle, templateVersion, value: [{index, type, auth, data: {format, value}}]}``."""
    out: dict[str, Any] = {"handle": handle}
    items = []
    for value in values:
        if value.matches_type("HS_ADMIN"):
            continue
        if value.index == TEMPLATE_INDEX:
            out["templateVersion"] = value.data.decode("utf-8", "replace")
            continue
        items.append({"index": value.index, "type": value.type, "auth": "",
                      "data": {"format": "string",
                               "value": value.data.decode("utf-8", "replace")}})
    out["value"] = items
    return out
