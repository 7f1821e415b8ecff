"""The golden vectors of handle-protocol.md §13, byte for byte, in both directions."""

from __future__ import annotations

import pytest

from idnode.identifiers.value import HandleValue
from idnode.protocol import (
    Message,
    Reassembler,
    StreamDecoder,
    decode_frame,
    decode_tunnel_body,
    encode_tunnel_body,
    split_datagrams,
)
from idnode.protocol.bodies import (
    ErrorBody,
    ResolutionRequest,
    ResolutionResponse,
    SiteInfoResponse,
    decode_request_body,
)
from idnode.protocol.constants import DEFAULT_RESOLUTION_FLAGS, OpCode, ResponseCode

HANDLE = "20.500.12345/abc"


def golden_request() -> Message:
    return Message(
        opcode=OpCode.RESOLUTION,
        opflags=DEFAULT_RESOLUTION_FLAGS,
        expiration=0x5F00_0000,
        request_id=0x0102_0304,
        body=ResolutionRequest(HANDLE).to_wire(),
    )


def test_resolution_request_encodes_to_the_golden_frame(vectors: dict[str, bytes]) -> None:
    assert golden_request().to_frame() == vectors["resolution_request_frame"]


def test_resolution_request_golden_frame_decodes(vectors: dict[str, bytes]) -> None:
    frame = vectors["resolution_request_frame"]
    message = decode_frame(frame)
    assert message == golden_request()
    assert (message.major, message.minor) == (2, 3)
    assert (message.suggested_major, message.suggested_minor) == (2, 11)
    assert message.opflags == 0x1900_0000
    assert message.site_serial == 0xFFFF
    assert message.credential == b""
    assert decode_request_body(message.opcode, message.body, max_values=2048) == \
        ResolutionRequest(HANDLE)
    assert message.to_frame() == frame


def test_golden_frame_through_every_transport(vectors: dict[str, bytes]) -> None:
    frame = vectors["resolution_request_frame"]
    assert split_datagrams(golden_request()) == [frame]
    assert Reassembler().feed(("127.0.0.1", 2641), frame) == golden_request()
    assert decode_tunnel_body(frame) == golden_request()
    assert encode_tunnel_body(golden_request()) == frame
    stream = StreamDecoder()
    stream.receive_data(frame + frame)
    assert stream.next_message() == golden_request()
    assert stream.next_message() == golden_request()
    assert stream.next_message() is None


def test_resolution_body_with_types_and_indexes(vectors: dict[str, bytes]) -> None:
    body = vectors["resolution_request_body_types_indexes"]
    request = ResolutionRequest(HANDLE, indexes=(1, 100), types=("URL",))
    assert request.to_wire() == body
    assert ResolutionRequest.from_wire(body) == request


def test_handle_value_inside_a_resolution_response(vectors: dict[str, bytes]) -> None:
    value = HandleValue(1, "URL", b"http://x", timestamp=0x6000_0000)
    body = (len(HANDLE).to_bytes(4, "big") + HANDLE.encode() + (1).to_bytes(4, "big")
            + vectors["handle_value_url"])
    response = ResolutionResponse(HANDLE, (value,))
    assert response.to_wire() == body
    assert ResolutionResponse.from_wire(body) == response


def test_site_info_response_carries_hs_site_bytes(vectors: dict[str, bytes]) -> None:
    site = vectors["hs_site_data"]
    assert SiteInfoResponse(site).to_wire() == site
    assert SiteInfoResponse.from_wire(site) == SiteInfoResponse(site)


def test_rc_100_error_body_is_an_empty_message(vectors: dict[str, bytes]) -> None:
    body = vectors["error_body_empty"]
    assert ErrorBody("").to_wire() == body
    assert ErrorBody.from_wire(body) == ErrorBody("")
    reply = golden_request().reply(ResponseCode.HANDLE_NOT_FOUND, ErrorBody().to_wire())
    decoded = decode_frame(reply.to_frame())
    assert decoded.response_code == 100
    assert decoded.request_id == 0x0102_0304
    assert decoded.body == bytes.fromhex("00000000")


@pytest.mark.parametrize("name", ["hs_admin_data", "hs_vlist_data", "handle_value_url",
                                  "hs_site_data"])
def test_every_vector_is_well_formed_hex(vectors: dict[str, bytes], name: str) -> None:
    assert vectors[name]
