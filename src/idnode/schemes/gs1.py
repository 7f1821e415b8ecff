"""GS1 keys (GS1 系统: GTIN 商品条码, SSCC, GLN, GRAI, GIAI …) in every human form.

Forms read:

* element strings with brackets: ``(01)09521234543213(21)12345``;
* element strings without brackets, with FNC1 written as GS (``\\x1d``, or ``<GS>``,
  ``{GS}``, ``␝``) and an optional symbology identifier (``]C1``, ``]d2``, ``]Q3``);
* a bare key: 8, 12, 13 or 14 digits (a GTIN) or 18 digits (an SSCC);
* GS1 Digital Link URIs on any host: ``https://id.example/01/09521234543213/21/12345``;
* EPC pure-identity URNs and tag URIs (:mod:`.epc`).

Parsing, application identifiers, GTIN/SSCC/GLN check digits, company prefixes and the
Digital Link rules (qualifier order, GTIN padded to 14 digits, percent-encoding) are biip's;
check digits it does not verify (GRAI, GDTI, GSRN, GSIN, GCN, ITIP) and the digit an error
should name come from python-stdnum. The canonical text is the bracketed element string with
the key first, its qualifiers in Digital Link order, then other attributes by AI.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, unquote, urlsplit

from biip import EncodeError, ParseError
from biip.gs1_digital_link_uris import _PRIMARY_IDENTIFIER_MAP, GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString, GS1ElementStrings
from biip.gs1_messages import GS1Message
from biip.gs1_prefixes import GS1CompanyPrefix, GS1Prefix
from biip.gtin import Gtin
from biip.symbology import SymbologyIdentifier
from stdnum import ean

from idnode.schemes import epc
from idnode.schemes.base import Parsed, fail

__all__ = ["BARE_KEY_LENGTHS", "PRIMARY_KEYS", "Gs1Scheme", "gcp_candidates"]

#: AIs that are GS1 identification keys (the first path segment of a Digital Link URI).
#: biip keeps this table (with the qualifiers) private; it is still the one source of which
#: AIs are keys, so it is read rather than copied.
PRIMARY_KEYS: frozenset[str] = frozenset(_PRIMARY_IDENTIFIER_MAP)
#: Lengths of digit strings read as a bare key.
BARE_KEY_LENGTHS = {8: "GTIN-8", 12: "GTIN-12", 13: "GTIN-13", 14: "GTIN-14", 18: "SSCC"}

_TITLE = "GS1"
# Names of the keys in messages and kinds; anything else is named by biip's data title.
_KEY_NAMES = {"00": "SSCC", "01": "GTIN", "253": "GDTI", "255": "GCN", "401": "GINC",
              "402": "GSIN", "414": "GLN", "415": "GLN", "417": "GLN", "8003": "GRAI",
              "8004": "GIAI", "8006": "ITIP", "8010": "CPID", "8013": "GMN",
              "8017": "GSRN", "8018": "GSRN"}
_CHINESE = {"GTIN": "全球贸易项目代码", "SSCC": "系列货运包装箱代码", "GLN": "全球位置码",
            "GRAI": "全球可回收资产代码", "GIAI": "全球单个资产代码"}
# Keys whose leading digits end in a GS1 mod-10 check digit that biip does not verify:
# AI → index of the check digit in the value (GS1 General Specifications §3.2).
_CHECK_AT = {"253": 12, "255": 12, "402": 16, "8003": 13, "8006": 13, "8017": 17,
             "8018": 17}
# Where the GS1 Company Prefix starts in a key's value (after an indicator, extension or
# filler digit).
_GCP_OFFSET = {"00": 1, "01": 1, "02": 1, "8003": 1, "8006": 1}
_GCP_LENGTHS = range(12, 3, -1)  # GS1 Company Prefixes have 4 to 12 digits
_SEPARATORS = ("<GS>", "{GS}", "[GS]", "␝", "\\x1d", "\\x1D")
_GS = "\x1d"
_FORMS: tuple[str, ...] = ("element", "unbracketed", "digital-link", "epc-urn", "epc-tag")


def gcp_candidates(ai: str, value: str) -> tuple[str, ...]:
    """Possible GS1 Company Prefixes of a key value, longest first (4 to 12 digits)."""
    start = _GCP_OFFSET.get(ai, 0)
    digits = ""
    for ch in value[start:start + 12]:
        if not ("0" <= ch <= "9"):
            break
        digits += ch
    return tuple(digits[:n] for n in _GCP_LENGTHS if n <= len(digits))


def _check_digit_error(name: str, value: str, at: int) -> str | None:
    digits = value[:at + 1]
    if len(digits) != at + 1 or not digits.isascii() or not digits.isdigit():
        return None
    expected = str(ean.calc_check_digit(digits[:-1]))
    if expected != digits[-1]:
        return f"{name} check digit should be {expected}, not {digits[-1]}"
    return None


def _validate(element: GS1ElementString) -> None:
    """Raise for a check digit biip found wrong or did not verify; biip's other errors."""
    ai = element.ai.ai
    name = _KEY_NAMES.get(ai, element.ai.data_title)
    error = element.gtin_error or element.sscc_error or element.gln_error
    if ai == "02":
        name = "GTIN"
    if error is not None:
        at = len(element.value) - 1
        fail(_TITLE, f"({ai}){element.value}",
             _check_digit_error(name, element.value, at) or error)
    at_index = _CHECK_AT.get(ai)
    if at_index is not None:
        problem = _check_digit_error(name, element.value, at_index)
        if problem is not None:
            fail(_TITLE, f"({ai}){element.value}", problem)


