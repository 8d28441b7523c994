"""Wiring: build the node's parts from a Config, start them with the web app, stop them in order."""
from __future__ import annotations

import asyncio
import sys
from typing import Awaitable

import aiohttp
from aiohttp import web

from .api import Api, metrics_middleware
from .config import Config, ConfigError
from .degrade import Policy
from .fanout import Broadcaster, Subscriber
from .hub import Hub
from .log import log
from .metrics import Metrics
from .occupancy import Occupancy
from .protocol import GOING_AWAY
from .registry import Memory, Registry
from .sockets import SocketHandler
from .store import Store, make_client

# Large enough for a 100-channel publish with 10 KB of data and then some; bigger bodies get 413.
MAX_BODY_BYTES = 256 * 1024


def build_app(config: Config) -> web.Application:
    """The aiohttp application; dependencies are created in on_startup, inside the running loop."""
    metrics = Metrics()
    hub = Hub(metrics)
    app = web.Application(middlewares=[metrics_middleware(metrics)], client_max_size=MAX_BODY_BYTES)

    async def on_startup(app: web.Application) -> None:
        client = make_client(config.redis_url, config.redis_timeout_s)
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=config.upstream_timeout_s))
        store = Store(client, metrics)
        redis_policy = Policy("redis", config.redis_policy, metrics)
        upstream_policy = Policy("upstream", config.upstream_policy, metrics)
        registry = Registry(store, session, config.upstream_url, config.app_cache_ttl_s,
                            Memory(config.app_memory_size), redis_policy, upstream_policy, metrics)
        subscriber = Subscriber(config.redis_url, config.redis_timeout_s, hub, metrics)
        broadcaster = Broadcaster(store, hub, metrics, redis_policy, config.node_name)
        occupancy = Occupancy(store, hub, config.node_name, config.occupancy_ttl_s)
        api = Api(config, store, registry, session, subscriber, broadcaster, occupancy, redis_policy, metrics)
        sockets = SocketHandler(config, registry, hub, broadcaster, occupancy, redis_policy, metrics)
        app.router.add_routes(api.routes())
        app.router.add_get("/app/{key}", sockets.handle)
        app["redis"], app["session"], app["subscriber"], app["occupancy"] = client, session, subscriber, occupancy
        # Start without waiting for Redis: the node must come up (healthz 200, readyz 503) even when
        # Redis is down, and the subscriber keeps retrying on its own.
        subscriber.start()
        occupancy.start()
        log("startup", config=config.loggable())

    async def on_shutdown(app: web.Application) -> None:
        # Tell clients to reconnect at once (to another node) rather than waiting for a timeout.
        log("shutdown", sockets=len(hub.clients))
        # All at once (each close waits for its client's answer); a broken socket must not block shutdown.
        await asyncio.gather(*(client.close(GOING_AWAY, "server shutting down") for client in list(hub.clients)),
                             return_exceptions=True)

    async def on_cleanup(app: web.Application) -> None:
        # from_url() clients do not close their pool by default; unclosed ones warn at exit.
        steps = [("occupancy", app["occupancy"].stop()), ("subscriber", app["subscriber"].stop()),
                 ("session", app["session"].close()), ("redis", app["redis"].close(close_connection_pool=True))]
        for name, step in steps:
            await stop_step(name, step)
        log("stopped")

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


async def stop_step(name: str, step: Awaitable[object]) -> None:
    """Run one cleanup step; a failure (even a cancellation: aiohttp runs cleanup inside its cancelled
    main task) is logged and the remaining steps still run, so the node always releases everything."""
    try:
        await step
    except BaseException as exc:  # noqa: BLE001 - shutting down: log, never abort the other steps
        log("cleanup_step_failed", level="error", step=name, error=f"{type(exc).__name__}: {exc}")


def main() -> None:
    """Entry point of `python3 -m pubsub`: config from env, serve until SIGTERM / SIGINT."""
    from .log import set_node

    try:
        config = Config.from_env()
    except ConfigError as exc:
        log("config_invalid", level="error", error=str(exc))
        sys.exit(2)
    set_node(config.node_name)
    # run_app turns SIGTERM into a graceful shutdown (on_shutdown, then on_cleanup).
    web.run_app(build_app(config), host="0.0.0.0", port=config.port, access_log=None, print=None,
                shutdown_timeout=5.0)
