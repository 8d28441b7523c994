"""Fuzz: hostile scenario files and journals end in exit 2 (or a verdict), never a traceback, each quickly.

Mutations start from a sound scenario and a sound journal; hypothesis's deadline holds each case to 2 s.
"""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import cli

SCENARIO = """\
name: fuzz
description: a sound scenario the fuzz mutates
cluster: {nodes: 2}
workload:
  publish: {rate: 20, shape: stepped, steps: [5, 10], step: 2s, timeout: 2s}
  subscribe: {per_node: 1}
  grace: 1s
phases:
  - {name: steady, duration: 2s}
  - name: slow
    duration: 3s
    faults: [{kind: latency, target: redis, latency: 100}]
windows:
  - {name: early, phase: slow, from: 0s, to: 1s}
recovery: {success_rate: 0.9, sustain: 1s}
expect:
  - "steady: publish.success_rate >= 0.99"
  - "slow: delivery.latency_ms.p50 >= steady.delivery.latency_ms.p50 + 80"
"""

HOSTILE = [".nan", ".inf", "-.inf", "1e999", "*a", "&a x", "!foo x", "!!binary aGk=", "!!set {a}", "? [a]", "{", "]",
           "'", '"', "\t", "\x00", "\x85", "\ufeff", "- ", ": ", "&a [*a]", "[" * 50, "x" * 3000, "-1", "0", "1" * 30,
           "true", "null", "~", "2024-01-01", "<<: *a", "%YAML 1.1", "---", "...", "|", ">", "#", "@", "`", "\\"]

FIELD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                         st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                                              max_size=2),
                         st.sampled_from([10 ** 30, -1, 1e9, 1e300, "", "x" * 2000]))


