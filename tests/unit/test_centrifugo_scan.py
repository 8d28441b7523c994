"""The Centrifugo driver's fast path: a frame of stamped publications read by one scan must journal
exactly what the full parse of the same frame journals (or leave the frame to it), whatever the frame."""
from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.journal import Clock, JournalWriter, read_journal
from harness.workload.client import App
from harness.workload.message import Stamp, encode
from harness.workload.protocols import centrifugo
from harness.workload.protocols.centrifugo import CentrifugoConnection, stamped_publications
from harness.workload.subscriber import Subscriber


class Frames:
    """A connected socket that hands over `frames`, then ends the session; all of them are received at
    once (`messages`, as the websockets library queues them), so the driver may read several together."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = self.messages = list(frames)

    async def recv(self) -> str:
        if not self.frames:
            raise EOFError
        return self.frames.pop(0)

    async def send(self, text: str) -> None:
        pass


class Driver:
    def __init__(self, frames: list[str]) -> None:
        self.frames = frames

    @asynccontextmanager
    async def connect(self, ws_url: str, app: App, client: str, sock=None):
        yield CentrifugoConnection(Frames(self.frames), 1.0)


class Still(Clock):
    """Every event at t = 2: a frame's receipts get one time in either path."""

    def now(self) -> float:
        return 2.0


def journaled(frames: list[str], path, fast: bool = True) -> list[dict]:
    """What a subscriber journals from these frames (its receipts and errors), fast path on or off."""
    writer = JournalWriter(path, Still(mono0=0.0, wall0=1_700_000_000.0))
    writer.append("run_start", t=0.0, run_id="r", grace_s=1.0)
    subscriber = Subscriber("s1", "node1", "ws://x", App("a", "k", "s"), ["c"], writer, Driver(frames), scope="7/")

    async def session() -> None:
        try:
            await subscriber._session(1e12)
        except EOFError:
            pass
    if fast:
        asyncio.run(session())
    else:
        with mock.patch.object(centrifugo, "stamped_publications", lambda frame: None):
            asyncio.run(session())
    writer.close()
    # As text: a NaN the full parse reads (and the schema would refuse) equals itself there.
    return [json.dumps(e) for e in read_journal(path, schema=False) if e["kind"] in ("ws_receive", "ws_error")]


def publication(channel: str, data: str, offset: str = ',"offset":3', epoch: str = "") -> str:
    return f'{{"push":{{"channel":{channel},"pub":{{"data":{data}{offset}{epoch}}}}}}}'


def test_the_usual_frame_is_read_by_the_scan_and_journaled_as_the_full_parse_does(tmp_path):
    lines = [publication('"hx-load-0"', encode(Stamp("r", "p1", seq, 6842.673547 + seq))) for seq in range(1, 13)]
    frame = "\n".join(lines)
    batch = stamped_publications(frame)
    assert batch is not None and batch.channels == "hx-load-0" and batch.pubs == "p1" and len(batch.members) == 12
    fast, full = journaled([frame], tmp_path / "fast.jsonl"), journaled([frame], tmp_path / "full.jsonl", fast=False)
    assert fast == full and len(fast) == 12
    assert json.loads(fast[0])["channel"] == "7/hx-load-0" and json.loads(fast[0])["seq"] == 1


def test_frames_the_scan_takes_in_their_general_form(tmp_path):
    frames = [
        # the stream's first publication (seq 0, the epoch), padding, two channels and two publishers
        publication('"c"', encode(Stamp("r", "p1", 0, 0.5)), epoch=',"epoch":"nzoD"'),
        publication('"c"', encode(Stamp("r", "p1", 5, 1.5), padding=8)) + "\n"
        + publication('"d"', encode(Stamp("r", "p2", 6, 7))),
    ]
    assert all(stamped_publications(f) is not None for f in frames)
    assert journaled(frames, tmp_path / "fast.jsonl") == journaled(frames, tmp_path / "full.jsonl", fast=False)


TEXTS = ['"c"', '"hx-load-0"', '"a\\"b"', '"\\u00e9"', '"é"', '"x\\\\y"', '"tab\\t"', '"raw\ttab"', '"p1"', '""',
         "7", "null"]
NUMBERS = ["0", "1", "7", "-3", "01", "1.0", "1.5", "-2.5", "1e2", "1E-2", "1.", ".5", "12345678901234567890",
           "6842.673547", "12345678901234567.5", "NaN", "true", '"5"', "null", "- 1",
           "999999999", "8589934591", "8589934592", "-8589934593", "60129542144"]   # about the journal's seq range
