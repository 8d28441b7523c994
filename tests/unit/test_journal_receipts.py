"""The batched receipt record (`ws_receipts`): written from a frame's texts, read back by every reader
as the same `ws_receive` events one line a receipt gives, and a run recorded either way judged the same."""
from __future__ import annotations

import json

import pytest

from harness import journal_receipts
from harness.journal import Clock, JournalError, JournalWriter, iter_run, journal_path, read_journal
from harness.journal_codec import lines
from harness.journal_receipts import FrameReceipts
from harness.judge import judge_events
from test_journal_shards import SCENARIO, run_events, write

WALL0 = 1_700_000_000.0


def _writer(path, codec: str = "plain") -> JournalWriter:
    return JournalWriter(path, Clock(mono0=0.0, wall0=WALL0), codec=codec)


def _members(*pairs: tuple[int, float]) -> list[str]:
    return [f'"seq":{seq},"sent":{sent!r}' for seq, sent in pairs]


def test_a_batched_line_reads_as_the_receipts_written_one_a_line(tmp_path):
    batch = FrameReceipts("hx-load-0", "r", "p1", _members((7, 1.5), (8, 1.625), (9, 2.0)))
    old, new = _writer(tmp_path / "old.jsonl"), _writer(tmp_path / "new.jsonl")
    for w in (old, new):
        w.append("run_start", t=0.0, run_id="r", grace_s=1.0)
    for seq, sent in ((7, 1.5), (8, 1.625), (9, 2.0)):
        old.append("ws_receive", t=2.1234567, sub="s1", channel="hx-load-0", run="r", pub="p1", seq=seq, sent=sent)
    new.append_receipts(2.1234567, "s1", batch)
    assert old.count == new.count == 4
    old.close()
    new.close()
    assert len((tmp_path / "new.jsonl").read_text().splitlines()) == 2
    assert read_journal(tmp_path / "new.jsonl") == read_journal(tmp_path / "old.jsonl")
    # The same key order too: a reader that prints events shows the same text.
    assert [list(e) for e in read_journal(tmp_path / "new.jsonl")] == [list(e) for e in read_journal(tmp_path / "old.jsonl")]


def test_columns_that_differ_are_lists_and_the_scope_prefixes_every_channel(tmp_path):
    batch = FrameReceipts(("a", "b"), ("r", "r"), ("p1", "p2"), _members((1, 1.5), (2, 1.75)))
    text = journal_receipts.line(1.5, WALL0 + 1.5, "s1", batch, scope="100004/")
    record = json.loads(text)
    assert record["channel"] == ["100004/a", "100004/b"] and record["run"] == "r" and record["pub"] == ["p1", "p2"]
    assert record["receipts"] == [{"seq": 1, "sent": 1.5}, {"seq": 2, "sent": 1.75}]
    events = journal_receipts.expand(record)
    assert [(e["channel"], e["pub"], e["seq"], e["sent"]) for e in events] == [("100004/a", "p1", 1, 1.5),
                                                                                ("100004/b", "p2", 2, 1.75)]
    assert all(e["t"] == 1.5 and e["sub"] == "s1" and e["kind"] == "ws_receive" for e in events)


def test_an_integer_sent_reads_as_the_float_the_old_form_wrote():
    record = json.loads(journal_receipts.line(1.0, WALL0 + 1, "s1", FrameReceipts("c", "r", "p", ['"seq":1,"sent":5'])))
    [event] = journal_receipts.expand(record)
    assert event["sent"] == 5.0 and type(event["sent"]) is float


def test_listeners_and_the_count_see_one_event_a_receipt(tmp_path):
    writer = _writer(tmp_path / "j.jsonl")
    seen: list[dict] = []
    writer.listeners.append(seen.append)
    writer.append_receipts(1.0, "s1", FrameReceipts("c", "r", "p", _members((1, 0.5), (2, 0.75))))
    writer.close()
    assert writer.count == 2
    assert [(e["kind"], e["seq"]) for e in seen] == [("ws_receive", 1), ("ws_receive", 2)]


@pytest.mark.parametrize("codec", ["plain", "zstd"])
def test_a_cut_last_batched_line_is_left_out_like_any_cut_line(tmp_path, codec):
    path = journal_path(tmp_path, codec)
    writer = _writer(path, codec)
    writer.append("run_start", t=0.0, run_id="r", grace_s=1.0)
    writer.append_receipts(1.0, "s1", FrameReceipts("c", "r", "p", _members((1, 0.5))))
    writer.close()
    if codec == "plain":
        path.write_bytes(path.read_bytes() + b'{"t":1.1,"wall":1700000001.1,"kind":"ws_receipts","sub":"s1","rec')
    events = read_journal(path)
    assert [e["kind"] for e in events] == ["run_start", "ws_receive"]


