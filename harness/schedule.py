"""Fault schedules: what a phase does to the cluster and when (Jepsen's nemesis, planned apart from I/O).

A phase's faults carry timing — `at`, `for`, `flap`, a ramp of one magnitude — and targets that may be
selectors (`any-node`, `half-of-nodes`, `nodes`); a phase may also hold a `chaos` block, a random
schedule. `plan()` turns a phase and a seed into the list of timed steps (inject, update, revert) with
every selector resolved. It is pure: the same phase and seed give the same steps, which the runner
executes and journals (`schedule`), so `harness run S --seed N` replays a run's faults exactly.

`read_timed_fault` and `read_chaos` validate the YAML; their ValueErrors start with the field they are
about (`flap.on: …`), as validate_fault's do.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Any

from harness.duration import parse_duration, parse_range
from harness.faults.catalog import FAULT_KINDS, FaultSpec, targets_for, validate_fault

SELECTORS = ("any-node", "half-of-nodes", "nodes")
TIMING_FIELDS = frozenset({"at", "for", "flap"})
RAMP_FIELDS = frozenset({"from", "to", "over", "every"})
INJECT, UPDATE, REVERT = "inject", "update", "revert"
_ORDER = {REVERT: 0, UPDATE: 1, INJECT: 2}   # at one instant: revert first, so a flap never overlaps itself


@dataclass(frozen=True)
class Flap:
    on_s: float
    off_s: float


@dataclass(frozen=True)
class Ramp:
    """One number parameter of a toxic moved from `start` to `end` over `over_s`, a step every `every_s`."""

    param: str
    start: float
    end: float
    over_s: float
    every_s: float = 1.0


@dataclass(frozen=True)
class TimedFault:
    """A fault of a phase with its timing; its target may hold a selector, resolved by plan()."""

    spec: FaultSpec
    at_s: float = 0.0
    for_s: float | None = None       # None: until the phase ends
    flap: Flap | None = None
    ramp: Ramp | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def target(self) -> str:
        return self.spec.target


@dataclass(frozen=True)
class Chaos:
    """A seeded random schedule: every `every` (a range) one of `choices` for `hold` (a range)."""

    choices: tuple[tuple[FaultSpec, tuple[str, ...]], ...]   # a kind with its parameters, and its eligible targets
    every: tuple[float, float]
    hold: tuple[float, float]
    max_concurrent: int = 1
    seed: int | None = None          # pins this phase's schedule unless the run is given --seed


@dataclass(frozen=True)
class Step:
    """One action of a schedule, `t` seconds after its phase started; `fault.target` is concrete."""

    t: float
    action: str                      # inject | update | revert
    fault: FaultSpec

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "action": self.action, "fault": self.fault.name, "kind": self.fault.kind,
                "target": self.fault.target, "params": self.fault.params}


# --- planning (pure) -------------------------------------------------------------------------------

def phase_seed(run_seed: int, phase: str, chaos: Chaos | None, forced: bool) -> int | str:
    """The seed a phase's schedule is drawn from: its chaos block's own seed unless --seed was given."""
    if chaos is not None and chaos.seed is not None and not forced:
        return chaos.seed
    return f"{run_seed}:{phase}"


def plan(phase: str, duration_s: float, faults: tuple[TimedFault, ...], chaos: Chaos | None,
         seed: int | str, nodes: int) -> list[Step]:
    """Every step of one phase, in time order; the same arguments always give the same steps."""
    rng = random.Random(seed)
    steps: list[Step] = []
    for f in faults:
        steps.extend(_timed(f, duration_s, resolve(f.spec, nodes, rng)))
    if chaos is not None:
        steps.extend(_chaos(phase, duration_s, chaos, nodes, rng))
    return sorted(steps, key=lambda s: (s.t, _ORDER[s.action]))


def possible_targets(faults: tuple[TimedFault, ...], chaos: Chaos | None, nodes: int) -> set[str]:
    """Every single target a phase's faults may act on, selectors expanded to every node they may choose
    (the infrastructure watch leaves these out: a part a fault targets may look dead)."""
    specs = [f.spec for f in faults] + [replace(template, target=",".join(eligible))
                                        for template, eligible in (chaos.choices if chaos else ())]
    every = random.Random(0)   # `nodes` selects them all, whatever the draw
    return {t for spec in specs for part in spec.targets
            for t in resolve(replace(spec, target=_all_nodes(part)), nodes, every).targets}


def _all_nodes(target: str) -> str:
    head, dot, link = target.partition(".")
    return f"nodes{dot}{link}" if head in SELECTORS else target


def resolve(spec: FaultSpec, nodes: int, rng: random.Random) -> FaultSpec:
    """The spec with each selector in its target replaced by node names drawn from `rng`."""
    names = [f"node{i}" for i in range(1, nodes + 1)]
    out: list[str] = []
    for target in spec.targets:
        head, dot, link = target.partition(".")
        if head not in SELECTORS:
            out.append(target)
            continue
        if head == "any-node":
            chosen = [rng.choice(names)]
        elif head == "half-of-nodes":
            chosen = sorted(rng.sample(names, max(1, nodes // 2)))
        else:
            chosen = names
        out.extend(f"{n}{dot}{link}" for n in chosen)
    return replace(spec, target=",".join(dict.fromkeys(out)))


def _timed(f: TimedFault, duration_s: float, spec: FaultSpec) -> list[Step]:
    end = min(duration_s, f.at_s + f.for_s) if f.for_s is not None else duration_s
    if f.flap is not None:
        steps, t, cycle = [], f.at_s, 1
        while t < end - 1e-9:
            one = spec if cycle == 1 else replace(spec, name=f"{spec.name}.{cycle}")
            steps += [Step(_ms(t), INJECT, one), Step(_ms(min(t + f.flap.on_s, end)), REVERT, one)]
            t += f.flap.on_s + f.flap.off_s
            cycle += 1
        return steps
    if f.ramp is not None:
        r = f.ramp
        steps = [Step(_ms(f.at_s), INJECT, _with(spec, r.param, r.start))]
        for k in range(1, math.ceil(r.over_s / r.every_s - 1e-9) + 1):
            offset = min(k * r.every_s, r.over_s)
            if f.at_s + offset >= end - 1e-9:
                break
            steps.append(Step(_ms(f.at_s + offset), UPDATE, _with(spec, r.param, r.start + (r.end - r.start) * offset / r.over_s)))
        return steps + [Step(_ms(end), REVERT, spec)]
    return [Step(_ms(f.at_s), INJECT, spec), Step(_ms(end), REVERT, spec)]


def _chaos(phase: str, duration_s: float, c: Chaos, nodes: int, rng: random.Random) -> list[Step]:
    steps: list[Step] = []
    ends: list[float] = []
    t = rng.uniform(*c.every)
    count = 0
    while t < duration_s:
        # Every draw is made whether or not the fault fits, so one skipped fault shifts nothing after it.
        template, eligible = rng.choice(c.choices)
        spec = resolve(replace(template, target=rng.choice(eligible)), nodes, rng)
        hold = rng.uniform(*c.hold)
        if sum(1 for e in ends if e > t) < c.max_concurrent:
            count += 1
            spec = replace(spec, name=f"{phase}-chaos-{count}")
            end = min(t + hold, duration_s)
            steps += [Step(_ms(t), INJECT, spec), Step(_ms(end), REVERT, spec)]
            ends.append(end)
        t += rng.uniform(*c.every)
    return steps


def _with(spec: FaultSpec, param: str, value: float) -> FaultSpec:
    # Toxiproxy's toxic attributes are integers.
    return replace(spec, params={**spec.params, param: int(round(value))})


def _ms(t: float) -> float:
    return round(t, 3)


# --- reading the YAML ------------------------------------------------------------------------------

def read_timed_fault(raw: dict[str, Any], nodes: int, default_name: str, phase_s: float) -> TimedFault:
    """A phase's fault with its timing fields; ValueError("<field>: <what is wrong and allowed>")."""
    numbers = {p.name for p in _params(raw.get("kind")) if p.type == "number"}
    ramps = [k for k, v in raw.items() if isinstance(v, dict) and k in numbers]
    ramp_raw = raw[ramps[0]] if ramps else None
    if len(ramps) > 1:
        raise ValueError(f"{ramps[1]}: one ramp per fault; {ramps[0]} already ramps")
    plain = {k: v for k, v in raw.items() if k not in TIMING_FIELDS}
    if ramp_raw is not None:
        plain[ramps[0]] = ramp_raw.get("from")
    spec = _validate(plain, nodes, default_name)

    at = 0.0
    if "at" in raw:
        at = parse_duration(raw["at"])
        if at is None or not 0 <= at < phase_s:
            raise ValueError(f"at: must be a duration from the phase's start, below its {phase_s:g} s; got {raw['at']!r}")
    hold = None
    if "for" in raw:
        hold = parse_duration(raw["for"])
        if hold is None or hold <= 0 or at + hold > phase_s + 1e-9:
            raise ValueError(f"for: must be a duration > 0 ending within the phase ({phase_s - at:g} s after at); "
                             f"got {raw['for']!r}")
    flap = None
    if "flap" in raw:
        flap_raw = raw["flap"]
        if not isinstance(flap_raw, dict) or set(flap_raw) != {"on", "off"}:
            raise ValueError("flap: must be {on: <duration>, off: <duration>}")
        on, off = parse_duration(flap_raw["on"]), parse_duration(flap_raw["off"])
        for key, value in (("on", on), ("off", off)):
            if value is None or value <= 0:
                raise ValueError(f"flap.{key}: must be a duration > 0 like 1s; got {flap_raw[key]!r}")
        flap = Flap(on, off)
    ramp = _ramp(raw, ramps[0], ramp_raw, nodes, default_name, at, hold, phase_s) if ramp_raw is not None else None
    if flap and ramp:
        raise ValueError("flap: a fault flaps or ramps, not both")
    return TimedFault(spec, at, hold, flap, ramp)


