"""Key material: RSA/DSA/SM2 keys, HS_PUBKEY conversion, key and secret files.

* :func:`public_key_data` / :func:`public_key_from_data` convert between ``cryptography`` key
  objects and :class:`~idnode.identifiers.values.pubkey.PublicKeyData` (HS_PUBKEY).
* :func:`sign_data` / :func:`verify_data` are the one place that signs and verifies with
  RSA (RSASSA-PKCS1-v1_5), DSA (DER signature) or SM2 with SM3 (DER signature, GB/T 32918;
  :mod:`idnode.auth.sm2`), used by challenge answers and message signatures alike.
* Files: :func:`save_private_key` writes PEM PKCS#8 (encrypted with a passphrase) and
  :func:`save_secret` writes raw secret bytes. Both create the file with mode 0600 from the
  first byte (``O_CREAT|O_EXCL`` on a temporary name in the same directory, ``fsync``, then
  an atomic link/rename), so the material is never readable by others, even briefly, and
  a crash never leaves a half-written key under the real name. The loaders refuse a file
  that group or others can access unless told otherwise.

Hash algorithm names on the wire: CNRI writes ``"SHA1"`` for SHA-1 and ``"SHA-256"`` for
SHA-256 (``Common.HASH_ALG_SHA1`` / ``HASH_ALG_SHA256``; the alternates ``"SHA-1"`` and
``"SHA256"`` are accepted on input). idnode writes the same spellings and accepts all four,
plus SHA-384/SHA-512 for clients that use them. MD5 signatures are refused. SM2 keys sign
with SM3 only, written ``"SM3"`` as ``teleinfo-dev/id-pointer-sdk`` does
(``Common.HASH_ALG_SM3``); SM3 is refused with RSA and DSA keys.

SM2 keys are :class:`~idnode.auth.sm2.SM2PrivateKey` / :class:`~idnode.auth.sm2.SM2PublicKey`
(``cryptography`` has no SM2 curve). :data:`PrivateKey` and :data:`PublicKey` stay the
``cryptography`` RSA/DSA keys that TLS and X.509 code needs; :data:`IdentityKey` and
:data:`IdentityPublicKey` add SM2 for everything that proves an identity (HS_PUBKEY,
challenge answers). :func:`generate_identity_key` and :func:`load_identity_key` are the
SM2-aware counterparts of :func:`generate_private_key` and :func:`load_private_key`, and
:func:`public_key_from_data` returns SM2 keys when called with ``allow_sm2=True``.
SM2 keys are saved as PEM PKCS#8 like the others (:mod:`idnode.auth.sm2` has the layouts).

Secrets are wrapped in :class:`Secret`, whose ``repr`` never shows the bytes, so a stray log
line cannot leak one. ``cryptography`` key objects have no revealing ``repr`` either.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa

from idnode.auth.sm2 import (
    DEFAULT_USER_ID,
    SM2KeyError,
    SM2PrivateKey,
    SM2PublicKey,
    load_sm2_private_key,
)
from idnode.errors import AuthenticationError, ConfigError, InvalidValue, RegistryError
from idnode.identifiers.values.pubkey import (
    DSA_PUB_KEY,
    RSA_PUB_KEY,
    SM2_PUB_KEY,
    PublicKeyData,
)

__all__ = [
    "DEFAULT_SIGNATURE_HASH",
    "IdentityKey",
    "IdentityPublicKey",
    "KeyFileError",
    "PrivateKey",
    "PublicKey",
    "SM2PrivateKey",
    "SM2PublicKey",
    "Secret",
    "default_hash",
    "generate_identity_key",
    "generate_private_key",
    "hash_wire_name",
    "load_identity_key",
    "load_private_key",
    "load_secret",
    "public_key_data",
    "public_key_from_bytes",
    "public_key_from_data",
    "save_private_key",
    "save_secret",
    "sign_data",
    "verify_data",
]

log = logging.getLogger(__name__)

PrivateKey = rsa.RSAPrivateKey | dsa.DSAPrivateKey
PublicKey = rsa.RSAPublicKey | dsa.DSAPublicKey
#: Keys that prove an identity through HS_PUBKEY: RSA, DSA and SM2.
IdentityKey = PrivateKey | SM2PrivateKey
IdentityPublicKey = PublicKey | SM2PublicKey

DEFAULT_SIGNATURE_HASH = "SHA256"
SM2_SIGNATURE_HASH = "SM3"
_MAX_KEY_FILE = 1 << 20  # a PEM key is a few KiB; refuse to slurp anything huge

# Canonical name -> (hash factory, name CNRI writes on the wire).
_HASHES: dict[str, tuple[type[hashes.HashAlgorithm], str]] = {
    "SHA1": (hashes.SHA1, "SHA1"),
    "SHA256": (hashes.SHA256, "SHA-256"),
    "SHA384": (hashes.SHA384, "SHA-384"),
    "SHA512": (hashes.SHA512, "SHA-512"),
    "SM3": (hashes.SM3, "SM3"),
}


def _canonical_hash(name: str) -> str | None:
    # "SHA-256", "sha256" and "SHA256" are one algorithm; CNRI accepts both spellings.
    text = name.strip().upper().replace("-", "").replace("_", "")
    return text if text in _HASHES else None


def _hash(name: str) -> tuple[hashes.HashAlgorithm, str]:
    canonical = _canonical_hash(name)
    if canonical is None:
        raise AuthenticationError(reason=f"unsupported signature hash algorithm {name!r}")
    factory, wire = _HASHES[canonical]
    return factory(), wire


def default_hash(key: IdentityKey | IdentityPublicKey) -> str:
    """The signature hash a key signs with by default: SM3 for SM2, else SHA-256."""
    return SM2_SIGNATURE_HASH if isinstance(key, SM2PrivateKey | SM2PublicKey) \
        else DEFAULT_SIGNATURE_HASH


def hash_wire_name(name: str) -> str:
    """The spelling CNRI writes for hash ``name`` (``"SHA256"`` → ``"SHA-256"``).

    :raises AuthenticationError: unknown or refused algorithm (MD5).
    """
    return _hash(name)[1]


# -- key generation and HS_PUBKEY conversion ------------------------------------------

def generate_identity_key(alg: str = "RSA", bits: int = 2048) -> IdentityKey:
    """A new RSA, DSA or SM2 private key (SM2 keys are always 256-bit; ``bits`` is ignored).

    :raises InvalidValue: unknown algorithm or unsupported size.
    """
    if alg.strip().upper() == "SM2":
        return SM2PrivateKey.generate()
    return generate_private_key(alg, bits)


def generate_private_key(alg: str = "RSA", bits: int = 2048) -> PrivateKey:
    """A new RSA (public exponent 65537) or DSA private key.

    :raises InvalidValue: unknown algorithm or unsupported size (for SM2 use
        :func:`generate_identity_key`).
    """
    kind = alg.strip().upper()
    if kind == "RSA":
        if bits < 1024:
            raise InvalidValue(reason=f"RSA keys must have at least 1024 bits, not {bits}")
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if kind == "DSA":
        if bits not in (1024, 2048, 3072, 4096):
            raise InvalidValue(reason=f"DSA key size must be 1024, 2048, 3072 or 4096, "
                                      f"not {bits}")
        return dsa.generate_private_key(key_size=bits)
    raise InvalidValue(reason=f"unsupported key algorithm {alg!r} (use RSA or DSA here; "
                              "SM2 keys come from generate_identity_key)")


def public_key_data(key: IdentityKey | IdentityPublicKey) -> PublicKeyData:
    """The HS_PUBKEY data for ``key`` (a private key's public half, or a public key).

    :raises InvalidValue: a key type HS_PUBKEY cannot carry here (only RSA, DSA and SM2).
    """
    public: object = key.public_key() if isinstance(
        key, rsa.RSAPrivateKey | dsa.DSAPrivateKey | SM2PrivateKey) else key
    if isinstance(public, SM2PublicKey):
        return PublicKeyData.sm2(public.to_der())
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return PublicKeyData.rsa(numbers.e, numbers.n)
    if isinstance(public, dsa.DSAPublicKey):
        dsa_numbers = public.public_numbers()
        params = dsa_numbers.parameter_numbers
        return PublicKeyData.dsa(params.q, params.p, params.g, dsa_numbers.y)
    raise InvalidValue(reason=f"cannot encode a {type(key).__name__} as HS_PUBKEY "
                              "(only RSA, DSA and SM2 keys)")


@overload
def public_key_from_data(data: PublicKeyData, *, allow_sm2: Literal[False] = False
                         ) -> PublicKey: ...


@overload
def public_key_from_data(data: PublicKeyData, *, allow_sm2: bool) -> IdentityPublicKey: ...


def public_key_from_data(data: PublicKeyData, *, allow_sm2: bool = False) -> IdentityPublicKey:
    """The public key for an HS_PUBKEY value: RSA or DSA (a ``cryptography`` key), or SM2
    when ``allow_sm2`` is true.

    :raises AuthenticationError: an unsupported key type (``DH_PUB_KEY``, or ``SM2_PUB_KEY``
        without ``allow_sm2`` …) or components that do not form a valid key.
    """
    if data.key_type == SM2_PUB_KEY and allow_sm2:
        if not data.components:
            raise AuthenticationError(reason="HS_PUBKEY SM2_PUB_KEY does not hold one byte "
                                             "array (a SubjectPublicKeyInfo)")
        try:
            return SM2PublicKey.from_der(data.components[0])
        except SM2KeyError as exc:
            raise AuthenticationError(reason=f"HS_PUBKEY SM2_PUB_KEY: {exc}") from None
    if data.key_type not in (RSA_PUB_KEY, DSA_PUB_KEY):
        raise AuthenticationError(reason=f"HS_PUBKEY type {data.key_type!r} is not "
                                         "supported (only RSA_PUB_KEY and DSA_PUB_KEY)")
    ints = data.ints()
    try:
        if data.key_type == RSA_PUB_KEY:
            exponent, modulus = ints
            return rsa.RSAPublicNumbers(exponent, modulus).public_key()
        q, p, g, y = ints
        params = dsa.DSAParameterNumbers(p, q, g)
        return dsa.DSAPublicNumbers(y, params).public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise AuthenticationError(reason=f"HS_PUBKEY {data.key_type} has invalid "
                                         f"components: {exc}") from None


@overload
def public_key_from_bytes(value_data: bytes, *, allow_sm2: Literal[False] = False
                          ) -> PublicKey: ...


@overload
def public_key_from_bytes(value_data: bytes, *, allow_sm2: bool) -> IdentityPublicKey: ...


def public_key_from_bytes(value_data: bytes, *, allow_sm2: bool = False) -> IdentityPublicKey:
    """Decode HS_PUBKEY value data straight to a key (SM2 too with ``allow_sm2``).

    :raises AuthenticationError: undecodable bytes or an unsupported/invalid key.
    """
    try:
        data = PublicKeyData.from_bytes(value_data)
    except RegistryError as exc:
        raise AuthenticationError(reason=f"HS_PUBKEY value is malformed: {exc}") from None
    return public_key_from_data(data, allow_sm2=allow_sm2)


# -- signing -----------------------------------------------------------------------------

def sign_data(key: IdentityKey, data: bytes, hash_alg: str | None = None, *,
              sm2_id: bytes = DEFAULT_USER_ID) -> tuple[str, bytes]:
    """Sign ``data``; returns (hash name as CNRI writes it, signature bytes).

    RSA signs with RSASSA-PKCS1-v1_5; DSA returns the DER ``SEQUENCE { r, s }`` that Java's
    ``SHA1withDSA``/``SHA256withDSA`` produce; SM2 returns the DER ``SEQUENCE { r, s }`` of
    BouncyCastle's ``SM3withSM2`` (e = SM3(Z ‖ data), Z over ``sm2_id``).

    :param hash_alg: by default :func:`default_hash` of the key.
    :raises AuthenticationError: unknown hash, a hash the key type does not sign with, or an
        unsupported key type.
    """
    algorithm, wire = _hash(hash_alg or default_hash(key))
    if isinstance(key, SM2PrivateKey) != (wire == SM2_SIGNATURE_HASH):
        raise AuthenticationError(reason=f"a {type(key).__name__} does not sign with {wire} "
                                         "(SM2 keys sign with SM3, and only they do)")
    if isinstance(key, SM2PrivateKey):
        try:
            return wire, key.sign(data, sm2_id)
        except SM2KeyError as exc:
            raise AuthenticationError(reason=str(exc)) from None
    if isinstance(key, rsa.RSAPrivateKey):
        return wire, key.sign(data, padding.PKCS1v15(), algorithm)
    if isinstance(key, dsa.DSAPrivateKey):
        return wire, key.sign(data, algorithm)
    raise AuthenticationError(reason=f"cannot sign with a {type(key).__name__} "
                                     "(only RSA, DSA and SM2 keys)")


def verify_data(public_key: IdentityPublicKey, data: bytes, signature: bytes, hash_alg: str, *,
                sm2_id: bytes = DEFAULT_USER_ID) -> bool:
    """Check ``signature`` over ``data``. Any malformed input is simply ``False``.

    SM2 signatures (hash ``"SM3"``) may be DER or raw ``r ‖ s``; Z is taken over ``sm2_id``.

    :raises AuthenticationError: ``public_key`` is not an RSA, DSA or SM2 key.
    """
    canonical = _canonical_hash(hash_alg)
    if canonical is None:
        return False
    if isinstance(public_key, SM2PublicKey):
        return canonical == SM2_SIGNATURE_HASH and public_key.verify(signature, data, sm2_id)
    if canonical == SM2_SIGNATURE_HASH:
        return False
    algorithm = _HASHES[canonical][0]()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(public_key, dsa.DSAPublicKey):
            public_key.verify(signature, data, algorithm)
        else:
            raise AuthenticationError(reason=f"cannot verify with a "
                                             f"{type(public_key).__name__}")
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# -- files -------------------------------------------------------------------------------

class KeyFileError(ConfigError):
    """A key or secret file could not be written or read; ``path`` names it."""

    fmt = "key file {path}: {reason}"


@dataclass(frozen=True, slots=True, repr=False)
class Secret:
    """HS_SECKEY secret bytes that never show up in a ``repr`` or log line."""

    value: bytes

    def __repr__(self) -> str:
        return f"Secret(<{len(self.value)} bytes redacted>)"

    __str__ = __repr__

    def __bytes__(self) -> bytes:
        return self.value

    def __len__(self) -> int:
        return len(self.value)


def _fsync_dir(directory: Path) -> None:
    # Make the rename durable; not every platform can open a directory, which is fine.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _removing(path: Path) -> Iterator[None]:
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _write_private_file(path: str | os.PathLike[str], data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise KeyFileError(path=str(target), reason="already exists (pass overwrite=True "
                                                    "to replace it)")
    directory = target.parent
    tmp = directory / f".{target.name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        # Created 0600 from the start (the umask can only remove bits), so there is no
        # window in which another user could open it.
        fd = os.open(tmp, flags, 0o600)
    except OSError as exc:
        raise KeyFileError(path=str(target), reason=f"cannot create: {exc.strerror}") from None
    with _removing(tmp):
        try:
            with os.fdopen(fd, "wb") as handle:
                if hasattr(os, "fchmod"):
                    os.fchmod(handle.fileno(), 0o600)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if overwrite:
                os.replace(tmp, target)
            else:
                # link() fails if the name appeared meanwhile: no silent overwrite race.
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    raise KeyFileError(path=str(target), reason="already exists") from None
                except OSError:
                    # File systems without hard links: best effort check-then-rename.
                    if target.exists():
                        raise KeyFileError(path=str(target),
                                           reason="already exists") from None
                    os.replace(tmp, target)
        except OSError as exc:
            raise KeyFileError(path=str(target),
                               reason=f"cannot write: {exc.strerror}") from None
    _fsync_dir(directory)


def _read_private_file(path: str | os.PathLike[str], *, allow_insecure: bool) -> bytes:
    """Read a key/secret file, refusing one that group or others can access."""
    target = Path(path)
    try:
        with open(target, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise KeyFileError(path=str(target), reason="is not a regular file")
            if os.name == "posix" and mode & 0o077:
                text = f"is accessible by group or others (mode {stat.S_IMODE(mode):04o})"
                if not allow_insecure:
                    raise KeyFileError(path=str(target),
                                       reason=f"{text}; run 'chmod 600 {target}'")
                log.warning("key file %s %s", target, text)
            data = handle.read(_MAX_KEY_FILE + 1)
    except FileNotFoundError:
        raise KeyFileError(path=str(target), reason="does not exist") from None
    except OSError as exc:
        raise KeyFileError(path=str(target), reason=f"cannot read: {exc.strerror}") from None
    if len(data) > _MAX_KEY_FILE:
        raise KeyFileError(path=str(target), reason="is too large to be a key file")
    return data


def _as_passphrase(passphrase: bytes | str | None, path: str) -> bytes | None:
    if passphrase is None:
        return None
    raw = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
    if not raw:
        raise KeyFileError(path=path, reason="the passphrase is empty")
    return raw


def save_private_key(path: str | os.PathLike[str], key: IdentityKey,
                     passphrase: bytes | str | None = None, *, overwrite: bool = False) -> None:
    """Write ``key`` as PEM PKCS#8, encrypted when a passphrase is given, mode 0600.

    :raises KeyFileError: the file exists (and ``overwrite`` is false), cannot be written,
        or the passphrase is empty.
    """
    secret = _as_passphrase(passphrase, str(path))
    if isinstance(key, SM2PrivateKey):
        _write_private_file(path, key.to_pem(secret), overwrite=overwrite)
        return
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret is not None
        else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            encryption)
    _write_private_file(path, pem, overwrite=overwrite)


def _looks_encrypted(data: bytes) -> bool:
    return b"ENCRYPTED PRIVATE KEY" in data or b"Proc-Type: 4,ENCRYPTED" in data


def load_private_key(path: str | os.PathLike[str], passphrase: bytes | str | None = None, *,
                     allow_insecure: bool = False) -> PrivateKey:
    """Read an RSA or DSA private key (PEM, or DER as a fallback).

    An SM2 key file is refused here (its key is no ``cryptography`` key); read it with
    :func:`load_identity_key`.

    :param allow_insecure: accept (with a logged warning) a file that group or others can
        access; by default such a file is refused, as ssh does.
    :raises KeyFileError: missing, unreadable, too open, encrypted without a passphrase,
        wrong passphrase, not a private key, or an unsupported key type.
    """
    key = _load_key(path, passphrase, allow_insecure=allow_insecure, allow_sm2=False)
    assert not isinstance(key, SM2PrivateKey)
    return key


def load_identity_key(path: str | os.PathLike[str], passphrase: bytes | str | None = None,
                      *, allow_insecure: bool = False) -> IdentityKey:
    """Read an RSA, DSA or SM2 private key (PEM, or DER as a fallback).

    :param allow_insecure: as :func:`load_private_key`.
    :raises KeyFileError: as :func:`load_private_key`.
    """
    return _load_key(path, passphrase, allow_insecure=allow_insecure, allow_sm2=True)


def _load_key(path: str | os.PathLike[str], passphrase: bytes | str | None, *,
              allow_insecure: bool, allow_sm2: bool) -> IdentityKey:
    where = str(path)
    kinds = "RSA, DSA and SM2 keys are" if allow_sm2 else "RSA and DSA keys are"
    data = _read_private_file(path, allow_insecure=allow_insecure)
    secret = _as_passphrase(passphrase, where)
    encrypted = _looks_encrypted(data)
    if encrypted and secret is None:
        raise KeyFileError(path=where, reason="is encrypted; a passphrase is needed")
    if not encrypted and secret is not None and b"-----BEGIN" in data:
        raise KeyFileError(path=where, reason="is not encrypted but a passphrase was given")
    loader = (serialization.load_pem_private_key if b"-----BEGIN" in data
              else serialization.load_der_private_key)
    try:
        key = loader(data, password=secret)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # cryptography knows no SM2 curve: try the SM2 reader before giving up.
        try:
            sm2_key = load_sm2_private_key(data, secret)
        except SM2KeyError:
            pass
        else:
            if allow_sm2:
                return sm2_key
            raise KeyFileError(path=where, reason=f"holds an SM2 key; only {kinds} "
                                                  "supported here") from None
        reason = ("wrong passphrase (or a damaged file)" if encrypted
                  else "does not contain a private key")
        raise KeyFileError(path=where, reason=reason) from None
    if not isinstance(key, rsa.RSAPrivateKey | dsa.DSAPrivateKey):
        raise KeyFileError(path=where, reason=f"holds a {type(key).__name__}; only {kinds} "
                                              "supported")
    return key


def save_secret(path: str | os.PathLike[str], secret: bytes | Secret, *,
                overwrite: bool = False) -> None:
    """Write HS_SECKEY secret bytes (exactly, no newline added) with mode 0600.

    :raises KeyFileError: as :func:`save_private_key`, or an empty secret.
    """
    raw = bytes(secret)
    if not raw:
        raise KeyFileError(path=str(path), reason="the secret is empty")
    _write_private_file(path, raw, overwrite=overwrite)


def load_secret(path: str | os.PathLike[str], *, allow_insecure: bool = False) -> Secret:
    """Read secret bytes written by :func:`save_secret` (the file's exact bytes).

    :raises KeyFileError: missing, unreadable, too open, or empty.
    """
    data = _read_private_file(path, allow_insecure=allow_insecure)
    if not data:
        raise KeyFileError(path=str(path), reason="is empty")
    return Secret(data)
