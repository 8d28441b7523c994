"""The game day's live view: journal events in, one sample a second out (the terminal line and the page).

Fed every journal event as it is appended (JournalWriter.listeners), it keeps what a second's sample
needs and nothing more, so a game day of hours holds constant memory:

- publishes by the second they were sent: attempts, ok; and their deliveries: expected (subscribers
  confirmed on the channel before the send, as in analysis.py), received, latency;
- WebSocket sessions connected now, probes' latest results, alerts pending or firing now (and whether
  notified), faults active now; markers (faults, notes, alert changes) for the page's timeline.

A second's delivery figures are final once the grace period has passed after it, so each sample
reports the second that ended `grace_s` + 1 s ago: the terminal and the page show the same, settled,
numbers. The canary is left out, as in analysis.py.
"""
from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Iterable

from harness.journal import CANARY
from harness.percentile import percentile

KEEP_SECONDS = 3600          # samples kept for a page opened late
KEEP_MARKERS = 2000


@dataclass
class _Second:
    attempts: int = 0
    ok: int = 0
    expected: int = 0
    received: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass
class LiveView:
    grace_s: float = 2.0
    seconds: dict[int, _Second] = field(default_factory=dict)
    subscribed: dict[str, dict[str, float]] = field(default_factory=dict)    # channel → sub → since
    connected: set[str] = field(default_factory=set)
    subscribers: set[str] = field(default_factory=set)
    pending: dict[tuple[str, int], tuple[int, float, set[str]]] = field(default_factory=dict)  # → (second, sent, subs)
    early: dict[tuple[str, int], list[tuple[str, float]]] = field(default_factory=dict)        # receipts before the ack
    probes: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    markers: deque = field(default_factory=lambda: deque(maxlen=KEEP_MARKERS))
    samples: deque = field(default_factory=lambda: deque(maxlen=KEEP_SECONDS))
    last_t: float = 0.0
    marked: int = 0              # markers ever made (the deque keeps the last KEEP_MARKERS)

    def feed(self, e: dict[str, Any]) -> None:
        """One journal event (a JournalWriter listener)."""
        kind, t = e["kind"], e["t"]
        self.last_t = max(self.last_t, t)
        if kind == "publish":
            self._publish(e)
        elif kind == "ws_receive":
            self._receive(e["sub"], (str(e.get("pub")), int(e.get("seq", -1))), t)
        elif kind == "ws_subscribed":
            self.subscribed.setdefault(e["channel"], {})[e["sub"]] = t
        elif kind == "ws_connect":
            self.connected.add(e["sub"])
            self.subscribers.add(e["sub"])
        elif kind == "ws_disconnect":
            self.connected.discard(e["sub"])
            for subs in self.subscribed.values():
                subs.pop(e["sub"], None)
        elif kind == "probe":
            self.probes[f"{e.get('name')}@{e.get('node') or '-'}"] = {
                k: e.get(k) for k in ("name", "node", "ok", "status", "latency_ms", "error")}
        elif kind in ("alert_pending", "alert_firing", "alert_resolved", "alert_notified"):
            self._alert(kind, e)
        elif kind in ("fault_injected", "fault_confirmed", "fault_reverted", "fault_failed", "fault_revert_failed"):
            self._fault(kind, e)
        elif kind == "note":
            self._mark({"t": t, "kind": "note", "text": e.get("text"), "user": e.get("user")})

    def _mark(self, marker: dict[str, Any]) -> None:
        self.markers.append(marker)
        self.marked += 1

    def markers_since(self, count: int) -> list[dict[str, Any]]:
        """The markers made after the first `count` (as many as are still kept)."""
        new = min(self.marked - count, len(self.markers))
        return list(self.markers)[len(self.markers) - new:] if new > 0 else []

    def _publish(self, e: dict[str, Any]) -> None:
        if e["pub"] == CANARY:
            return
        sent = float(e["sent"])
        second = self.seconds.setdefault(math.floor(sent), _Second())
        second.attempts += 1
        if not e["ok"]:
            return
        second.ok += 1
        # Expected at every subscriber confirmed on the channel before the send and still there.
        subs = {s for s, since in self.subscribed.get(e["channel"], {}).items() if since < sent}
        second.expected += len(subs)
        key = (e["pub"], int(e["seq"]))
        self.pending[key] = (math.floor(sent), sent, subs)
        for sub, t in self.early.pop(key, []):
            self._receive(sub, key, t)

    def _receive(self, sub: str, key: tuple[str, int], t: float) -> None:
        entry = self.pending.get(key)
        if entry is None:
            if key[0] != CANARY:
                self.early.setdefault(key, []).append((sub, t))  # the answer to the publish is still on its way
            return
        second, sent, subs = entry
        if sub in subs:
            subs.discard(sub)          # duplicates count once
            s = self.seconds.setdefault(second, _Second())
            s.received += 1
            s.latencies.append((t - sent) * 1000)

    def _alert(self, kind: str, e: dict[str, Any]) -> None:
        labels = e.get("labels") or {}
        key = e["alert"] + "".join(f",{k}={v}" for k, v in sorted(labels.items()))
        if kind == "alert_notified":
            if e.get("status") == "firing" and key in self.alerts:
                self.alerts[key]["notified"] = True
            self._mark({"t": e["t"], "kind": "notified", "text": e["alert"], "status": e.get("status")})
            return
        if kind == "alert_resolved":
            self.alerts.pop(key, None)
        else:
            state = self.alerts.setdefault(key, {"alert": e["alert"], "labels": labels, "notified": False})
            state["state"] = kind.removeprefix("alert_")
        self._mark({"t": e["t"], "kind": kind.removeprefix("alert_"), "text": e["alert"]})

    def _fault(self, kind: str, e: dict[str, Any]) -> None:
        name = e["fault"]
        stage = kind.removeprefix("fault_")
        if kind == "fault_injected":
            self.faults[name] = {"name": name, "kind": e.get("fault_kind"), "target": e.get("target"),
                                 "params": e.get("params"), "by": e.get("by"), "state": "injecting"}
        elif kind == "fault_confirmed" and name in self.faults:
            self.faults[name].update(state="confirmed", evidence=e.get("evidence"))
        elif kind in ("fault_reverted", "fault_failed"):
            self.faults.pop(name, None)
        self._mark({"t": e["t"], "kind": f"fault_{stage}", "text": name,
                             "user": (e.get("by") or {}).get("user")})

    def sample(self, now: float) -> dict[str, Any]:
        """The sample at run time `now`: the settled second's load figures, the present state of the rest."""
        second = math.floor(now - self.grace_s) - 1
        s = self.seconds.get(second, _Second())
        self._forget(second)
        lat = s.latencies
        out = {
            "t": round(now, 3), "second": second,
            "publish": {"attempts": s.attempts, "ok": s.ok, "errors": s.attempts - s.ok,
                        "success": round(s.ok / s.attempts, 4) if s.attempts else None},
            "delivery": {"expected": s.expected, "received": s.received,
                         "ratio": round(s.received / s.expected, 4) if s.expected else None,
                         "p50_ms": _round(percentile(lat, 0.5)), "p99_ms": _round(percentile(lat, 0.99))},
            "ws": {"connected": len(self.connected), "total": len(self.subscribers)},
            "probes": sorted(self.probes.values(), key=lambda p: (str(p["name"]), str(p["node"]))),
            "alerts": sorted(self.alerts.values(), key=lambda a: a["alert"]),
            "faults": list(self.faults.values()),
        }
        self.samples.append(out)
        return out

    def _forget(self, settled: int) -> None:
        """Drop what no later sample can need: seconds up to the settled one, their pending publishes."""
        for k in [k for k in self.seconds if k <= settled]:
            del self.seconds[k]
        for key in [k for k, (sec, _, _) in self.pending.items() if sec <= settled]:
            del self.pending[key]
        horizon = self.last_t - self.grace_s - 5
        for key in [k for k, receipts in self.early.items() if receipts[-1][1] < horizon]:
            del self.early[key]     # receipts of publishes never answered (or another run's)


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def _pct(v: float | None) -> str:
    return "     -" if v is None else f"{100 * v:5.1f}%"


