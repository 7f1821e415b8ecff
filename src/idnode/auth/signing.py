"""Message signatures (HS_SIGNED) and session MACs (HS_MAC), ``handle-protocol.md`` §7.

What is signed comes from :func:`idnode.protocol.credential.signed_bytes`; the session
counter is the credential's signer index (CNRI's convention), so signing and verifying
agree without any other state.

* HS_SIGNED: RSASSA-PKCS1-v1_5 or DSA (DER) with SHA-1/SHA-256 (SHA-384/512 accepted).
  The legacy type ``HS_DSAPUBKEY`` is verified like HS_SIGNED, as CNRI does.
* HS_MAC: HMAC-SHA256 with the session key (``"HMAC-SHA256"``, CNRI from 2.7 on);
  ``"HMAC-SHA1"`` is accepted when verifying. The 2.5/2.6 MAC form (a hash over key +
  message + key, with CNRI's offset bug) is not supported: such messages do not verify.
"""

from __future__ import annotations

import hmac
from dataclasses import replace

from idnode.auth.keys import DEFAULT_SIGNATURE_HASH, PrivateKey, PublicKey, sign_data, verify_data
from idnode.errors import ProtocolError
from idnode.protocol.credential import (
    CREDENTIAL_MAC,
    CREDENTIAL_OLD_SIGNED,
    CREDENTIAL_SIGNED,
    Credential,
    decode_credential,
    signed_bytes,
    version_at_least,
)
from idnode.protocol.message import Message

__all__ = ["mac_message", "sign_message", "verify_mac", "verify_message"]

_MAC_ALGS = {"HMACSHA256": "sha256", "HMACSHA1": "sha1"}


def _credential_of(message: Message) -> Credential | None:
    try:
        return decode_credential(message.credential)
    except ProtocolError:
        return None


def sign_message(message: Message, private_key: PrivateKey, *, signer_handle: str = "",
                 signer_index: int = 0, digest_alg: str = DEFAULT_SIGNATURE_HASH) -> Message:
    """A copy of ``message`` carrying an HS_SIGNED credential.

    :param signer_index: also the session counter that enters the signed bytes (CNRI
        writes the counter here and an empty signer handle).
    :param digest_alg: ``SHA1`` or ``SHA256`` (any spelling); written as CNRI spells it.
    :raises AuthenticationError: unknown hash or key type.
    """
    wire_alg, signature = sign_data(private_key, signed_bytes(message, signer_index),
                                    digest_alg)
    credential = Credential(signer_handle=signer_handle, signer_index=signer_index,
                            type=CREDENTIAL_SIGNED, digest_alg=wire_alg, signature=signature)
    return replace(message, credential=credential.to_wire())


def verify_message(message: Message, public_key: PublicKey) -> bool:
    """Does ``message`` carry a valid HS_SIGNED (or legacy HS_DSAPUBKEY) signature?

    A missing or malformed credential, another credential type or a bad signature is
    ``False``.

    :raises AuthenticationError: ``public_key`` is neither RSA nor DSA.
    """
    credential = _credential_of(message)
    if credential is None or credential.type not in (CREDENTIAL_SIGNED, CREDENTIAL_OLD_SIGNED):
        return False
    return verify_data(public_key, signed_bytes(message, credential.session_counter),
                       credential.signature, credential.digest_alg)


def mac_message(message: Message, session_key: bytes, *, session_counter: int = 0) -> Message:
    """A copy of ``message`` carrying an HS_MAC credential (HMAC-SHA256).

    :param session_counter: the session's message counter, carried in the signer index.
    """
    mac = hmac.new(session_key, signed_bytes(message, session_counter), "sha256").digest()
    credential = Credential(signer_index=session_counter, type=CREDENTIAL_MAC,
                            digest_alg="HMAC-SHA256", signature=mac)
    return replace(message, credential=credential.to_wire())


def verify_mac(message: Message, session_key: bytes) -> bool:
    """Does ``message`` carry a valid HS_MAC credential for ``session_key``?

    Uses the counter from the credential; the caller checks it against the session to
    reject replays. Anything malformed or unsupported is ``False``.
    """
    credential = _credential_of(message)
    if credential is None or credential.type != CREDENTIAL_MAC:
        return False
    if (version_at_least(message.major, message.minor, 2, 5)
            and not version_at_least(message.major, message.minor, 2, 7)):
        return False  # the broken 2.5/2.6 form; see the module docstring
    alg = _MAC_ALGS.get(credential.digest_alg.upper().replace("-", "").replace("_", ""))
    if alg is None:
        return False
    expected = hmac.new(session_key, signed_bytes(message, credential.session_counter),
                        alg).digest()
    return hmac.compare_digest(expected, credential.signature)
