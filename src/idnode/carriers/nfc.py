"""NFC carriers: an NDEF message with one URI record (NFC Forum URI RTD), via ndeflib.

The record holds the proxy URL, so any phone opens it without an app. It is stored as given,
percent-encoded ASCII (a URI is an IRI too), not decoded to UTF-8 first: decoding would turn
an escaped ``%2F`` or ``%25`` of the identifier into a different URL. A tag stores the
message inside a TLV (``03`` length, message, ``FE``); :data:`NFC_TAGS` lists the user
memory of common NFC Forum Type 2 tags, and a message must fit the chosen one.
"""

from __future__ import annotations

import ndef

from idnode.carriers.errors import CapacityExceeded, CarrierError

__all__ = ["DEFAULT_TAG", "NFC_TAGS", "ndef_message", "ndef_uri", "tags_that_fit", "tlv_size"]

#: User memory in bytes (NXP data sheets).
NFC_TAGS = {"ntag213": 144, "ntag215": 504, "ntag216": 888}
#: The largest common tag; ``None`` as ``tag`` skips the check.
DEFAULT_TAG = "ntag216"


def tlv_size(message_size: int) -> int:
    """Bytes a message takes on a Type 2 tag: TLV header (2, or 4 from 255 bytes) + ``FE``."""
    return message_size + (2 if message_size < 0xFF else 4) + 1


def tags_that_fit(message_size: int) -> list[str]:
    """The tags of :data:`NFC_TAGS` that hold a message of ``message_size`` bytes."""
    return [name for name, size in NFC_TAGS.items() if tlv_size(message_size) <= size]


def ndef_message(uri: str, *, tag: str | None = DEFAULT_TAG) -> bytes:
    """The NDEF message (one URI record, ``https://`` etc. abbreviated per the RTD).

    :param tag: a key of :data:`NFC_TAGS` the message must fit, or ``None``.
    :raises CapacityExceeded: the message does not fit ``tag``.
    :raises CarrierError: an unknown tag name.
    """
    if tag is not None and tag not in NFC_TAGS:
        raise CarrierError(reason=f"unknown NFC tag {tag!r}: use one of "
                                  f"{', '.join(NFC_TAGS)} or none")
    message: bytes = b"".join(ndef.message_encoder([ndef.UriRecord(uri)]))
    if tag is not None and tlv_size(len(message)) > NFC_TAGS[tag]:
        raise CapacityExceeded(what="the NDEF message", carrier=f"an {tag.upper()} tag",
                               needed=tlv_size(len(message)), capacity=NFC_TAGS[tag],
                               unit="bytes", hint="TLV framing included")
    return message


def ndef_uri(message: bytes) -> str:
    """The URI of the first URI record in an NDEF message.

    :raises CarrierError: not a valid NDEF message, or no URI record in it.
    """
    try:
        records = list(ndef.message_decoder(message))
    except ndef.DecodeError as exc:
        raise CarrierError(reason=f"not an NDEF message: {exc}") from None
    for record in records:
        if isinstance(record, ndef.UriRecord):
            # The stored text: ndeflib's .uri would percent-encode the "%" of escapes again.
            return str(record.iri)
    raise CarrierError(reason="the NDEF message has no URI record")
