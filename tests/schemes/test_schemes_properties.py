"""Properties: no text crashes ``parse`` (only InvalidIdentifier), and generated valid
identifiers round-trip through every form."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import ean

from idnode.errors import InvalidIdentifier
from idnode.schemes import default_registry, parse

REGISTRY = default_registry()
FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

# Text that looks like the schemes' forms, so parsing goes deep rather than failing early.
_SHAPED = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"\(\d{2,4}\)[0-9A-Za-z/()%&<>]{0,20}(\(\d{2,4}\)[0-9A-Za-z]{0,20})?",
                  fullmatch=True),
    st.from_regex(r"(\]C1|\]d2|\x1d)?[0-9]{2,30}(\x1d[0-9A-Z]{0,10})?", fullmatch=True),
    st.from_regex(r"https?://[a-z.]{1,10}(/[0-9A-Za-z%]{0,16}){1,6}(\?[a-z0-9=&:]{0,20})?",
                  fullmatch=True),
    st.from_regex(r"urn:epc:(id|tag):[a-z0-9-]{0,12}:[0-9.A-Za-z%]{0,30}", fullmatch=True),
    st.from_regex(r"(urn:oid:)?[0-9]{1,3}(\.[0-9]{1,5}){0,8}\.?", fullmatch=True),
    st.from_regex(r"(ecode:)?[0-9][0-9A-Za-z(]{0,50}", fullmatch=True),
    st.from_regex(r"(25S)?[Vv][Aa][Aa][0-9A-Za-z.-]{0,60}", fullmatch=True),
    st.from_regex(r"[a-z0-9\u4e00-\u4e10_-]{0,70}(\.[a-z0-9\u4e00-\u4e10-]{0,70}){0,5}\.?",
                  fullmatch=True),
    st.from_regex(r"(88|0\.NA)(\.[0-9]{0,5}){0,4}/.{0,40}", fullmatch=True),
)


@FAST
@given(_SHAPED, st.sampled_from([None, *REGISTRY.names]))
def test_parse_never_crashes(text: str, scheme: str | None) -> None:
    try:
        parsed = parse(text, scheme=scheme)
    except InvalidIdentifier:
        return
    # Whatever parses renders, and its canonical text reads back the same.
    assert parse(REGISTRY.render(parsed), scheme=parsed.scheme).canonical == parsed.canonical


def _gtin(payload: str) -> str:
    return payload + str(ean.calc_check_digit(payload))


_SERIAL = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                           "!\"%&'*+,-./:;<=>?_", min_size=1, max_size=20)


@FAST
@given(st.from_regex(r"[0-9]{13}", fullmatch=True), st.one_of(st.none(), _SERIAL))
def test_gtins_round_trip_through_every_form(payload: str, serial: str | None) -> None:
    text = f"(01){_gtin(payload)}" + (f"(21){serial}" if serial else "")
    parsed = parse(text)
    assert parsed.canonical == text
    for form in REGISTRY.scheme("gs1").forms:
        try:
            out = REGISTRY.render(parsed, form)
        except InvalidIdentifier:
            continue  # EPC forms need a known company prefix length (and a serial)
        assert parse(out, scheme="gs1").canonical == text


@FAST
@given(st.from_regex(r"[0-9]{7,11}", fullmatch=True), st.integers(0, 9), _SERIAL)
def test_epc_urns_round_trip(company: str, indicator: int, serial: str) -> None:
    reference = str(indicator) + "0" * (12 - len(company))
    urn = parse(f"urn:epc:id:sgtin:{company}.{reference}.{serial.replace('%', '%25')}")
    again = parse(REGISTRY.render(urn, "epc-urn"))
    assert again == urn
    assert parse(REGISTRY.render(urn, "digital-link")).canonical == urn.canonical


@FAST
@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=12), st.integers(0, 2))
def test_oids_round_trip(arcs: list[int], root: int) -> None:
    if root < 2 and arcs[0] >= 40:
        arcs[0] %= 40
    text = ".".join(map(str, [root, *arcs]))
    parsed = parse(text)
    assert parsed.canonical == text
    assert parse(REGISTRY.render(parsed, "urn")) == parsed