# A publication line in parts: the canonical text of each, and what else it could be.
PARTS = {"sep": (":", [": "]), "run": ('"r"', TEXTS), "pub": ('"p1"', TEXTS), "seq": ("7", NUMBERS),
         "sent": ("1.5", NUMBERS), "extra": ("", [',"pad":"xxx"', ',"pad":"yy"', ',"more":1', ',"pad":"x\\u0078"']),
         "offset": (',"offset":3', ['', ',"offset":0', ',"offset":03', ',"tags":{}', ',"offset":3.0']),
         "epoch": ("", [',"epoch":"ab"', ',"epoch":"a\\"b"']), "channel": ('"c"', TEXTS)}


def line_of(parts: dict[str, str]) -> str:
    p = parts
    data = f'{{"run"{p["sep"]}{p["run"]},"pub"{p["sep"]}{p["pub"]},"seq"{p["sep"]}{p["seq"]},"sent"{p["sep"]}{p["sent"]}{p["extra"]}}}'
    return publication(p["channel"], data, p["offset"], p["epoch"])


CANONICAL = {name: canonical for name, (canonical, _) in PARTS.items()}
# Every line with exactly one part other than canonical.
ONE_OFF = [line_of({**CANONICAL, name: value}) for name, (_, others) in PARTS.items() for value in others]


def test_every_line_one_part_off_is_journaled_by_the_scan_as_by_the_full_parse(tmp_path):
    usual = line_of(CANONICAL)
    assert stamped_publications(usual) is not None
    taken = 0
    for k, line in enumerate(ONE_OFF):
        for frame in (line, f"{usual}\n{line}", f"{line}\n{usual}"):
            fast = journaled([frame], tmp_path / f"fast{k}.jsonl")
            assert fast == journaled([frame], tmp_path / f"full{k}.jsonl", fast=False), frame
            (tmp_path / f"fast{k}.jsonl").unlink()
            (tmp_path / f"full{k}.jsonl").unlink()
        taken += stamped_publications(line) is not None
    assert 10 < taken < len(ONE_OFF) - 10  # both ways: lines the scan takes, lines it leaves


@st.composite
def lines(draw) -> str:
    """A publication line with some parts drawn from what else they could be, or another line."""
    if draw(st.integers(0, 9)) == 0:  # not a publication at all
        return draw(st.sampled_from(['{}', '{"push":{"channel":"c","join":{"info":{}}}}', '{"id":9,"subscribe":{}}',
                                     'not json', '{"push":{"channel":"c","pub":{"data":"text"}}}']))
    off = draw(st.sets(st.sampled_from(list(PARTS)), max_size=3))
    return line_of({name: draw(st.sampled_from(PARTS[name][1])) if name in off else canonical
                    for name, canonical in CANONICAL.items()})


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.lists(lines(), min_size=1, max_size=4), st.sampled_from(["", "", "\n"])), min_size=1,
                max_size=3))
def test_any_frames_are_journaled_by_the_scan_as_by_the_full_parse(tmp_path_factory, drawn):
    frames = ["\n".join(frame_lines) + end for frame_lines, end in drawn]
    directory = tmp_path_factory.mktemp("scan")
    assert journaled(frames, directory / "fast.jsonl") == journaled(frames, directory / "full.jsonl", fast=False)


def test_frames_already_received_are_journaled_together_while_usual_and_alike(tmp_path):
    usual = [publication('"c"', encode(Stamp("r", "p1", seq, 1.5))) for seq in range(1, 8)]
    other = publication('"d"', encode(Stamp("r", "p1", 9, 1.5)))
    frames = [usual[0] + "\n" + usual[1], usual[2], other, usual[3], "{}", usual[4] + "\n" + usual[5], usual[6]]
    assert journaled(frames, tmp_path / "fast.jsonl") == journaled(frames, tmp_path / "full.jsonl", fast=False)
    records = [r for r in map(json.loads, (tmp_path / "fast.jsonl").read_text().splitlines()) if r["kind"] == "ws_receipts"]
    assert [(r["channel"], [x["seq"] for x in r["receipts"]]) for r in records] == [
        ("7/c", [1, 2, 3]), ("7/d", [9]), ("7/c", [4]), ("7/c", [5, 6, 7])]


def test_the_scan_takes_only_what_the_full_parse_reads_the_same(tmp_path):
    usual = publication('"c"', encode(Stamp("r", "p1", 1, 1.5)))
    assert stamped_publications(usual) is not None
    for k, frame in enumerate((
            usual + "\n", usual + "\n{}", usual.replace('"seq":1', '"seq":01'), usual.replace("1.5", "1e2"),
            usual.replace('"c"', '"a\\"b"'), usual.replace("}}}", "}} }"), usual.replace('"p1"', '"p\\u0031"'),
            "x" + usual, usual + "\n " + usual, usual + "\n" + usual + usual, usual + "\r\n" + usual)):
        assert stamped_publications(frame) is None, frame
        assert journaled([frame], tmp_path / f"fast{k}") == journaled([frame], tmp_path / f"full{k}", fast=False)
