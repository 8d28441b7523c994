"""The fault planner: timing, flaps, ramps, selectors and seeded chaos give exact, replayable steps."""
import pytest

from harness import schedule
from harness.schedule import INJECT, REVERT, UPDATE, plan, read_chaos, read_timed_fault


def steps_of(raw_faults, duration=20.0, chaos=None, seed=1, nodes=3):
    faults = tuple(read_timed_fault(f, nodes, f"p-{i + 1}", duration) for i, f in enumerate(raw_faults))
    return [(s.t, s.action, s.fault.name, s.fault.target, s.fault.params.get("latency"))
            for s in plan("p", duration, faults, chaos and read_chaos(chaos, nodes, "p"), seed, nodes)]


def test_default_timing_is_the_whole_phase():
    assert steps_of([{"kind": "pause", "target": "node2"}]) == [(0, INJECT, "p-1", "node2", None),
                                                                (20, REVERT, "p-1", "node2", None)]


def test_at_and_for():
    assert steps_of([{"kind": "latency", "target": "redis", "latency": 100, "at": "5s", "for": "3s"}]) == [
        (5, INJECT, "p-1", "redis", 100), (8, REVERT, "p-1", "redis", 100)]


def test_flap_cycles_until_the_end_each_cycle_its_own_name():
    steps = steps_of([{"kind": "down", "target": "node1.redis", "flap": {"on": "1s", "off": "3s"}, "for": "10s",
                       "name": "blip"}])
    assert [(t, a, n) for t, a, n, *_ in steps] == [
        (0, INJECT, "blip", ), (1, REVERT, "blip"), (4, INJECT, "blip.2"), (5, REVERT, "blip.2"),
        (8, INJECT, "blip.3"), (9, REVERT, "blip.3")]


def test_ramp_updates_every_second_to_its_end_value():
    steps = steps_of([{"kind": "latency", "target": "redis", "latency": {"from": 0, "to": 800, "over": "4s"}}], 10)
    assert [(t, a, v) for t, a, _, _, v in steps] == [
        (0, INJECT, 0), (1, UPDATE, 200), (2, UPDATE, 400), (3, UPDATE, 600), (4, UPDATE, 800), (10, REVERT, 0)]


def test_ramp_stops_where_the_fault_ends():
    steps = steps_of([{"kind": "latency", "target": "redis", "for": "2500ms",
                       "latency": {"from": 100, "to": 300, "over": "2s", "every": "500ms"}}], 10)
    assert [v for _, a, _, _, v in steps if a == UPDATE] == [150, 200, 250, 300]
    assert steps[-1][:2] == (2.5, REVERT)


@pytest.mark.parametrize("target, count", [("any-node", 1), ("half-of-nodes", 1), ("nodes", 3)])
def test_selectors_resolve_to_node_names(target, count):
    (_, _, _, chosen, _), _ = steps_of([{"kind": "pause", "target": target}])
    assert len(chosen.split(",")) == count and all(n.startswith("node") for n in chosen.split(","))


def test_selector_on_a_link():
    (_, _, _, chosen, _), _ = steps_of([{"kind": "latency", "target": "any-node.redis", "latency": 5}])
    assert chosen in {"node1.redis", "node2.redis", "node3.redis"}


def test_any_node_is_chosen_by_the_seed():
    chosen = {steps_of([{"kind": "pause", "target": "any-node"}], seed=s)[0][3] for s in range(30)}
    assert chosen == {"node1", "node2", "node3"}
    assert steps_of([{"kind": "pause", "target": "any-node"}], seed=7) == steps_of([{"kind": "pause", "target": "any-node"}], seed=7)


CHAOS = {"kinds": [{"kind": "latency", "latency": 300}, "pause", "reset_peer"], "targets": ["any-node", "redis"],
         "every": "2s..5s", "for": "1s..3s", "max_concurrent": 1}


def test_chaos_same_seed_same_schedule_other_seed_other():
    one = steps_of([], 60, CHAOS, seed=42)
    assert one == steps_of([], 60, CHAOS, seed=42)
    assert one != steps_of([], 60, CHAOS, seed=43)
    assert len(one) >= 2 * 8


def test_chaos_respects_targets_ranges_and_concurrency():
    steps = steps_of([], 120, CHAOS, seed=5)
    active, injected = 0, {}
    for t, action, name, target, _ in steps:
        active += 1 if action == INJECT else -1
        assert active <= 1
        if action == INJECT:
            injected[name] = t
        else:
            assert 1 - 1e-3 <= t - injected[name] <= 3 + 1e-3 or t == 120
    kinds: dict[str, set[str]] = {}
    for s in plan("p", 120, (), read_chaos(CHAOS, 3, "p"), 5, 3):
        kinds.setdefault(s.fault.kind, set()).add(s.fault.target)
    assert kinds["reset_peer"] == {"redis"}   # a link toxic: any-node (a container) does not suit it
    assert set(kinds) == {"latency", "pause", "reset_peer"}


