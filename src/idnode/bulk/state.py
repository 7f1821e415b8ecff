"""The checkpoint file ``FILE.import-state.json``: where a resumed import starts.

It is replaced atomically (write, fsync, rename) only after a batch has committed, so it
never claims rows the store does not durably hold; at most the uncommitted batch is redone
on resume, and redoing it is harmless because importing a record that exists with the same
values counts as done.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from idnode.bulk.errors import ImportRefused

__all__ = ["HEAD_BYTES", "Checkpoint", "InputIdentity", "state_path"]

HEAD_BYTES = 64 * 1024
_VERSION = 1


def state_path(path: Path) -> Path:
    return path.with_name(path.name + ".import-state.json")


@dataclass(frozen=True, slots=True)
class InputIdentity:
    """Size, modification time and a hash of the first 64 KiB: a changed input is refused."""

    size: int
    mtime_ns: int
    head_sha256: str

    @classmethod
    def of(cls, path: Path) -> InputIdentity:
        st = path.stat()
        with path.open("rb") as f:
            head = f.read(HEAD_BYTES)
        return cls(st.st_size, st.st_mtime_ns, hashlib.sha256(head).hexdigest())


@dataclass(slots=True)
class Checkpoint:
    """Progress after the last committed batch."""

    input: InputIdentity
    format: str
    template: str
    offset: int = 0
    row: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    report_bytes: int = 0
    complete: bool = False

    def save(self, path: Path) -> None:
        body = asdict(self)
        body["version"] = _VERSION
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(body, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Checkpoint | None:
        try:
            body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise ImportRefused(reason=f"{path}: unreadable checkpoint ({exc})") from exc
        if body.pop("version", None) != _VERSION:
            raise ImportRefused(reason=f"{path}: checkpoint of an unknown version")
        try:
            body["input"] = InputIdentity(**body["input"])
            return cls(**body)
        except (TypeError, KeyError) as exc:
            raise ImportRefused(reason=f"{path}: malformed checkpoint ({exc})") from exc
