"""Bulk registration (批量注册): import CSV or JSON Lines rows into a node's store.

``idnode import`` reads rows, validates each against a published metadata template
(元数据模板, :mod:`idnode.templates`), and writes the good ones straight into the store in large
:meth:`~idnode.storage.Store.apply` batches. A checkpoint beside the input after every
committed batch makes the job resumable; see ``docs/secondary-node.md``.
"""

from __future__ import annotations

from idnode.bulk.job import Counts, ImportJob, JobOptions
from idnode.bulk.limits import DEFAULT_BATCH, MAX_BATCH, MAX_ROW_BYTES, MAX_VALUES_PER_ROW
from idnode.bulk.source import Row, open_source
from idnode.bulk.state import Checkpoint, InputIdentity, state_path

__all__ = [
    "DEFAULT_BATCH",
    "MAX_BATCH",
    "MAX_ROW_BYTES",
    "MAX_VALUES_PER_ROW",
    "Checkpoint",
    "Counts",
    "ImportJob",
    "InputIdentity",
    "JobOptions",
    "Row",
    "open_source",
    "state_path",
]
