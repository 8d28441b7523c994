"""The fault catalogue: every kind validates its targets and parameters with a clear error."""
from __future__ import annotations

import re

import pytest

from harness.faults.catalog import FAULT_KINDS, FaultSpec, targets_for, validate_fault
from harness.faults.container import with_env
from harness.faults.manual import parse_params
from harness.scenario import ScenarioError, loads

# One valid mapping per kind: adding a kind without an example here fails the test below.
EXAMPLES = {
    "latency": {"target": "node1.redis", "latency": 100, "jitter": 10},
    "bandwidth": {"target": "upstream", "rate": 10, "stream": "upstream"},
    "timeout": {"target": "node2.upstream", "timeout": 0},
    "reset_peer": {"target": "client", "toxicity": 0.5},
    "slow_close": {"target": "redis", "delay": 100},
    "slicer": {"target": "node1.client", "average_size": 16, "delay": 10},
    "limit_data": {"target": "node1.redis,node2.redis", "bytes": 1000},
    "down": {"target": "node2.redis"},
    "stop": {"target": "node1"},
    "kill": {"target": "redis", "signal": "SIGTERM"},
    "pause": {"target": "node1,node2"},
    "restart": {"target": "upstream"},
    "recreate-env": {"target": "redis", "env": {"REDIS_MAXMEMORY": "1mb", "REDIS_SAVE": None}},
    "partition": {"target": "redis"},
    "redis-client-pause": {"duration": 2000, "mode": "all"},
    "redis-debug-sleep": {"seconds": 2},
    "redis-config-set": {"parameter": "appendonly", "value": True},
    "redis-wrong-password": {},
    "redis-maxmemory-exhausted": {},
    "redis-misconf-unwritable-dir": {},
    "redis-bad-port": {},
    "redis-exits-at-start": {},
    "upstream-5xx": {"status": 502},
    "upstream-slow": {"ms": 300},
}


def test_every_kind_has_a_valid_example():
    assert set(EXAMPLES) == set(FAULT_KINDS)
    for kind, raw in EXAMPLES.items():
        spec = validate_fault({"kind": kind, **raw}, 2, "f")
        assert spec.kind == kind and spec.target


def test_defaults_targets_and_coercions():
    assert validate_fault({"kind": "redis-debug-sleep", "seconds": 1}, 2, "f").target == "redis"
    assert validate_fault({"kind": "upstream-5xx"}, 2, "f").params == {"status": 503, "for_s": 600}
    assert validate_fault({"kind": "kill", "target": "node1"}, 1, "f").params == {"signal": "SIGKILL"}
    # YAML reads yes/no as booleans; Redis and env vars mean the words.
    assert validate_fault({"kind": "redis-config-set", "parameter": "appendonly", "value": True}, 1,
                          "f").params["value"] == "yes"
    spec = validate_fault({"kind": "recreate-env", "target": "node1", "env": {"A": 1, "B": None}}, 1, "f")
    assert spec.params["env"] == {"A": "1", "B": None}


def test_links_expand_targets_to_proxies():
    spec = validate_fault({"kind": "down", "target": "redis,node2.client"}, 3, "f")
    assert spec.links(3) == ["node1_redis", "node2_redis", "node3_redis", "node2_client"]


def test_spec_round_trips_through_its_json():
    for kind, raw in EXAMPLES.items():
        spec = validate_fault({"kind": kind, **raw}, 2, "f")
        assert validate_fault(spec.to_json(), 2, "other") == spec


@pytest.mark.parametrize("raw, message", [
    ({"kind": "explode"}, r"kind: unknown fault kind 'explode'; allowed: .*latency"),
    ({"kind": "latency", "target": "node3.redis", "latency": 1}, r"target: unknown target 'node3.redis' for latency; allowed: .*node2\.client"),
    ({"kind": "latency", "target": "node1", "latency": 1}, r"target: unknown target 'node1'"),
    ({"kind": "pause", "target": "node1.redis"}, r"target: .*allowed: redis, toxiproxy, upstream, node1, node2"),
    ({"kind": "recreate-env", "target": "node1,node2", "env": {"A": "1"}}, r"target: unknown target 'node1,node2'"),
    ({"kind": "pause", "target": "node1,node1"}, r"target: unknown target"),
    ({"kind": "redis-debug-sleep", "target": "node1", "seconds": 1}, r"target: .*allowed: redis$"),
    ({"kind": "latency", "target": "redis"}, r"latency: required for latency"),
    ({"kind": "latency", "target": "redis", "latency": -1}, r"latency: must be a number from 0"),
    ({"kind": "pause", "target": "node1", "stream": "upstream"}, r"stream: unknown parameter for pause; allowed: kind, name, target"),
    ({"kind": "redis-client-pause", "duration": 10, "mode": "read"}, r"mode: must be one of write, all"),
    ({"kind": "recreate-env", "target": "redis", "env": {}}, r"env: must be a non-empty mapping"),
    ({"kind": "recreate-env", "target": "redis", "env": {"1BAD": "x"}}, r"env: '1BAD' is not an environment variable name"),
    ({"kind": "redis-config-set", "parameter": "maxmemory"}, r"value: required"),
    ({"kind": "upstream-5xx", "status": 404}, r"status: must be a number from 500 to 599"),
    ({"kind": "latency", "target": "redis", "latency": 1, "toxicity": 2}, r"toxicity: must be a number from 0 to 1"),
    ({"kind": "down", "target": "redis", "toxicity": 1}, r"toxicity: unknown parameter for down"),
])
def test_bad_faults_say_what_is_allowed(raw, message):
    with pytest.raises(ValueError, match=message):
        validate_fault(raw, 2, "f")


