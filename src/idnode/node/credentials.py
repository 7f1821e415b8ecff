"""Checking credentials against the values they name, shared by the native auth stage and
the web face: the HS_PUBKEY / HS_SECKEY value an identity points to, and HS_SECKEY answers
verified without letting key derivation stall a worker.

An identity homed on another node is checked against its public HS_PUBKEY, resolved
recursively when ``[identity]`` is enabled (:meth:`Records.identity_values`); its HS_SECKEY
is never fetched, so a secret-key answer for it is refused."""

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
    """The value ``identity`` names, which must be of type ``wanted`` and held here (or,
    for an HS_PUBKEY of an identity homed elsewhere, resolved recursively).

    :raises InvalidCredential: not a handle, or the value is of another type.
    :raises AuthenticationFailed: the handle or the index is not here (nor found through
        the recursive node, or that node could not be asked), or a secret key is wanted of
        an identity homed elsewhere.
    """
    try:
        handle = Handle.parse(identity.handle)
    except InvalidHandle:
        raise InvalidCredential(reason=f"identity {identity} is not a valid handle") from None
    if wanted == "HS_SECKEY":  # never fetched from elsewhere
        record = await records.get(handle.key)
        values = None if record is None else record.values
        if values is None and records.is_remote(handle):
            raise AuthenticationFailed(reason=f"identity {identity} is homed on another node; "
                                              "its secret key (HS_SECKEY) is never fetched, "
                                              "so authenticate with its public key "
                                              "(HS_PUBKEY)")
    else:
        values = await records.identity_values(handle.text)
    if values is None:
        raise AuthenticationFailed(reason=f"identity handle {identity.handle} is not held "
                                          "by this server" + _remote_note(records, handle))
    for value in values:
        if value.index == identity.index:
            if value.type.upper() != wanted:
                raise InvalidCredential(reason=f"value {identity} is {value.type}, not "
                                               f"{wanted}")
            return value
    raise AuthenticationFailed(reason=f"identity {identity} has no value at index "
                                      f"{identity.index}")


def _remote_note(records: Records, handle: Handle) -> str:
    remote = records.remote
    if remote is None or not records.is_remote(handle):
        return ""
    return f" nor found through the recursive node {remote.label}"


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
