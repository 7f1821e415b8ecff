"""Metadata templates (元数据模板, ``idis.md`` §8): model, JSON, validation of registrations.

A template names the items (数据项) a record of some kind carries: each item's Chinese and
English name, index (2000 and up), data type (1 string, 2 number, 3 date, 4 file,
5 reference, 6 audio, 7 video, 8 image) and rules. Registration data must follow a
*published* (已发布) version; :func:`validate` turns it into the handle values to store.

Limits (see :mod:`idnode.templates.limits`): at most 200 items per template; names, prefixes
and codes of at most 64 characters, versions of 32, descriptions of 1000; string values of at
most 4000 characters (also the default ``maxLength``); numbers of at most 38 digits; regular
expressions of at most 256 characters; URLs of at most 2048 characters; at most 100
identifiers in one reference value; at most 200 values in one registration.
"""

from __future__ import annotations

from idnode.templates.codec import loads, template_from_json, template_to_json
from idnode.templates.dates import DateFormat
from idnode.templates.model import (
    DataType,
    ItemState,
    Rules,
    Template,
    TemplateItem,
    TemplateState,
    edit,
    new_version,
    publish,
    withdraw,
)
from idnode.templates.records import (
    TEMPLATE_ID_INDEX,
    TEMPLATE_INDEX,
    cited_version,
    holds_unique,
    template_handle,
    template_id,
    template_id_in,
    template_values,
    unique_not_indexed,
    unique_too_long,
)
from idnode.templates.validate import Exists, Taken, TemplateOf, avalidate, validate

__all__ = [
    "TEMPLATE_ID_INDEX",
    "TEMPLATE_INDEX",
    "DataType",
    "DateFormat",
    "Exists",
    "ItemState",
    "Rules",
    "Taken",
    "Template",
    "TemplateItem",
    "TemplateOf",
    "TemplateState",
    "avalidate",
    "cited_version",
    "edit",
    "holds_unique",
    "loads",
    "new_version",
    "publish",
    "template_from_json",
    "template_handle",
    "template_id",
    "template_id_in",
    "template_to_json",
    "template_values",
    "unique_not_indexed",
    "unique_too_long",
    "validate",
    "withdraw",
]
