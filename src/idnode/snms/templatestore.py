"""Metadata templates (元数据模板, ``idis.md`` §8) stored as data: one handle record per version.

A version of the template of prefix ``P`` is the record ``P/META_<version>``: value 1 of type
``IDIS.TEMPLATE`` holds the template JSON (:func:`idnode.templates.template_to_json`, state
included) and value 100 an HS_ADMIN naming the identity that created it. Keyed by version, not
by ``metaCode``, because registrations name their template by ``templateVersion`` alone: one
read finds it. (``Template.handle``, ``P/META_<code>``, is what registered records cite at index
1000 when the template has a code.) Reads come from the worker's record cache, so a batch of
2000 registrations reads its template once.

Value 2 of type ``IDIS.TEMPLATE.GRANTS`` (administrators only, no public read) holds the
version's grant list (授权, :mod:`.grants`) as a JSON list of text; a record without it grants
nothing. Kept beside the template JSON, not in it, so granting never rewrites a published
template.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from idnode.errors import InvalidHandle, RegistryError, TemplateError
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import PERM_ADMIN_READ, PERM_ADMIN_WRITE, HandleValue
from idnode.node.records import Records
from idnode.templates import Template, loads, template_handle, template_to_json

__all__ = ["GRANTS_INDEX", "GRANTS_TYPE", "TEMPLATE_INDEX", "TEMPLATE_TYPE", "TemplateStore",
           "grants_of", "grants_value", "template_handle"]

TEMPLATE_TYPE = "IDIS.TEMPLATE"
TEMPLATE_INDEX = 1
GRANTS_TYPE = "IDIS.TEMPLATE.GRANTS"
GRANTS_INDEX = 2


def template_value(template: Template) -> HandleValue:
    text = json.dumps(template_to_json(template), ensure_ascii=False, separators=(",", ":"))
    return HandleValue(TEMPLATE_INDEX, TEMPLATE_TYPE, text.encode("utf-8"))


def grants_value(grants: list[str]) -> HandleValue:
    text = json.dumps(grants, ensure_ascii=False, separators=(",", ":"))
    return HandleValue(GRANTS_INDEX, GRANTS_TYPE, text.encode("utf-8"),
                       permissions=PERM_ADMIN_READ | PERM_ADMIN_WRITE)


def grants_of(values: Sequence[HandleValue]) -> list[str]:
    """The template record's grant list (empty without one; unreadable entries dropped)."""
    for value in values:
        if value.index == GRANTS_INDEX and value.type == GRANTS_TYPE:
            try:
                entries = json.loads(value.data)
            except (UnicodeDecodeError, ValueError, RecursionError):
                return []
            return [e for e in entries if isinstance(e, str)] if isinstance(entries, list) \
                else []
    return []


class TemplateStore:
    def __init__(self, records: Records) -> None:
        self.records = records
        # Parsed templates by the cached record's values: a changed record is re-parsed.
        self._parsed: dict[str, tuple[object, Template]] = {}

    async def values(self, prefix: str, version: str) -> tuple[HandleValue, ...]:
        """The values of the version's record (none when it does not exist)."""
        return await self.records.values_of(template_handle(prefix, version)) or ()

    async def grants(self, prefix: str, version: str) -> list[str]:
        """The version's grant list (empty when it has none or does not exist)."""
        return grants_of(await self.values(prefix, version))

    async def get(self, prefix: str, version: str) -> Template | None:
        """The stored version, or None.

        :raises TemplateError: the record holds no readable template.
        """
        text = template_handle(prefix, version)
        try:
            handle = Handle.parse(text)
        except InvalidHandle:
            return None
        record = await self.records.get(handle.key)
        if record is None:
            return None
        seen = self._parsed.get(handle.key)
        if seen is not None and seen[0] is record.values:
            return seen[1]
        for value in record.values:
            if value.index == TEMPLATE_INDEX and value.type == TEMPLATE_TYPE:
                try:
                    template = loads(value.data)
                except RegistryError as exc:
                    raise TemplateError(reason=f"{text} holds no readable template: {exc}"
                                        ) from None
                if len(self._parsed) >= 10_000:
                    self._parsed.clear()  # bounded; re-parsed on the next read
                self._parsed[handle.key] = (record.values, template)
                return template
        raise TemplateError(reason=f"{text} has no {TEMPLATE_TYPE} value")
