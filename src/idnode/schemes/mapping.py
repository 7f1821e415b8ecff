"""Mapping foreign identifiers into the handle namespace, with the mapping held as data.

A **mapping record** (映射记录) is an ordinary handle that the national top-level node
(国家顶级节点) publishes, named by the scheme and a key of the identifier::

    88/MAP.GS1.9521234          (GS1 Company Prefix 9521234)
    88/MAP.OID.1.2.156.20009    (an OID arc)
    88/MAP.ECODE.10001          (Ecode header: version 1, NSI 0001)
    88/MAP.VAA.C0A1             (a VAA company identification number)
    88/MAP.DNS.example.com.cn   (a domain)

Each ``IDIS.MAP`` value in it holds JSON::

    {"scheme": "gs1", "key": "9521234", "prefix": "88.118.8", "suffix": "{identity}",
     "kinds": ["GTIN"]}

and says: identifiers of ``scheme`` whose key is ``key`` are resolved as the handle
``prefix/suffix``, the suffix being a template over the parsed identifier's fields
(``{canonical}``, ``{key}``, and per scheme ``{identity}``, ``{gtin}``, ``{ai21}``, ``{nsi}``,
``{md}`` …; ``{{`` and ``}}`` are literal braces). ``kinds`` (optional) limits a value to some
kinds of identifier (``GTIN``, ``SSCC``, ``GS1 GTIN-13`` …). A record may hold several values;
the first (lowest index) that applies to the identifier and whose placeholders the identifier
has is used, so ``{gtin}.{ai21}`` can come before ``{gtin}`` for serialised items.

Keys of variable length (GS1 Company Prefixes, OID arcs, VAA company numbers, parent domains)
are looked up from the most specific candidate to the least, at most ``max_lookups`` of them,
all at once; the most specific record that applies wins. ``88`` is the default home of the
records for every scheme, configurable per scheme (:class:`MappingSettings`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from idnode.errors import HandleNotFound, InvalidHandle, InvalidValue, ValuesNotFound
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.schemes.base import Parsed
from idnode.schemes.registry import Registry, default_registry

__all__ = [
    "DEFAULT_HOME",
    "DEFAULT_SETTINGS",
    "MAP_TYPE",
    "Lookup",
    "MappingHit",
    "MappingRule",
    "MappingSettings",
    "find_mapping",
    "map_identifier",
    "mapping_handle",
    "mapping_values",
    "render_template",
]

#: The value type of mapping rules.
MAP_TYPE = "IDIS.MAP"
#: The prefix under which mapping records live unless configured otherwise.
DEFAULT_HOME = "88"
#: Given a handle, its values, or ``None`` when it does not exist. Any record source will do:
#: a resolver, a client, a store (:mod:`idnode.schemes.lookups` has adapters).
Lookup = Callable[[str], Awaitable[Sequence[HandleValue] | None]]

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z0-9_]+)\}|[{}]")
_DEFAULT_SUFFIX = {"gs1": "{identity}"}
_MAX_LOOKUPS = 9


@dataclass(frozen=True, slots=True)
class MappingSettings:
    """Where mapping records live and how many candidates one identifier may cost.

    :ivar home: the prefix of mapping records (``88``: the top-level node's).
    :ivar homes: per-scheme overrides, ``(("oid", "88.100"), …)``.
    :ivar max_lookups: most candidate keys looked up for one identifier.
    """

    home: str = DEFAULT_HOME
    homes: tuple[tuple[str, str], ...] = ()
    max_lookups: int = _MAX_LOOKUPS

    def home_for(self, scheme: str) -> str:
        return dict(self.homes).get(scheme, self.home)


DEFAULT_SETTINGS = MappingSettings()


def mapping_handle(scheme: str, key: str, *, home: str = DEFAULT_HOME) -> str:
    """The mapping record's handle: ``88/MAP.GS1.9521234``."""
    return f"{home}/MAP.{scheme.upper()}.{key}"


class _Missing(Exception):
    """The identifier lacks fields a template names (the rule does not apply to it)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def render_template(template: str, values: Mapping[str, str]) -> str:
    """``template`` with ``{name}`` replaced from ``values`` (``{{``, ``}}``: braces).

    :raises InvalidValue: a lone ``{`` or ``}``.
    :raises _Missing: ``values`` lacks names the template uses (all of them are listed).
    """
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name is None:
            raise InvalidValue(reason=f"suffix template {template!r} has a lone {token!r} "
                                      "(write {{ or }} for a brace)")
        if name not in values:
            missing.append(name)
            return ""
        return values[name]

    out = _PLACEHOLDER.sub(substitute, template)
    if missing:
        raise _Missing(missing)
    return out


@dataclass(frozen=True, slots=True)
class MappingRule:
    """One ``IDIS.MAP`` value."""

    scheme: str
    key: str
    prefix: str
    suffix: str = "{canonical}"
    kinds: tuple[str, ...] = ()

    def to_json(self) -> str:
        out: dict[str, object] = {"scheme": self.scheme, "key": self.key,
                                  "prefix": self.prefix, "suffix": self.suffix}
        if self.kinds:
            out["kinds"] = list(self.kinds)
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_value(cls, value: HandleValue, record: str) -> MappingRule:
        """The rule in ``value`` of the mapping record ``record``.

        :raises InvalidValue: not JSON of the documented shape.
        """
        where = f"mapping record {record} index {value.index}"
        try:
            data = json.loads(value.data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise InvalidValue(reason=f"{where}: not JSON") from None
        if not isinstance(data, dict):
            raise InvalidValue(reason=f"{where}: not a JSON object")
        texts = {}
        for name in ("scheme", "key", "prefix"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise InvalidValue(reason=f"{where}: {name!r} must be a non-empty string")
            texts[name] = data[name]
        suffix = data.get("suffix", "{canonical}")
        kinds = data.get("kinds", [])
        if not isinstance(suffix, str) or not suffix:
            raise InvalidValue(reason=f"{where}: 'suffix' must be a non-empty string")
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise InvalidValue(reason=f"{where}: 'kinds' must be a list of strings")
        return cls(texts["scheme"].lower(), texts["key"], texts["prefix"], suffix,
                   tuple(kinds))

    def applies_to(self, parsed: Parsed) -> bool:
        if not self.kinds:
            return True
        names = {parsed.kind.lower(), parsed.fields.get("key_name", "").lower(),
                 parsed.kind.lower().removeprefix("gs1 ")}
        return any(kind.lower() in names for kind in self.kinds)

    def target(self, parsed: Parsed, key: str) -> str:
        """The handle this rule maps ``parsed`` to (not validated)."""
        values = {**parsed.fields, "canonical": parsed.canonical, "key": key}
        return f"{self.prefix}/{render_template(self.suffix, values)}"


@dataclass(frozen=True, slots=True)
class MappingHit:
    """Where an identifier maps.

    :ivar handle: the handle to resolve.
    :ivar record: the mapping record used (``""`` for a handle, which maps to itself).
    :ivar key: the key that matched.
    :ivar index: the index of the value that applied.
    """

    handle: str
    record: str = ""
    key: str = ""
    index: int = 0


async def _fetch(lookup: Lookup, handle: str) -> Sequence[HandleValue] | None:
    try:
        return await lookup(handle)
    except (HandleNotFound, ValuesNotFound):
        return None


def _apply(parsed: Parsed, key: str, record: str, values: Sequence[HandleValue],
           notes: list[str]) -> MappingHit | None:
    for value in sorted(values, key=lambda v: v.index):
        if not value.matches_type(MAP_TYPE):
            continue
        rule = MappingRule.from_value(value, record)
        if rule.scheme != parsed.map_scheme or rule.key != key:
            notes.append(f"{record} index {value.index} is for {rule.scheme} key {rule.key}")
            continue
        if not rule.applies_to(parsed):
            continue
        try:
            target = rule.target(parsed, key)
        except _Missing as exc:
            notes.append(f"{record} index {value.index} needs {{{'}, {'.join(exc.names)}}}")
            continue
        try:
            Handle.parse(target)
        except InvalidHandle as exc:
            raise InvalidValue(reason=f"{record} index {value.index} maps to an invalid "
                                      f"handle: {exc}") from None
        return MappingHit(target, record, key, value.index)
    return None


async def find_mapping(parsed: Parsed, lookup: Lookup,
                       settings: MappingSettings = DEFAULT_SETTINGS) -> MappingHit:
    """Where ``parsed`` maps, by its mapping records (a handle maps to itself).

    :raises HandleNotFound: no mapping record applies (RC 100; the message lists the
        records looked up).
    :raises InvalidValue: a mapping record that applies is malformed.
    :raises RegistryError: a lookup failed otherwise (unreachable servers …).
    """
    if parsed.scheme == "handle":
        return MappingHit(parsed.text or parsed.canonical)
    keys = parsed.map_keys[:max(settings.max_lookups, 1)]
    home = settings.home_for(parsed.map_scheme)
    records = [mapping_handle(parsed.map_scheme, key, home=home) for key in keys]
    results = await asyncio.gather(*(_fetch(lookup, h) for h in records),
                                   return_exceptions=True)
    notes: list[str] = []
    for key, record, result in zip(keys, records, results, strict=True):
        if isinstance(result, BaseException):
            raise result  # a more specific record might exist: do not guess past it
        if result is None:
            continue
        hit = _apply(parsed, key, record, result, notes)
        if hit is not None:
            return hit
    looked = ", ".join(records) or "nothing (no mapping key)"
    extra = f" ({'; '.join(notes)})" if notes else ""
    raise HandleNotFound(f"no mapping record (映射记录) maps {parsed.kind} "
                         f"{parsed.canonical}: looked up {looked}{extra}",
                         handle=parsed.canonical)


async def map_identifier(parsed: Parsed, lookup: Lookup,
                         settings: MappingSettings = DEFAULT_SETTINGS) -> str:
    """The handle to resolve for ``parsed`` (see :func:`find_mapping`)."""
    return (await find_mapping(parsed, lookup, settings)).handle


def mapping_values(scheme: str, key: str, prefix: str, suffix: str | None = None, *,
                   kinds: Sequence[str] = (), index: int = 1, ttl: int = 86400,
                   registry: Registry | None = None) -> list[HandleValue]:
    """The values of a mapping record, for an operator to create at
    :func:`mapping_handle` ``(scheme, key)``.

    :param suffix: the suffix template; by default ``{identity}`` for GS1 (the key and its
        qualifiers as an element string) and ``{canonical}`` for the other schemes.
    :raises InvalidIdentifier: ``key`` is not a mapping key of ``scheme``, or no such scheme.
    :raises InvalidValue: a malformed template or prefix.
    """
    chosen = (registry or default_registry()).scheme(scheme)
    normalised = chosen.mapping_key(key)
    template = suffix or _DEFAULT_SUFFIX.get(chosen.name, "{canonical}")
    try:
        render_template(template, {})
    except _Missing:
        pass  # placeholders are filled per identifier
    if "/" in prefix:
        raise InvalidValue(reason=f"prefix {prefix!r} must not contain '/'")
    try:
        Handle.parse(prefix + "/x")
    except InvalidHandle as exc:
        raise InvalidValue(reason=f"prefix {prefix!r}: {exc}") from None
    rule = MappingRule(chosen.name, normalised, prefix, template, tuple(kinds))
    return [HandleValue(index, MAP_TYPE, rule.to_json().encode("utf-8"), ttl=ttl)]
