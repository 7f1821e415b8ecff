"""Fixtures: one store per backend (memory, SQLite, PostgreSQL) for the conformance suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from idnode.storage import Store, open_store
from services import drop_postgres_schema, postgres_url

BACKENDS = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

Opener = Callable[..., Store]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty store of the backend; PostgreSQL gets a schema of its own."""
    if backend == "memory":
        yield "memory:"
    elif backend == "sqlite":
        yield f"sqlite://{tmp_path}/store.db"
    else:
        url = postgres_url()
        yield url
        drop_postgres_schema(url)


@pytest.fixture
def opener(store_url: str) -> Iterator[Opener]:
    """Opens stores on ``store_url`` (closed at teardown); memory: always the same one."""
    opened: list[Store] = []

    def open_(**options: object) -> Store:
        if store_url == "memory:" and opened and not options:
            return opened[0]  # a second "process" on a memory store shares it
        store = open_store(store_url, **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener()