def test_scenario_errors_name_file_line_and_field():
    text = """name: s
phases:
  - name: steady
    duration: 1s
  - name: broken
    duration: 1s
    faults:
      - kind: pause
        target: node1
        signal: SIGKILL
"""
    with pytest.raises(ScenarioError, match=re.escape("<scenario>:10: phases[1].faults[0].signal: unknown parameter "
                                                      "for pause; allowed: kind, name, target")):
        loads(text)


def test_targets_for_lists_single_targets():
    assert targets_for(FAULT_KINDS["redis-bad-port"], 3) == ["redis"]
    assert "node3" in targets_for(FAULT_KINDS["stop"], 3) and "node3" not in targets_for(FAULT_KINDS["stop"], 2)


def test_parse_params_reads_yaml_scalars_and_env_entries():
    assert parse_params(["latency=100", "stream=upstream", "env.A=1mb", "env.B="]) == \
        {"latency": 100, "stream": "upstream", "env": {"A": "1mb", "B": None}}
    with pytest.raises(ValueError, match="expected key=value"):
        parse_params(["latency"])


def test_with_env_sets_changes_and_removes_keeping_order():
    snap = {"name": "c", "config": {"Env": ["A=1", "B=2", "C=3"], "Image": "i"}}
    out = with_env(snap, {"B": "20", "C": None, "D": "4"})
    assert out["config"]["Env"] == ["A=1", "B=20", "D=4"]
    assert snap["config"]["Env"] == ["A=1", "B=2", "C=3"]  # the original snapshot is untouched
    assert FaultSpec("n", "pause", "node1").targets == ["node1"]


def test_fault_state_survives_the_process_in_its_state_dir(tmp_path, monkeypatch):
    from harness.faults.manual import FaultState
    monkeypatch.setenv("HX_STATE_DIR", str(tmp_path))
    state = FaultState("hx-abc")
    assert state.load() == []
    entry = {"spec": {"name": "p", "kind": "pause", "target": "node1"}, "memo": {"done": ["node1"]}}
    state.save([entry])
    assert FaultState("hx-abc").load() == [entry] and (tmp_path / "hx-abc.json").exists()
    state.save([])
    assert not (tmp_path / "hx-abc.json").exists()


def test_kill_takes_a_known_signal_only():
    with pytest.raises(ValueError, match="signal: must be one of SIGKILL, SIGTERM"):
        validate_fault({"kind": "kill", "target": "node1", "signal": "SIGBOGUS"}, 1, "f")


def test_make_fault_builds_every_kind_without_touching_the_cluster():
    import asyncio

    from harness.cluster.cluster import endpoints_from_ports
    from harness.faults.factory import FaultContext, make_fault
    from harness.faults.toxiproxy import ToxiproxyClient

    endpoints = endpoints_from_ports("r1", {"toxiproxy": 1, "redis": 2, "upstream": 3, "node1": 4, "node2": 5,
                                            "client1": 6, "client2": 7}, 2)
    assert endpoints.nodes[0].http == "http://127.0.0.1:6" and endpoints.nodes[0].direct == "http://127.0.0.1:4"

    async def build():
        async with ToxiproxyClient(endpoints.toxiproxy) as toxiproxy:
            ctx = FaultContext(endpoints, toxiproxy, 2)
            for kind, raw in EXAMPLES.items():
                spec = validate_fault({"kind": kind, **raw}, 2, "f")
                fault = make_fault(spec, ctx, {"kept": True})
                assert fault.spec is spec and fault.memo == {"kept": True}, kind
                assert all(callable(getattr(fault, m)) for m in ("inject", "confirm", "revert"))
    asyncio.run(build())