def _run(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(list(argv))
    return status, err.getvalue()


def _on_file(data: bytes, name: str, command: str) -> tuple[int, str, Path]:
    """`harness <command> FILE` on a file holding `data`: (status, stderr, the file's path); no traceback."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        status, err = _run(command, str(path), *(["--out", str(Path(tmp) / "out")] if command == "report" else []))
    assert "Traceback" not in err and "harness error" not in err, err
    return status, err, path


def _mutate_text(draw, text: str) -> str:
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 8))
        piece = draw(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6)))
        text = text[:at] + piece + text[at + cut:]
    return text


@st.composite
def scenario_bytes(draw) -> bytes:
    text = _mutate_text(draw, SCENARIO)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
    return data


@settings(max_examples=100, deadline=2000, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_bytes())
def test_scenario_loader_never_crashes(data):
    status, err, path = _on_file(data, "s.yaml", "validate")
    assert status in (0, 2), err
    if status == 2:
        assert err.startswith(f"harness: {path}") and err.count("\n") == 1 and len(err) < 500, err


def _event(kind: str, t: float, **fields) -> dict:
    return {"t": t, "wall": 1.7e9 + t, "kind": kind, **fields}


def sound_journal() -> list[dict]:
    events = [_event("run_start", 0, run_id="r1", scenario="fuzz", path="fuzz.yaml", nodes=2, grace_s=1.0,
                     source=SCENARIO),
              _event("cluster_ready", 5, project="hx-r1", seconds=5.0, endpoints={}),
              _event("ws_connect", 5.1, sub="s1-0", node="node1", socket_id="1.2"),
              _event("ws_subscribed", 5.2, sub="s1-0", channel="hx-load-0"),
              _event("phase_start", 6, phase="steady", duration_s=2)]
    t = 6.0
    for seq in range(8):
        t += 0.25
        events.append(_event("publish", t, pub="p1", seq=seq, channel="hx-load-0", node="node1", sent=t - 0.01,
                             ok=True, status=200, error=None))
        events.append(_event("ws_receive", t + 0.01, sub="s1-0", channel="hx-load-0", run="r1", pub="p1", seq=seq,
                             sent=t - 0.01))
    events += [_event("phase_end", 8, phase="steady"), _event("phase_start", 8, phase="slow", duration_s=3),
               _event("fault_injected", 8.1, fault="slow-1", fault_kind="latency", target="redis",
                      params={"latency": 100, "jitter": 0}, stream="downstream", toxicity=1.0),
               _event("fault_confirmed", 8.2, fault="slow-1", evidence="toxic listed"),
               _event("publish", 9, pub="p1", seq=8, channel="hx-load-0", node="node1", sent=8.9, ok=False,
                      status=None, error="timeout", detail="ReadTimeout"),
               _event("fault_reverted", 11, fault="slow-1"), _event("phase_end", 11, phase="slow"),
               _event("drain_start", 11, seconds=1.0), _event("drain_end", 12),
               _event("ws_disconnect", 12.1, sub="s1-0", node="node1", reason="stopped"),
               _event("run_end", 14, error=None)]
    return events


@st.composite
def journal_bytes(draw) -> bytes:
    events = sound_journal()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(events) - 1))
        action = draw(st.sampled_from(["drop", "duplicate", "swap", "set", "delete", "kind"]))
        if action == "drop":
            del events[i]
        elif action == "duplicate":
            events.insert(i, dict(events[i]))
        elif action == "swap":
            j = draw(st.integers(0, len(events) - 1))
            events[i], events[j] = events[j], events[i]
        elif action in ("set", "delete"):
            key = draw(st.sampled_from(sorted(events[i])))
            events[i] = dict(events[i])
            if action == "delete":
                del events[i][key]
            else:
                events[i][key] = draw(FIELD_VALUES)
        else:
            events[i] = {**events[i], "kind": draw(st.sampled_from(["run_start", "phase_end", "publish", "x"]))}
        if not events:
            break
    data = "".join(json.dumps(e) + "\n" for e in events).encode()
    if data and draw(st.booleans()):
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
    if data and draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]          # cut short anywhere
    return data


@settings(max_examples=100, deadline=2000, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(journal_bytes())
def test_journal_reader_never_crashes(data):
    status, err, _ = _on_file(data, "journal.jsonl", "report")
    # 3 only for a journal without run_end (an incomplete run is never judged a pass or a failure).
    assert status in (0, 1, 2) or status == 3 and "the run is incomplete" in err, err
    if status == 2:
        assert err.count("\n") == 1 and len(err) < 600, err


def test_the_sound_journal_is_judged():
    status, err, _ = _on_file("".join(json.dumps(e) + "\n" for e in sound_journal()).encode(), "j.jsonl", "report")
    assert status in (0, 1), err


def test_a_journal_stretched_over_days_is_refused_not_analysed():
    events = sound_journal()
    events[-1] = _event("run_end", 600_000, error=None)  # within the schema's week, far past the scenario
    status, err, _ = _on_file("".join(json.dumps(e) + "\n" for e in events).encode(), "j.jsonl", "report")
    assert status == 2 and "its phases span 599994 s but the scenario declares 6 s" in err, err


@pytest.mark.parametrize("kind", [[], {}, [1], {"a": 1}])
def test_a_kind_that_is_not_text_is_bad_input(kind):
    events = sound_journal()
    events[0]["kind"] = kind
    status, err, _ = _on_file("".join(json.dumps(e) + "\n" for e in events).encode(), "journal.jsonl", "report")
    assert status == 2 and "journal.jsonl:1: kind must be text" in err, err


@pytest.mark.parametrize("argv", [["run", "--seed", "-1", "s.yaml"], ["run", "--seed", "x", "s.yaml"],
                                  ["hunt", "--seed", "-5"]])
def test_a_negative_seed_is_refused_as_a_scenario_s_seed_is(argv, capsys):
    # Parsed only: nothing is started. A scenario's `seed:` must be a non-negative integer; so must the flag's.
    with pytest.raises(SystemExit) as exit_:
        cli.parser().parse_args(argv)
    assert exit_.value.code == 2 and "--seed: must be a non-negative integer" in capsys.readouterr().err


@pytest.mark.parametrize("monitoring", [{"alerts": 5}, {"alerts": [1, {}]}, {"rule_set": ["x"], "alerts": []},
                                        {"rules_file": 5, "alerts": []}])
def test_a_run_start_whose_monitoring_is_not_a_record_of_rules_is_bad_input(monitoring):
    events = sound_journal()
    events[0]["monitoring"] = monitoring
    status, err, _ = _on_file("".join(json.dumps(e) + "\n" for e in events).encode(), "j.jsonl", "report")
    assert status == 2 and "its run_start's monitoring must be" in err, err


def test_a_seq_beyond_the_journals_range_is_named_not_a_crash():
    events = sound_journal()
    next(e for e in events if e["kind"] == "ws_receive")["seq"] = 60129542144   # once an IndexError in analysis
    status, err, _ = _on_file("".join(json.dumps(e) + "\n" for e in events).encode(), "j.jsonl", "report")
    assert status == 2 and "field seq must be an integer from -8589934592 to 8589934591" in err, err


@pytest.mark.parametrize("scope", ["repA", "-x", "a b", "x" * 64])
def test_a_bad_hx_scope_is_bad_input_before_anything_starts(scope, monkeypatch):
    monkeypatch.setenv("HX_SCOPE", scope)
    status, err = _run("up", "--nodes", "1")
    assert status == 2 and "HX_SCOPE must be" in err and "harness error" not in err, err
