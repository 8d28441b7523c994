"""The presence probe: each node asked once a second how many users each presence channel has.

Journals `presence_check` (`asked`, `node`, `channel` as the load journals it, `users` or null, `status`,
`error`); harness/presence.py judges the answers against the subscribers the harness knows.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from harness.journal import JournalWriter
from harness.workload.client import App, get_signed
from harness.workload.publisher import PublishTarget


@dataclass
class PresenceProbe:
    app: App
    nodes: list[PublishTarget]
    channels: list[str]
    journal: JournalWriter
    scope: str = ""
    every_s: float = 1.0

    async def run(self, stop: asyncio.Event, max_seconds: float) -> None:
        """Ask every node about every channel each `every_s`, until stopped or `max_seconds` pass."""
        deadline = time.monotonic() + max_seconds
        async with httpx.AsyncClient(timeout=httpx.Timeout(2.0), trust_env=False) as http:
            while time.monotonic() < deadline and not stop.is_set():
                await asyncio.gather(*(self._check(http, node, channel) for node in self.nodes for channel in self.channels))
                try:
                    await asyncio.wait_for(stop.wait(), self.every_s)
                except asyncio.TimeoutError:
                    pass

    async def _check(self, http: httpx.AsyncClient, node: PublishTarget, channel: str) -> None:
        t = self.journal.clock.now()
        users = status = error = None
        try:
            response = await get_signed(http, node.http, self.app, f"/apps/{self.app.id}/channels/{channel}",
                                        {"info": "user_count"})
            status = response.status_code
            if status == 200:
                users = int(response.json().get("user_count", 0))
            else:
                error = response.text[:200]
        except (httpx.HTTPError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        # Journaled when answered (the journal's times never go back), judged at `asked`: the answer
        # describes the cluster as it was then.
        self.journal.append("presence_check", asked=t, node=node.name, channel=self.scope + channel, users=users,
                            status=status, error=error)
