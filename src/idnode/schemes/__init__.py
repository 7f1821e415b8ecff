"""Identifier schemes other than handles, and their mapping into the handle namespace.

``parse(text)`` reads any identifier idnode knows — handles and ``88.`` identifiers, GS1
keys in every human form, OIDs, Ecode, VAA codes, DNS names — into a :class:`Parsed`
(validated, normalised, renderable back); :func:`map_identifier` finds the handle a foreign
identifier resolves as, through mapping records (映射记录) that the national top-level node
publishes as ordinary handles. ``docs/identifiers.md`` describes the schemes, the record
format, and which layouts are confirmed. Record sources for mapping are in
:mod:`idnode.schemes.lookups`.
"""

from idnode.errors import InvalidIdentifier
from idnode.schemes.base import Parsed, Scheme
from idnode.schemes.mapping import (
    DEFAULT_SETTINGS,
    MAP_TYPE,
    Lookup,
    MappingHit,
    MappingRule,
    MappingSettings,
    find_mapping,
    map_identifier,
    mapping_handle,
    mapping_values,
)
from idnode.schemes.registry import Registry, default_registry, parse

__all__ = [
    "DEFAULT_SETTINGS",
    "MAP_TYPE",
    "InvalidIdentifier",
    "Lookup",
    "MappingHit",
    "MappingRule",
    "MappingSettings",
    "Parsed",
    "Registry",
    "Scheme",
    "default_registry",
    "find_mapping",
    "map_identifier",
    "mapping_handle",
    "mapping_values",
    "parse",
]
