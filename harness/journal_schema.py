"""The journal's schema, checked event by event before a journal is analysed (docs/journal.md).

Every event needs the common fields: `t` (finite, 0 ≤ t ≤ MAX_T, never more than TOLERANCE_S before an
earlier event's), `wall` (finite, positive) and `kind` (a short name); the first event is the one
`run_start`. A kind listed in KINDS must carry its required fields with their types (more fields are
allowed: writers may add some; the fields a writer adds but the analysis does not need are type-checked
when present); a kind not listed passes on the common fields alone, so a journal written by a newer
harness still reads.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from harness.strict_yaml import shown

MAX_T = 7 * 24 * 3600.0   # no run lasts a week; a bigger t is corruption, and would make analysis crawl
SPAN_SLACK_S = 900.0      # fault injections, confirmations, reverts and cleanup on top of the phases
TOLERANCE_S = 1.0         # events are appended as they happen; a t computed just before an await may lag


# Types by name: messages say "must be text", not "must be <class 'str'>".
NUM, INT, STR, BOOL, MAP, LIST, NULL, ANY = "a number", "an integer", "text", "true/false", "an object", "a list", \
    "null", "anything"
# A publish's seq: the analysis packs (pub, seq) into one int key with 34 bits for the seq.
SEQ_LIMIT = 1 << 33
SEQ = f"an integer from {-SEQ_LIMIT} to {SEQ_LIMIT - 1}"


def _is(value: Any, kind: str) -> bool:
    if kind == ANY:
        return True
    if kind == NULL:
        return value is None
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == SEQ:
        return _is(value, INT) and -SEQ_LIMIT <= value < SEQ_LIMIT
    if kind == NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, {STR: str, MAP: dict, LIST: list}[kind])


@dataclass(frozen=True)
class Kind:
    """The fields of one event kind: name → allowed types; `optional` ones may be absent."""

    required: dict[str, tuple[str, ...]] = field(default_factory=dict)
    optional: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _k(optional: dict[str, tuple[str, ...]] | None = None, **required: tuple[str, ...]) -> Kind:
    return Kind(required, optional or {})


N_ = (NUM, NULL)
S_ = (STR, NULL)
# Required: what the analysis reads. Optional: what the writer adds, type-checked when present.
KINDS: dict[str, Kind] = {
    "run_start": _k({"scenario": (STR,), "path": (STR,), "source": (STR,), "nodes": (INT,), "monitoring": (MAP,),
                     "seed": (INT,)},
                    run_id=(STR,), grace_s=(NUM,)),
    "cluster_ready": _k({"project": (STR,), "seconds": (NUM,), "endpoints": (MAP,)}),
    "cluster_start_aborted": _k(error=(STR,)),
    "phase_start": _k({"duration_s": (NUM,)}, phase=(STR,)),
    "phase_end": _k(phase=(STR,)),
    "fault_injected": _k({"fault_kind": (STR,), "target": (STR,), "phase": S_, "params": (MAP,),
                          "stream": (STR,), "toxicity": (NUM,), "planned_s": (NUM,)}, fault=(STR,)),
    "fault_updated": _k({"planned_s": (NUM,), "evidence": (STR,)}, fault=(STR,), params=(MAP,)),
    "schedule": _k({"seed": (ANY,)}, phase=(STR,), steps=(LIST,)),
    "fault_confirmed": _k({"evidence": (STR,)}, fault=(STR,)),
    "fault_reverted": _k({"during": (STR,), "planned_s": (NUM,)}, fault=(STR,)),
    "fault_revert_failed": _k({"error": (STR,)}, fault=(STR,)),
    "publish": _k({"node": (STR,), "status": (INT, NULL), "error": S_, "detail": (STR,), "batch": (INT,),
                   "origin": (STR,)},
                  pub=(STR,), seq=(SEQ,), channel=(STR,), sent=(NUM,), ok=(BOOL,)),
    "publish_skipped": _k({"reason": (STR,)}, pub=(STR,), seq=(SEQ,)),
    "ws_connect": _k({"node": (STR,), "socket_id": S_}, sub=(STR,)),
    "ws_subscribed": _k(sub=(STR,), channel=S_),
    "ws_unsubscribed": _k(sub=(STR,), channel=S_),
    "ws_receive": _k({"channel": S_, "run": S_, "pub": S_, "seq": (SEQ,), "sent": N_}, sub=(STR,)),
    "ws_error": _k({"data": (ANY,)}, sub=(STR,)),
    "ws_disconnect": _k({"node": (STR,), "reason": (STR,)}, sub=(STR,)),
    "ws_paused": _k({"node": (STR,)}, sub=(STR,), seconds=(NUM,)),
    "ws_resumed": _k({"node": (STR,)}, sub=(STR,)),
    "drain_start": _k({"seconds": (NUM,)}),
    "drain_end": _k(),
    "alert_rules_loaded": _k({"rule_set": (STR,), "rules": (INT,), "alerts": (LIST,)}),
    "alert_pending": _k({"labels": (MAP,), "active_at": N_, "active_t": N_, "value": (ANY,)}, alert=(STR,)),
    "alert_firing": _k({"labels": (MAP,), "active_at": N_, "active_t": N_, "value": (ANY,)}, alert=(STR,)),
    "alert_resolved": _k({"labels": (MAP,)}, alert=(STR,)),
    "alert_notified": _k({"labels": (MAP,), "status": S_, "receiver": S_, "arrived": (NUM,), "starts_at": N_,
                          "starts_t": N_}, alert=(STR,), arrived_t=(NUM,)),
    "alert_rule_error": _k({"error": S_}, rule=(STR,)),
    "alert_watch_error": _k({"error": (STR,)}, source=(STR,)),
    "alert_watch_ok": _k({"alerts": (INT,)}, source=(STR,)),
    "alert_watch_dead": _k(error=(STR,)),
    "probe": _k(name=(STR,), node=(STR,), ok=(BOOL,), status=(INT, NULL), latency_ms=(NUM,), error=S_),
    "loop_lag": _k({"cpu_s": (NUM,)}, lag_ms=(NUM,)),
    "note": _k(text=(STR,), user=(STR,), host=(STR,)),
    "abort": _k({"guardrail": (STR,), "reason": (STR,)}),
    "steady_state": _k({"evidence": (LIST,)}, holds=(BOOL,)),
    "presence_check": _k({"asked": (NUM,), "users": (INT, NULL), "status": (INT, NULL), "error": S_}, node=(STR,), channel=(STR,)),
    "infra_down": _k({"error": (STR,)}, part=(STR,)),
    "run_error": _k({"traceback": (STR,)}, error=(STR,)),
    "run_interrupted": _k({"during": (STR,)}),
    "run_end": _k(error=S_),
}


class SchemaChecker:
    """Checks a journal's events in order; `check` returns what is wrong with one, or None."""

    def __init__(self) -> None:
        self.count = 0
        self.latest = 0.0

    def check(self, event: Any) -> str | None:
        if type(event) is dict:  # the fast path: JSON's exact types (one check per event; bench/workload)
            kind, t, wall = event.get("kind"), event.get("t"), event.get("wall")
            fields = _FAST.get(kind) if type(kind) is str else None  # a list or object: the full rules say why
            if (fields is not None and type(t) in _NUMBER and type(wall) in _NUMBER and math.isfinite(t)
                    and 0 <= t <= MAX_T and math.isfinite(wall) and wall > 0 and t >= self.latest - TOLERANCE_S
                    and (kind == "run_start") == (self.count == 0) and _fast_ok(event, *fields)):
                self.count += 1
                if t > self.latest:
                    self.latest = t
                return None
        return self._check(event)

    def _check(self, event: Any) -> str | None:
        """Every rule, with the message of the first broken one."""
        if not isinstance(event, dict):
            return f"not a journal event (a JSON object), got {shown(event, 40)}"
        kind = event.get("kind")
        if not isinstance(kind, str) or not 0 < len(kind) <= 64:
            return f"kind must be text of 1 to 64 characters, got {shown(kind, 40)}"
        t, wall = event.get("t"), event.get("wall")
        if not _is(t, NUM) or not 0 <= t <= MAX_T:
            return f"{kind}: t must be a number of seconds from 0 to {MAX_T:.0f}, got {shown(t, 40)}"
        if not _is(wall, NUM) or wall <= 0:
            return f"{kind}: wall must be a positive Unix time, got {shown(wall, 40)}"
        if t < self.latest - TOLERANCE_S:
            return f"{kind}: t = {t:g} is before an earlier event's t = {self.latest:g} (events out of order)"
        self.count += 1
        self.latest = max(self.latest, t)
        if (kind == "run_start") != (self.count == 1):
            return "the first event must be the run's one run_start" if self.count == 1 else "a second run_start"
        spec = KINDS.get(kind)
        if spec is None:
            return None
        for name, types in spec.required.items():
            if name not in event:
                return f"{kind}: missing field {name}"
            if problem := _field(kind, name, event[name], types):
                return problem
        for name, types in spec.optional.items():
            if name in event and (problem := _field(kind, name, event[name], types)):
                return problem
        return None


