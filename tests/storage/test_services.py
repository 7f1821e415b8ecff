"""tests/services.py: a missing service skips locally and fails in CI."""

from __future__ import annotations

import pytest

import services


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDNODE_TEST_PG", "postgresql://nobody@127.0.0.1:1/none")


@pytest.mark.usefixtures("unreachable")
def test_unreachable_postgres_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL unavailable"):
        services.postgres_url()


@pytest.mark.usefixtures("unreachable")
def test_unreachable_postgres_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        services.postgres_url()


@pytest.mark.postgres
def test_urls_get_a_fresh_schema_each() -> None:
    first, second = services.postgres_url(), services.postgres_url()
    assert first != second
    assert "?schema=t_" in first
    services.drop_postgres_schema(first)  # dropping a schema never created is fine
