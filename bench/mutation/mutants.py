"""The mutants: plausible bugs of the pub/sub node (compose/pubsub), each one small textual change.

Each names the file under compose/, the exact text it replaces (present exactly once), the bug as a
developer might write it, and the library scenarios expected to catch it, cheapest first (the bench
stops a mutant at its first kill).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str                         # what a developer changed, and why it is wrong
    file: str                        # relative to compose/
    old: str
    new: str
    scenarios: tuple[str, ...]       # scenarios/<name>.yaml expected to kill it (every variant of a params matrix runs)


MUTANTS: tuple[Mutant, ...] = (
    Mutant("redis-retry-on-timeout", "Redis calls retried once on a timeout ('more robust'): a silent "
           "Redis now takes two timeouts to be told.",
           "pubsub/pubsub/store.py", "retry_on_timeout=False,", "retry_on_timeout=True,",
           ("redis-blackhole", "redis-paused")),
    Mutant("redis-no-read-timeout", "The socket timeout dropped from the Redis client (only connects "
           "bounded): a silent Redis holds every publish until the client gives up.",
           "pubsub/pubsub/store.py", "        socket_timeout=timeout_s,\n", "",
           ("redis-blackhole", "redis-paused")),
    Mutant("fanout-gives-up", "The fan-out subscription loop returns after its first error instead of "
           "backing off and resubscribing.",
           "pubsub/pubsub/fanout.py",
           "            if self._stopping:\n                return\n            await asyncio.sleep(backoff)",
           "            return",
           ("redis-proxy-down", "redis-restarted")),
    Mutant("local-echo", "Publishing node also delivers to its own sockets at once 'for latency', though it "
           "receives its own fan-out too: doubles.",
           "pubsub/pubsub/fanout.py", "        self.metrics.fanout_published.inc()\n",
           "        self.metrics.fanout_published.inc()\n        self.hub.deliver(json.loads(message), to_frame(json.loads(message)))\n",
           ("redis-proxy-down", "client-links-reset")),
    Mutant("degrade-drops-locally", "Under the degrade policy a failed fan-out PUBLISH is counted but not "
           "delivered locally: accepted and lost.",
           "pubsub/pubsub/fanout.py", "            self.hub.deliver(decoded, to_frame(decoded))\n",
           "            pass\n",
           ("redis-down-degrade-policy",)),
    Mutant("tenant-leak", "Local delivery looks subscribers up by channel name alone, forgetting the app: "
           "one app's messages reach another app's subscribers of the same channel.",
           "pubsub/pubsub/hub.py",
           'clients = self._by_channel.get((str(message.get("app_id", "")), str(message.get("channel", ""))))',
           'clients = {c for (_, name), cs in list(self._by_channel.items())\n'
           '                   if name == str(message.get("channel", "")) for c in cs}',
           ("tenant-isolation-redis-blip",)),
    Mutant("client-event-echo", "The sender's socket is no longer skipped on delivery: client events come "
           "back to their sender.",
           "pubsub/pubsub/hub.py",
           "            if not (sender and client.socket_id == sender):\n                sent += client.write(frame)\n",
           "            sent += client.write(frame)\n",
           ("tenant-isolation-redis-blip", "presence-across-nodes-redis-blip")),
    Mutant("small-outbox", "The slow-consumer limit cut from 1 MiB to 64 KiB of unsent bytes to save memory: "
           "a burst closes healthy subscribers as slow consumers.",
           "pubsub/pubsub/hub.py", "WRITE_BUFFER_LIMIT = 1 << 20", "WRITE_BUFFER_LIMIT = 1 << 16",
           ("slow-consumer-limit", "burst-near-slow-consumer-limit")),
    Mutant("register-once", "The node adds itself to hx:nodes only on its first snapshot: after Redis "
           "restarts empty, the other nodes never see its presence members again.",
           "pubsub/pubsub/occupancy.py",
           "                await self.store.sadd(NODES_KEY, self.node_name)\n",
           "                if not getattr(self, \"_registered\", False):\n"
           "                    await self.store.sadd(NODES_KEY, self.node_name)\n"
           "                    self._registered = True\n",
           ("presence-across-nodes-redis-blip",)),
    Mutant("cache-one-key", "Only the by-key cache entry is written back: the HTTP path (by id) misses the "
           "cache every time and asks the upstream on every publish.",
           "pubsub/pubsub/registry.py",
           "                await self.store.setex(id_key(app.id), self.ttl_s, app.to_json())\n", "",
           ("upstream-5xx-warm-cache", "upstream-slow-warm-cache")),
    Mutant("upstream-timeout-10s", "The upstream timeout raised from 2 s to 10 s: a slow registry holds "
           "customers instead of being cut off.",
           "pubsub/pubsub/config.py", "upstream_timeout_s: float = 2.0", "upstream_timeout_s: float = 10.0",
           ("upstream-slow-cold-cache",)),
    Mutant("client-rate-window-never-resets", "The client-event rate window is never reset: after "
           "CLIENT_EVENTS_PER_S events in all, every socket that sends one is closed.",
           "pubsub/pubsub/sockets.py", "        if window != self._window:\n",
           "        if window != self._window and self._window == 0:\n",
           ("presence-across-nodes-redis-blip", "tenant-isolation-redis-blip")),
    Mutant("slow-consumer-code-4200", "A slow consumer is closed with 4200 (graceful shutdown: 'reconnect "
           "at once') instead of 4100 ('reconnect after a backoff'): a client that cannot keep up comes "
           "straight back for more.",
           "pubsub/pubsub/hub.py", 'asyncio.ensure_future(self.close(4100, "slow consumer"))',
           'asyncio.ensure_future(self.close(4200, "slow consumer"))',
           ("slow-consumer-limit",)),
    Mutant("occupancy-refresh-slow", "The occupancy snapshot is refreshed every 3 x TTL instead of TTL/3 "
           "(a '/' typed as '*'): without a subscription change, a node's presence members expire from the "
           "other nodes' answers, and after Redis restarts empty they stay gone for 45 s.",
           "pubsub/pubsub/occupancy.py", "timeout=self.ttl_s / 3)", "timeout=self.ttl_s * 3)",
           ("presence-across-nodes-redis-blip",)),
    Mutant("shallow-readiness", "/readyz made cheap (the probe traffic looked heavy): 200 while the process "
           "runs, whatever its dependencies: the load balancer keeps sending traffic to a node that "
           "refuses every publish.",
           "pubsub/pubsub/api.py", "failed = await self._readiness_failure()", "failed = None",
           ("redis-proxy-down", "redis-blackhole")),
    Mutant("batch-first-event-only", "The batch endpoint's send loop was written over the parsed list's "
           "first element ('the common case is one event'): the other events of a batch are answered 200 "
           "and never delivered.",
           "pubsub/pubsub/api.py", "        for event in events:\n            await self._send(app, event.channels[0], event)\n",
           "        for event in events[:1]:\n            await self._send(app, event.channels[0], event)\n",
           ("burst-near-slow-consumer-limit", "slow-consumer-limit")),
    Mutant("fanout-backoff-uncapped", "The fan-out resubscribe backoff cap raised from 2 s to 30 s "
           "('less log noise during outages'): after an outage of some seconds, cross-node delivery "
           "comes back many seconds after Redis does.",
           "pubsub/pubsub/fanout.py", "BACKOFF_MAX_S = 2.0", "BACKOFF_MAX_S = 30.0",
           ("redis-proxy-down", "redis-restarted")),
    Mutant("count-after-send", "The per-app publish counter incremented after the fan-out instead of before "
           "('count what was really sent'): when Redis refuses writes but still relays PUBLISH (full memory, "
           "unwritable disk) the message is delivered and the publisher told 503, so its retry doubles it.",
           "pubsub/pubsub/api.py",
           "        await self._count_publish(app, 1, now)\n        for channel in event.channels:\n"
           "            await self._send(app, channel, event)\n",
           "        for channel in event.channels:\n            await self._send(app, channel, event)\n"
           "        await self._count_publish(app, 1, now)\n",
           ("redis-misconfigured",)),
)
