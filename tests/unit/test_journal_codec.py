"""Compressed journals: each codec round-trips, a killed writer's file reads up to its last flush,
the form is told by content (not name), and a corrupt compressed journal is a clear error."""
import pytest

from harness.journal import Clock, JournalError, JournalWriter, journal_path, read_journal
from harness.journal_codec import CODECS, codec_of


def write(path, codec, count):
    """A closed journal of `count` receipts."""
    writer = JournalWriter(path, Clock(), codec=codec)
    for i in range(count):
        writer.append("ws_receive", t=i / 1000, sub=f"s{i % 4}", channel="hx-load-0", seq=i)
    writer.close()


@pytest.mark.parametrize("codec", CODECS)
def test_round_trip_in_every_codec(tmp_path, codec):
    path = journal_path(tmp_path, codec)
    writer = JournalWriter(path, Clock(), codec=codec)
    written = [writer.append("ws_receive", t=i / 1000, sub="s1", seq=i, detail="ünïcode") for i in range(10_000)]
    writer.close()
    assert codec_of(path.read_bytes()[:4]) == codec
    assert read_journal(path, schema=False) == written


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_compressed_journal_is_smaller(tmp_path, codec):
    plain, packed = journal_path(tmp_path, "plain"), journal_path(tmp_path, codec)
    write(plain, "plain", 5_000)
    write(packed, codec, 5_000)
    assert packed.stat().st_size < plain.stat().st_size / 4


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_killed_writer_leaves_everything_up_to_its_last_flush(tmp_path, codec):
    path = journal_path(tmp_path, codec)
    writer = JournalWriter(path, Clock(), codec=codec)
    for i in range(100):
        writer.append("publish", seq=i)
    writer.flush()
    flushed = path.read_bytes()
    for i in range(100, 200):
        writer.append("publish", seq=i)
    writer.flush()
    # What a SIGKILL between the two flushes leaves, and one cut inside the second block.
    killed, cut = tmp_path / "killed", tmp_path / "cut"
    killed.write_bytes(flushed)
    cut.write_bytes(path.read_bytes()[:len(flushed) + 7])
    writer.close()
    assert [e["seq"] for e in read_journal(killed, schema=False)] == list(range(100))
    assert [e["seq"] for e in read_journal(cut, schema=False)][:100] == list(range(100))
    assert [e["seq"] for e in read_journal(path, schema=False)] == list(range(200))


def test_form_is_told_by_content_not_name(tmp_path):
    path = tmp_path / "journal.jsonl"  # zstd content under the plain name
    writer = JournalWriter(path, Clock(), codec="zstd")
    writer.append("run_start")
    writer.close()
    assert [e["kind"] for e in read_journal(path, schema=False)] == ["run_start"]


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_corrupt_compressed_journal_is_an_error(tmp_path, codec):
    path = journal_path(tmp_path, codec)
    write(path, codec, 1000)
    data = bytearray(path.read_bytes())
    data[20:60] = b"\xff" * 40
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError, match="corrupt"):
        read_journal(path, schema=False)


def test_unknown_codec_is_refused(tmp_path):
    with pytest.raises(ValueError, match="plain, zstd, gzip"):
        JournalWriter(tmp_path / "j", Clock(), codec="lz4")


SCENARIO = """
name: rate
cluster: {nodes: 2}
workload:
  publish: {rate: RATE, channels: 2}
  subscribe: {per_node: 2, spread: SPREAD}
phases: [{name: steady, duration: 1s}]
expect: ["steady: publish.success_rate >= 0.99"]
"""


@pytest.mark.parametrize("rate, spread, events_per_s, codec", [
    (20, "false", 100, "plain"),     # today's scenarios: 20 publishes, 4 receipts each
    (200, "false", 1000, "zstd"),
    (200, "true", 600, "plain"),     # spread: each publish reaches half the subscribers
])
def test_auto_compresses_at_high_declared_rates(rate, spread, events_per_s, codec):
    from harness.journal_codec import choose
    from harness.runner import declared_events_per_s
    from harness.scenario import loads
    scenario = loads(SCENARIO.replace("RATE", str(rate)).replace("SPREAD", spread))
    assert declared_events_per_s(scenario) == events_per_s
    assert choose("auto", events_per_s) == codec
    assert choose("gzip", events_per_s) == "gzip"
