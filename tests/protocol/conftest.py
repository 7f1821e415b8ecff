"""Shared fixtures of the protocol tests: the golden vectors of handle-protocol.md §13."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

VECTORS_FILE = Path(__file__).resolve().parents[1] / "vectors" / "handle-protocol-13.json"


def load_vectors() -> dict[str, bytes]:
    """Name -> bytes of every vector in ``tests/vectors/handle-protocol-13.json``."""
    raw = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    return {
        name: bytes.fromhex(entry["hex"].replace("|", " "))
        for name, entry in raw.items() if not name.startswith("_")
    }


@pytest.fixture(scope="session")
def vectors() -> dict[str, bytes]:
    return load_vectors()
