"""A small Pusher-compatible pub/sub node: the system under test of the chaos harness.

HTTP API and WebSocket protocol 7 on one port, cross-node fan-out through Redis pub/sub, app
credentials looked up from an upstream registry and cached in Redis. Run with `python3 -m pubsub`.

Environment (defaults): NODE_NAME=node1, PORT=8080, REDIS_URL=redis://redis:6379/0,
UPSTREAM_URL=http://upstream:8080, REDIS_TIMEOUT_S=1.0, UPSTREAM_TIMEOUT_S=2.0, APP_CACHE_TTL_S=30,
ACTIVITY_TIMEOUT_S=120.

Failure policy (the "fragile" cluster the scenarios start from): any Redis or upstream failure on
the publish path answers 503 `{"error": "redis unavailable: <class>"}` (or `upstream ...`), with
<class> one of OOM, MISCONF, NOAUTH, timeout, refused, other (see errors.py). Nothing is delivered
locally as a fallback: every delivery goes through Redis. /readyz is deep (Redis SET+GET round trip,
upstream /healthz, fan-out subscription confirmed); /healthz only says the process is alive.

Modules, one concept each:
    config    environment -> Config            log       JSON log lines on stdout
    errors    failure classes                   metrics   Prometheus text exposition
    auth      Pusher signatures                 protocol  Pusher frames, limits, validation
    store     counted, classified Redis calls   registry  app lookup (Redis cache, then upstream)
    fanout    Redis pub/sub publish + subscriber loop
    hub       local sockets and channels        sockets   WebSocket protocol 7 handler
    api       HTTP routes                       app       wiring, startup and shutdown
"""
