"""Authentication and authorisation: keys, challenge answers, signatures, permissions.

* :mod:`idnode.auth.keys`: RSA/DSA keys, HS_PUBKEY conversion, 0600 key/secret files.
* :mod:`idnode.auth.challenge`: HS_PUBKEY and HS_SECKEY challenge answers (§8.1).
* :mod:`idnode.auth.signing`: HS_SIGNED message signatures and HS_MAC session MACs (§7).
* :mod:`idnode.auth.identity`: ``index:handle`` identities.
* :mod:`idnode.auth.permissions`: the :class:`Authorizer` (HS_ADMIN, HS_VLIST, server admins).

This package holds the cryptography; :mod:`idnode.protocol` stays standard-library only.
"""

from idnode.auth.challenge import (
    DEFAULT_CACHE,
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_MAX_KEY_BITS,
    NONCE_SIZE,
    SECRET_FORMS,
    DerivedKeyCache,
    answer_with_private_key,
    answer_with_secret,
    new_nonce,
    secret_form_for_version,
    signature_hash_for_version,
    verify_private_key_answer,
    verify_secret_answer,
)
from idnode.auth.identity import Identity
from idnode.auth.keys import (
    KeyFileError,
    PrivateKey,
    PublicKey,
    Secret,
    generate_private_key,
    hash_wire_name,
    load_private_key,
    load_secret,
    public_key_data,
    public_key_from_bytes,
    public_key_from_data,
    save_private_key,
    save_secret,
    sign_data,
    verify_data,
)
from idnode.auth.permissions import OPERATIONS, Authorizer, RecordLookup, permission_names
from idnode.auth.signing import mac_message, sign_message, verify_mac, verify_message

__all__ = [
    "DEFAULT_CACHE",
    "DEFAULT_MAX_ITERATIONS",
    "DEFAULT_MAX_KEY_BITS",
    "NONCE_SIZE",
    "OPERATIONS",
    "SECRET_FORMS",
    "Authorizer",
    "DerivedKeyCache",
    "Identity",
    "KeyFileError",
    "PrivateKey",
    "PublicKey",
    "RecordLookup",
    "Secret",
    "answer_with_private_key",
    "answer_with_secret",
    "generate_private_key",
    "hash_wire_name",
    "load_private_key",
    "load_secret",
    "mac_message",
    "new_nonce",
    "permission_names",
    "public_key_data",
    "public_key_from_bytes",
    "public_key_from_data",
    "save_private_key",
    "save_secret",
    "secret_form_for_version",
    "sign_data",
    "sign_message",
    "signature_hash_for_version",
    "verify_data",
    "verify_mac",
    "verify_message",
    "verify_private_key_answer",
    "verify_secret_answer",
]
