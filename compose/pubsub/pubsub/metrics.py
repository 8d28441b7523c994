"""A tiny Prometheus text-format registry: counters and gauges with labels, no external library."""
from __future__ import annotations

import threading
from typing import Iterable


def _escape(value: str) -> str:
    """Escape a label value as the exposition format requires."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Family:
    """One metric name with its HELP/TYPE and a value per label combination."""

    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labels = tuple(labels)
        self._values: dict[tuple[str, ...], float] = {}
        # Handlers all run on one event loop, but a lock keeps the class safe if that ever changes.
        self._lock = threading.Lock()
        if not self.labels:
            self._values[()] = 0.0  # unlabelled series exist from the start, at zero

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        if not labels and not self.labels:
            return ()  # the common unlabelled case, once per delivered frame
        if set(labels) != set(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {sorted(labels)}")
        return tuple(str(labels[name]) for name in self.labels)

    def value(self, **labels: str) -> float:
        """The current value of one series (0 if never touched)."""
        return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        with self._lock:
            items = sorted(self._values.items())
        for key, value in items:
            if key:
                label_text = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(self.labels, key))
                lines.append(f"{self.name}{{{label_text}}} {_format_value(value)}")
            else:
                lines.append(f"{self.name} {_format_value(value)}")
        return lines


class Counter(_Family):
    """A value that only goes up."""

    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("counters only go up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount


class Gauge(_Family):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self.inc(-amount, **labels)


class Metrics:
    """Every metric the node exposes, in one place so names and labels stay consistent."""

    def __init__(self) -> None:
        self.http_requests = Counter(
            "pubsub_http_requests_total", "HTTP requests by route template and status.", ("route", "status"))
        self.publish = Counter(
            "pubsub_publish_total", "Publish API calls by result (ok or the failure reason).", ("result",))
        self.cache_ops = Counter(
            "pubsub_cache_operations_total",
            "Redis operations by command and result (hit, miss, ok, error_<class>).", ("op", "result"))
        self.fanout_published = Counter(
            "pubsub_fanout_published_total", "Messages this node PUBLISHed to the fan-out channel.")
        self.fanout_received = Counter(
            "pubsub_fanout_received_total", "Messages this node received from the fan-out channel.")
        self.fanout_errors = Counter(
            "pubsub_fanout_errors_total", "Fan-out subscriber failures by class (each causes a resubscribe).",
            ("kind",))
        self.fanout_subscribed = Gauge(
            "pubsub_fanout_subscribed", "1 while the fan-out subscription is confirmed, else 0.")
        self.ws_connections = Gauge("pubsub_ws_connections", "Open WebSocket connections.")
        self.ws_connections_total = Counter(
            "pubsub_ws_connections_total", "WebSocket connections accepted since start.")
        self.ws_subscriptions = Gauge("pubsub_ws_subscriptions", "Channel subscriptions over all sockets.")
        self.ws_messages_sent = Counter(
            "pubsub_ws_messages_sent_total", "Frames sent to WebSocket clients.")
        self.upstream_requests = Counter(
            "pubsub_upstream_requests_total", "Calls to the upstream app registry by result.", ("result",))
        self.ws_missed_pongs = Counter(
            "pubsub_ws_missed_pongs_total", "Sockets closed with 4201 because no pong answered a ping.")
        self.ws_client_events = Counter(
            "pubsub_ws_client_events_total", "client-* events from sockets by result.", ("result",))
        self.degraded = Counter(
            "pubsub_degraded_total", "Requests served on a degraded path (degrade policy) by reason.", ("reason",))
        self._families: list[_Family] = [
            self.http_requests, self.publish, self.cache_ops, self.fanout_published, self.fanout_received,
            self.fanout_errors, self.fanout_subscribed, self.ws_connections, self.ws_connections_total,
            self.ws_subscriptions, self.ws_messages_sent, self.ws_missed_pongs, self.ws_client_events,
            self.upstream_requests, self.degraded,
        ]
        # Series a dashboard or alert rule divides by should exist at zero before the first event.
        self.publish.inc(0, result="ok")
        self.upstream_requests.inc(0, result="ok")

    def render(self) -> str:
        """The whole registry in Prometheus text exposition format 0.0.4."""
        lines: list[str] = []
        for family in self._families:
            lines.extend(family.render())
        return "\n".join(lines) + "\n"
