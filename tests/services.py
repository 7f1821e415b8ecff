"""Shared helpers for tests that need an external service (PostgreSQL).

A missing service skips the test on a developer machine but fails it in CI
(``CI=true``), where a skip would hide a broken setup.

``IDNODE_TEST_PG`` overrides the server URL (default: the local test database).
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

__all__ = ["drop_postgres_schema", "postgres_url", "require_service"]

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

_reachable: dict[str, str | None] = {}  # server URL -> None if reachable, else the reason


def require_service(name: str, reason: str) -> None:
    """Skip the current test because ``name`` is unavailable; fail instead in CI."""
    message = f"{name} unavailable: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: services are required)", pytrace=False)
    pytest.skip(message)


def _server_url() -> str:
    return os.environ.get("IDNODE_TEST_PG") or DEFAULT_PG


def _probe(url: str) -> str | None:
    if url not in _reachable:
        try:
            import psycopg

            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _reachable[url] = None
        except Exception as exc:  # any failure means "not usable here"
            _reachable[url] = f"{type(exc).__name__}: {exc}"
    return _reachable[url]


def postgres_url() -> str:
    """A PostgreSQL URL with a fresh, unique ``?schema=``; skips (or fails in CI) if the
    server cannot be reached. Drop the schema afterwards with :func:`drop_postgres_schema`.
    """
    server = _server_url()
    problem = _probe(server)
    if problem is not None:
        require_service("PostgreSQL", f"{server}: {problem}")
    parts = urlsplit(server)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"]
    query.append(("schema", f"t_{uuid.uuid4().hex[:20]}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def drop_postgres_schema(url: str) -> None:
    """Drop the schema named in ``url`` (made by :func:`postgres_url`), if it exists."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = dict(query).get("schema")
    if not schema:
        return
    rest = [(k, v) for k, v in query if k != "schema"]
    # A generous timeout: this runs at teardown, right after tests that kill or stop
    # processes holding connections, when a loaded 2-core machine can be slow to accept.
    with psycopg.connect(urlunsplit(parts._replace(query=urlencode(rest))),
                         autocommit=True, connect_timeout=20) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
