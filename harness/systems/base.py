"""A system under test, declared: its image, node services, ports, protocol, probes and credentials.

The cluster, the faults, the workload and the judge know the system only through this object. Every
system runs as services node1..nodeN of its compose fragment (compose/systems/<fragment>.yml) on the
harness's Redis and upstream, both reached through Toxiproxy (toxiproxy:1600N and toxiproxy:1700N for
node N), so every fault and Redis preset applies unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.workload.client import App

def placeholders(node: int) -> dict[str, str]:
    """What `{…}` in a system's environment becomes for node N: its name and its Toxiproxy links to
    Redis (proxy nodeN_redis, port 1600N) and to the upstream (nodeN_upstream, 1700N)."""
    redis, upstream = 16000 + node, 17000 + node
    return {"node": f"node{node}", "redis": f"toxiproxy:{redis}", "redis_host": "toxiproxy", "redis_port": str(redis),
            "upstream": f"toxiproxy:{upstream}", "upstream_host": "toxiproxy", "upstream_port": str(upstream)}


@dataclass(frozen=True)
class Probe:
    """One HTTP check of a node, polled once a second during a run (and used as readiness at start).

    `ok` is a 2xx answer; with `api_errors` a 2xx JSON answer carrying a top-level "error" is not ok
    (Centrifugo's server API answers errors with HTTP 200).
    """

    name: str
    path: str
    node: str = "all"                                    # "all" or one node name
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    api_errors: bool = False

    def applies_to(self, node: str) -> bool:
        return self.node in ("all", node)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "node": self.node, "method": self.method}


@dataclass(frozen=True)
class System:
    name: str                        # pusher-node, centrifugo, or custom
    protocol: str                    # the workload driver: pusher | centrifugo
    fragment: str                    # compose/systems/<fragment>.yml defines node1..node3
    image: str                       # a built-in image name (harness/cluster/images.py) or an image reference
    builtin_image: bool
    http_port: int = 8080            # the node's HTTP and WebSocket port inside its container
    ws_path: str = ""                # appended to the WebSocket base URL (pusher: the driver adds /app/<key>)
    metrics_path: str = "/metrics"   # what Prometheus scrapes on http_port
    metrics_job: str = "pubsub"      # Prometheus job label of the nodes
    probes: tuple[Probe, ...] = ()   # polled every second of a run, journaled as `probe` events
    readiness: Probe = Probe("ready", "/readyz")   # every node answers ok: the cluster is ready
    # What the driver publishes and connects with: a Pusher app, or for Centrifugo the server API key
    # (`key`) and the HMAC key of its connection tokens (`secret`); `id` then names the token's user.
    credentials: tuple[App, ...] = ()
    env: dict[str, str] = field(default_factory=dict)   # per-node environment templates (custom systems)
    # Whether the nodes use the harness's upstream (Centrifugo has none): without one, faults on the
    # upstream and its links change nothing for the system, and the hunt does not explore them.
    upstream: bool = True
    baseline_rules: str = "baseline"   # the rule set a hunt uses unless told (docs/monitoring.md)

    def node_env(self, node: int) -> dict[str, str]:
        """The environment of node N: its templates with the PLACEHOLDERS filled in."""
        values = placeholders(node)
        return {k: v.format(**values) for k, v in self.env.items()}

    def describe(self) -> dict[str, Any]:
        """The system as the journal and `harness up --json` record it."""
        return {"name": self.name, "protocol": self.protocol, "image": self.image, "http_port": self.http_port,
                "ws_path": self.ws_path, "probes": [p.to_json() for p in self.probes]}
