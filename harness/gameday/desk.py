"""The facilitator's desk: the one place a game day's faults and notes go through, whoever asks (the CLI
from another terminal over the control socket, or the live page).

Faults are injected, confirmed and reverted here, in the game day's process, on its Toxiproxy client;
each step is journaled with who asked (`by: {user, host, via}`). Every name is unique within a game
day (a second `latency` becomes `latency-2`), so the journal's fault times never mix two injections.
Active faults sit in the runner's `active` list: whatever ends the game day reverts them.
"""
from __future__ import annotations

import asyncio
import getpass
import os
import socket
from dataclasses import dataclass, field, replace
from typing import Any

from harness.faults.base import Fault
from harness.faults.catalog import FAULT_KINDS, FaultSpec, journal_fields, targets_for, validate_fault
from harness.faults.factory import FaultContext, make_fault
from harness.journal import JournalWriter

MAX_NOTE = 500


def whoami(via: str) -> dict[str, str]:
    """`by` for actions of this process: user, host and how they came (cli, page)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = str(os.getuid())
    return {"user": user, "host": socket.gethostname(), "via": via}


def clean_by(raw: Any, via: str) -> dict[str, str]:
    """A `by` sent by a client, kept to short strings; missing parts are `?`."""
    raw = raw if isinstance(raw, dict) else {}
    return {"user": str(raw.get("user") or "?")[:64], "host": str(raw.get("host") or "?")[:128], "via": via}


@dataclass
class FaultDesk:
    ctx: FaultContext
    journal: JournalWriter
    active: list[Fault]
    menu: dict[str, FaultSpec] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _unique(self, name: str) -> str:
        n, candidate = 1, name
        while candidate in self._used:
            n += 1
            candidate = f"{name}-{n}"
        self._used.add(candidate)
        return candidate

    def spec(self, raw: dict[str, Any]) -> FaultSpec:
        """Validate a fault mapping (or `{"menu": name}`) for this cluster; ValueError says what is wrong."""
        if "menu" in raw:
            item = self.menu.get(str(raw["menu"]))
            if item is None:
                raise ValueError(f"menu: no fault {raw['menu']!r} on the menu; it has: {', '.join(self.menu) or 'none'}")
            raw = item.to_json()
        return validate_fault(raw, self.ctx.nodes, default_name=str(raw.get("kind")))

    async def inject(self, raw: dict[str, Any], by: dict[str, str]) -> dict[str, Any]:
        """Inject and confirm a fault; its journal steps carry `by`. ValueError for bad input; the
        fault's own errors (FaultError, ToxiproxyError, …) after it is reverted again."""
        spec = self.spec(raw)
        async with self._lock:
            spec = replace(spec, name=self._unique(spec.name))
            fault = make_fault(spec, self.ctx)
            # phase None: a fault by hand does not make its phase start at its confirmation.
            self.journal.append("fault_injected", **journal_fields(spec), phase=None, by=by)
            self.active.append(fault)
            try:
                await fault.inject()
                evidence = await fault.confirm()
            except BaseException as exc:
                self.journal.append("fault_failed", fault=spec.name, error=f"{type(exc).__name__}: {exc}", by=by)
                try:
                    await fault.revert()
                except Exception as revert_exc:  # left in `active`: the game day's end tries again
                    self.journal.append("fault_revert_failed", fault=spec.name, error=str(revert_exc))
                    raise exc from revert_exc
                self.active.remove(fault)
                self.journal.append("fault_reverted", fault=spec.name, during="failed inject", by=by)
                raise
            self.journal.append("fault_confirmed", fault=spec.name, evidence=evidence, by=by)
            self.journal.flush()
        return {"name": spec.name, "kind": spec.kind, "target": spec.target, "evidence": evidence}

    async def revert(self, name: str | None, by: dict[str, str], during: str | None = None) -> list[str]:
        """Revert one active fault by name, or all (None), newest first; ValueError for an unknown name."""
        async with self._lock:
            names = [f.spec.name for f in self.active]
            if name is not None and name not in names:
                raise ValueError(f"no active fault {name!r}; active: {', '.join(names) or 'none'}")
            done = []
            for fault in reversed(list(self.active)):
                if name in (None, fault.spec.name):
                    await fault.revert()
                    self.active.remove(fault)
                    self.journal.append("fault_reverted", fault=fault.spec.name, by=by,
                                        **({"during": during} if during else {}))
                    done.append(fault.spec.name)
            self.journal.flush()
            return done

    def note(self, text: str, by: dict[str, str]) -> dict[str, Any]:
        """A human marker on the timeline (`harness note`, the page's note box)."""
        text = " ".join(str(text).split())[:MAX_NOTE]
        if not text:
            raise ValueError("text: a note needs some text")
        event = self.journal.append("note", text=text, user=by["user"], host=by["host"], via=by.get("via"))
        self.journal.flush()
        return {"t": event["t"], "text": text}

    def catalogue(self) -> dict[str, Any]:
        """The fault kinds as the page's form needs them, the menu, and what is active."""
        kinds = [{"name": k.name, "doc": k.doc, "family": k.family, "multi": k.multi,
                  "targets": targets_for(k, self.ctx.nodes),
                  "params": [{"name": p.name, "doc": p.doc, "default": p.default, "type": p.type,
                              "choices": list(p.choices)} for p in k.params]}
                 for k in FAULT_KINDS.values()]
        return {"kinds": kinds, "menu": [s.to_json() for s in self.menu.values()],
                "active": [f.spec.name for f in self.active]}