def _names(alerts: Iterable[str]) -> str:
    """Alert names once each, `×n` for an alert firing for n label sets (nodes, instances)."""
    counts = Counter(alerts)
    return ",".join(name + (f"×{n}" if n > 1 else "") for name, n in sorted(counts.items()))


def line(sample: dict[str, Any]) -> str:
    """The terminal's line a second (the same figures as the page)."""
    p, d, ws = sample["publish"], sample["delivery"], sample["ws"]
    probes = sample["probes"]
    firing = _names(a["alert"] for a in sample["alerts"] if a.get("state") == "firing")
    pending = _names(a["alert"] for a in sample["alerts"] if a.get("state") == "pending")
    alerts = (f"firing {firing}" if firing else "") + (" " if firing and pending else "") + \
             (f"pending {pending}" if pending else "")
    faults = ",".join(f["name"] for f in sample["faults"])
    lat = "-" if d["p99_ms"] is None else f"{d['p50_ms']:.0f}/{d['p99_ms']:.0f}ms"
    text = (f"{sample['t']:7.1f}s publish {p['ok']:3d}/{p['attempts']:<3d} ok {_pct(p['success'])} · "
            f"delivered {_pct(d['ratio'])} p50/p99 {lat:>11} · ws {ws['connected']}/{ws['total']}")
    if probes:
        text += f" · probes ok {sum(1 for x in probes if x['ok'])}/{len(probes)}"
    text += f" · alerts {alerts or 'none'}"
    if faults:
        text += f" · faults {faults}"
    return text
