"""The replication bodies (OC 1000–1002): exact layouts, round trips, hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idnode.errors import ProtocolError
from idnode.identifiers.value import HandleValue
from idnode.protocol.bodies import decode_request_body
from idnode.protocol.constants import OpCode
from idnode.protocol.replication import (
    DumpMode,
    DumpRequest,
    DumpResponse,
    Epoch,
    FetchedRecord,
    LogEntry,
    LogRequest,
    LogResponse,
    LogStatus,
    ReplicaRole,
    StatusRequest,
    StatusResponse,
)

VALUE = HandleValue(1, "URL", b"https://example.com/a", timestamp=0x5F000000)


def test_log_request_layout_is_exact() -> None:
    wire = LogRequest(0x0102030405060708, 3, 1000, 4 << 20, 500).to_wire()
    assert wire.hex() == ("00000001" "0102030405060708" "00000003" "000003e8" "00400000"
                          "000001f4")


def test_status_response_layout_is_exact() -> None:
    status = StatusResponse(ReplicaRole.MIRROR, 7, 42, 5, 1_700_000_000_000_000,
                            (Epoch(1, 1), Epoch(2, 40)), "10.0.0.1:2643")
    wire = status.to_wire()
    assert wire.hex() == ("00000001" "02" "00000007" "000000000000002a" "0000000000000005"
                          "00060a24181e4000" "00000002" "00000001" "0000000000000001"
                          "00000002" "0000000000000028" "0000000d"
                          + b"10.0.0.1:2643".hex())
    assert StatusResponse.from_wire(wire) == status
    assert status.epoch == 2


def test_requests_decode_through_the_opcode_table() -> None:
    assert decode_request_body(OpCode.GET_NEXT_TXN_ID, StatusRequest().to_wire()) == \
        StatusRequest()
    request = DumpRequest(DumpMode.FETCH, keys=("88.1/A", "88.1/B"))
    assert decode_request_body(OpCode.DUMP_HANDLES, request.to_wire()) == request


@pytest.mark.parametrize("answer", [
    DumpResponse(DumpMode.RECORDS, (FetchedRecord("88.1/A", "88.1/a", (VALUE,)),), ("88.1",),
                 "88.1/A"),
    DumpResponse(DumpMode.FETCH, (FetchedRecord("88.1/A", "88.1/a", (VALUE,)),
                                  FetchedRecord("88.1/GONE", None))),
    DumpResponse(DumpMode.DIGESTS, digests=((0, b"\x01" * 16, 3), (4095, b"\xff" * 16, 1))),
    DumpResponse(DumpMode.HASHES, hashes=(("88.1/A", b"\x02" * 16),)),
])
def test_dump_answers_round_trip(answer: DumpResponse) -> None:
    assert DumpResponse.from_wire(answer.to_wire()) == answer


def test_log_response_round_trips_entries() -> None:
    answer = LogResponse(LogStatus.ENTRIES, 9, 0, (Epoch(1, 1),), (
        LogEntry(8, 1_700_000_000_123_456, "create", "88.1/A", "88.1/a", (VALUE,)),
        LogEntry(9, 1_700_000_000_223_456, "delete", "88.1/B", "88.1/b", ())))
    assert LogResponse.from_wire(answer.to_wire()) == answer


def test_wrong_format_version_is_named() -> None:
    wire = bytearray(LogRequest(1, 1).to_wire())
    wire[3] = 9
    with pytest.raises(ProtocolError, match="format 9"):
        LogRequest.from_wire(bytes(wire))


def test_unknown_enums_are_refused() -> None:
    wire = bytearray(DumpRequest(DumpMode.DIGESTS).to_wire())
    wire[4] = 77
    with pytest.raises(ProtocolError, match="unknown dump mode 77"):
        DumpRequest.from_wire(bytes(wire))


def test_a_hostile_count_allocates_nothing() -> None:
    # 0xFFFFFFFF entries announced in a 40-byte body.
    wire = LogResponse(LogStatus.ENTRIES, 1, 0, ()).to_wire()[:-4] + b"\xff\xff\xff\xff"
    with pytest.raises(ProtocolError):
        LogResponse.from_wire(wire)


def test_digests_must_be_16_bytes() -> None:
    with pytest.raises(ProtocolError, match="16 bytes"):
        DumpResponse(DumpMode.DIGESTS, digests=((1, b"short", 1),)).to_wire()


_text = st.text(max_size=40)
_u64 = st.integers(0, 2**64 - 1)


@given(st.builds(LogRequest, _u64, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                 st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)))
def test_log_requests_round_trip(request: LogRequest) -> None:
    assert LogRequest.from_wire(request.to_wire()) == request


@given(st.builds(DumpRequest, st.sampled_from(list(DumpMode)), _text,
                 st.integers(0, 2**32 - 1), st.integers(0, 4095),
                 st.lists(_text, max_size=5).map(tuple)))
def test_dump_requests_round_trip(request: DumpRequest) -> None:
    assert DumpRequest.from_wire(request.to_wire()) == request


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_a_decoder(data: bytes) -> None:
    for cls in (StatusRequest, StatusResponse, LogRequest, LogResponse, DumpRequest,
                DumpResponse):
        try:
            cls.from_wire(data)  # type: ignore[attr-defined]
        except ProtocolError:
            pass
