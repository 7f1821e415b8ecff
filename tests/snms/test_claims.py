"""Unique-value claims shared by the processes of one node home (templates/claims.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from idnode.templates.claims import SharedClaims, claim_key
from snms.snms_harness import Snms
from snms.test_snms_templates import SERIAL, T, body, ok, refused, run, serial

# Another process: claim the key, say so, hold it until stdin closes.
_HOLD = ("import sys; from pathlib import Path\n"
         "from idnode.templates.claims import SharedClaims\n"
         "claims = SharedClaims(Path(sys.argv[1]))\n"
         "print('held' if claims.claim(sys.argv[2]) else 'busy', flush=True)\n"
         "sys.stdin.read()\n")


@contextmanager
def held_elsewhere(path: Path, key: str) -> Iterator[str]:
    """``key`` claimed by another process for the block; yields its answer."""
    with subprocess.Popen([sys.executable, "-c", _HOLD, str(path), key],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None and child.stdin is not None
        try:
            yield child.stdout.readline().strip()
        finally:
            child.stdin.close()
            child.wait(10)


def test_a_claim_excludes_other_processes_until_released(tmp_path: Path) -> None:
    path = tmp_path / "claims"
    claims = SharedClaims(path)
    try:
        assert path.stat().st_mode & 0o777 == 0o600
        with held_elsewhere(path, "serial S-1") as answer:
            assert answer == "held"
            assert not claims.claim("serial S-1")
            assert claims.claim("serial S-2")  # another value is free
        assert claims.claim("serial S-1")  # its holder ended: free again
        with held_elsewhere(path, "serial S-1") as answer:
            assert answer == "busy"
        # Claimed twice here (two tasks of this process), released once: still held.
        assert claims.claim("serial S-1")
        claims.release("serial S-1")
        with held_elsewhere(path, "serial S-1") as answer:
            assert answer == "busy"
        claims.release("serial S-1")
        with held_elsewhere(path, "serial S-1") as answer:
            assert answer == "held"
    finally:
        claims.close()


def test_a_killed_holder_leaves_no_claim(tmp_path: Path) -> None:
    path = tmp_path / "claims"
    with subprocess.Popen([sys.executable, "-c", _HOLD, str(path), "k"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        claims = SharedClaims(path)
        try:
            assert not claims.claim("k")
            child.kill()
            child.wait(10)
            assert claims.claim("k")
        finally:
            claims.close()


def test_a_value_being_registered_by_another_worker_is_refused(tmp_path: Path) -> None:
    key = claim_key("TEST/META_s1", "TEST", "SERIAL", "S-HELD")

    async def scenario(snms: Snms) -> None:
        await ok(snms, "POST", T, body("TEST", "s1", SERIAL))
        with held_elsewhere(tmp_path / "run" / "unique-claims", key) as answer:
            assert answer == "held"
            message = await refused(snms, -2, "POST", "/identityv2/data",
                                    serial("TEST/u1", "S-HELD"))
            assert "another process" in message and "S-HELD" in message, message
            await ok(snms, "POST", "/identityv2/data", serial("TEST/u2", "S-FREE"))
        await ok(snms, "POST", "/identityv2/data", serial("TEST/u1", "S-HELD"))
        # The claims of finished registrations are gone: another process may claim them.
        with held_elsewhere(tmp_path / "run" / "unique-claims", key) as answer:
            assert answer == "held"
    run(tmp_path, scenario, index_types=("URL", "CHECKSUM", "serial"))