def _ramp(raw: dict[str, Any], param: str, ramp_raw: dict[str, Any], nodes: int, default_name: str,
          at: float, hold: float | None, phase_s: float) -> Ramp:
    kind = FAULT_KINDS[raw["kind"]]
    if kind.family != "toxic":
        raise ValueError(f"{param}: only the parameters of Toxiproxy toxics ramp; {kind.name} is not one")
    for key in ramp_raw:
        if key not in RAMP_FIELDS:
            raise ValueError(f"{param}.{key}: unknown ramp field; allowed: from, to, over, every")
    for key in ("from", "to", "over"):
        if key not in ramp_raw:
            raise ValueError(f"{param}: a ramp needs from, to and over, e.g. {{from: 0, to: 800, over: 20s}}")
    # The end value must be as valid as the start one.
    _validate({**{k: v for k, v in raw.items() if k not in TIMING_FIELDS}, param: ramp_raw["to"]}, nodes, default_name,
              prefix=f"{param}.to")
    over, every = parse_duration(ramp_raw["over"]), parse_duration(ramp_raw.get("every", 1))
    room = (hold if hold is not None else phase_s - at)
    if over is None or over <= 0 or over > room + 1e-9:
        raise ValueError(f"{param}.over: must be a duration > 0 within the fault's {room:g} s; got {ramp_raw['over']!r}")
    if every is None or not 0.1 <= every <= over:
        raise ValueError(f"{param}.every: must be a duration from 100ms to over; got {ramp_raw.get('every')!r}")
    return Ramp(param, float(ramp_raw["from"]), float(ramp_raw["to"]), over, every)


