"""Channel occupancy across nodes: each node publishes its own snapshot to Redis with an expiry.

Every node keeps `hx:occ:<node>` (a JSON snapshot of its channels: subscription count and presence
members) alive with a TTL and lists itself in the set `hx:nodes`. A node that dies stops refreshing,
so its snapshot expires and its channels vanish from every answer within OCCUPANCY_TTL_S; readers drop
expired nodes from the set as they find them. The snapshot is rewritten soon after every change (one
write per burst of changes, not per subscription) and refreshed every TTL/3 otherwise.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import DependencyError
from .hub import Hub
from .log import log
from .store import Store

NODES_KEY = "hx:nodes"


def snapshot_key(node: str) -> str:
    return f"hx:occ:{node}"


@dataclass
class ChannelState:
    """One channel, summed over the nodes: subscriptions and presence members (user_id -> user_info)."""

    subscription_count: int = 0
    users: dict[str, Any] = field(default_factory=dict)


def merge(snapshots: list[dict[str, Any]], app_id: str) -> dict[str, ChannelState]:
    """Sum per-node snapshots (as Hub.snapshot() makes them) into channel -> ChannelState for one app."""
    out: dict[str, ChannelState] = {}
    for snapshot in snapshots:
        for channel, state in snapshot.get(app_id, {}).items():
            merged = out.setdefault(channel, ChannelState())
            merged.subscription_count += int(state.get("n", 0))
            merged.users.update(state.get("users", {}))
    return out


class Occupancy:
    """Writes this node's snapshot and reads the cluster's."""

    def __init__(self, store: Store, hub: Hub, node_name: str, ttl_s: float) -> None:
        self.store = store
        self.hub = hub
        self.node_name = node_name
        self.ttl_s = ttl_s
        self._changed = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        hub.on_change = self._changed.set

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="occupancy-writer")

    async def stop(self) -> None:
        """Stop refreshing and withdraw the snapshot, so a node that stops cleanly vanishes at once."""
        self._stopping = True
        self._changed.set()
        if self._task is not None:
            await self._task
        try:
            await self.store.delete(snapshot_key(self.node_name))
            await self.store.srem(NODES_KEY, self.node_name)
        except DependencyError:
            pass  # counted and logged by the store; the snapshot expires by itself

    async def _run(self) -> None:
        # Stopped by a flag, never cancelled, and waiting with asyncio.wait: in Python 3.11 both wait_for
        # and asyncio.timeout can mis-deliver a cancellation that races with the event (seen at shutdown).
        while True:
            waiter = asyncio.ensure_future(self._changed.wait())
            await asyncio.wait({waiter}, timeout=self.ttl_s / 3)  # on timeout: the periodic refresh
            waiter.cancel()
            if self._stopping:
                return
            self._changed.clear()
            try:
                await self.store.set(snapshot_key(self.node_name), json.dumps(self.hub.snapshot()),
                                     self.ttl_s, op="occupancy")
                await self.store.sadd(NODES_KEY, self.node_name)
            except DependencyError:
                # Counted and logged by the store; retried on the next change or refresh. Readers
                # meanwhile see this node's previous snapshot until it expires.
                pass
            except Exception as exc:  # noqa: BLE001 - the writer must outlive any one bad snapshot
                log("occupancy_write_failed", level="error", error=f"{type(exc).__name__}: {exc}")

    async def cluster(self, app_id: str) -> dict[str, ChannelState]:
        """Every occupied channel of the app, cluster-wide; DependencyError if Redis fails.

        This node's own part comes from its live sockets, fresher than its snapshot in Redis."""
        return merge([self.hub.snapshot(), *await self.other_snapshots()], app_id)

    async def elsewhere(self, app_id: str, channel: str) -> dict[str, Any]:
        """The channel's presence members on the other nodes; DependencyError if Redis fails."""
        state = merge(await self.other_snapshots(), app_id).get(channel)
        return state.users if state is not None else {}

    async def other_snapshots(self) -> list[dict[str, Any]]:
        """The live snapshots of every other node; expired nodes are dropped from NODES_KEY."""
        nodes = sorted(n for n in await self.store.smembers(NODES_KEY) if n != self.node_name)
        if not nodes:
            return []
        snapshots, expired = [], []
        for node, raw in zip(nodes, await self.store.mget([snapshot_key(n) for n in nodes])):
            if raw is None:
                expired.append(node)
                continue
            try:
                snapshots.append(json.loads(raw))
            except ValueError:
                log("occupancy_corrupt", level="warning", node=node)
        if expired:
            await self.store.srem(NODES_KEY, *expired)
        return snapshots

    def local(self, app_id: str) -> dict[str, ChannelState]:
        """This node's channels only (the degraded answer)."""
        return merge([self.hub.snapshot()], app_id)
