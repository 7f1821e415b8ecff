"""Helper process for the multi-process and crash tests (not a test module).

Usage: ``python writer_proc.py URL TAG COUNT``. Writes ``COUNT`` batches (0: forever),
alternating single operations and groups of 8, each creating ``88.1/<TAG>-<i>-<j>``, and
prints every handle once its batch is acknowledged (committed).
"""

from __future__ import annotations

import sys

from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.storage import CreateHandle, Record, open_store


def main(url: str, tag: str, count: int) -> None:
    store = open_store(url)
    batch = 0
    while count == 0 or batch < count:
        size = 1 if batch % 2 == 0 else 8
        ops = [CreateHandle(Handle.parse(f"88.1/{tag}-{batch}-{j}"),
                            (HandleValue(1, "URL", f"{tag}-{batch}-{j}".encode()),
                             HandleValue(2, "EMAIL", b"x" * 100)))
               for j in range(size)]
        for result in store.apply(ops):
            assert isinstance(result, Record), result
            print(result.handle, flush=True)
        batch += 1
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
