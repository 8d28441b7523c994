"""A small Pusher-compatible pub/sub node: the system under test of the chaos harness.

HTTP API and WebSocket protocol 7 on one port, cross-node fan-out through Redis pub/sub, app
credentials looked up from an upstream registry and cached in Redis. Run with `python3 -m pubsub`.

Environment, failure policies (REDIS_POLICY / UPSTREAM_POLICY = strict | degrade), Redis keys and
metrics: docs/node.md. Under the default strict policies any Redis or upstream failure on a request path
answers 503 `{"error": "redis unavailable: <class>"}` (or `upstream ...`), <class> one of OOM, MISCONF,
NOAUTH, timeout, refused, other, 5xx (errors.py). /readyz is deep (Redis SET+GET round trip, upstream
/healthz, fan-out subscription confirmed); /healthz only says the process is alive.

Modules, one concept each:
    config    environment -> Config            log       JSON log lines on stdout
    errors    failure classes                   metrics   Prometheus text exposition
    auth      Pusher signatures                 protocol  Pusher frames, limits, validation
    store     counted, classified Redis calls   registry  app lookup (Redis cache, then upstream)
    fanout    Redis pub/sub publish + subscriber loop
    degrade   the failure policy of a dependency occupancy cluster-wide channels and presence
    hub       local sockets and channels        sockets   WebSocket protocol 7 handler
    api       HTTP routes                       app       wiring, startup and shutdown
"""
