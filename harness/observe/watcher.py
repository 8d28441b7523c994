"""The alert watcher: polls Prometheus and the alert sink every second and journals what changed.

- `/api/v1/rules` proves the rule set loaded and evaluates: `wait_loaded()` waits for every rule's
  first healthy evaluation on a fresh view of the cluster — every target of `/api/v1/targets` scraped
  since the watcher started (the cluster was ready), every rule evaluated after those scrapes — so an
  alert left over from the cluster's start (a node not yet answering when it was scraped) is resolved
  before the first phase, while a condition that still holds stays visible (journal
  `alert_rules_loaded`). Afterwards a rule whose health turns `err` is journaled (`alert_rule_error`)
  and kept in `error`, which the runner turns into exit status 3.
- `/api/v1/alerts` lists active alerts: each change is journaled as `alert_pending`, `alert_firing`
  or `alert_resolved`, with `active_t`, Prometheus's activeAt (the evaluation that made it pending).
- The sink's `/notifications` gives each webhook with its arrival time: `alert_notified` per alert.
- Every successful Prometheus poll is journaled as `alert_watch_ok`: the watcher's coverage, the
  evidence that "no alert fired" was watched (a failed poll is `alert_watch_error`). A poll loop that
  dies of an unforeseen error is journaled as `alert_watch_dead` and kept in `error` (exit 3).

Times from Prometheus and the sink are wall clock; they are turned into run seconds (`*_t`) on the
journal's clock. Resolution is the poll interval for `alert_firing` / `alert_resolved` (the API has
no fired-at), exact for `active_t` and `arrived_t`.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from harness.journal import JournalWriter
from harness.tasks import stop_tasks


class WatchError(Exception):
    """The rule set did not load or does not evaluate (a harness error, exit status 3)."""


def parse_time(text: str) -> float:
    """Unix seconds of an RFC 3339 time as Prometheus and Alertmanager write it (nanoseconds, Z)."""
    head, _, frac = text.rstrip("Z").partition(".")
    digits = "".join(ch for ch in frac if ch.isdigit())
    return datetime.fromisoformat(head + "+00:00").timestamp() + (float(f"0.{digits}") if digits else 0.0)


@dataclass
class AlertWatcher:
    prometheus: str
    alertsink: str
    journal: JournalWriter
    rule_set: str = ""
    interval_s: float = 1.0
    error: str | None = None
    notifications: int = 0
    _active: dict[tuple[str, tuple], str] = field(default_factory=dict)
    _sink_next: int = 0
    _http: httpx.AsyncClient | None = None
    _task: asyncio.Task | None = None

    async def start(self, bound_s: float, load_timeout: float = 30.0) -> None:
        """Wait for the rule set to load and evaluate, poll once (the evidence starts before what it
        watches), then poll in the background for at most `bound_s`."""
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(2.0), trust_env=False)
        try:
            await self.wait_loaded(self._http, load_timeout)
            await self.poll(self._http)
        except BaseException:
            await self._http.aclose()
            raise
        self._task = asyncio.create_task(self.run(self._http, bound_s))
        self._task.add_done_callback(self._died)

    def _died(self, task: asyncio.Task) -> None:
        """A poll loop that ended by an exception is no longer watching: say so, never swallow it."""
        if task.cancelled() or task.exception() is None:
            return
        error = f"{type(task.exception()).__name__}: {task.exception()}"
        self.journal.append("alert_watch_dead", error=error)
        if self.error is None:
            self.error = f"the alert watcher stopped polling: {error}"

    async def stop(self) -> None:
        """One last poll (late notifications), then stop polling; safe to call more than once."""
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None
            await self.poll(self._http)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _run_t(self, wall: float) -> float:
        return round(wall - self.journal.clock.wall0, 6)

    async def wait_loaded(self, http: httpx.AsyncClient, timeout: float = 30.0) -> None:
        """Poll until every target has been scraped since now and every rule evaluated healthily after
        the latest of those scrapes; WatchError if not within `timeout`."""
        since = time.time()
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        view: float | None = None   # when every target had been scraped since `since`: fixed once known
        while time.monotonic() < deadline:
            try:
                # When each target's last scrape ended: a rule evaluated before that cannot have seen it.
                scraped = [parse_time(t["lastScrape"]) + float(t.get("lastScrapeDuration") or 0) for t in
                           (await _get(http, f"{self.prometheus}/api/v1/targets?state=active"))["data"]["activeTargets"]]
                rules = await self._rules(http)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                broken = [r for r in rules if r["health"] == "err"]
                if broken:
                    raise WatchError(_rule_failure(broken))
                stale = sum(t < since for t in scraped)
                if view is None and scraped and not stale:
                    # Fixed here: later scrapes keep coming, and a rule evaluated between two of them must
                    # not be asked to have seen the newest.
                    view = max(scraped)
                unevaluated = sum(r["health"] != "ok" or view is None
                                  or parse_time(r.get("lastEvaluation") or "0001-01-01T00:00:00Z") < view for r in rules)
                if rules and view is not None and not unevaluated:
                    self.journal.append("alert_rules_loaded", rule_set=self.rule_set, rules=len(rules),
                                        alerts=sorted(r["name"] for r in rules if r["type"] == "alerting"))
                    return
                last = (f"{len(scraped)} targets, {stale} not scraped since the cluster was ready; {len(rules)} rules, "
                        f"{unevaluated} not evaluated on those scrapes yet")
            await asyncio.sleep(0.25)  # poll
        raise WatchError(f"Prometheus rule set {self.rule_set!r} not loaded and evaluated on a fresh scrape of every "
                         f"target after {timeout:.0f} s: {last}")

    async def run(self, http: httpx.AsyncClient, bound_s: float) -> None:
        """Poll until cancelled or `bound_s` passed; failures to reach Prometheus are journaled, not fatal."""
        deadline = time.monotonic() + bound_s
        while time.monotonic() < deadline:
            await asyncio.sleep(self.interval_s)  # poll
            await self.poll(http)

    async def poll(self, http: httpx.AsyncClient) -> None:
        """One round: alerts, rule health, sink."""
        try:
            alerts = (await _get(http, f"{self.prometheus}/api/v1/alerts"))["data"]["alerts"]
            self._alerts(alerts)
            self.journal.append("alert_watch_ok", source="prometheus", alerts=len(alerts))
            broken = [r for r in await self._rules(http) if r["health"] == "err"]
            if broken and self.error is None:
                self.error = _rule_failure(broken)
                for r in broken:
                    self.journal.append("alert_rule_error", rule=r["name"], error=r.get("lastError"))
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            self.journal.append("alert_watch_error", source="prometheus", error=f"{type(exc).__name__}: {exc}")
        try:
            answer = await _get(http, f"{self.alertsink}/notifications?since={self._sink_next}")
            self._notified(answer["notifications"])
            self._sink_next = answer["next"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            self.journal.append("alert_watch_error", source="alertsink", error=f"{type(exc).__name__}: {exc}")

    async def _rules(self, http: httpx.AsyncClient) -> list[dict[str, Any]]:
        groups = (await _get(http, f"{self.prometheus}/api/v1/rules"))["data"]["groups"]
        return [dict(rule, group=g["name"]) for g in groups for rule in g["rules"]]

    def _alerts(self, alerts: list[dict[str, Any]]) -> None:
        seen: set[tuple[str, tuple]] = set()
        for a in alerts:
            labels = {k: v for k, v in a["labels"].items() if k != "alertname"}
            key = (a["labels"].get("alertname", "?"), tuple(sorted(labels.items())))
            seen.add(key)
            if self._active.get(key) == a["state"]:
                continue
            self._active[key] = a["state"]
            active_at = parse_time(a["activeAt"])
            self.journal.append(f"alert_{a['state']}", alert=key[0], labels=labels, active_at=active_at,
                                active_t=self._run_t(active_at), value=a.get("value"))
        for key in [k for k in self._active if k not in seen]:
            del self._active[key]
            self.journal.append("alert_resolved", alert=key[0], labels=dict(key[1]))

    def _notified(self, notifications: list[dict[str, Any]]) -> None:
        for n in notifications:
            self.notifications += 1
            body = n.get("body") or {}
            for a in body.get("alerts", []):
                labels = {k: v for k, v in a.get("labels", {}).items() if k != "alertname"}
                starts = parse_time(a["startsAt"]) if a.get("startsAt") else None
                self.journal.append("alert_notified", alert=a.get("labels", {}).get("alertname", "?"), labels=labels,
                                    status=a.get("status"), receiver=body.get("receiver"), arrived=n["arrived"],
                                    arrived_t=self._run_t(n["arrived"]), starts_at=starts,
                                    starts_t=None if starts is None else self._run_t(starts))


async def _get(http: httpx.AsyncClient, url: str) -> Any:
    response = await http.get(url)
    response.raise_for_status()
    return response.json()


def _rule_failure(broken: list[dict[str, Any]]) -> str:
    return "; ".join(f"rule {r['name']} (group {r['group']}) fails to evaluate: {r.get('lastError') or 'unknown error'}"
                     for r in broken)