def read_chaos(raw: Any, nodes: int, phase: str) -> Chaos:
    """A phase's `chaos:` block; ValueError("<field>: …") with the field under chaos."""
    if not isinstance(raw, dict):
        raise ValueError(": must be a mapping {kinds, targets, every, for, max_concurrent, seed}")
    allowed = {"kinds", "targets", "every", "for", "max_concurrent", "seed"}
    for key in raw:
        if key not in allowed:
            raise ValueError(f"{key}: unknown field; allowed: {', '.join(sorted(allowed))}")
    kinds, targets = raw.get("kinds"), raw.get("targets")
    if not isinstance(kinds, list) or not kinds:
        raise ValueError("kinds: a list of fault kinds, each a name or a mapping with its parameters "
                         "(e.g. [{kind: latency, latency: 300}, pause])")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise ValueError(f"targets: a list of targets or selectors ({', '.join(SELECTORS)}), e.g. [any-node, redis]")
    choices = []
    for i, item in enumerate(kinds):
        template = {"kind": item} if isinstance(item, str) else item
        if not isinstance(template, dict) or "target" in template or "name" in template:
            raise ValueError(f"kinds.{i}: must be a kind or a mapping of kind and parameters (targets come from targets)")
        eligible = []
        for target in targets:
            try:
                spec = _validate({**template, "target": target}, nodes, "chaos")
                eligible.append(target)
            except ValueError as exc:
                if not str(exc).startswith("target:"):
                    raise ValueError(f"kinds.{i}.{exc}") from None
        if not eligible:
            raise ValueError(f"kinds.{i}: none of the targets suits {template.get('kind')!r}; it accepts: "
                             f"{', '.join(targets_for(FAULT_KINDS[template['kind']], nodes))}")
        choices.append((spec, tuple(eligible)))
    used = {t for _, eligible in choices for t in eligible}
    for j, target in enumerate(targets):
        if target not in used:
            acts_on = dict.fromkeys(t for item in kinds for t in targets_for(
                FAULT_KINDS[item if isinstance(item, str) else item["kind"]], nodes))
            raise ValueError(f"targets.{j}: no kind of kinds acts on {target!r}; they act on: {', '.join(acts_on)} "
                             f"(or a selector: {', '.join(SELECTORS)})")
    ranges = []
    for key in ("every", "for"):
        if key not in raw:
            raise ValueError(f"{key}: required, a duration or a range like 5s..15s")
        value = parse_range(raw[key])
        if value is None or value[0] <= 0:
            raise ValueError(f"{key}: must be a duration or a range like 5s..15s (low <= high, > 0); got {raw[key]!r}")
        ranges.append(value)
    limit = raw.get("max_concurrent", 1)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10:
        raise ValueError(f"max_concurrent: must be an integer from 1 to 10; got {limit!r}")
    seed = raw.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed: must be a non-negative integer; got {seed!r}")
    return Chaos(tuple(choices), ranges[0], ranges[1], limit, seed)


def _params(kind: Any) -> tuple:
    return FAULT_KINDS[kind].params if isinstance(kind, str) and kind in FAULT_KINDS else ()


def _validate(raw: dict[str, Any], nodes: int, default_name: str, prefix: str = "") -> FaultSpec:
    """validate_fault, with selectors standing for the node names they may resolve to."""
    target = raw.get("target")
    concrete = target
    if isinstance(target, str):
        parts = []
        for t in target.split(","):
            head, dot, link = t.partition(".")
            if head == "nodes":
                parts.extend(f"node{i}{dot}{link}" for i in range(1, nodes + 1))
            else:
                parts.append(f"node1{dot}{link}" if head in SELECTORS else t)
        concrete = ",".join(parts)
    try:
        spec = validate_fault({**raw, "target": concrete} if target is not None else raw, nodes, default_name)
    except ValueError as exc:
        message = str(exc)
        if message.startswith("target:") and isinstance(target, str):
            message = (message.replace(repr(concrete), repr(target))
                       + f"; or a selector: {', '.join(SELECTORS)} (any-node.redis for a node's link)")
        if prefix:
            message = f"{prefix}: {message.partition(': ')[2]}"
        raise ValueError(message) from None
    return replace(spec, target=target) if target is not None else spec