def _ordered(elements: GS1ElementStrings, text: str
             ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(key and qualifiers, other attributes), each in Digital Link order.

    biip's Digital Link builder knows the key/qualifier rules; its URI is read back for the
    order rather than repeating them here.
    """
    seen: set[str] = set()
    for element in elements:
        if element.ai.ai in seen:
            fail(_TITLE, text, f"AI ({element.ai.ai}) appears more than once")
        seen.add(element.ai.ai)
    keys = [e.ai.ai for e in elements if e.ai.ai in PRIMARY_KEYS]
    if not keys:
        present = " ".join(f"({e.ai.ai})" for e in elements)
        fail(_TITLE, text, f"no GS1 key (GTIN, SSCC, GLN, GRAI, GIAI …) among {present}")
    if len(keys) > 1:
        fail(_TITLE, text, "more than one GS1 key: " + " and ".join(f"({k})" for k in keys))
    try:
        uri = GS1DigitalLinkURI.from_element_strings(elements).as_uri(domain="x")
    except (EncodeError, ValueError) as exc:
        fail(_TITLE, text, str(exc))
    parts = urlsplit(uri)
    segments = parts.path.split("/")[1:]
    identity = [(segments[i], unquote(segments[i + 1])) for i in range(0, len(segments), 2)]
    return identity, parse_qsl(parts.query, keep_blank_values=True)


def _hri(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"({ai}){value}" for ai, value in pairs)


class Gs1Scheme:
    """GS1 identification keys; see the module docstring for the forms."""

    name = "gs1"
    title = "GS1 (GS1 系统)"
    forms: tuple[str, ...] = _FORMS

    # -- parsing ------------------------------------------------------------------------
    def parse(self, text: str, *, explicit: bool) -> Parsed | None:
        head = text[:12].lower()
        if head.startswith(("http://", "https://")):
            return self._digital_link(text, explicit)
        if head.startswith("urn:epc:"):
            try:
                uri = epc.parse_epc(text)
            except epc.EpcError as exc:
                fail(_TITLE, text, str(exc))
            form = "epc tag uri" if uri.tag else "epc urn"
            elements = [self._element(ai + value, text) for ai, value in uri.elements]
            extra = {"company_prefix": uri.company_prefix}
            if uri.tag:
                extra.update(epc_tag=uri.tag, epc_filter=uri.filter)
            return self._build(GS1ElementStrings(elements), text, form, extra)
        body = text
        symbology = False
        if body.startswith("]"):
            try:
                identifier = SymbologyIdentifier.extract(body)
            except ParseError as exc:
                fail(_TITLE, text, str(exc))
            body = body[len(identifier):]
            symbology = True
        for spelling in _SEPARATORS:
            body = body.replace(spelling, _GS)
        separated = body.startswith(_GS) or symbology
        body = body.lstrip(_GS)
        if body.startswith("("):
            return self._element_string(body, text)
        if body.isascii() and body.isdigit() and not separated and len(body) in BARE_KEY_LENGTHS:
            return self._bare(body, text)
        if body[:1].isdigit() and (separated or explicit or _GS in body
                                   or self._starts_with_key(body)):
            try:
                message = GS1Message.parse(body)
            except ParseError as exc:
                fail(_TITLE, text, str(exc))
            return self._build(message.element_strings, text, "element string (unbracketed)")
        if explicit:
            fail(_TITLE, text, "not a GS1 element string, key, Digital Link URI or EPC URI")
        return None

    @staticmethod
    def _starts_with_key(body: str) -> bool:
        return any(body.startswith(ai) for ai in PRIMARY_KEYS if len(body) > len(ai))

    @staticmethod
    def _element(raw: str, text: str) -> GS1ElementString:
        try:
            return GS1ElementString.parse(raw)
        except ParseError as exc:
            fail(_TITLE, text, str(exc))

    def _element_string(self, body: str, text: str) -> Parsed:
        try:
            message = GS1Message.parse_hri(body)
        except ParseError as exc:
            fail(_TITLE, text, str(exc))
        return self._build(message.element_strings, text, "element string")

    def _bare(self, digits: str, text: str) -> Parsed:
        if len(digits) == 18:
            return self._build(GS1ElementStrings([self._element("00" + digits, text)]), text,
                               "bare key")
        try:
            gtin = Gtin.parse(digits)
        except ParseError as exc:
            fail(_TITLE, text, _check_digit_error("GTIN", digits, len(digits) - 1) or str(exc))
        element = self._element("01" + gtin.as_gtin_14(), text)
        return self._build(GS1ElementStrings([element]), text, "bare key")

    def _digital_link(self, text: str, explicit: bool) -> Parsed | None:
        try:
            path = urlsplit(text).path
        except ValueError as exc:
            fail(_TITLE, text, f"not a URI: {exc}")
        if not explicit and not any(seg in PRIMARY_KEYS for seg in path.split("/")):
            return None  # an ordinary web address, not a GS1 Digital Link URI
        try:
            uri = GS1DigitalLinkURI.parse(text)
        except (ParseError, ValueError) as exc:
            fail(_TITLE, text, f"not a valid GS1 Digital Link URI: {exc}")
        return self._build(uri.element_strings, text, "digital link")

    def _build(self, elements: GS1ElementStrings, text: str, form: str,
               extra: dict[str, str] | None = None) -> Parsed:
        for element in elements:
            _validate(element)
        identity, attributes = _ordered(elements, text)
        key_ai, key = identity[0]
        everything = identity + sorted(attributes)
        by_ai = {e.ai.ai: e for e in elements}
        key_element = by_ai[key_ai]
        name = _KEY_NAMES.get(key_ai, key_element.ai.data_title)
        kind = name
        labels: list[str] = []
        prefix = company = None
        for known in (key_element.gtin, key_element.sscc, key_element.gln):
            if known is not None:
                prefix, company = known.prefix, known.company_prefix
        region = gcp_candidates(key_ai, key)
        if company is None and key_ai not in ("01", "02") and region:
            prefix, company = GS1Prefix.extract(region[0]), GS1CompanyPrefix.extract(region[0])
        if key_element.gtin is not None:
            kind = str(key_element.gtin.format)
        if name in _CHINESE:
            labels.append(f"{name}: {_CHINESE[name]}")
        if prefix is not None:
            labels.append(f"GS1 prefix {prefix.value}: {prefix.usage}")
        fields = {"canonical": _hri(everything), "identity": _hri(identity),
                  "key_ai": key_ai, "key": key, "key_name": name,
                  "dl_path": "/".join(f"{ai}/{quote(v, safe='')}" for ai, v in identity),
                  "order": ",".join(ai for ai, _ in everything)}
        fields.update({f"ai{ai}": value for ai, value in everything})
        if key_ai == "01":
            fields["gtin"] = key
        if company is not None:
            fields["company_prefix"] = company.value
        fields.update(extra or {})
        if "company_prefix" in fields:
            labels.append(f"GS1 Company Prefix (厂商识别代码) {fields['company_prefix']}")
        return Parsed(self.name, f"GS1 {kind}", fields["canonical"], fields, tuple(labels),
                      self.name, gcp_candidates(key_ai, key), text=text, form=form)

    # -- rendering ----------------------------------------------------------------------
    def render(self, parsed: Parsed, form: str | None = None) -> str:
        form = form or "element"
        pairs = [(ai, parsed.fields[f"ai{ai}"]) for ai in parsed.fields["order"].split(",")]
        if form == "element":
            return parsed.canonical
        elements = GS1ElementStrings(self._element(ai + value, parsed.canonical)
                                     for ai, value in pairs)
        if form == "unbracketed":
            return GS1Message.from_element_strings(elements).value
        if form == "digital-link":
            return GS1DigitalLinkURI.from_element_strings(elements).as_uri()
        if form in ("epc-urn", "epc-tag"):
            company = parsed.fields.get("company_prefix")
            if company is None:
                fail(_TITLE, parsed.canonical, "its GS1 Company Prefix length is unknown, and "
                                               "an EPC URI needs it")
            held = {"01", "21", "00", "414", "254", "8003", "8004"}
            extra = [ai for ai, _ in pairs if ai not in held]
            if extra:
                fail(_TITLE, parsed.canonical, "an EPC URI holds the key and its serial only; "
                     + " ".join(f"({ai})" for ai in extra) + " would be lost")
            tag = parsed.fields.get("epc_tag", "") if form == "epc-tag" else ""
            if form == "epc-tag" and not tag:
                fail(_TITLE, parsed.canonical, "no tag encoding known (parse a tag URI to "
                                               "render one)")
            try:
                return epc.epc_uri(dict(pairs), company, tag=tag,
                                   filter_value=parsed.fields.get("epc_filter", ""))
            except epc.EpcError as exc:
                fail(_TITLE, parsed.canonical, str(exc))
        fail(_TITLE, parsed.canonical, f"no form {form!r}; GS1 forms are {', '.join(_FORMS)}")

    def mapping_key(self, key: str) -> str:
        if not (key.isascii() and key.isdigit() and 4 <= len(key) <= 12):
            fail(_TITLE, key, "a GS1 mapping key is a GS1 Company Prefix: 4 to 12 digits")
        return key
