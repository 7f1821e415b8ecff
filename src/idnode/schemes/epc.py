"""EPC URIs of GS1 keys (GS1 EPC Tag Data Standard): pure identities and tag URIs.

``urn:epc:id:sgtin:0614141.812345.12345`` is the GTIN ``80614141123458`` with serial
``12345``: the company prefix, then the indicator digit followed by the item reference, then
the serial; the check digit is not written. Tag URIs add the tag encoding and a filter value
(``urn:epc:tag:sgtin-96:1.0614141.812345.12345``). Supported: SGTIN, SSCC, SGLN, GRAI, GIAI.

This module only converts between URIs and GS1 element strings; :mod:`.gs1` validates the
result (check digits, character sets) exactly as for any other form. biip has no EPC
support, hence this code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import ean

__all__ = ["EPC_SCHEMES", "EpcError", "EpcUri", "epc_uri", "parse_epc"]

#: Pure-identity scheme → its tag encodings.
EPC_SCHEMES: dict[str, tuple[str, ...]] = {
    "sgtin": ("sgtin-96", "sgtin-198"),
    "sscc": ("sscc-96",),
    "sgln": ("sgln-96", "sgln-195"),
    "grai": ("grai-96", "grai-170"),
    "giai": ("giai-96", "giai-202"),
}
# Largest serials of the 96-bit encodings (numeric, no leading zeros; TDS §14).
_MAX_96 = {"sgtin-96": 2**38 - 1, "grai-96": 2**38 - 1, "sgln-96": 2**41 - 1}
# Characters a GS1 value may hold that an EPC URI must percent-escape (TDS, Table A-1).
_ESCAPED = {'"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E",
            "?": "%3F"}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_DIGITS = re.compile(r"[0-9]+")


class EpcError(ValueError):
    """The URI is not a valid EPC URI of a supported scheme (the message says why)."""


@dataclass(frozen=True, slots=True)
class EpcUri:
    """An EPC URI as GS1 element strings.

    :ivar elements: ``(ai, value)`` pairs, the key first.
    :ivar scheme: ``sgtin``, ``sscc`` …
    :ivar company_prefix: the GS1 Company Prefix (its length is explicit in EPC URIs).
    :ivar tag: the tag encoding (``sgtin-96``) for tag URIs, else ``""``.
    :ivar filter: the filter value of a tag URI, else ``""``.
    """

    elements: tuple[tuple[str, str], ...]
    scheme: str
    company_prefix: str
    tag: str = ""
    filter: str = ""


def _unescape(text: str, what: str) -> str:
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise EpcError(f"{what} has a '%' that is not an escape (%XX)")
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _escape(text: str) -> str:
    return "".join(_ESCAPED.get(c, c) for c in text)


def _digits(text: str, what: str) -> str:
    if not _DIGITS.fullmatch(text):
        raise EpcError(f"{what} must be digits, not {text!r}")
    return text


def _check(payload: str) -> str:
    return str(ean.calc_check_digit(payload))


def _split(body: str, count: int, scheme: str) -> list[str]:
    parts = body.split(".", count - 1)
    if len(parts) != count:
        raise EpcError(f"{scheme} URIs have {count} dot-separated parts, this one "
                       f"{len(parts)}")
    return parts


def _company(parts: list[str], total: int, scheme: str) -> tuple[str, str]:
    """The company prefix and the reference that fills it up to ``total`` digits."""
    gcp = _digits(parts[0], "the company prefix")
    ref = _digits(parts[1], "the reference") if parts[1] else ""
    if not 6 <= len(gcp) <= 12:
        raise EpcError(f"the company prefix has {len(gcp)} digits; EPC URIs use 6 to 12")
    if len(gcp) + len(ref) != total:
        raise EpcError(f"{scheme}: company prefix and reference have {len(gcp) + len(ref)} "
                       f"digits together, not {total}")
    return gcp, ref


def _convert(scheme: str, body: str) -> EpcUri:
    if scheme == "sgtin":
        parts = _split(body, 3, scheme)
        gcp, ref = _company(parts, 13, scheme)
        if not ref:
            raise EpcError("sgtin: the indicator and item reference are missing")
        payload = ref[0] + gcp + ref[1:]
        serial = _unescape(parts[2], "the serial")
        return EpcUri((("01", payload + _check(payload)), ("21", serial)), scheme, gcp)
    if scheme == "sscc":
        parts = _split(body, 2, scheme)
        gcp, ref = _company(parts, 17, scheme)
        if not ref:
            raise EpcError("sscc: the extension digit and serial reference are missing")
        payload = ref[0] + gcp + ref[1:]
        return EpcUri((("00", payload + _check(payload)),), scheme, gcp)
    if scheme == "sgln":
        parts = _split(body, 3, scheme)
        gcp, ref = _company(parts, 12, scheme)
        payload = gcp + ref
        elements = [("414", payload + _check(payload))]
        extension = _unescape(parts[2], "the extension")
        if extension != "0":  # "0" is how an SGLN says "no extension" (TDS §6.3.3)
            elements.append(("254", extension))
        return EpcUri(tuple(elements), scheme, gcp)
    if scheme == "grai":
        parts = _split(body, 3, scheme)
        gcp, ref = _company(parts, 12, scheme)
        payload = "0" + gcp + ref
        serial = _unescape(parts[2], "the serial")
        return EpcUri((("8003", payload + _check(payload) + serial),), scheme, gcp)
    # giai: the asset reference follows the company prefix directly.
    gcp_text, _, reference = body.partition(".")
    if not reference:
        raise EpcError("giai URIs have 2 dot-separated parts")
    gcp = _digits(gcp_text, "the company prefix")
    if not 6 <= len(gcp) <= 12:
        raise EpcError(f"the company prefix has {len(gcp)} digits; EPC URIs use 6 to 12")
    return EpcUri((("8004", gcp + _unescape(reference, "the asset reference")),), scheme, gcp)


def parse_epc(text: str) -> EpcUri:
    """``urn:epc:id:…`` or ``urn:epc:tag:…`` as element strings (not yet validated).

    :raises EpcError: not a supported EPC URI, or malformed.
    """
    head = text[:12].lower()
    if head.startswith("urn:epc:id:"):
        scheme, sep, body = text[len("urn:epc:id:"):].partition(":")
        scheme = scheme.lower()
        if not sep or scheme not in EPC_SCHEMES:
            raise EpcError(f"EPC scheme {scheme!r} is not one of "
                           f"{', '.join(EPC_SCHEMES)}")
        return _convert(scheme, body)
    if head.startswith("urn:epc:tag:"):
        tag, sep, body = text[len("urn:epc:tag:"):].partition(":")
        tag = tag.lower()
        scheme = tag.partition("-")[0]
        if not sep or tag not in EPC_SCHEMES.get(scheme, ()):
            known = ", ".join(t for tags in EPC_SCHEMES.values() for t in tags)
            raise EpcError(f"EPC tag encoding {tag!r} is not one of {known}")
        filter_value, dot, rest = body.partition(".")
        if not dot or not re.fullmatch(r"[0-7]", filter_value):
            raise EpcError("a tag URI starts with a filter value 0–7 and a dot")
        uri = _convert(scheme, rest)
        limit = _MAX_96.get(tag)
        if limit is not None or tag == "giai-96":
            last = rest.rsplit(".", 1)[-1]
            if not _DIGITS.fullmatch(last) or (last != "0" and last.startswith("0")):
                raise EpcError(f"{tag} holds only a number without leading zeros as its "
                               f"last part, not {last!r}")
            if limit is not None and int(last) > limit:
                raise EpcError(f"{tag} holds numbers up to {limit}, not {last}")
        return EpcUri(uri.elements, scheme, uri.company_prefix, tag, filter_value)
    raise EpcError("EPC URIs start with urn:epc:id: or urn:epc:tag:")


def epc_uri(elements: dict[str, str], company_prefix: str, *, tag: str = "",
            filter_value: str = "") -> str:
    """The pure-identity URI (or, with ``tag``, the tag URI) of a GS1 key.

    :param elements: AI → value of the identifier (a key and its serial or extension).
    :raises EpcError: no EPC scheme holds this key, or the company prefix does not fit.
    """
    gcp = company_prefix
    n = len(gcp)
    if "01" in elements and "21" in elements:
        gtin = elements["01"]
        body = f"{gcp}.{gtin[0]}{gtin[1 + n:13]}.{_escape(elements['21'])}"
        scheme = "sgtin"
        fits = gtin[1:1 + n] == gcp
    elif "00" in elements:
        sscc = elements["00"]
        body = f"{gcp}.{sscc[0]}{sscc[1 + n:17]}"
        scheme = "sscc"
        fits = sscc[1:1 + n] == gcp
    elif "414" in elements:
        gln = elements["414"]
        body = f"{gcp}.{gln[n:12]}.{_escape(elements.get('254', '0'))}"
        scheme = "sgln"
        fits = gln[:n] == gcp
    elif "8003" in elements and len(elements["8003"]) > 14:
        grai = elements["8003"]
        body = f"{gcp}.{grai[1 + n:13]}.{_escape(grai[14:])}"
        scheme = "grai"
        fits = grai[1:1 + n] == gcp
    elif "8004" in elements:
        giai = elements["8004"]
        body = f"{gcp}.{_escape(giai[n:])}"
        scheme = "giai"
        fits = giai[:n] == gcp and len(giai) > n
    else:
        raise EpcError("EPC URIs exist for SGTIN (GTIN with serial), SSCC, SGLN, GRAI with "
                       "serial and GIAI only")
    if not fits or not 6 <= n <= 12:
        raise EpcError(f"company prefix {gcp!r} does not fit this {scheme.upper()}")
    if tag:
        if tag not in EPC_SCHEMES[scheme]:
            raise EpcError(f"tag encoding {tag!r} is not one of {scheme}'s")
        return f"urn:epc:tag:{tag}:{filter_value or '0'}.{body}"
    return f"urn:epc:id:{scheme}:{body}"
