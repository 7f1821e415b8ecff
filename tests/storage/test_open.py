"""open_store: URL schemes and options."""

from __future__ import annotations

import pytest

from idnode.errors import ConfigError
from idnode.storage import MemoryStore, open_store


def test_memory() -> None:
    with open_store("memory:", max_values=3) as store:
        assert isinstance(store, MemoryStore)
        assert (store.kind, store.url, store.max_values) == ("memory", "memory:", 3)


@pytest.mark.parametrize("url", ["mysql://x/y", "", "/tmp/x.db", "lmdb:/tmp/x"])
def test_unknown_schemes_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="unsupported store URL"):
        open_store(url)


def test_bad_sync_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sync"):
        open_store("memory:", sync="off")
