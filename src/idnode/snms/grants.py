"""Template grants (授权) and copies (复制), and which template a registration names.

A template belongs to its prefix. Its owner (the identity in the template record's HS_ADMIN)
may grant a published version to other identities or prefixes; the grant list is the value
:data:`~idnode.snms.templatestore.GRANTS_INDEX` of the template record, readable by
administrators only. A grantee may then

- register identifiers under its own prefixes that follow the granted template, naming it
  ``<prefix>/<version>`` or ``<prefix>/META_<version>`` in ``templateVersion``
  (:func:`template_names`), and
- copy it (``baseon-create``) into a new draft of a prefix it administers.

Grant entries (:func:`parse_grant`) are ``index:handle`` (that identity), ``handle`` (that
handle at any index) or a bare prefix (every identity registering under that prefix).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from idnode.auth.identity import Identity
from idnode.errors import InvalidHandle
from idnode.identifiers.handle import PREFIX_NA, Handle, ascii_upper
from idnode.snms.envelope import FAILED, FORBIDDEN, SnmsFailure
from idnode.templates import Template, TemplateState

__all__ = ["MAX_GRANTS", "check_use", "copy_allowed", "edit_grants", "granted", "parse_grant",
           "parse_grants", "same_prefix", "template_names"]

#: entries in one template's grant list
MAX_GRANTS = 1000
_MAX_ENTRY = 256


def parse_grant(text: object) -> str:
    """One grant entry, normalised: ``index:handle``, ``handle`` or a bare prefix.

    :raises SnmsFailure: not text, or not an identity, handle or prefix.
    """
    if not isinstance(text, str) or not text.strip() or len(text) > _MAX_ENTRY:
        raise SnmsFailure(FAILED, f"grants: {text!r} is not an identity (index:handle), a "
                                  f"handle or a prefix of at most {_MAX_ENTRY} characters")
    entry = text.strip()
    head, sep, rest = entry.partition(":")
    try:
        if sep and head.isascii() and head.isdigit() and "/" in rest:
            identity = Identity.parse(entry)
            return str(identity)
        if "/" in entry:
            handle = Handle.parse(entry)
            if handle.is_prefix_handle:  # 0.NA/88.1 names the prefix 88.1
                return handle.text.partition("/")[2]
            return handle.text
        if ":" in entry or any(ch.isspace() for ch in entry):
            raise InvalidHandle(handle=entry, reason="a prefix has no ':' or spaces (an "
                                                     "identity is index:handle)")
        Handle.parse(f"{entry}/x")  # a bare prefix: valid as the prefix of a handle
    except InvalidHandle as exc:
        raise SnmsFailure(FAILED, f"grants: {entry!r}: {exc}") from None
    return entry


def parse_grants(values: object) -> list[str]:
    """A list of grant entries, normalised, duplicates dropped (first kept)."""
    if not isinstance(values, list):
        raise SnmsFailure(FAILED, "grants: must be a list of identities, handles or prefixes")
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        entry = parse_grant(value)
        if _key(entry) not in seen:
            seen.add(_key(entry))
            out.append(entry)
    if len(out) > MAX_GRANTS:
        raise SnmsFailure(FAILED, f"grants: {len(out)} entries, more than {MAX_GRANTS}")
    return out


def edit_grants(current: list[str], body: dict[str, object]) -> list[str]:
    """The list after a grant request: ``grants`` replaces ``current``, then ``add`` entries
    are appended and ``remove`` entries dropped."""
    grants = parse_grants(body["grants"]) if "grants" in body else current
    gone = {_key(entry) for entry in parse_grants(body.get("remove", []))}
    return parse_grants([entry for entry in [*grants, *parse_grants(body.get("add", []))]
                         if _key(entry) not in gone])


def _key(entry: str) -> str:
    """Entries compare with the prefix part ASCII-case-insensitive, as handles do."""
    head, sep, rest = entry.partition("/")
    return ascii_upper(head) + sep + rest


def granted(grants: Iterable[str], identity: Identity, prefix: str) -> bool:
    """Does a grant entry name ``identity`` or the registration's ``prefix``?"""
    wanted = ascii_upper(prefix)
    for entry in grants:
        if "/" not in entry:
            if ascii_upper(entry) == wanted:
                return True
            continue
        head, sep, rest = entry.partition(":")
        if sep and head.isdigit() and "/" in rest:
            if identity.matches(rest, int(head)):
                return True
        elif identity.matches(entry, 0):
            return True
    return False


def same_prefix(a: str, b: str) -> bool:
    return ascii_upper(a) == ascii_upper(b)


def template_names(text: str, prefix: str) -> list[tuple[str, str]]:
    """The ``(prefix, version)`` pairs ``templateVersion`` may mean, to try in order.

    ``1.0`` is a version of the registration's own ``prefix``. A text with ``/`` is first
    tried as such a version too (versions may hold ``/``), then as ``<prefix>/<version>``
    or the template record's handle ``<prefix>/META_<version>``.
    """
    names = [(prefix, text)]
    owner, sep, rest = text.partition("/")
    if sep and owner and rest and ascii_upper(owner) != PREFIX_NA:
        version = rest[len("META_"):] if rest.startswith("META_") and len(rest) > 5 else rest
        if (owner, version) != (prefix, text):
            names.append((owner, version))
    return names


def check_use(template: Template, grants: Sequence[str], identity: Identity,
              prefix: str) -> None:
    """:raises SnmsFailure: ``template`` of another prefix is not granted for this use."""
    if same_prefix(template.prefix, prefix) or granted(grants, identity, prefix):
        return
    raise SnmsFailure(FORBIDDEN, f"无权限 no permission: {template.label()} of prefix "
                                 f"{template.prefix} is not granted (授权) to {identity} or "
                                 f"to prefix {prefix}")


def copy_allowed(template: Template, grants: Sequence[str], identity: Identity,
                 prefix: str, owner: bool) -> None:
    """May ``identity`` copy ``template`` into a draft of ``prefix``?

    Only published versions are copied; the template must be the identity's own (``owner``:
    it administers the template record, or the copy stays in the same prefix) or granted to
    the identity or to ``prefix``. Creating the draft still needs the right to create
    handles under ``prefix`` (checked by the write itself).

    :raises SnmsFailure: naming why not.
    """
    if template.state is not TemplateState.PUBLISHED:
        raise SnmsFailure(FAILED, f"{template.label()} is {template.state.value} "
                                  f"({template.state.chinese}); only a published (已发布) "
                                  "template can be copied (复制)")
    if owner or same_prefix(template.prefix, prefix) or granted(grants, identity, prefix):
        return
    raise SnmsFailure(FORBIDDEN, f"无权限 no permission: {template.label()} is neither "
                                 f"{identity}'s own nor granted (授权) to it or to prefix "
                                 f"{prefix}")
