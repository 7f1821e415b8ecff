"""What a record registered under a template carries besides its items (``idis.md`` §8.1).

Every registered record names its template at index 1000 (``TEMPLATE_ID``: the template's
handle) and the version at index 1001 (``TEMPLATE``). The SNMS API and ``idnode import`` both
build these values here, so records of either path look alike to the detail query, the
unique (唯一) check and the ``referenceMetaHandle`` check of references.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from idnode.identifiers.handle import ascii_upper, handle_key
from idnode.identifiers.value import HandleValue
from idnode.templates.model import Template, TemplateItem

__all__ = ["TEMPLATE_ID_INDEX", "TEMPLATE_INDEX", "cited_version", "holds_unique",
           "template_handle", "template_id", "template_id_in", "template_values",
           "unique_not_indexed", "unique_too_long"]

#: the template's handle (``TEMPLATE_ID``), written by the node
TEMPLATE_ID_INDEX = 1000
#: the template version (``TEMPLATE``, reserved), written by the node
TEMPLATE_INDEX = 1001


def template_handle(prefix: str, version: str) -> str:
    """The record keeping a template version: ``<prefix>/META_<version>``."""
    return f"{prefix}/META_{version}"


def template_id(template: Template) -> str:
    """What records of ``template`` hold at 1000: its handle (``<prefix>/META_<code>``), or
    the version's record handle when it has no code."""
    return template.handle or template_handle(template.prefix, template.version)


def cited_version(template: Template, prefix: str) -> str:
    """What a record under ``prefix`` holds at 1001: the bare version for the template's own
    prefix, ``<prefix>/<version>`` for a template of another prefix (so that the detail's
    ``templateVersion`` names the same template when sent back)."""
    if ascii_upper(prefix) == ascii_upper(template.prefix):
        return template.version
    return f"{template.prefix}/{template.version}"


@functools.lru_cache(maxsize=1024)
def template_values(template_id: str, version: str) -> tuple[HandleValue, HandleValue]:
    """The values at 1000 and 1001; built once per template and version and shared (values
    are immutable)."""
    return (HandleValue(TEMPLATE_ID_INDEX, "TEMPLATE_ID", template_id.encode()),
            HandleValue(TEMPLATE_INDEX, "TEMPLATE", version.encode()))


def template_id_in(values: Iterable[HandleValue]) -> str | None:
    """The TEMPLATE_ID (index 1000) a record's values name, or None."""
    for value in values:
        if value.index == TEMPLATE_ID_INDEX:
            return value.data.decode("utf-8", "replace")
    return None


def holds_unique(values: Iterable[HandleValue], template_key: str, type_: str,
                 data: bytes) -> bool:
    """Whether a record follows the template ``template_key`` (a :func:`handle_key`) and
    holds ``data`` in a value of type ``type_`` (ASCII upper case)."""
    follows = same = False
    for value in values:
        if value.index == TEMPLATE_ID_INDEX:
            follows = handle_key(value.data.decode("utf-8", "replace")) == template_key
        elif value.data == data and ascii_upper(value.type) == type_:
            same = True
    return follows and same


def unique_not_indexed(item: TemplateItem) -> str:
    """Why values of the unique item ``item`` cannot be checked: the node does not index
    its type."""
    return (f"{item.label()}: unique (唯一) values cannot be checked: this node does not "
            f"index {item.type} values; the operator adds \"{item.type}\" to [storage] "
            "reverse_index_types")


def unique_too_long(item: TemplateItem, limit: int, size: int) -> str:
    """Why a value of the unique item ``item`` of ``size`` bytes cannot be checked: the
    index holds values of at most ``limit`` bytes."""
    return (f"{item.label()}: a unique (唯一) value is indexed only up to {limit} bytes; "
            f"this one has {size}")
