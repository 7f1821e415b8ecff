"""Metadata templates (元数据模板, ``idis.md`` §8) stored as data: one handle record per version.

A version of the template of prefix ``P`` is the record ``P/META_<version>``: value 1 of type
``IDIS.TEMPLATE`` holds the template JSON (:func:`idnode.templates.template_to_json`, state
included) and value 100 an HS_ADMIN naming the identity that created it. Keyed by version, not
by ``metaCode``, because registrations name their template by ``templateVersion`` alone: one
read finds it. (``Template.handle``, ``P/META_<code>``, is what registered records cite at index
1000 when the template has a code.) Reads come from the worker's record cache, so a batch of
2000 registrations reads its template once.
"""

from __future__ import annotations

import json

from idnode.errors import InvalidHandle, RegistryError, TemplateError
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.node.records import Records
from idnode.templates import Template, loads, template_to_json

__all__ = ["TEMPLATE_INDEX", "TEMPLATE_TYPE", "TemplateStore", "template_handle"]

TEMPLATE_TYPE = "IDIS.TEMPLATE"
TEMPLATE_INDEX = 1


def template_handle(prefix: str, version: str) -> str:
    return f"{prefix}/META_{version}"


def template_value(template: Template) -> HandleValue:
    text = json.dumps(template_to_json(template), ensure_ascii=False, separators=(",", ":"))
    return HandleValue(TEMPLATE_INDEX, TEMPLATE_TYPE, text.encode("utf-8"))


class TemplateStore:
    def __init__(self, records: Records) -> None:
        self.records = records
        # Parsed templates by the cached record's values: a changed record is re-parsed.
        self._parsed: dict[str, tuple[object, Template]] = {}

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
