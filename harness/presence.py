"""Presence across nodes, judged (pure): did every node report the members the harness knows it has?

The load's presence probe asks each node, once a second, for the user count of the presence channels
(`presence_check` events). A check is judged only when the harness's own view of that channel was
stable — no subscriber joined or left it for STABLE_S before the check — so the count it expects is
certain: the distinct subscribers then subscribed. Metrics per window: `presence.checks` (judged
checks the node answered), `presence.correct`, `presence.accuracy` (correct / checks) and
`presence.errors` (judged checks the node refused). Accuracy has no value (no evidence) in a window where
no judged check expected a member: a node rightly answering 0 for a channel nobody joined proves nothing.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from typing import Any, Iterable

STABLE_S = 2.0
KINDS = ("presence_check", "ws_subscribed", "ws_connect", "ws_disconnect", "ws_unsubscribed")


def window_metrics(events: Iterable[dict[str, Any]], windows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """{window name: presence metrics}; empty when the run made no presence checks. `windows` have
    name, start and holds(t)."""
    members: dict[str, set[str]] = defaultdict(set)          # channel -> subscribers now
    counts: dict[str, list[tuple[float, int]]] = defaultdict(list)   # channel -> (t, count) after each change
    where: dict[str, set[str]] = defaultdict(set)             # sub -> its presence channels
    checks = []
    for e in events:
        kind, t = e["kind"], e["t"]
        if kind == "ws_subscribed" and str(e.get("channel", "")).split("/")[-1].startswith("presence-"):
            members[e["channel"]].add(e["sub"])
            where[e["sub"]].add(e["channel"])
            counts[e["channel"]].append((t, len(members[e["channel"]])))
        elif kind == "ws_unsubscribed" and e["sub"] in members.get(e.get("channel"), ()):
            members[e["channel"]].discard(e["sub"])
            where[e["sub"]].discard(e["channel"])
            counts[e["channel"]].append((t, len(members[e["channel"]])))
        elif kind in ("ws_connect", "ws_disconnect"):
            for channel in where.pop(e["sub"], ()):
                members[channel].discard(e["sub"])
                counts[channel].append((t, len(members[channel])))
        elif kind == "presence_check":
            checks.append({**e, "t": e.get("asked", e["t"])})  # judged at the moment it was asked
    if not checks:
        return {}
    out = {}
    for w in windows:
        judged = correct = errors = with_members = 0
        for c in checks:
            if not w.holds(c["t"]):
                continue
            history = counts.get(c["channel"], [])
            i = bisect_right([t for t, _ in history], c["t"]) - 1
            expected = history[i][1] if i >= 0 else 0
            if i >= 0 and c["t"] - history[i][0] < STABLE_S:
                continue  # the harness's own view was changing: nothing certain to compare with
            if c.get("users") is None:
                errors += 1
                continue
            judged += 1
            correct += c["users"] == expected
            with_members += expected > 0
        # Only checks of empty channels (nobody ever joined): "0, rightly" says nothing about presence.
        out[w.name] = {"presence.checks": judged, "presence.correct": correct, "presence.errors": errors,
                       "presence.accuracy": correct / judged if with_members else None}
    return out