_NUMBER = (int, float)
_EXACT = {NULL: (type(None),), BOOL: (bool,), INT: (int,), SEQ: (int,), NUM: _NUMBER, STR: (str,), MAP: (dict,),
          LIST: (list,)}


def _exact(types: tuple[str, ...]) -> frozenset[type] | None:
    """The exact Python types JSON gives for these type names; None for anything."""
    return None if ANY in types else frozenset(t for name in types for t in _EXACT[name])


# kind → (its required fields, then each typed field with the exact types allowed): what the fast path
# checks. A float is accepted only through NUM, so its finiteness is checked wherever a float passes.
_FAST: dict[str, tuple[frozenset[str], tuple[tuple[str, frozenset[type]], ...]]] = {
    kind: (frozenset(spec.required),
           tuple((name, exact) for name, types in [*spec.required.items(), *spec.optional.items()]
                 if (exact := _exact(types)) is not None))
    for kind, spec in KINDS.items()}
_ABSENT = object()


def _fast_ok(event: dict[str, Any], required: frozenset[str], typed: tuple[tuple[str, frozenset[type]], ...]) -> bool:
    if not event.keys() >= required:
        return False
    get, isfinite = event.get, math.isfinite
    for name, exact in typed:
        value = get(name, _ABSENT)
        if value is not _ABSENT:
            kind = type(value)
            # A huge int may be fine (an INT field) or not (a seq): the full rules decide.
            if kind not in exact or (kind is float and not isfinite(value)) or \
                    (kind is int and not -SEQ_LIMIT <= value < SEQ_LIMIT):
                return False
    return True


def _field(kind: str, name: str, value: Any, types: tuple[str, ...]) -> str | None:
    if any(_is(value, t) for t in types):
        return None
    return f"{kind}: field {name} must be {' or '.join(types)}, got {shown(value, 40)}"


def span_problem(first_phase_s: float | None, last_s: float, declared_s: float) -> str | None:
    """Whether the phases' events (from the first phase_start to the last event) span far longer than
    the scenario declares (a corrupt time), or None.

    Allowed: twice the declared duration (phases, drain) plus SPAN_SLACK_S for fault steps and cleanup;
    a journal stretched past that would only make the analysis crawl over empty time.
    """
    if first_phase_s is None:
        return None
    span = last_s - first_phase_s
    allowed = 2 * declared_s + SPAN_SLACK_S
    if span > allowed:
        return (f"its phases span {span:.0f} s but the scenario declares {declared_s:g} s "
                f"(at most {allowed:.0f} s allowed): a time in it is corrupt")
    return None
