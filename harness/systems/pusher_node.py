"""The project's own Pusher-protocol node (compose/pubsub): the default system under test."""
from __future__ import annotations

import json

from harness.cluster.paths import COMPOSE_DIR
from harness.workload.client import App
from harness.systems.base import Probe, System


def _apps() -> tuple[...]:
    """The enabled apps the upstream serves (compose/upstream/apps.json)."""
    apps = json.loads((COMPOSE_DIR / "upstream" / "apps.json").read_text())
    return tuple(App(str(a["id"]), a["key"], a["secret"]) for a in apps if a.get("enabled", True))


def system() -> System:
    return System(
        name="pusher-node", protocol="pusher", fragment="pusher-node", image="pubsub", builtin_image=True,
        probes=(Probe("health", "/healthz"), Probe("ready", "/readyz")),
        readiness=Probe("ready", "/readyz"),
        credentials=_apps(),
    )
