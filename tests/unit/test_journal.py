"""Journal write/read round trip, periodic flushing, and tolerance of a killed writer."""
import asyncio
import json

import pytest

from harness.journal import Clock, JournalError, JournalWriter, read_journal


def test_round_trip(tmp_path):
    path = tmp_path / "journal.jsonl"
    writer = JournalWriter(path, Clock())
    first = writer.append("run_start", run_id="r1", nodes=2)
    writer.append("publish", t=1.5, pub="p1", seq=0, ok=True, detail="ünïcode")
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
        writer.append("phase_start", phase="steady")
        deadline = asyncio.get_running_loop().time() + 5
        while not path.read_text():
            assert asyncio.get_running_loop().time() < deadline, "periodic flush never wrote the event"
            await asyncio.sleep(0.01)  # poll
        writer.close()

    asyncio.run(scenario())
    assert read_journal(path)[0]["phase"] == "steady"


def test_truncated_last_line_is_skipped(tmp_path):
    path = tmp_path / "journal.jsonl"
    lines = [json.dumps({"t": i, "wall": i, "kind": "x"}) for i in range(3)]
    path.write_text("\n".join(lines) + "\n" + lines[0][:10])
    assert len(read_journal(path)) == 3


def test_corrupt_line_before_the_end_is_an_error(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text('{"t":0,"wall":0,"kind":"x"}\n{not json\n{"t":1,"wall":1,"kind":"x"}\n')
    with pytest.raises(JournalError, match=":2: corrupt"):
        read_journal(path)


def test_missing_journal_is_a_clear_error(tmp_path):
    with pytest.raises(JournalError, match="cannot read"):
        read_journal(tmp_path / "nope.jsonl")
