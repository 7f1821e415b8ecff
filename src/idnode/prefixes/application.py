"""An enterprise's application for a prefix (企业前缀申请): the form it sends, checked field by
field, and the application as the ledger keeps it.

The form carries the real-name data (实名信息) reviewed by the operator: organisation name,
unified social credit code (统一社会信用代码), a contact, and the route: ``hosted`` (this node
serves the prefix's identifiers; the admin identity's HS_PUBKEY and/or HS_SECKEY come with
the form) or ``delegated`` (the enterprise node at ``servers`` serves them; its admin
identity lives there). Every refusal names the field (``contact.email``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from idnode.auth.identity import Identity
from idnode.auth.keys import public_key_data
from idnode.errors import InvalidValue, RegistryError
from idnode.identifiers.values.pubkey import PublicKeyData
from idnode.prefixes.credit import check_credit_code
from idnode.storage import normalise_prefix

__all__ = ["ACTIONS", "STATUSES", "Application", "Form", "parse_form"]

#: pending → approved | rejected; approved ⇄ suspended; approved | suspended → revoked
STATUSES = ("pending", "approved", "rejected", "suspended", "revoked")
#: action → (statuses it applies to, status after it)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "approve": (("pending",), "approved"),
    "reject": (("pending",), "rejected"),
    "suspend": (("approved",), "suspended"),
    "reinstate": (("suspended",), "approved"),
    "revoke": (("approved", "suspended"), "revoked"),
}

_FIELDS = ("prefix", "organisation", "creditCode", "contact", "route", "admin")
_LABEL = re.compile(r"[0-9A-Za-z]{1,32}")
_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,23}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
_SERVER = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]+):[0-9]{1,5}")
_MAX_SERVERS = 10


@dataclass(frozen=True, slots=True)
class Form:
    """A checked application form. ``secret`` is the HS_SECKEY of a hosted admin identity."""

    prefix: str
    organisation: str
    credit_code: str
    contact_name: str
    contact_phone: str
    contact_email: str
    hosted: bool
    servers: tuple[str, ...]
    admin: Identity
    pubkey: str | None = None  # PEM
    secret: str | None = None

    def to_json(self, *, with_secret: bool = True) -> dict[str, Any]:
        admin: dict[str, Any] = {"handle": self.admin.handle, "index": self.admin.index}
        if self.pubkey is not None:
            admin["pubkey"] = self.pubkey
        if self.secret is not None:
            admin["secret"] = self.secret if with_secret else "(withheld)"
        route: dict[str, Any] = {"mode": "hosted" if self.hosted else "delegated"}
        if not self.hosted:
            route["servers"] = list(self.servers)
        return {"prefix": self.prefix, "organisation": self.organisation,
                "creditCode": self.credit_code,
                "contact": {"name": self.contact_name, "phone": self.contact_phone,
                            "email": self.contact_email},
                "route": route, "admin": admin}

    def pubkey_data(self) -> PublicKeyData | None:
        return None if self.pubkey is None else _pubkey(self.pubkey, "admin.pubkey")


@dataclass(frozen=True, slots=True)
class Application:
    """One application as stored: its form, status and the route values withheld while
    suspended (JSON list, see :mod:`idnode.prefixes.values`)."""

    id: int
    prefix: str
    status: str
    applicant: str
    created: float
    updated: float
    form: Form
    reason: str = ""
    withheld: str = "[]"


def _text(obj: dict[str, Any], name: str, where: str, limit: int) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(reason=f"{where}{name}: missing or empty")
    value = value.strip()
    if len(value) > limit or any(ord(c) < 32 for c in value):
        raise InvalidValue(reason=f"{where}{name}: at most {limit} printable characters")
    return value


def _pubkey(pem: str, where: str) -> PublicKeyData:
    try:
        return public_key_data(load_pem_public_key(pem.encode()))  # type: ignore[arg-type]
    except (ValueError, TypeError, RegistryError) as exc:
        raise InvalidValue(reason=f"{where}: not a PEM public key (RSA or DSA): {exc}") from None


def _prefix(value: Any, parents: frozenset[str]) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue(reason="prefix: missing; expected 88.<secondary>.<enterprise>")
    try:
        prefix = normalise_prefix(value.removeprefix("0.NA/"))
    except RegistryError:
        raise InvalidValue(reason=f"prefix: {value!r} is not a prefix") from None
    parent, _, label = prefix.rpartition(".")
    if parent not in parents or not _LABEL.fullmatch(label):
        under = ", ".join(sorted(parents)) or "(none)"
        raise InvalidValue(reason=f"prefix: {value!r} is not an enterprise prefix "
                                  f"(企业前缀) directly under a prefix of this node: {under} "
                                  "followed by 1 to 32 letters or digits")
    return prefix


def parse_form(obj: Any, parents: frozenset[str]) -> Form:
    """Check a decoded form; ``parents`` are the prefixes this node allocates under.

    :raises InvalidValue: naming the offending field.
    """
    if not isinstance(obj, dict):
        raise InvalidValue(reason=f"body: expected a JSON object with {', '.join(_FIELDS)}")
    for name in obj:
        if name not in _FIELDS:
            raise InvalidValue(reason=f"{name}: unknown field; expected {', '.join(_FIELDS)}")
    prefix = _prefix(obj.get("prefix"), parents)
    organisation = _text(obj, "organisation", "", 200)
    credit_code = check_credit_code(obj.get("creditCode"))
    contact = obj.get("contact")
    if not isinstance(contact, dict):
        raise InvalidValue(reason="contact: expected an object with name, phone and email")
    name = _text(contact, "name", "contact.", 64)
    phone = _text(contact, "phone", "contact.", 24)
    if not _PHONE.fullmatch(phone):
        raise InvalidValue(reason=f"contact.phone: {phone!r} is not a telephone number")
    email = _text(contact, "email", "contact.", 254)
    if not _EMAIL.fullmatch(email):
        raise InvalidValue(reason=f"contact.email: {email!r} is not an e-mail address")
    route = obj.get("route")
    if not isinstance(route, dict) or route.get("mode") not in ("hosted", "delegated"):
        raise InvalidValue(reason="route.mode: expected \"hosted\" (served by this node) or "
                                  "\"delegated\" (served by the enterprise node, 企业节点)")
    hosted = route["mode"] == "hosted"
    servers: tuple[str, ...] = ()
    if not hosted:
        listed = route.get("servers")
        if (not isinstance(listed, list) or not 1 <= len(listed) <= _MAX_SERVERS
                or not all(isinstance(s, str) and _SERVER.fullmatch(s) for s in listed)):
            raise InvalidValue(reason=f"route.servers: expected 1 to {_MAX_SERVERS} addresses "
                                      "HOST:PORT of the enterprise node's servers")
        servers = tuple(listed)
    admin = obj.get("admin")
    if not isinstance(admin, dict):
        raise InvalidValue(reason="admin: expected an object: handle, index and (hosted) "
                                  "pubkey and/or secret")
    handle = admin.get("handle", f"{prefix}/ADMIN")
    if not isinstance(handle, str) or not handle.upper().startswith(prefix.upper() + "/"):
        raise InvalidValue(reason=f"admin.handle: {handle!r} is not a handle under {prefix}")
    index = admin.get("index", 300)
    if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= 0xFFFF:
        raise InvalidValue(reason=f"admin.index: {index!r} is not a value index 1…65535")
    pubkey, secret = admin.get("pubkey"), admin.get("secret")
    if hosted:
        if pubkey is None and secret is None:
            raise InvalidValue(reason="admin.pubkey: a hosted prefix needs the admin "
                                      "identity's public key (PEM) or a secret, or both")
        if pubkey is not None:
            if not isinstance(pubkey, str):
                raise InvalidValue(reason="admin.pubkey: expected PEM text")
            _pubkey(pubkey, "admin.pubkey")
        if secret is not None and (not isinstance(secret, str) or not 8 <= len(secret) <= 256):
            raise InvalidValue(reason="admin.secret: expected 8 to 256 characters")
        # The identity handle's keys sit at 300 (HS_PUBKEY) and 301 (HS_SECKEY), as
        # ``idnode init`` does; HS_ADMIN names the group at 200 holding both.
        index = 200
    elif pubkey is not None or secret is not None:
        raise InvalidValue(reason="admin.pubkey: a delegated prefix's admin identity lives "
                                  "on the enterprise node; send only handle and index")
    try:
        identity = Identity(handle, index)
    except RegistryError as exc:
        raise InvalidValue(reason=f"admin.handle: {exc}") from None
    return Form(prefix, organisation, credit_code, name, phone, email, hosted, servers,
                identity, pubkey, secret)
