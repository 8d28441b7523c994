"""Node configuration, read once from the environment at startup."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Mapping


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
    activity_timeout_s: int = 120

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        """Build a config from environment variables, falling back to the defaults above."""
        env = os.environ if env is None else env
        d = cls()
        return cls(
            node_name=env.get("NODE_NAME", d.node_name),
            port=int(env.get("PORT", d.port)),
            redis_url=env.get("REDIS_URL", d.redis_url),
            upstream_url=env.get("UPSTREAM_URL", d.upstream_url).rstrip("/"),
            redis_timeout_s=float(env.get("REDIS_TIMEOUT_S", d.redis_timeout_s)),
            upstream_timeout_s=float(env.get("UPSTREAM_TIMEOUT_S", d.upstream_timeout_s)),
            app_cache_ttl_s=int(float(env.get("APP_CACHE_TTL_S", d.app_cache_ttl_s))),
            activity_timeout_s=int(float(env.get("ACTIVITY_TIMEOUT_S", d.activity_timeout_s))),
        )

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
