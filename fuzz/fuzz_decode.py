"""Fuzz the idnode protocol decoders with atheris (not part of CI).

README: ``pip install atheris && python fuzz/fuzz_decode.py -max_total_time=600 [corpus_dir]``
(from the repository root, with idnode installed in the environment, e.g. ``.venv``).

Every decoder must return a value or raise :class:`idnode.errors.ProtocolError`; any other
exception is a finding. The first input byte picks the target, the rest is the data.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from idnode.errors import ProtocolError
from idnode.protocol import (
    Reassembler,
    StreamDecoder,
    decode_frame,
    decode_tunnel_body,
    split_digest,
)
from idnode.protocol.bodies import REQUEST_DECODERS, decode_request_body

try:
    import atheris  # type: ignore[import-not-found, import-untyped, unused-ignore]
except ImportError:  # pragma: no cover - only runs where atheris is installed
    atheris = None

_OPCODES = sorted(REQUEST_DECODERS)


def _stream(data: bytes) -> None:
    decoder = StreamDecoder(max_message=4096)
    # Feed in uneven pieces so the envelope and payload paths split at odd places.
    step = 1 + (data[0] % 37 if data else 0)
    for start in range(0, len(data), step):
        decoder.receive_data(data[start:start + step])
        while decoder.next_message() is not None:
            pass
    decoder.receive_eof()
    while decoder.next_message() is not None:
        pass


def _udp(data: bytes) -> None:
    reassembler = Reassembler(max_pending=8, max_bytes=16_384)
    # Datagrams separated by a marker, alternating between two peers.
    for i, datagram in enumerate(data.split(b"\xfe\xed")):
        try:
            reassembler.feed(i % 2, datagram)
        except ProtocolError:
            pass
        assert reassembler.buffered_bytes <= 16_384


def _bodies(data: bytes) -> None:
    if not data:
        return
    opcode = _OPCODES[data[0] % len(_OPCODES)]
    decode_request_body(opcode, data[1:], max_values=256)


_TARGETS: list[Callable[[bytes], object]] = [
    decode_frame, decode_tunnel_body, split_digest, _stream, _udp, _bodies,
]


def test_one_input(data: bytes) -> None:
    """One fuzz iteration."""
    if not data:
        return
    target = _TARGETS[data[0] % len(_TARGETS)]
    try:
        target(data[1:])
    except ProtocolError:
        pass


def main() -> None:
    if atheris is None:
        sys.exit("atheris is not installed: pip install atheris")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
