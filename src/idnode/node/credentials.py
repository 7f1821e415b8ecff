"""Checking credentials against the values they name, shared by the native auth stage and
the web face: the HS_PUBKEY / HS_SECKEY value an identity points to, and HS_SECKEY answers
verified without letting key derivation stall a worker."""

from __future__ import annotations

import asyncio

from idnode.auth.challenge import secret_answer_cost, verify_secret_answer
from idnode.auth.identity import Identity
from idnode.errors import AuthenticationFailed, InvalidCredential, InvalidHandle, ServerBusy
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.node.records import Records

__all__ = ["SecretVerifier", "credential_value"]


async def credential_value(records: Records, identity: Identity, wanted: str) -> HandleValue:
    """The value ``identity`` names, which must be of type ``wanted`` and held here.

    :raises InvalidCredential: not a handle, or the value is of another type.
    :raises AuthenticationFailed: the handle or the index is not here.
    """
    try:
        handle = Handle.parse(identity.handle)
    except InvalidHandle:
        raise InvalidCredential(reason=f"identity {identity} is not a valid handle") from None
    record = await records.get(handle.key)
    if record is None:
        raise AuthenticationFailed(reason=f"identity handle {identity.handle} is not held "
                                          "by this server")
    for value in record.values:
        if value.index == identity.index:
            if value.type.upper() != wanted:
                raise InvalidCredential(reason=f"value {identity} is {value.type}, not "
                                               f"{wanted}")
            return value
    raise AuthenticationFailed(reason=f"identity {identity} has no value at index "
                                      f"{identity.index}")


class SecretVerifier:
    """Verify HS_SECKEY answers (native coded form) for one worker.

    A derivation no cache can answer (a new salt: up to ``max_iterations`` PBKDF2 rounds,
    milliseconds of CPU) runs on a thread, one at a time; at most ``max_waiting`` wait, and
    beyond that the client is told to retry (RC 3). The usual answer, from a client that keeps
    its salt, or a simple MAC, costs one hash and runs inline.
    """

    def __init__(self, max_iterations: int, max_waiting: int = 32) -> None:
        self.max_iterations = max_iterations
        self.max_waiting = max_waiting
        self._derivation = asyncio.Semaphore(1)
        self._waiting = 0

    async def verify(self, secret: bytes, nonce: bytes, digest: bytes, signed: bytes) -> bool:
        limit = self.max_iterations
        if not secret_answer_cost(secret, signed):
            return verify_secret_answer(secret, nonce, digest, signed, max_iterations=limit)
        if self._waiting >= self.max_waiting:
            raise ServerBusy(reason="too many secret-key verifications in progress; retry")
        self._waiting += 1
        try:
            async with self._derivation:
                return await asyncio.to_thread(verify_secret_answer, secret, nonce, digest,
                                               signed, max_iterations=limit)
        finally:
            self._waiting -= 1
