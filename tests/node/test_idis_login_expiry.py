"""An IDIS login holds for ``login_lifetime``; after that the connection gets RC 407."""

from __future__ import annotations

import time

import pytest

from idnode.auth.identity import Identity
from idnode.errors import ReloginNeeded
from idnode.node.context import Connection, RequestContext
from idnode.node.stages.auth import Auth, AuthSettings


def test_an_expired_login_asks_to_log_in_again() -> None:
    auth = Auth(AuthSettings(login_lifetime=10), records=None)  # type: ignore[arg-type]
    conn = Connection(("tcp", 1), "tcp", ("127.0.0.1", 1))
    conn.login, conn.login_at = Identity("88.1/ADMIN", 300), time.monotonic()
    assert auth._logged_in(RequestContext(conn)) == Identity("88.1/ADMIN", 300)
    conn.login_at -= 11
    with pytest.raises(ReloginNeeded) as err:
        auth._logged_in(RequestContext(conn))
    assert err.value.response_code == 407
    assert conn.login is None  # the next request is challenged again
    assert auth._logged_in(RequestContext(conn)) is None
