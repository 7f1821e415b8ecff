"""The client side of the REST API's authentication, for posting reports (blocking I/O;
the reporter runs it on its own thread).

* HS_PUBKEY: ``POST /api/sessions`` gives a session id and a nonce; the first report is
  sent with ``Authorization: Handle sessionId=…, id=…, type="HS_PUBKEY", cnonce=…,
  alg="SHA256", signature=…`` (the key's signature over ``nonce ‖ cnonce``), which
  authenticates the session; later requests send ``sessionId`` alone. A 401 (session
  expired, node restarted with a new key) starts a new session once.
* HS_SECKEY: HTTP Basic with ``index%3Ahandle`` and the secret, on every request.

The key and the secret live in this object only; they are never logged or put in errors.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from idnode.auth.identity import Identity
from idnode.auth.keys import PrivateKey, Secret, sign_data
from idnode.errors import RegistryError

__all__ = ["ReceiverUnreachable", "Reply", "ReportClient"]

_JSON = "application/json"


class ReceiverUnreachable(RegistryError):
    """The receiver could not be reached or the connection failed mid-request."""

    response_code = 2
    fmt = "cannot reach {url}: {reason}"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any  # the decoded JSON, or the text when it is not JSON

    @property
    def message(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("message") or self.body)
        return str(self.body)[:300]


class ReportClient:
    """Posts report batches to ``<url>/api/reports`` over one kept-alive connection.

    :param url: the receiver's base URL (``https://host:port[/base]``).
    :param certificate: PEM file trusted instead of the system CAs.
    """

    def __init__(self, url: str, identity: Identity, *, private_key: PrivateKey | None = None,
                 secret: Secret | None = None, certificate: Path | None = None,
                 timeout: float = 30.0) -> None:
        if (private_key is None) == (secret is None):
            raise ValueError("give exactly one of private_key and secret")
        parts = urlsplit(url)
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self.identity = identity
        self._key = private_key
        self._secret = secret
        self._timeout = timeout
        self._context: ssl.SSLContext | None = None
        if self._https:
            self._context = ssl.create_default_context(
                cafile=str(certificate) if certificate is not None else None)
        self._conn: http.client.HTTPConnection | None = None
        self._session: str | None = None  # an authenticated session id

    # -- the public call --------------------------------------------------------------
    def post_report(self, body: bytes) -> Reply:
        """POST one batch; the receiver's answer (any status).

        :raises ReceiverUnreachable: no answer (connection refused, reset, timeout, TLS).
        """
        reply = self._authenticated("POST", "/api/reports", body)
        if reply.status == 401 and self._key is not None and self._session is not None:
            self._session = None  # the session expired or is unknown there: sign anew
            reply = self._authenticated("POST", "/api/reports", body)
        return reply

    def get(self, path: str) -> Reply:
        """An authenticated GET (used by tests and tools)."""
        return self._authenticated("GET", path, b"")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- authentication -----------------------------------------------------------------
    def _authenticated(self, method: str, path: str, body: bytes) -> Reply:
        if self._secret is not None:
            user = quote(str(self.identity), safe="/")
            token = base64.b64encode(user.encode() + b":" + bytes(self._secret)).decode()
            return self._request(method, path, body, f"Basic {token}")
        if self._session is not None:
            return self._request(method, path, body, f'Handle sessionId="{self._session}"')
        session_id, header = self._signed_answer()
        reply = self._request(method, path, body, header)
        if reply.status != 401:
            self._session = session_id
        return reply

    def _signed_answer(self) -> tuple[str, str]:
        assert self._key is not None
        opened = self._request("POST", "/api/sessions", b"", None)
        body = opened.body
        if opened.status not in (200, 201) or not isinstance(body, dict) \
                or "sessionId" not in body or "nonce" not in body:
            raise ReceiverUnreachable(url=self.url, reason=f"POST /api/sessions answered "
                                                           f"{opened.status}: "
                                                           f"{opened.message}")
        session_id = str(body["sessionId"])
        nonce = base64.b64decode(str(body["nonce"]))
        cnonce = os.urandom(16)
        _, signature = sign_data(self._key, nonce + cnonce, "SHA256")
        header = (f'Handle sessionId="{session_id}", id="{self.identity}", '
                  f'type="HS_PUBKEY", cnonce="{base64.b64encode(cnonce).decode()}", '
                  f'alg="SHA256", signature="{base64.b64encode(signature).decode()}"')
        return session_id, header

    # -- HTTP -----------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(self._host, self._port,
                                                         timeout=self._timeout,
                                                         context=self._context)
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port,
                                                        timeout=self._timeout)
        return self._conn

    def _request(self, method: str, path: str, body: bytes, authorization: str | None
                 ) -> Reply:
        headers = {"Accept": _JSON}
        if body or method == "POST":
            headers["Content-Type"] = _JSON
        if authorization is not None:
            headers["Authorization"] = authorization
        # A kept-alive connection the server closed meanwhile fails on first use: retry
        # once on a fresh one. Resending a report is safe (the receiver counts by seq).
        for attempt in (1, 2):
            reused = self._conn is not None
            conn = self._connection()
            try:
                conn.request(method, self._base + path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                return Reply(response.status, _decode(data))
            except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
                self.close()
                if attempt == 2 or not reused:
                    raise ReceiverUnreachable(url=self.url,
                                              reason=f"{type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")