@pytest.mark.parametrize("change, message", [
    ({"receipts": []}, "receipts must be a non-empty list"),
    ({"receipts": "[]"}, "receipts must be a non-empty list"),
    ({"receipts": [{"seq": 1}]}, "each receipt must be"),
    ({"receipts": [{"seq": 1.5, "sent": 1.0}]}, "each receipt must be"),
    ({"receipts": [{"seq": True, "sent": 1.0}]}, "each receipt must be"),
    ({"receipts": [{"seq": 1, "sent": "1.0"}]}, "each receipt must be"),
    ({"receipts": [{"seq": 1, "sent": 1.0, "pad": "x"}]}, "each receipt must be"),
    ({"receipts": [[1, 1.0]]}, "each receipt must be"),
    ({"channel": ["a", "b"]}, "channel must be text, or a list of 1 texts"),
    ({"pub": None}, "pub must be text"),
    ({"run": [1]}, "run must be text"),
])
def test_a_record_that_does_not_hold_receipts_is_an_error_naming_its_line(tmp_path, change, message):
    record = {"t": 1.0, "wall": WALL0 + 1, "kind": "ws_receipts", "sub": "s1", "channel": "c", "run": "r", "pub": "p",
              "receipts": [{"seq": 1, "sent": 0.5}], **change}
    path = tmp_path / "journal.jsonl"
    path.write_text(json.dumps({"t": 0.0, "wall": WALL0, "kind": "run_start", "run_id": "r", "grace_s": 1.0}) + "\n"
                    + json.dumps(record) + "\n")
    with pytest.raises(JournalError, match=f"journal.jsonl:2: ws_receipts: {message}"):
        read_journal(path)


def test_expanded_receipts_are_checked_against_the_schema(tmp_path):
    path = tmp_path / "journal.jsonl"
    record = {"t": 1.0, "wall": WALL0 + 1, "kind": "ws_receipts", "sub": 7, "channel": "c", "run": "r", "pub": "p",
              "receipts": [{"seq": 1, "sent": 0.5}]}
    path.write_text(json.dumps({"t": 0.0, "wall": WALL0, "kind": "run_start", "run_id": "r", "grace_s": 1.0}) + "\n"
                    + json.dumps(record) + "\n")
    with pytest.raises(JournalError, match="journal.jsonl:2: ws_receive: field sub must be text"):
        read_journal(path)


def frames_of(events: list[dict], window_s: float = 0.1) -> tuple[list[dict], list[dict]]:
    """The same run in the two forms: each subscriber's receipts grouped into frames (those within one
    `window_s`), every receipt of a frame at the frame's arrival time (its last); (one line a receipt,
    one batched line a frame), in time order as a writer appends them."""
    frames: dict[tuple[str, int], list[dict]] = {}
    others = []
    for e in events:
        if e["kind"] == "ws_receive":
            frames.setdefault((e["sub"], int(e["t"] / window_s)), []).append(e)
        else:
            others.append(e)
    old, new = list(others), list(others)
    for receipts in frames.values():
        t = max(e["t"] for e in receipts)
        old += [{**e, "t": t} for e in receipts]
        channels, runs, pubs = ([e[name] for e in receipts] for name in ("channel", "run", "pub"))
        new.append({"kind": "frame", "t": t, "sub": receipts[0]["sub"],
                    "batch": FrameReceipts(tuple(channels), tuple(runs), tuple(pubs),
                                           _members(*((e["seq"], e["sent"]) for e in receipts)))})
    order = lambda e: e["t"]  # noqa: E731 - stable: a frame's receipts stay together, in order
    return sorted(old, key=order), sorted(new, key=order)


def write_batched(path, events: list[dict]) -> None:
    writer = JournalWriter(path, Clock(wall0=WALL0), codec="zstd" if path.name.endswith(".zst") else "plain")
    for e in events:
        if e["kind"] == "frame":
            writer.append_receipts(e["t"], e["sub"], e["batch"])
        else:
            writer.append(e["kind"], t=e["t"], **{k: v for k, v in e.items() if k not in ("kind", "t")})
    writer.close()


def test_a_run_recorded_in_either_form_is_read_and_judged_identically(tmp_path):
    old_events, new_events = frames_of(run_events())
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old, new = journal_path(tmp_path / "old"), journal_path(tmp_path / "new", "zstd")
    write(old, old_events)
    write_batched(new, new_events)
    with open(new, "rb") as handle:
        records = [json.loads(line) for line in lines(handle, 1 << 20)]
    batched = [r for r in records if r["kind"] == "ws_receipts"]
    # Not trivial: frames of several receipts, some with two channels (lists), the canary's apart.
    assert max(len(r["receipts"]) for r in batched) > 1 and any(type(r["channel"]) is list for r in batched)
    assert len(records) < 0.6 * len(read_journal(old))

    assert read_journal(new) == read_journal(old)
    one, other = judge_events(iter_run(old), SCENARIO), judge_events(iter_run(new), SCENARIO)
    assert one == other
    run = one["run"]["metrics"]
    assert run["delivery.lost"] > 0 and run["delivery.duplicated"] > 0 and one["verdict"] == "fail"


def test_batched_shards_judge_as_the_single_journal_one_line_a_receipt(tmp_path):
    old_events, new_events = frames_of(run_events(seed=11))
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    single.mkdir()
    sharded.mkdir()
    write(journal_path(single), old_events)
    worker = {"s1-0": "w1", "s1-1": "w1", "s2-0": "w2", "s2-1": "w2"}
    write_batched(journal_path(sharded), [e for e in new_events if e.get("sub") not in worker])
    for shard, codec in (("w1", "zstd"), ("w2", "plain")):
        write_batched(journal_path(sharded, codec, shard), [e for e in new_events if worker.get(e.get("sub")) == shard])
    merged = list(iter_run(journal_path(sharded)))
    assert sorted(map(repr, merged)) == sorted(map(repr, read_journal(journal_path(single))))
    assert judge_events(iter_run(journal_path(sharded)), SCENARIO) == judge_events(iter_run(journal_path(single)),
                                                                                     SCENARIO)
