"""NFC NDEF messages: ndeflib parses back the same URI; tag capacities are enforced."""

from __future__ import annotations

import ndef
import pytest

from idnode.carriers import (
    NFC_TAGS,
    CapacityExceeded,
    CarrierError,
    ndef_message,
    ndef_uri,
    proxy_url,
    tags_that_fit,
)


@pytest.mark.parametrize("identifier", ["88.118.8/JXDY2106023", "88.168.5288/批次-2024",
                                        "88.1/a b?c#d"])
def test_ndef_round_trip(identifier: str) -> None:
    url = proxy_url(identifier, "https://id.example.cn")
    message = ndef_message(url)
    (record,) = list(ndef.message_decoder(message))  # ndeflib's own decoder
    # .iri is the text stored; ndeflib's .uri would escape the escapes' "%" again.
    assert isinstance(record, ndef.UriRecord) and record.iri == url
    assert ndef_uri(message) == url
    # The URI RTD abbreviates "https://" as prefix code 4.
    assert message[0] == 0xD1 and message[3:5] == b"U\x04"


def test_tag_capacity() -> None:
    short = ndef_message("https://p.cn/88.1/x")
    assert tags_that_fit(len(short)) == list(NFC_TAGS)
    url = "https://p.cn/88.1/" + "x" * 200  # a 220-byte message: NTAG215 and up
    message = ndef_message(url, tag="ntag215")
    assert tags_that_fit(len(message)) == ["ntag215", "ntag216"]
    with pytest.raises(CapacityExceeded, match=r"NTAG213 tag.*capacity is 144 bytes"):
        ndef_message(url, tag="ntag213")
    long_url = "https://p.cn/88.1/" + "x" * 1000  # a long record (4-byte payload length)
    with pytest.raises(CapacityExceeded, match="capacity is 888 bytes"):
        ndef_message(long_url)
    assert ndef_uri(ndef_message(long_url, tag=None)) == long_url
    with pytest.raises(CarrierError, match="unknown NFC tag"):
        ndef_message(url, tag="mifare")


def test_ndef_uri_refuses_garbage() -> None:
    with pytest.raises(CarrierError, match="not an NDEF message"):
        ndef_uri(b"\xd1\x01")
    text = b"".join(ndef.message_encoder([ndef.TextRecord("88.1/x")]))
    with pytest.raises(CarrierError, match="no URI record"):
        ndef_uri(text)
