"""The fault protocol: a reversible, confirmable, journaled action on a running cluster."""
from __future__ import annotations

from typing import Protocol

from harness.faults.catalog import FaultSpec


class FaultError(Exception):
    """A fault could not be injected, confirmed or reverted."""


class Fault(Protocol):
    """inject() and revert() are idempotent; confirm() returns evidence that the fault holds."""

    spec: FaultSpec

    async def inject(self) -> None: ...

    async def confirm(self) -> str: ...

    async def revert(self) -> None: ...
