"""Running a search over a backend's read hooks (:meth:`idnode.storage.Store.search`).

The first criterion (:func:`~.index.plan_search` puts the most selective-looking one first)
drives: an exact pattern reads its index range in key order and stops once enough handles
are found; a wildcard pattern's range is filtered by the pattern and put in key order, so
it may hold at most ``budget`` entries. Each further criterion is answered once from its own
index range when that costs less than checking the candidates' records, else on the
records of each page of candidates, a record costing :data:`_RECORD_COST` entries of the
budget. All of it runs inside the caller's read snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from idnode.errors import InvalidValue
from idnode.storage.contract import Backend
from idnode.storage.index import Criterion, record_matches

__all__ = ["find"]

# Candidates checked at a time against further criteria.
_CHECK_CHUNK = 500
# Fetching and decoding a record costs about as much as examining this many index entries.
_RECORD_COST = 20

_Row = tuple[str, str]  # (key, handle)


@dataclass(slots=True)
class _Check:
    """What checking further criteria has learnt and spent during one search."""

    driver: Criterion
    budget: int
    spent: int = 0
    keys: dict[int, set[str] | None] = field(default_factory=dict)  # None: check records


def find(backend: Backend, types: frozenset[str], budget: int, driver: Criterion,
         others: Sequence[Criterion], start: str, stop: str | None, need: int) -> list[str]:
    """The first ``need`` handles, by key, with ``start <= key < stop`` matching ``driver``
    and ``others`` in an index of ``types``.

    :raises InvalidValue: the search would examine more than ``budget`` index entries.
    """
    if not driver.exact and backend._range_exceeds(driver, budget):
        raise _too_broad(driver, budget)
    found: list[str] = []
    if not others:
        for page in _pages(backend, driver, start, stop, need, need):
            found += [handle for _, handle in page]
        return found[:need]
    check = _Check(driver, budget)
    for page in _pages(backend, driver, start, stop, budget + 1, _CHECK_CHUNK):
        found += [handle for _, handle in
                  _check(backend, types, page, others, start, stop, check)]
        if len(found) >= need:
            break
    return found[:need]


def _pages(backend: Backend, driver: Criterion, start: str, stop: str | None, limit: int,
           size: int) -> Iterator[list[_Row]]:
    """The driver's matches, distinct, by key, in pages of ``size``."""
    if not driver.exact:  # gathered at once to be put in key order (at most ``limit``)
        rows = backend._range_keys(driver, start, stop, limit)
        for first in range(0, len(rows), size):
            yield rows[first:first + size]
        return
    # Exact: the index range is already in key order, so read only what is needed.
    inclusive = True
    while True:
        rows = backend._exact_keys(driver.type, driver.low, start, inclusive, stop, size)
        yield [row for i, row in enumerate(rows) if i == 0 or rows[i - 1][0] != row[0]]
        if len(rows) < size:
            return
        start, inclusive = rows[-1][0], False


def _check(backend: Backend, types: frozenset[str], rows: list[_Row],
           others: Sequence[Criterion], start: str, stop: str | None,
           check: _Check) -> list[_Row]:
    """The ``rows`` whose handles match ``others`` too."""
    for i, other in enumerate(others):
        if i not in check.keys:
            # Worth it when the range costs less than checking this page's records.
            cap = min(check.budget, _RECORD_COST * len(rows))
            if backend._range_exceeds(other, cap):
                check.keys[i] = None
            else:
                check.keys[i] = backend._range_key_set(other, start, stop, cap + 1)
                check.spent += cap  # at most: its range held no more entries
        matching = check.keys[i]
        if matching is not None:
            rows = [row for row in rows if row[0] in matching]
    rest = [other for i, other in enumerate(others) if check.keys[i] is None]
    if not rest or not rows:
        return rows
    check.spent += _RECORD_COST * len(rows)
    if check.spent > check.budget:
        raise _too_broad(check.driver, check.budget)
    records = backend._get_many([key for key, _ in rows])
    return [(key, records[key].handle) for key, _ in rows
            if key in records and record_matches(records[key], rest, types)]


def _too_broad(criterion: Criterion, budget: int) -> InvalidValue:
    return InvalidValue(reason=f"{criterion.type} pattern {criterion.pattern!r} is too broad: "
                               f"a search may examine at most {budget} index entries; give a "
                               "longer literal beginning or end, or an exact value")
