"""Compare two stores (a primary and its mirror, a node and its escrow copy) exactly.

Both stores keep, for each of the :data:`~idnode.storage.BUCKETS` buckets of keys, the XOR
of their records' 16-byte hashes and a record count, updated with every write. Comparing
the two lists costs O(buckets); only a bucket whose (XOR, count) differs is opened (its
``(key, hash)`` list), and only the keys whose hashes differ are fetched as records and
compared field by field. Stores that agree are checked without reading one record, and the
work grows with the number of differences, not with the store.

*Digest mode* (the default) trusts the stored hashes: a row changed around the store (by
SQL, or by disk corruption) keeps its old hash and is not seen. *Deep mode* recomputes
every record's hash from its data, bucket by bucket — a linear scan of both stores — and
also reports records whose stored hash no longer matches their data. It reads the records
the hash tables list, so a record added around the store (no hash at all) stays unseen.

A live mirror lags its primary. When the two positions (highest transaction id applied)
differ, the differing keys are checked again after ``recheck_delay`` and only differences
that persist are reported; the others are counted as transient.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from idnode.errors import StorageError
from idnode.identifiers.value import TTL_ABSOLUTE, HandleValue
from idnode.storage import Record, Store, open_store
from idnode.storage.digest import BUCKETS, record_hash
from idnode.storage.sqlite import sqlite_path

__all__ = ["Difference", "DigestSource", "LocalSource", "VerifyReport", "verify"]

#: Buckets opened at once: enough to hide a network round trip, few enough for one pool.
_PARALLEL = 8
#: Keys per ``records()`` call: bounded statements and messages.
_CHUNK = 500
#: Longest data shown for one side of a difference.
_SHOWN = 60


class DigestSource(Protocol):
    """One side of a comparison: a local store or a node reached over the network."""

    name: str

    async def position(self) -> int:
        """The highest transaction id applied."""
        ...

    async def homed(self) -> list[str]:
        """The homed prefixes, normalised and sorted."""
        ...

    async def bucket_digests(self) -> list[tuple[int, bytes, int]]:
        """``(bucket, xor of record hashes, count)`` of every non-empty bucket."""
        ...

    async def bucket_hashes(self, bucket: int) -> list[tuple[str, bytes]]:
        """``(key, stored record hash)`` of one bucket, by key."""
        ...

    async def records(self, keys: Sequence[str]) -> dict[str, Record]:
        """The records of ``keys`` (missing ones left out)."""
        ...

    async def close(self) -> None:
        """Release the connection or store."""
        ...


class LocalSource:
    """A :class:`Store` in this process, read on worker threads (its calls block)."""

    def __init__(self, store: Store, *, owned: bool = False) -> None:
        self.store = store
        self.name = store.url
        self._owned = owned

    @classmethod
    def open(cls, url: str) -> LocalSource:
        """Open the store at ``url`` (closed again by :meth:`close`).

        :raises StorageError: no SQLite file there (it would be created empty), or the
            store cannot be opened.
        :raises ConfigError: not a store URL.
        """
        if url.partition(":")[0].lower() == "sqlite":
            path = sqlite_path(url)
            if not Path(path).is_file():
                raise StorageError(reason=f"no SQLite store at {path}")
        return cls(open_store(url), owned=True)

    async def position(self) -> int:
        return await asyncio.to_thread(self.store.position)

    async def homed(self) -> list[str]:
        return await asyncio.to_thread(self.store.homed_prefixes)

    async def bucket_digests(self) -> list[tuple[int, bytes, int]]:
        return await asyncio.to_thread(self.store.bucket_digests)

    async def bucket_hashes(self, bucket: int) -> list[tuple[str, bytes]]:
        return await asyncio.to_thread(self.store.bucket_hashes, bucket)

    async def records(self, keys: Sequence[str]) -> dict[str, Record]:
        return await asyncio.to_thread(self.store.get_records, list(keys))

    async def close(self) -> None:
        if self._owned:
            await asyncio.to_thread(self.store.close)


# -- the report --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Difference:
    """One difference between A and B.

    :ivar handle: the handle text (A's when A has the record).
    :ivar kind: ``missing`` (A has the record, B not), ``extra`` (B has it, A not),
        ``handle-text``, ``value-missing`` (the value is in A only), ``value-extra`` (in B
        only), ``value-differs``, ``record-differs`` (nothing field by field: rare), or
        ``stale-hash`` (``side``'s stored hash does not match its record).
    :ivar fields: ``(field, A, B)`` as shown; ``data`` first, secrets masked.
    """

    handle: str
    kind: str
    index: int | None = None
    type: str | None = None
    fields: tuple[tuple[str, str, str], ...] = ()
    side: str | None = None

    def to_text(self) -> str:
        head = f"{self.handle}: "
        if self.index is not None:
            head += f"value {self.index} ({self.type}) "
        shown = {name: (a, b) for name, a, b in self.fields}
        match self.kind:
            case "missing":
                return head + f"missing in B (A has {_count(shown['values'][0])})"
            case "extra":
                return head + f"extra in B, missing in A (B has {_count(shown['values'][1])})"
            case "handle-text":
                a, b = shown["handle"]
                return head + f"handle text differs: A={a} B={b}"
            case "value-missing":
                return head + f"missing in B: A={shown['data'][0]}"
            case "value-extra":
                return head + f"extra in B: B={shown['data'][1]}"
            case "stale-hash":
                return head + (f"{self.side}'s stored record hash does not match its data "
                               "(changed around the store?)")
            case "value-differs":
                parts = [f"{'' if name == 'data' else name + ' '}A={a} B={b}"
                         for name, a, b in self.fields]
                return head + "differs: " + "; ".join(parts)
        return head + "record differs"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"handle": self.handle, "kind": self.kind}
        if self.index is not None:
            out["index"], out["type"] = self.index, self.type
        if self.side is not None:
            out["side"] = self.side
        if self.fields:
            out["fields"] = {name: {"a": a, "b": b} for name, a, b in self.fields}
        out["text"] = self.to_text()
        return out


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What :func:`verify` found. ``ok``: the stores hold the same records and prefixes.

    :ivar mode: ``digest`` or ``deep`` (see the module docstring).
    :ivar position_a: A's highest transaction id applied, when last asked.
    :ivar differing: handles that differ after the re-check (``differences`` describes the
        first ``max_report`` of them, ``unreported`` counts the rest).
    :ivar transient: handles that differed at first and agreed when checked again.
    """

    a: str
    b: str
    mode: str
    position_a: int
    position_b: int
    handles_a: int
    handles_b: int
    buckets: int
    buckets_differing: int
    homed_only_a: tuple[str, ...] = ()
    homed_only_b: tuple[str, ...] = ()
    differences: tuple[Difference, ...] = ()
    differing: int = 0
    unreported: int = 0
    transient: int = 0
    rechecked: bool = False
    seconds: float = 0.0

    @property
    def lag(self) -> int:
        """How many transaction ids B is behind A (negative: ahead)."""
        return self.position_a - self.position_b

    @property
    def ok(self) -> bool:
        return not (self.differing or self.homed_only_a or self.homed_only_b)

    def to_text(self) -> str:
        lag = ("same position" if self.lag == 0 else
               f"{self.lag} txn ids behind A" if self.lag > 0 else f"{-self.lag} ahead of A")
        lines = [f"A: {self.a} (position {self.position_a}, {self.handles_a} handles)",
                 f"B: {self.b} (position {self.position_b}, {lag}, {self.handles_b} handles)",
                 "mode: " + ("deep (every record's hash recomputed from its data)"
                             if self.mode == "deep" else
                             "digest (stored record hashes; --deep recomputes them)"),
                 f"buckets: {self.buckets} compared, {self.buckets_differing} differ"]
        lines += [f"prefix {p}: homed in A only" for p in self.homed_only_a]
        lines += [f"prefix {p}: homed in B only" for p in self.homed_only_b]
        lines += [difference.to_text() for difference in self.differences]
        if self.unreported:
            lines.append(f"… and {self.unreported} more differing handles not shown")
        homed = len(self.homed_only_a) + len(self.homed_only_b)
        found = [f"{self.differing} handles differ"] if self.differing else []
        found += [f"{homed} homed prefixes differ"] if homed else []
        summary = ", ".join(found) or "identical"
        if self.transient:
            summary += (f"; {self.transient} transient differences disappeared on re-check "
                        "(replication lag)")
        lines.append(f"{summary} ({self.seconds:.2f} s)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "mode": self.mode,
            "a": {"name": self.a, "position": self.position_a, "handles": self.handles_a},
            "b": {"name": self.b, "position": self.position_b, "handles": self.handles_b},
            "lag": self.lag,
            "buckets": {"compared": self.buckets, "differing": self.buckets_differing},
            "homed": {"onlyA": list(self.homed_only_a), "onlyB": list(self.homed_only_b)},
            "differing": self.differing, "unreported": self.unreported,
            "transient": self.transient, "rechecked": self.rechecked,
            "differences": [difference.to_json() for difference in self.differences],
            "seconds": round(self.seconds, 3),
        }


# -- comparing ---------------------------------------------------------------------------

#: key -> (its bucket, A's stored hash, B's stored hash); None where a side has no entry.
_Found = dict[str, tuple[int, bytes | None, bytes | None]]


@dataclass(slots=True)
class _Pass:
    """Compares buckets of A and B: by stored hashes, or (deep) by recomputed ones."""

    a: DigestSource
    b: DigestSource
    deep: bool
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(_PARALLEL))

    async def run(self, buckets: Sequence[int]) -> _Found:
        found: _Found = {}
        for part in await asyncio.gather(*(self._bucket(bucket) for bucket in buckets)):
            found.update(part)
        return found

    async def _bucket(self, bucket: int) -> _Found:
        async with self.gate:
            listed_a, listed_b = await asyncio.gather(self.a.bucket_hashes(bucket),
                                                      self.b.bucket_hashes(bucket))
            stored_a, stored_b = dict(listed_a), dict(listed_b)
            keys = sorted(stored_a.keys() | stored_b.keys())
            records_a: dict[str, Record] = {}
            records_b: dict[str, Record] = {}
            if self.deep:
                records_a, records_b = await asyncio.gather(_fetch(self.a, keys),
                                                            _fetch(self.b, keys))
        found: _Found = {}
        for key in keys:
            ha, hb = stored_a.get(key), stored_b.get(key)
            if self.deep:
                # A difference in the data, or a stored hash its data no longer matches.
                ra, rb = _hash(records_a.get(key)), _hash(records_b.get(key))
                differs = ra != rb or ra != ha or rb != hb
            else:
                differs = ha != hb
            if differs:
                found[key] = (bucket, ha, hb)
        return found


def _hash(record: Record | None) -> bytes | None:
    return None if record is None else record_hash(record)


async def _fetch(source: DigestSource, keys: Sequence[str]) -> dict[str, Record]:
    records: dict[str, Record] = {}
    for start in range(0, len(keys), _CHUNK):
        records.update(await source.records(keys[start:start + _CHUNK]))
    return records


async def _survey(source: DigestSource) -> tuple[int, list[str], list[tuple[int, bytes, int]]]:
    position, homed, digests = await asyncio.gather(
        source.position(), source.homed(), source.bucket_digests())
    for bucket, _, _ in digests:
        if not 0 <= bucket < BUCKETS:  # a remote's answer: it would be asked for it next
            raise StorageError(reason=f"{source.name} reported bucket {bucket}, not in "
                                      f"0..{BUCKETS - 1}")
    return position, homed, digests


async def verify(a: DigestSource, b: DigestSource, *, recheck_delay: float = 0.5,
                 max_report: int = 1000, deep: bool = False) -> VerifyReport:
    """Compare ``a`` with ``b`` and report every difference (see the module docstring).

    :param recheck_delay: seconds to wait before checking differences again, when the
        positions differ (a live mirror); negative: never re-check.
    :param max_report: describe at most this many differing handles; count the rest.
    :param deep: recompute every record's hash from its data (reads both stores whole).
    :raises RegistryError: or ``OSError``, when a source fails.
    """
    began = time.monotonic()
    (pos_a, homed_a, digests_a), (pos_b, homed_b, digests_b) = await asyncio.gather(
        _survey(a), _survey(b))
    sums_a = {bucket: (xor, count) for bucket, xor, count in digests_a}
    sums_b = {bucket: (xor, count) for bucket, xor, count in digests_b}
    every = sorted(sums_a.keys() | sums_b.keys())
    differing = [bucket for bucket in every if sums_a.get(bucket) != sums_b.get(bucket)]
    compare = _Pass(a, b, deep)
    found = await compare.run(every if deep else differing)
    only_a, only_b = set(homed_a) - set(homed_b), set(homed_b) - set(homed_a)
    first = len(found)
    rechecked = bool((found or only_a or only_b) and pos_a != pos_b and recheck_delay >= 0)
    if rechecked:
        await asyncio.sleep(recheck_delay)
        (pos_a, homed_a), (pos_b, homed_b) = await asyncio.gather(
            asyncio.gather(a.position(), a.homed()), asyncio.gather(b.position(), b.homed()))
        again = await compare.run(sorted({bucket for bucket, _, _ in found.values()}))
        found = {key: entry for key, entry in again.items() if key in found}
        only_a &= set(homed_a) - set(homed_b)
        only_b &= set(homed_b) - set(homed_a)
    keys = sorted(found)
    shown = keys[:max(max_report, 0)]
    records_a, records_b = await asyncio.gather(_fetch(a, shown), _fetch(b, shown))
    # A stored hash is judged only if its side did not move since it was read.
    if shown:
        after_a, after_b = await asyncio.gather(a.position(), b.position())
    else:
        after_a, after_b = pos_a, pos_b
    differences: list[Difference] = []
    settled = 0
    for key in shown:
        _, ha, hb = found[key]
        described = _classify(key, records_a.get(key), records_b.get(key),
                              ha if after_a == pos_a else None,
                              hb if after_b == pos_b else None)
        differences += described
        settled += not described
    return VerifyReport(
        a=a.name, b=b.name, mode="deep" if deep else "digest",
        position_a=after_a, position_b=after_b,
        handles_a=sum(count for _, count in sums_a.values()),
        handles_b=sum(count for _, count in sums_b.values()),
        buckets=len(every), buckets_differing=len(differing),
        homed_only_a=tuple(sorted(only_a)), homed_only_b=tuple(sorted(only_b)),
        differences=tuple(differences), differing=len(keys) - settled,
        unreported=len(keys) - len(shown), transient=first - len(keys) + settled,
        rechecked=rechecked, seconds=time.monotonic() - began)


# -- describing one differing handle -------------------------------------------------------

def _classify(key: str, a: Record | None, b: Record | None, stored_a: bytes | None,
              stored_b: bytes | None) -> list[Difference]:
    """The differences between A's and B's record of ``key``; ``stored_*``: the hash each
    side stored (None: absent, or not to be judged). Empty: they agree after all."""
    handle = a.handle if a is not None else b.handle if b is not None else key
    out: list[Difference] = []
    if a is None and b is not None:
        out.append(Difference(handle, "extra", fields=(("values", "0", str(len(b.values))),)))
    elif b is None and a is not None:
        out.append(Difference(handle, "missing", fields=(("values", str(len(a.values)), "0"),)))
    elif a is not None and b is not None and a != b:
        out += _record_differences(a, b)
    for side, record, stored in (("A", a, stored_a), ("B", b, stored_b)):
        if stored is not None and _hash(record) != stored:
            out.append(Difference(handle, "stale-hash", side=side))
    return out


def _record_differences(a: Record, b: Record) -> list[Difference]:
    out: list[Difference] = []
    if a.handle != b.handle:
        out.append(Difference(a.handle, "handle-text",
                              fields=(("handle", _quote(a.handle), _quote(b.handle)),)))
    values_a = {value.index: value for value in a.values}
    values_b = {value.index: value for value in b.values}
    for index in sorted(values_a.keys() | values_b.keys()):
        va, vb = values_a.get(index), values_b.get(index)
        if vb is None and va is not None:
            out.append(Difference(a.handle, "value-missing", index, va.type,
                                  (("data", _data(va), ""),)))
        elif va is None and vb is not None:
            out.append(Difference(a.handle, "value-extra", index, vb.type,
                                  (("data", "", _data(vb)),)))
        elif va is not None and vb is not None and va != vb:
            kind = va.type if va.type == vb.type else f"{va.type}/{vb.type}"
            out.append(Difference(a.handle, "value-differs", index, kind,
                                  _value_fields(va, vb)))
    if not out:  # equal field by field yet unequal: keep it visible all the same
        out.append(Difference(a.handle, "record-differs"))
    return out


def _value_fields(a: HandleValue, b: HandleValue) -> tuple[tuple[str, str, str], ...]:
    fields: list[tuple[str, str, str]] = []
    if a.type != b.type:
        fields.append(("type", a.type, b.type))
    if a.data != b.data:
        fields.append(("data", *_data_pair(a, b)))
    if (a.ttl_type, a.ttl) != (b.ttl_type, b.ttl):
        fields.append(("ttl", _ttl(a), _ttl(b)))
    if a.permissions != b.permissions:
        fields.append(("permissions", format(a.permissions, "08b"),
                       format(b.permissions, "08b")))
    if a.timestamp != b.timestamp:
        fields.append(("timestamp", str(a.timestamp), str(b.timestamp)))
    if a.references != b.references:
        fields.append(("references", _refs(a), _refs(b)))
    return tuple(fields)


def _count(values: str) -> str:
    return f"{values} value" if values == "1" else f"{values} values"


def _ttl(value: HandleValue) -> str:
    return f"until {value.ttl}" if value.ttl_type == TTL_ABSOLUTE else str(value.ttl)


def _refs(value: HandleValue) -> str:
    return ",".join(f"{ref.index}:{ref.handle}" for ref in value.references) or "-"


def _secret(value: HandleValue) -> bool:
    # A report is read on screens and pasted into tickets: never show a secret key.
    return value.type.upper() == "HS_SECKEY"


def _text(value: HandleValue) -> str:
    try:
        text = value.data.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + value.data.hex()
    return text if text.isprintable() else "hex:" + value.data.hex()


def _quote(text: str) -> str:
    return "'" + text + "'"


def _data(value: HandleValue) -> str:
    if _secret(value):
        return f"<secret, {len(value.data)} bytes>"
    return _quote(_shorten(_text(value), 0))


def _data_pair(a: HandleValue, b: HandleValue) -> tuple[str, str]:
    """Both sides' data, cut to the same window around where they first differ."""
    if _secret(a) or _secret(b):
        return _data(a), _data(b)
    text_a, text_b = _text(a), _text(b)
    same = 0
    while same < min(len(text_a), len(text_b)) and text_a[same] == text_b[same]:
        same += 1
    start = max(0, same - _SHOWN // 3) if same > _SHOWN * 2 // 3 else 0
    return _quote(_shorten(text_a, start)), _quote(_shorten(text_b, start))


def _shorten(text: str, start: int) -> str:
    cut = ("…" if start else "") + text[start:start + _SHOWN]
    return cut + "…" if len(text) > start + _SHOWN else cut
