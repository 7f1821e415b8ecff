"""Fixtures: replication groups on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from replication.group import Group
from services import drop_postgres_schema, postgres_url

STORAGES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

MakeGroup = Callable[..., Group]


@pytest.fixture(params=STORAGES)
def storage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_group(storage: str, tmp_path: Path) -> Iterator[MakeGroup]:
    """Builds groups whose members use ``storage``; everything is killed at teardown."""
    groups: list[Group] = []
    urls: list[str] = []

    def storage_for(name: str) -> str:
        if storage == "sqlite":
            return "sqlite:store.db"
        url = postgres_url()
        urls.append(url)
        return url

    def make(**options: object) -> Group:
        group = Group(tmp_path / f"g{len(groups)}", storage=storage_for,
                      **options)  # type: ignore[arg-type]
        groups.append(group)
        return group

    yield make
    for group in groups:
        group.close()
    for url in urls:
        drop_postgres_schema(url)
