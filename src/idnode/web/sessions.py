"""Sessions of the REST API's ``Authorization: Handle`` scheme (``handle-protocol.md`` §14.8c).

A session id is self-validating: random bytes, an expiry time and an HMAC under a key derived
from the node's private key, so every worker (and the node after a restart) recognises the
ids it issued without shared state, and the challenge nonce is derived from the id rather than
stored. Only an *authenticated* session needs state: who it is. That is kept in a small file
per session under ``run/http-sessions/`` (mode 0600, named by a hash of the id so the
directory never reveals a usable id), read by any worker and cached in memory.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from idnode.auth.identity import Identity
from idnode.errors import AuthenticationError, RegistryError, ServerBusy

__all__ = ["SessionState", "Sessions"]

_ID_BYTES = 16


@dataclass(frozen=True, slots=True)
class SessionState:
    session_id: str
    nonce: bytes
    expires: int
    identity: Identity | None = None

    @property
    def nonce_b64(self) -> str:
        return base64.b64encode(self.nonce).decode("ascii")


class Sessions:
    """Issue, check and end HTTP sessions.

    :param key: secret bytes shared by the node's workers (derived from the server key).
    :param directory: where authenticated sessions are recorded.
    :param lifetime: seconds a session lives (CNRI's ``max_session_time`` is 24 h).
    :param max_sessions: authenticated sessions recorded at once; beyond it new logins get
        RC 3 until old ones expire.
    """

    def __init__(self, key: bytes, directory: Path, *, lifetime: int = 86_400,
                 max_sessions: int = 100_000) -> None:
        self._key = hashlib.sha256(b"idnode http sessions\x00" + key).digest()
        self.directory = directory
        self.lifetime = lifetime
        self.max_sessions = max_sessions
        self._now = time.time
        self._known: OrderedDict[str, SessionState] = OrderedDict()
        self._last_sweep = 0.0
        self._count = 0  # session files, counted by the last sweep
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- ids ----------------------------------------------------------------------------
    def _mac(self, raw: bytes) -> bytes:
        return hmac.new(self._key, raw, hashlib.sha256).digest()[:16]

    def new(self) -> SessionState:
        expires = int(self._now()) + self.lifetime
        raw = secrets.token_bytes(_ID_BYTES) + expires.to_bytes(8, "big")
        session_id = base64.urlsafe_b64encode(raw + self._mac(raw)).decode("ascii").rstrip("=")
        return SessionState(session_id, self._nonce(session_id), expires)

    def _nonce(self, session_id: str) -> bytes:
        return hmac.new(self._key, b"nonce\x00" + session_id.encode(), hashlib.sha256).digest()[:16]

    def _parse(self, session_id: str) -> int:
        """The expiry of a well-formed, unexpired id this node issued.

        :raises AuthenticationError: anything else (RC 406), with the reason.
        """
        try:
            blob = base64.urlsafe_b64decode(session_id + "=" * (-len(session_id) % 4))
        except ValueError:
            blob = b""
        if len(blob) != _ID_BYTES + 8 + 16 or len(session_id) > 64:
            raise AuthenticationError(reason="unknown session id")
        raw, mac = blob[:-16], blob[-16:]
        if not hmac.compare_digest(mac, self._mac(raw)):
            raise AuthenticationError(reason="unknown session id")
        expires = int.from_bytes(raw[_ID_BYTES:], "big")
        if expires <= self._now():
            raise AuthenticationError(reason="the session has expired; start a new one")
        return expires

    def _path(self, session_id: str) -> Path:
        return self.directory / hashlib.sha256(session_id.encode()).hexdigest()

    # -- state --------------------------------------------------------------------------
    def get(self, session_id: str) -> SessionState:
        """The session's state (its identity once authenticated).

        :raises AuthenticationError: not a live session of this node.
        """
        expires = self._parse(session_id)
        state = self._known.get(session_id)
        if state is not None:
            return state
        identity = None
        with contextlib.suppress(OSError, RegistryError, UnicodeDecodeError):
            text = self._path(session_id).read_text("utf-8").strip()
            identity = Identity.parse(text) if text else None
        state = SessionState(session_id, self._nonce(session_id), expires, identity)
        if identity is not None:
            self._remember(state)
        return state

    def authenticate(self, session_id: str, identity: Identity) -> SessionState:
        """Record that ``session_id`` proved to be ``identity``."""
        expires = self._parse(session_id)
        self._sweep()
        if self._count >= self.max_sessions:
            raise ServerBusy(reason=f"{self._count} sessions are open, the limit; retry later")
        path = self._path(session_id)
        self._count += 1  # approximate between sweeps: other workers add files too
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(str(identity))
        os.utime(path, (expires, expires))  # the mtime records the expiry for the sweep
        state = SessionState(session_id, self._nonce(session_id), expires, identity)
        self._remember(state)
        return state

    def end(self, session_id: str) -> None:
        self._parse(session_id)
        self._known.pop(session_id, None)
        with contextlib.suppress(FileNotFoundError):
            self._path(session_id).unlink()

    def _remember(self, state: SessionState) -> None:
        self._known[state.session_id] = state
        while len(self._known) > 10_000:
            self._known.popitem(last=False)

    def _sweep(self) -> None:
        """Remove expired session files and recount the rest, at most once a minute (a bulk
        pass over the directory, which holds at most ``max_sessions`` small files)."""
        now = self._now()
        if now - self._last_sweep < 60:
            return
        self._last_sweep = now
        count = 0
        with contextlib.suppress(OSError), os.scandir(self.directory) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.stat().st_mtime <= now:
                        os.unlink(entry.path)
                    else:
                        count += 1
        self._count = count
        for session_id, state in list(self._known.items()):
            if state.expires <= now:
                del self._known[session_id]
