"""Errors of carrier generation and decoding (InvalidValue: the CLI exits 2 on them)."""

from __future__ import annotations

from idnode.errors import InvalidValue

__all__ = ["CapacityExceeded", "CarrierError"]


class CarrierError(InvalidValue):
    """A carrier cannot be made or read as asked (bad option, unreadable image …)."""

    fmt = "{reason}"


class CapacityExceeded(CarrierError):
    """The content does not fit the largest symbol (or tag) allowed; names the capacity."""

    fmt = ("{what} does not fit {carrier}: it needs {needed} {unit}, "
           "the capacity is {capacity} {unit}{hint}")

    def __init__(self, *, what: str, carrier: str, needed: int, capacity: int, unit: str,
                 hint: str = "") -> None:
        super().__init__(what=what, carrier=carrier, needed=needed, capacity=capacity,
                         unit=unit, hint=f" ({hint})" if hint else "")
        self.needed = needed
        self.capacity = capacity
