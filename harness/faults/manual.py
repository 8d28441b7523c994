"""Faults by hand (`harness fault inject|revert`, game days): remembered per cluster in a state file.

The state file `<state dir>/<project>.json` lists each active fault's spec and memo (what its revert
needs), so a later `harness fault revert` or `harness down` in another process can undo it. The state
dir is $HX_STATE_DIR, else $XDG_STATE_HOME/hx-harness, else ~/.local/state/hx-harness.
"""
from __future__ import annotations

import asyncio
import json
import os
from contextlib import asynccontextmanager, closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import docker

from harness.cluster.cluster import LABEL_PROJECT, LABEL_SERVICE, MAX_NODES, ClusterError, find_cluster
from harness.faults.base import Fault, FaultError
from harness.faults.catalog import FaultSpec, validate_fault
from harness.faults.factory import FaultContext, make_fault
from harness.faults.toxiproxy import ToxiproxyClient
from harness import strict_yaml

REVERT_TIMEOUT_S = 60.0


def state_dir() -> Path:
    if os.environ.get("HX_STATE_DIR"):
        return Path(os.environ["HX_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "hx-harness"


@dataclass
class FaultState:
    """The active hand-made faults of one cluster, as stored on disk."""

    project: str

    @property
    def path(self) -> Path:
        return state_dir() / f"{self.project}.json"

    def load(self) -> list[dict[str, Any]]:
        """[{"spec": FaultSpec fields, "memo": {...}}, ...] in injection order."""
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return []

    def save(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, indent=1))
        tmp.replace(self.path)  # atomic: a killed CLI never leaves half a file


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`k=v` pairs from the command line as a fault mapping; values are read as YAML scalars,
    `env.NAME=v` sets one variable of an env parameter (an empty v or `null` removes it)."""
    raw: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param: expected key=value; got {pair!r}")
        try:
            value = strict_yaml.load(text)[0] if text else None   # bounded: a parameter is a value, not a bomb
        except strict_yaml.YamlError as exc:
            raise ValueError(f"--param {key}: {exc.message}") from None
        if "." in key:
            outer, inner = key.split(".", 1)
            raw.setdefault(outer, {})[inner] = value
        else:
            raw[key] = value
    return raw


def node_count(project: str) -> int:
    """How many nodes the project was started with (stopped or partitioned ones included)."""
    with closing(docker.from_env()) as client:
        services = {c.labels.get(LABEL_SERVICE, "") for c in
                    client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={project}"},
                                               ignore_removed=True)}
    return sum(f"node{i}" in services for i in range(1, MAX_NODES + 1))


@asynccontextmanager
async def fault_context(project: str) -> AsyncIterator[FaultContext]:
    """The FaultContext of a running cluster, named by project or run id (ValueError: no such cluster)."""
    try:
        endpoints = await asyncio.to_thread(find_cluster, project)
    except ClusterError as exc:
        raise ValueError(str(exc)) from None  # a project name is the user's input
    nodes = await asyncio.to_thread(node_count, endpoints.project)
    async with ToxiproxyClient(endpoints.toxiproxy or "http://127.0.0.1:1") as toxiproxy:
        yield FaultContext(endpoints, toxiproxy, nodes)


def _restore(entry: dict[str, Any], ctx: FaultContext) -> Fault:
    return make_fault(FaultSpec(**entry["spec"]), ctx, entry["memo"])


async def inject(project: str, raw: dict[str, Any]) -> tuple[FaultSpec, str]:
    """Validate, inject and confirm one fault, remembering it; ValueError for bad input."""
    validate_fault(raw, MAX_NODES, default_name=str(raw.get("kind")))  # bad input first, whatever runs
    async with fault_context(project) as ctx:
        spec = validate_fault(raw, ctx.nodes, default_name=str(raw.get("kind")))
        state = FaultState(ctx.project)
        entries = state.load()
        if any(e["spec"]["name"] == spec.name for e in entries):
            raise ValueError(f"name: a fault named {spec.name!r} is active already; revert it or pass --name")
        fault = make_fault(spec, ctx)
        entry = {"spec": asdict(spec), "memo": fault.memo}
        state.save(entries + [entry])           # remembered before it acts: a kill mid-inject is revertible
        try:
            await fault.inject()
            state.save(entries + [entry])       # with the memo inject() filled in
            return spec, await fault.confirm()
        except BaseException as exc:
            try:
                await fault.revert()
            except Exception as revert_exc:  # keep it remembered: `harness down` tries again
                raise FaultError(f"{spec.name}: {exc}; and its revert failed too: {revert_exc} "
                                 f"(still remembered; `harness down {ctx.project}` reverts it)") from exc
            state.save(entries)
            raise


async def revert(project: str, name: str | None) -> list[str]:
    """Revert one remembered fault by name, or all of them (name None), newest first."""
    async with fault_context(project) as ctx:
        state = FaultState(ctx.project)
        entries = state.load()
        if name is not None and not any(e["spec"]["name"] == name for e in entries):
            active = ", ".join(e["spec"]["name"] for e in entries) or "none"
            raise ValueError(f"no active fault {name!r} on {ctx.project}; active: {active}")
        done = []
        for entry in reversed(list(entries)):
            if name in (None, entry["spec"]["name"]):
                await asyncio.wait_for(_restore(entry, ctx).revert(), REVERT_TIMEOUT_S)
                entries.remove(entry)
                state.save(entries)
                done.append(entry["spec"]["name"])
        return done


def forget_all() -> None:
    """After `harness down --all`: no cluster is left for any state file to describe."""
    for path in state_dir().glob("hx-*.json"):
        path.unlink(missing_ok=True)


async def revert_for_down(project: str) -> list[str]:
    """Before `harness down`: revert remembered faults and reset Toxiproxy, best effort; the problems."""
    problems: list[str] = []
    state = FaultState(project)
    try:
        async with fault_context(project) as ctx:
            for entry in reversed(state.load()):
                try:
                    await asyncio.wait_for(_restore(entry, ctx).revert(), REVERT_TIMEOUT_S)
                except Exception as exc:  # the cluster is removed next anyway
                    problems.append(f"revert {entry['spec']['name']}: {exc}")
            if ctx.endpoints.toxiproxy:
                await ctx.toxiproxy.reset()
    except Exception as exc:  # no cluster running, Toxiproxy gone: nothing more to undo
        problems.append(str(exc))
    state.save([])
    return problems
