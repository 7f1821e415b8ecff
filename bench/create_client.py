"""One load process for the authenticated-create benchmark (started by ``bench_node.py``).

Opens ``conns`` TCP connections (one :class:`~idnode.client.HandleClient` each) and creates
handles on each as fast as the server answers: OC 100 → RC 402 challenge → OC 200 with the
same request id on the same connection → RC 1. The challenge-response logic is idnode's own
(:class:`~idnode.client.flow.RequestFlow` inside ``HandleClient``); only the authenticator
differs from the stock one for HS_SECKEY:

* ``seckey``: :class:`DerivedSecretAuth` draws one PBKDF2 salt per connection and derives
  the key once (PBKDF2-HMAC-SHA1, 10,000 iterations ≈ 3.6 ms); each answer is then one
  HMAC-SHA1. The server's derived-key cache makes its check one HMAC too. The stock
  ``SecretKeyAuth`` derives on every answer, which alone would cap a client core at
  ~270 creates/s.
* ``pubkey``: the stock :class:`~idnode.client.PublicKeyAuth` with the admin's RSA-2048 key:
  one RSASSA-PKCS1-v1_5 signature per create on the client (≈ 1 ms), one verification on the
  server (≈ 0.05 ms).

Usage: ``python bench/create_client.py CONFIG.json``; the result is written as JSON to the
config's ``out`` path. Phases: warm-up creates (``warmup_per_conn``) until ``start_at``, then
the measured window ``start_at`` … ``end_at`` (wall clock, shared by all processes), bounded
also by ``max_creates``; requests in flight at ``end_at`` are finished (their handles are
acknowledged and verified, but not counted in the rate).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import Histogram, bench_values, check_loopback
from idnode.auth.challenge import (
    answer_with_secret,
    secret_form_for_version,
    verify_secret_answer,
)
from idnode.auth.identity import Identity
from idnode.auth.keys import load_private_key, load_secret
from idnode.client import Authenticator, HandleClient, PublicKeyAuth
from idnode.errors import RegistryError
from idnode.protocol.digest import HASH_SHA256, RequestDigest
from idnode.protocol.wire import Writer

_ITERATIONS = 10_000
_KEY_BITS = 160
_PBKDF2 = 0x22


@dataclass(slots=True)
class DerivedSecretAuth:
    """HS_SECKEY answers with a fixed salt and a key derived once (CNRI's PBKDF2 form).

    Wire form and MAC are exactly :func:`idnode.auth.challenge.answer_with_secret`'s for
    the same salt (checked in :meth:`self_check`); only the derivation is hoisted.
    """

    identity: Identity
    secret: bytes = field(repr=False)
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    _derived: bytes = field(init=False, repr=False, default=b"")

    def __post_init__(self) -> None:
        # As Java (and idnode) derive: the secret's bytes as chars, encoded as UTF-8.
        password = self.secret.decode("latin-1").encode("utf-8")
        self._derived = hashlib.pbkdf2_hmac("sha1", password, self.salt, _ITERATIONS,
                                            _KEY_BITS // 8)

    @property
    def auth_type(self) -> str:
        return "HS_SECKEY"

    def sign_challenge(self, nonce: bytes, digest: RequestDigest,
                       version: tuple[int, int]) -> bytes:
        form = secret_form_for_version(*version)
        if form != "pbkdf2":
            return answer_with_secret(self.secret, nonce, digest.digest, form=form)
        mac = hmac.new(self._derived, nonce + digest.digest, "sha1").digest()
        writer = Writer()
        writer.put_uint8(_PBKDF2)
        writer.put_counted_bytes(self.salt)
        writer.put_uint32(_ITERATIONS)
        writer.put_uint32(_KEY_BITS)
        writer.put_counted_bytes(mac)
        return writer.getvalue()

    def self_check(self) -> None:
        nonce, digest = secrets.token_bytes(16), RequestDigest(HASH_SHA256,
                                                               secrets.token_bytes(32))
        ours = self.sign_challenge(nonce, digest, (2, 11))
        reference = answer_with_secret(self.secret, nonce, digest.digest, salt=self.salt)
        if ours != reference or not verify_secret_answer(self.secret, nonce, digest.digest,
                                                         ours, cache=None):
            raise SystemExit("DerivedSecretAuth does not match answer_with_secret")


@dataclass
class Result:
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    acked: list[str] = field(default_factory=list)
    hist: Histogram = field(default_factory=Histogram)
    cpu: float = 0.0
    seconds: float = 0.0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def _run(cfg: dict[str, Any]) -> Result:
    host, port = cfg["server"]
    check_loopback(host)
    identity = Identity.parse(cfg["identity"])
    now_wall, now_mono = time.time(), time.monotonic()
    start = now_mono + (cfg["start_at"] - now_wall)
    end = now_mono + (cfg["end_at"] - now_wall)
    hard_end = end + float(cfg.get("grace", 15.0))
    result = Result()
    budget = [int(cfg["max_creates"])]
    base = cfg["name_base"]

    def authenticator() -> Authenticator:
        if cfg["auth"] == "seckey":
            secret = bytes(load_secret(cfg["secret_file"]))
            auth = DerivedSecretAuth(identity, secret)
            auth.self_check()
            return auth
        return PublicKeyAuth(identity, load_private_key(cfg["key_file"]))

    async def connection(ci: int) -> None:
        auth = authenticator()
        client = HandleClient((host, port), transport="tcp", auth=auth, timeout=10.0)
        n = 0
        try:
            for _ in range(int(cfg["warmup_per_conn"])):
                name = f"{base}-{ci}-{n}"
                n += 1
                try:
                    await client.create_handle(name, bench_values(n))
                    result.acked.append(name)
                except RegistryError as exc:
                    result.error(f"warmup {type(exc).__name__} {exc.response_code}")
            await asyncio.sleep(max(0.0, start - time.monotonic()))
            while time.monotonic() < min(end, hard_end) and budget[0] > 0:
                budget[0] -= 1
                name = f"{base}-{ci}-{n}"
                n += 1
                t0 = time.monotonic()
                try:
                    await client.create_handle(name, bench_values(n))
                except RegistryError as exc:
                    result.error(f"{type(exc).__name__} {exc.response_code}")
                    continue
                t1 = time.monotonic()
                result.acked.append(name)
                if t1 <= end:
                    result.ok += 1
                    result.hist.add((t1 - t0) * 1e6)
        finally:
            await client.close()

    async def cpu_window() -> None:
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        t0, c0 = time.monotonic(), os.times()
        print("measure-start", flush=True)
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        t1, c1 = time.monotonic(), os.times()
        print("measure-end", flush=True)
        result.cpu = (c1.user - c0.user) + (c1.system - c0.system)
        result.seconds = t1 - t0

    tasks = [asyncio.ensure_future(connection(ci)) for ci in range(int(cfg["conns"]))]
    window = asyncio.ensure_future(cpu_window())
    try:
        await asyncio.wait_for(asyncio.gather(*tasks, window),
                               timeout=max(1.0, hard_end - time.monotonic()))
    except TimeoutError:
        result.error("hard time limit")
    return result


def main() -> int:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    with contextlib.suppress(ImportError):  # uvloop is a dependency on Linux
        import uvloop
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(_run(cfg))
    out = {"ok": result.ok, "seconds": result.seconds, "cpu": result.cpu,
           "errors": result.errors, "acked": result.acked, "hist": result.hist.pairs()}
    Path(cfg["out"]).write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
