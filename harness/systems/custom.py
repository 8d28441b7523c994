"""A system of the user's own, declared in the scenario (`system: {image: …, protocol: …}`).

The image must already exist locally (the harness builds only its own). Its nodes get the environment
the declaration gives, with `{redis}`, `{upstream}` and `{node}` (and `{redis_host}`, `{redis_port}`,
`{upstream_host}`, `{upstream_port}`) replaced per node by the Toxiproxy link to Redis
(`toxiproxy:1600N`), to the upstream (`toxiproxy:1700N`) and the node's name, so every fault applies
to it as to the built-in systems (docs/systems.md).
"""
from __future__ import annotations

import re
from typing import Any

from harness.systems import pusher_node
from harness.workload.client import App
from harness.systems.base import Probe, System, placeholders

FIELDS = {"image", "protocol", "http_port", "ws_path", "health", "ready", "metrics", "env", "credentials"}
PROTOCOLS = ("pusher", "centrifugo")
DEFAULT_WS_PATH = {"pusher": "", "centrifugo": "/connection/websocket"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def parse(raw: dict[str, Any]) -> System:
    """The System a declaration describes; ValueError("<field>: <what is allowed>") otherwise."""
    for key in raw:
        if key not in FIELDS:
            raise ValueError(f"{key}: unknown field; allowed: {', '.join(sorted(FIELDS))}")
    for key in ("image", "protocol"):
        if key not in raw:
            raise ValueError(f"{key}: missing required field (a custom system needs image and protocol)")
    image = raw["image"]
    if not isinstance(image, str) or not image or any(c.isspace() for c in image):
        raise ValueError(f"image: must be an image reference like my-server:1.2, got {image!r}")
    protocol = raw["protocol"]
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol: must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    port = raw.get("http_port", 8080)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"http_port: must be a port number from 1 to 65535, got {port!r}")
    ws_path = _path(raw, "ws_path", DEFAULT_WS_PATH[protocol], empty_ok=True)
    health = _path(raw, "health", "/health")
    ready = _path(raw, "ready", health)
    metrics = _path(raw, "metrics", "/metrics")
    env = raw.get("env") or {}
    if not isinstance(env, dict):
        raise ValueError("env: must be a mapping of NAME: value ({redis}, {upstream}, {node}, … are filled per node)")
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise ValueError(f"env: {name!r} is not an environment variable name")
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(f"env: {name} must be a string or number, got {value!r}")
        allowed = placeholders(1)
        for placeholder in _PLACEHOLDER.findall(str(value)):
            if placeholder not in allowed:
                raise ValueError(f"env: {name}: unknown placeholder {{{placeholder}}}; allowed: "
                                 + ", ".join(f"{{{p}}}" for p in allowed))
    return System(
        name="custom", protocol=protocol, fragment="custom", image=image, builtin_image=False, http_port=port,
        ws_path=ws_path, metrics_path=metrics, metrics_job="custom",
        probes=(Probe("health", health),) + ((Probe("ready", ready),) if ready != health else ()),
        readiness=Probe("ready", ready),
        credentials=_credentials(raw.get("credentials"), protocol),
        env={str(k): str(v) for k, v in env.items()},
        # It uses the upstream only if its environment is given the upstream's link.
        upstream=any(p.startswith("upstream") for v in env.values() for p in _PLACEHOLDER.findall(str(v))),
    )


def _path(raw: dict[str, Any], key: str, default: str, empty_ok: bool = False) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not (value.startswith("/") or (empty_ok and value == "")):
        raise ValueError(f"{key}: must be a URL path starting with /, got {value!r}")
    return value


def _credentials(raw: Any, protocol: str) -> tuple[...]:
    if raw is None:
        if protocol == "centrifugo":
            raise ValueError("credentials: a centrifugo-protocol system needs {key: <API key>, secret: <token HMAC key>}")
        return pusher_node.system().credentials   # the apps the harness's upstream serves
    if not isinstance(raw, dict) or set(raw) - {"id", "key", "secret"} or not {"key", "secret"} <= set(raw):
        raise ValueError("credentials: must be {id, key, secret} (id optional for centrifugo)")
    if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in raw.values()):
        raise ValueError("credentials: id, key and secret must be strings")
    if protocol == "pusher" and "id" not in raw:
        raise ValueError("credentials: a pusher-protocol system needs the app's id as well")
    return (App(str(raw.get("id", "hx")), str(raw["key"]), str(raw["secret"])),)
