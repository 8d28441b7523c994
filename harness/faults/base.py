"""The fault protocol: a reversible, confirmable, journaled action on a running cluster."""
from __future__ import annotations

from typing import Any, Protocol

from harness.faults.catalog import FaultSpec


class FaultError(Exception):
    """A fault could not be injected, confirmed or reverted."""


class Fault(Protocol):
    """inject() and revert() are idempotent; confirm() returns evidence that the fault holds.

    `memo` holds what revert() needs to undo inject() (a prior value, an original container's
    configuration); it is JSON, so `harness fault revert` in another process can rebuild the fault.
    """

    spec: FaultSpec
    memo: dict[str, Any]

    async def inject(self) -> None: ...

    async def confirm(self) -> str: ...

    async def revert(self) -> None: ...
