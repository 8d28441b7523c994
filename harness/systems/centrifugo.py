"""Centrifugo v6 (centrifugal/centrifugo) on its Redis engine: a real third-party system under test.

Configured by compose/centrifugo/config.json (history on for the load channels, Prometheus and health
endpoints on); each node's Redis address is its Toxiproxy link (compose/systems/centrifugo.yml).
Centrifugo has no readiness endpoint (`/health` always answers 200 `{}`), so the cluster is ready when
every node's server API answers `info` without error: that call asks every node over the Redis engine.
"""
from __future__ import annotations

import json

from harness.cluster.paths import COMPOSE_DIR
from harness.workload.client import App
from harness.systems.base import Probe, System

CONFIG = COMPOSE_DIR / "centrifugo" / "config.json"


def system() -> System:
    config = json.loads(CONFIG.read_text())
    api_key = config["http_api"]["key"]
    # Asks every node over the Redis engine; an error answers HTTP 200 with {"error": …}.
    info = Probe("info", "/api/info", method="POST", headers=(("X-API-Key", api_key),), body="{}", api_errors=True)
    return System(
        name="centrifugo", protocol="centrifugo", fragment="centrifugo", image="centrifugo", builtin_image=True,
        http_port=config["http_server"]["port"], ws_path="/connection/websocket", metrics_job="centrifugo",
        probes=(Probe("health", "/health"), info),
        readiness=info,
        credentials=(App("hx", api_key, config["client"]["token"]["hmac_secret_key"]),),
        upstream=False, baseline_rules="centrifugo-baseline",
    )
