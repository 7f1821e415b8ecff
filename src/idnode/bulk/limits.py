"""Explicit limits of a bulk import (documented in ``docs/secondary-node.md``)."""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_BATCH", "MAX_BATCH", "MAX_ROW_BYTES", "MAX_VALUES_PER_ROW", "MIN_BATCH",
           "SPLIT_BYTES"]

#: bytes of one input row (a CSV record or a JSON line); a longer row is reported, not read
MAX_ROW_BYTES: Final = 64 * 1024
#: values given in one row (the template library's own limit on one registration)
MAX_VALUES_PER_ROW: Final = 200
#: rows per transaction: large enough to amortise the commit, small enough that an
#: interruption loses little and the node's other writers wait at most a fraction of a second
DEFAULT_BATCH: Final = 5000
MIN_BATCH: Final = 1
MAX_BATCH: Final = 50_000
#: input bytes left to read from which an import runs a second lane in a worker process
#: (:mod:`idnode.bulk.worker`): starting one costs a tenth of a second of the other core;
#: measured, 20,000 short CSV rows (1.1 MB) already go 10 % faster with it
SPLIT_BYTES: Final = 1 << 20
