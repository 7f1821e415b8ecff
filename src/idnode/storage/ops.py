"""The nouns of the storage API: records, log entries and write operations.

A write is described by a frozen *operation* object and handed to
:meth:`idnode.storage.Store.apply`, which runs a whole batch of them in one database
transaction (group commit). Each operation's outcome comes back as a :data:`WriteResult`:
the record after the write, ``None`` for writes that leave no record, or the
:class:`~idnode.errors.RegistryError` the operation raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from idnode.errors import RegistryError
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue

__all__ = [
    "OP_ADD",
    "OP_CREATE",
    "OP_DELETE",
    "OP_HOME",
    "OP_MODIFY",
    "OP_REMOVE",
    "OP_UNHOME",
    "AddValues",
    "CreateHandle",
    "DeleteHandle",
    "HomePrefix",
    "ModifyValues",
    "Record",
    "RemoveValues",
    "Txn",
    "UnhomePrefix",
    "WriteOp",
    "WriteResult",
]

OP_CREATE: Final = "create"
OP_DELETE: Final = "delete"
OP_ADD: Final = "add"
OP_MODIFY: Final = "modify"
OP_REMOVE: Final = "remove"
OP_HOME: Final = "home"
OP_UNHOME: Final = "unhome"


@dataclass(frozen=True, slots=True)
class Record:
    """A stored handle record.

    :ivar handle: the handle text as it was created (original case).
    :ivar key: the normalised key (:attr:`idnode.identifiers.handle.Handle.key`).
    :ivar values: the values, sorted by index.
    """

    handle: str
    key: str
    values: tuple[HandleValue, ...]

    def indexes(self) -> list[int]:
        """The indexes of the values, ascending."""
        return [value.index for value in self.values]

    def value(self, index: int) -> HandleValue | None:
        """The value at ``index``, or ``None``."""
        for value in self.values:
            if value.index == index:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Txn:
    """One entry of the transaction log (one successful write).

    :ivar txn_id: strictly increasing in commit order; gaps are possible.
    :ivar timestamp: unix time of the write, in seconds.
    :ivar op: one of ``create``, ``delete``, ``add``, ``modify``, ``remove``, ``home``,
        ``unhome``.
    :ivar key: the handle's key; for ``home``/``unhome`` the normalised bare prefix.
    :ivar handle: the handle text; for ``home``/``unhome`` the prefix handle ``0.NA/<P>``.
    :ivar values: the whole record *after* the write (empty for ``delete``, ``home`` and
        ``unhome``), so a mirror can apply any entry idempotently by replacing the record.
    """

    txn_id: int
    timestamp: float
    op: str
    key: str
    handle: str
    values: tuple[HandleValue, ...]


def _freeze(obj: object, name: str) -> None:
    # Callers often pass lists; the operation must stay hashable and immutable.
    current = getattr(obj, name)
    if not isinstance(current, tuple):
        object.__setattr__(obj, name, tuple(current))


@dataclass(frozen=True, slots=True)
class CreateHandle:
    """Create ``handle`` with ``values``; ``overwrite`` replaces an existing record."""

    handle: Handle
    values: tuple[HandleValue, ...]
    overwrite: bool = False
    #: when set, the write happens only if the handle's values are exactly these (the record
    #: the write was authorized against); otherwise it fails with WriteConflict
    expect: tuple[HandleValue, ...] | None = None

    def __post_init__(self) -> None:
        _freeze(self, "values")


@dataclass(frozen=True, slots=True)
class DeleteHandle:
    """Delete ``handle`` and all its values."""

    handle: Handle
    #: when set, the write happens only if the handle's values are exactly these (the record
    #: the write was authorized against); otherwise it fails with WriteConflict
    expect: tuple[HandleValue, ...] | None = None


@dataclass(frozen=True, slots=True)
class AddValues:
    """Add ``values`` to ``handle``; ``overwrite`` replaces values whose index exists."""

    handle: Handle
    values: tuple[HandleValue, ...]
    overwrite: bool = False
    #: when set, the write happens only if the handle's values are exactly these (the record
    #: the write was authorized against); otherwise it fails with WriteConflict
    expect: tuple[HandleValue, ...] | None = None

    def __post_init__(self) -> None:
        _freeze(self, "values")


@dataclass(frozen=True, slots=True)
class ModifyValues:
    """Replace existing values of ``handle``, matched by index."""

    handle: Handle
    values: tuple[HandleValue, ...]
    #: when set, the write happens only if the handle's values are exactly these (the record
    #: the write was authorized against); otherwise it fails with WriteConflict
    expect: tuple[HandleValue, ...] | None = None

    def __post_init__(self) -> None:
        _freeze(self, "values")


@dataclass(frozen=True, slots=True)
class RemoveValues:
    """Remove the values at ``indexes`` from ``handle``."""

    handle: Handle
    indexes: tuple[int, ...]
    #: when set, the write happens only if the handle's values are exactly these (the record
    #: the write was authorized against); otherwise it fails with WriteConflict
    expect: tuple[HandleValue, ...] | None = None

    def __post_init__(self) -> None:
        _freeze(self, "indexes")


@dataclass(frozen=True, slots=True)
class HomePrefix:
    """Home ``prefix`` here (bare or ``0.NA/`` form; normalised by the store)."""

    prefix: str


@dataclass(frozen=True, slots=True)
class UnhomePrefix:
    """Stop serving ``prefix``."""

    prefix: str


#: Any write operation accepted by :meth:`idnode.storage.Store.apply`.
WriteOp = (CreateHandle | DeleteHandle | AddValues | ModifyValues | RemoveValues | HomePrefix
           | UnhomePrefix)

#: The outcome of one operation: the record after the write, ``None``, or the error raised.
WriteResult = Record | None | RegistryError

