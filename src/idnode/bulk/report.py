"""The report of rows not imported (bad rows and conflicts): CSV or JSON Lines.

On resume the file is cut back to its size at the checkpoint, so rows of the batch that
was redone are not reported twice.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TextIO

__all__ = ["Report", "report_path"]


def report_path(path: Path, fmt: str) -> Path:
    return path.with_name(f"{path.name}.import-report.{'csv' if fmt == 'csv' else 'jsonl'}")


class Report:
    """Appends ``row, handle, reasons`` lines; ``size`` is the bytes written so far."""

    def __init__(self, path: Path, *, keep: int = 0) -> None:
        self.path = path
        self.jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".json")
        self.rows = 0
        exists = path.exists()
        self._file: TextIO = path.open("r+" if exists and keep else "w", encoding="utf-8",
                                       newline="")
        if exists and keep:
            self._file.truncate(keep)
            self._file.seek(keep)
        elif not self.jsonl:
            self._file.write("row,handle,reasons\r\n")

    @property
    def size(self) -> int:
        self._file.flush()
        return self._file.tell()

    def add(self, row: int, handle: str, reasons: list[str]) -> None:
        self.rows += 1
        if self.jsonl:
            self._file.write(json.dumps({"row": row, "handle": handle, "reasons": reasons},
                                        ensure_ascii=False) + "\n")
            return
        buf = io.StringIO()
        csv.writer(buf).writerow([row, handle, "; ".join(reasons)])
        self._file.write(buf.getvalue())

    def close(self) -> None:
        self._file.close()
