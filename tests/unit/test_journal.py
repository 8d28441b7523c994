"""Journal write/read round trip, periodic flushing, and tolerance of a killed writer."""
import asyncio
import json

import pytest

from harness.journal import Clock, JournalError, JournalWriter, read_journal


START = {"t": 0, "wall": 1e9, "kind": "run_start", "run_id": "r", "nodes": 2, "grace_s": 1.0}


def test_round_trip(tmp_path):
    path = tmp_path / "journal.jsonl"
    writer = JournalWriter(path, Clock())
    first = writer.append("run_start", run_id="r1", nodes=2, grace_s=1.0)
    writer.append("publish", t=1.5, pub="p1", seq=0, channel="c", node="node1", sent=1.4, ok=True, status=200,
                  error=None, detail="ünïcode")
    writer.close()
    events = read_journal(path)
    assert [e["kind"] for e in events] == ["run_start", "publish"]
    assert events[0] == first
    assert events[1]["t"] == 1.5 and events[1]["detail"] == "ünïcode"
    assert events[1]["wall"] == pytest.approx(writer.clock.wall0 + 1.5)


def test_events_reach_the_file_without_close(tmp_path):
    path = tmp_path / "journal.jsonl"

    async def scenario():
        writer = JournalWriter(path, Clock(), flush_interval=0.01)
        writer.start()
        writer.append("run_start", run_id="r1", nodes=2, grace_s=1.0)
        writer.append("phase_start", phase="steady")
        deadline = asyncio.get_running_loop().time() + 5
        while not path.read_text():
            assert asyncio.get_running_loop().time() < deadline, "periodic flush never wrote the event"
            await asyncio.sleep(0.01)  # poll
        writer.close()

    asyncio.run(scenario())
    assert read_journal(path)[1]["phase"] == "steady"


def test_truncated_last_line_is_skipped(tmp_path):
    path = tmp_path / "journal.jsonl"
    lines = [json.dumps(START)] + [json.dumps({"t": i, "wall": 1e9 + i, "kind": "x"}) for i in range(2)]
    path.write_text("\n".join(lines) + "\n" + lines[0][:10])
    assert len(read_journal(path)) == 3


def test_corrupt_line_before_the_end_is_an_error(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text(json.dumps(START) + '\n{not json\n{"t":1,"wall":1e9,"kind":"x"}\n')
    with pytest.raises(JournalError, match=":2: corrupt"):
        read_journal(path)


def test_missing_journal_is_a_clear_error(tmp_path):
    with pytest.raises(JournalError, match="cannot read"):
        read_journal(tmp_path / "nope.jsonl")


def _journal(tmp_path, events, tail=""):
    path = tmp_path / "journal.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + tail)
    return path


def _event(kind, t, **fields):
    return {"t": t, "wall": 1e9 + t, "kind": kind, **fields}


@pytest.mark.parametrize("bad, message", [
    (_event("phase_end", 1e9, phase="s"), r":3: phase_end: t must be a number of seconds from 0"),
    (_event("phase_end", 10 ** 30, phase="s"), r":3: phase_end: t must be"),
    (_event("phase_end", -1, phase="s"), r":3: phase_end: t must be"),
    (_event("phase_end", 0.5, phase="s"), r":3: phase_end: t = 0.5 is before an earlier event's t = 2"),
    (_event("phase_end", 3, phase=True), r":3: phase_end: field phase must be text, got True"),
    (_event("fault_revert_failed", 3, fault="f", error={"x": 1}), r":3: fault_revert_failed: field error must be text"),
    (_event("publish", 3, pub="p", seq=0, channel="c", node="n", ok=True, status=200, error=None),
     r":3: publish: missing field sent"),
    (_event("publish", 3, pub="p", seq=0, channel="c", sent=2, ok=True, status="200", error=None),
     r":3: publish: field status must be an integer or null"),
    (_event("run_start", 3, run_id="r", nodes=2, grace_s=1), r":3: a second run_start"),
    ({"t": 3, "kind": "x"}, r":3: x: wall must be a positive Unix time"),
    ({"t": 3, "wall": 1e9, "kind": ""}, r":3: kind must be text of 1 to 64 characters"),
    ([1, 2], r":3: not a journal event"),
    (_event("probe", 3, name="ready", node="node1", ok="yes", status=200, latency_ms=1.0, error=None),
     r":3: probe: field ok must be true/false"),
    # The analysis reads every answer's latency (a failed answer too: the prober always measures one).
    (_event("probe", 3, name="ready", node="node1", ok=False, status=None, latency_ms=None, error="x"),
     r":3: probe: field latency_ms must be a number"),
    (_event("infra_down", 3), r":3: infra_down: missing field part"),
])
def test_schema_names_the_first_bad_line(tmp_path, bad, message):
    events = [START, _event("phase_start", 2, phase="s", duration_s=1), bad, _event("phase_end", 1e9, phase="s")]
    with pytest.raises(JournalError, match=message):
        read_journal(_journal(tmp_path, events))


def test_nan_and_huge_numbers_in_json_are_refused(tmp_path):
    path = _journal(tmp_path, [START], '{"t": NaN, "wall": 1e9, "kind": "x"}\n{"t": 1, "wall": 1e9, "kind": "x"}\n')
    with pytest.raises(JournalError, match=":2: x: t must be"):
        read_journal(path)
    path = _journal(tmp_path, [START], '{"t": ' + "9" * 5000 + ', "wall": 1e9, "kind": "x"}\n{"t": 1}\n')
    with pytest.raises(JournalError, match=":2: corrupt journal line"):
        read_journal(path)


def test_first_event_must_be_run_start(tmp_path):
    with pytest.raises(JournalError, match=":1: the first event must be the run's one run_start"):
        read_journal(_journal(tmp_path, [_event("phase_start", 0, phase="s")]))
    with pytest.raises(JournalError, match="no complete event"):
        read_journal(_journal(tmp_path, [], "{cut"))


def test_unknown_kinds_pass_on_the_common_fields_and_known_ones_may_carry_more(tmp_path):
    events = [START, _event("from_the_future", 1, anything={"goes": [1]}),
              _event("phase_start", 1.5, phase="s", duration_s=1, extra="ok"),
              _event("probe", 1.6, name="ready", node="node1", ok=False, status=None, latency_ms=1000.0, error="x"),
              _event("loop_lag", 1.7, lag_ms=12.5), _event("alert_watch_ok", 1.8, source="prometheus"),
              _event("note", 1.9, text="hi", user="u", host="h"), _event("chaos_schedule", 2, plan=[]),
              _event("abort", 2.1, reason="x"), _event("infra_down", 2.2, part="toxiproxy"),
              _event("phase_end", 1.3, phase="s")]     # 0.9 s before the latest: within tolerance
    assert [e["kind"] for e in read_journal(_journal(tmp_path, events))][-1] == "phase_end"


def test_a_line_without_end_is_refused_in_bounded_memory(tmp_path, monkeypatch):
    import harness.journal
    monkeypatch.setattr(harness.journal, "MAX_LINE_CHARS", 1000)
    path = _journal(tmp_path, [START], "x" * 5000)
    with pytest.raises(JournalError, match=":2: a line longer than"):
        read_journal(path)
