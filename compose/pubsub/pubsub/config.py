"""Node configuration, read once from the environment at startup (docs/node.md lists every variable)."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

POLICIES = ("strict", "degrade")


class ConfigError(ValueError):
    """An environment variable has a value the node cannot use; the message names it and what is allowed."""


@dataclass(frozen=True)
class Config:
    """Everything a node needs to know about its surroundings."""

    node_name: str = "node1"
    port: int = 8080
    redis_url: str = "redis://redis:6379/0"
    upstream_url: str = "http://upstream:8080"
    redis_timeout_s: float = 1.0
    upstream_timeout_s: float = 2.0
    app_cache_ttl_s: int = 30
    app_memory_size: int = 1000
    activity_timeout_s: int = 120
    pong_timeout_s: float = 30.0
    client_events_per_s: int = 10
    occupancy_ttl_s: float = 15.0
    redis_policy: str = "strict"
    upstream_policy: str = "strict"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        """Build a config from environment variables (upper-cased field names); ConfigError on a bad value."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f.name.upper()
            if name not in env:
                continue
            raw = env[name]
            kind = type(f.default)
            try:
                values[f.name] = int(float(raw)) if kind is int else kind(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        for name in ("redis_policy", "upstream_policy"):
            if getattr(self, name) not in POLICIES:
                raise ConfigError(f"{name.upper()}={getattr(self, name)!r}; allowed: {', '.join(POLICIES)}")
        for name in ("redis_timeout_s", "upstream_timeout_s", "pong_timeout_s", "occupancy_ttl_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name.upper()} must be > 0")
        for name in ("activity_timeout_s", "app_memory_size", "client_events_per_s", "app_cache_ttl_s"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.upper()} must be >= 1")

    def loggable(self) -> dict[str, Any]:
        """The config as a dict safe to log: the Redis password, if any, is masked."""
        out = asdict(self)
        out["redis_url"] = _mask_password(self.redis_url)
        return out


def _mask_password(url: str) -> str:
    """Replace the credentials of redis://user:pass@host with user:***, so logs carry no secret."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user, colon, _ = creds.partition(":")
    masked = f"{user}:***" if colon else "***"
    return f"{scheme}://{masked}@{host}"