def test_chaos_seed_pins_the_phase_unless_forced():
    c = read_chaos({**CHAOS, "seed": 9}, 3, "p")
    assert schedule.phase_seed(1, "p", c, forced=False) == 9
    assert schedule.phase_seed(1, "p", c, forced=True) == "1:p"


@pytest.mark.parametrize("raw, message", [
    ({"kind": "pause", "target": "node1", "at": "30s"}, r"^at: must be a duration from the phase's start, below its 20 s"),
    ({"kind": "pause", "target": "node1", "at": "15s", "for": "10s"}, r"^for: must be a duration > 0 ending within"),
    ({"kind": "pause", "target": "node1", "flap": {"on": "1s"}}, r"^flap: must be \{on"),
    ({"kind": "pause", "target": "node1", "flap": {"on": "1s", "off": "x"}}, r"^flap.off: must be a duration"),
    ({"kind": "pause", "target": "any-nodes"}, r"^target: unknown target 'any-nodes'.*or a selector: any-node"),
    ({"kind": "latency", "target": "any-node", "latency": 5}, r"^target: unknown target 'any-node'"),
    ({"kind": "latency", "target": "redis", "latency": {"from": 0, "to": 800}}, r"^latency: a ramp needs from, to and over"),
    ({"kind": "latency", "target": "redis", "latency": {"from": 0, "to": -1, "over": 5}}, r"^latency.to: must be a number from 0"),
    ({"kind": "latency", "target": "redis", "latency": {"from": 0, "to": 9, "over": 50}}, r"^latency.over: must be a duration > 0 within"),
    ({"kind": "latency", "target": "redis", "latency": {"from": 0, "to": 9, "over": 5, "step": 1}}, r"^latency.step: unknown ramp field"),
    ({"kind": "upstream-slow", "ms": {"from": 0, "to": 9, "over": 5}}, r"^ms: only the parameters of Toxiproxy toxics ramp"),
    ({"kind": "latency", "target": "redis", "latency": {"from": 0, "to": 9, "over": 5}, "flap": {"on": 1, "off": 1}},
     r"^flap: a fault flaps or ramps, not both"),
])
def test_timing_errors_name_the_field(raw, message):
    with pytest.raises(ValueError, match=message):
        read_timed_fault(raw, 3, "p-1", 20)


@pytest.mark.parametrize("change, message", [
    ({"every": "5s..2s"}, r"^every: must be a duration or a range"),
    ({"for": None}, r"^for: must be"),
    ({"kinds": ["teleport"]}, r"^kinds.0.kind: unknown fault kind"),
    ({"kinds": ["upstream-5xx"]}, r"^kinds.0: none of the targets suits 'upstream-5xx'"),
    ({"kinds": [{"kind": "pause", "target": "node1"}]}, r"^kinds.0: must be a kind or a mapping"),
    ({"max_concurrent": 0}, r"^max_concurrent: must be an integer from 1 to 10"),
    ({"colour": 1}, r"^colour: unknown field"),
    ({"seed": -1}, r"^seed: must be a non-negative integer"),
    # A target no kind acts on (a typo, a node the cluster lacks) would be dropped without a word.
    ({"targets": ["any-node", "redis", "node7"]}, r"^targets.2: no kind of kinds acts on 'node7'; they act on: "),
    ({"targets": ["redis", "redsi"]}, r"^targets.1: no kind of kinds acts on 'redsi'"),
])
def test_chaos_errors_name_the_field(change, message):
    with pytest.raises(ValueError, match=message):
        read_chaos({**CHAOS, **change}, 3, "p")


def test_a_mapping_parameter_is_not_a_ramp():
    f = read_timed_fault({"kind": "recreate-env", "target": "redis", "env": {"REDIS_PORT": 6380}, "at": "1s"}, 2, "p-1", 5)
    assert f.ramp is None and f.spec.params["env"] == {"REDIS_PORT": "6380"}


def test_possible_targets_expand_selectors_and_chaos():
    faults = (read_timed_fault({"kind": "pause", "target": "any-node"}, 3, "p-1", 20),
              read_timed_fault({"kind": "latency", "target": "redis", "latency": 5}, 3, "p-2", 20))
    # CHAOS's latency and reset_peer suit only `redis` (a link); pause suits any-node and the redis container.
    assert schedule.possible_targets(faults, read_chaos(CHAOS, 3, "p"), 3) == {"node1", "node2", "node3", "redis"}
    link = (read_timed_fault({"kind": "down", "target": "half-of-nodes.redis"}, 3, "p-1", 20),)
    assert schedule.possible_targets(link, None, 3) == {"node1.redis", "node2.redis", "node3.redis"}
