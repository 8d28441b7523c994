"""The game day's control socket and desk: requests from other terminals land in the journal, bad ones
are refused with exit status 2 and leave nothing behind."""
import asyncio
import stat
import threading

import pytest

from harness import cli
from harness.gameday import control
from tests.unit.gameday_kit import desk_on, kinds
from harness.journal import read_journal


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HX_STATE_DIR", str(tmp_path / "state"))


def test_note_inject_revert_and_status_over_the_socket(tmp_path):
    async def scenario():
        async with desk_on(tmp_path) as desk:
            server = control.ControlServer("hx-unit", desk)
            await server.start()
            try:
                assert stat.S_IMODE(server.path.stat().st_mode) == 0o600
                by = {"user": "alice", "host": "laptop"}
                note = await control.request("unit", {"op": "note", "text": " paged   on-call ", "by": by})
                bad_kind = await control.request("hx-unit", {"op": "inject", "fault": {"kind": "latncy"}, "by": by})
                bad_target = await control.request("unit", {"op": "inject", "by": by,
                                                            "fault": {"kind": "latency", "target": "node9.redis"}})
                unknown = await control.request("unit", {"op": "revert", "name": "nope", "by": by})
                bad_op = await control.request("unit", {"op": "explode"})
                status = await control.request("unit", {"op": "status"})
                # Valid, but the cluster is not there: the fault fails, and so does its revert: it stays
                # active, for the game day's end to try again.
                failing = await control.request("unit", {"op": "inject", "fault": {"kind": "latency", "target": "redis", "latency": 100},
                                                         "by": by}, timeout=30)
            finally:
                await server.stop()
            assert not server.path.exists()
            return note, bad_kind, bad_target, unknown, bad_op, status, failing, list(desk.active)

    note, bad_kind, bad_target, unknown, bad_op, status, failing, active = asyncio.run(scenario())
    assert note["ok"] and note["text"] == "paged on-call"
    assert (bad_kind["ok"], bad_kind["status"]) == (False, 2) and "unknown fault kind 'latncy'" in bad_kind["error"]
    assert bad_target["status"] == 2 and "node9.redis" in bad_target["error"]
    assert unknown["status"] == 2 and "no active fault 'nope'" in unknown["error"]
    assert bad_op["status"] == 2 and "unknown operation" in bad_op["error"]
    assert status["ok"] and "latency" in [k["name"] for k in status["kinds"]] and status["active"] == []
    assert (failing["ok"], failing["status"]) == (False, 3) and [f.spec.name for f in active] == ["latency"]
    events = read_journal(tmp_path / "journal.jsonl")[1:]
    assert [e["kind"] for e in events] == ["note", "fault_injected", "fault_failed", "fault_revert_failed"]
    assert events[0] == {**events[0], "text": "paged on-call", "user": "alice", "host": "laptop", "via": "cli"}
    assert events[1]["by"] == {"user": "alice", "host": "laptop", "via": "cli"} and events[1]["fault"] == "latency"


def test_no_game_day_no_socket():
    with pytest.raises(control.NoGameDay):
        asyncio.run(control.request("hx-none", {"op": "note", "text": "x"}))


def test_harness_note_from_another_terminal(tmp_path, capsys):
    """`harness note` (the real CLI entry) reaches a game day serving in another thread."""
    ready, stop = threading.Event(), threading.Event()

    def serve():
        async def main():
            async with desk_on(tmp_path) as desk:
                server = control.ControlServer("hx-unit", desk)
                await server.start()
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.02)  # poll the test's stop flag
                await server.stop()
        asyncio.run(main())

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert ready.wait(10)
        assert cli.main(["note", "--project", "hx-unit", "paged", "on-call"]) == 0
        assert cli.main(["fault", "inject", "latency", "--project", "unit", "--target", "node9.redis"]) == 2
        assert cli.main(["fault", "revert", "--project", "unit", "nope"]) == 2
    finally:
        stop.set()
        thread.join(10)
    out, err = capsys.readouterr()
    assert "noted at" in out and "paged on-call" in out
    assert "fault inject: target: unknown target 'node9.redis'" in err and "fault revert: no active fault 'nope'" in err
    assert kinds(tmp_path) == ["note"]


def test_note_without_a_game_day_is_bad_input(capsys):
    assert cli.main(["note", "--project", "hx-none", "hello"]) == 2
    assert "no game day is running on hx-none" in capsys.readouterr().err


def test_menu_items_are_injected_by_name(tmp_path):
    from harness.faults.catalog import validate_fault
    spec = validate_fault({"kind": "latency", "target": "redis", "latency": 50, "name": "redis-slow"}, 2, "x")

    async def scenario():
        async with desk_on(tmp_path, {"redis-slow": spec}) as desk:
            with pytest.raises(ValueError, match="no fault 'nope' on the menu; it has: redis-slow"):
                desk.spec({"menu": "nope"})
            return desk.spec({"menu": "redis-slow"}), desk.catalogue()["menu"]

    chosen, menu = asyncio.run(scenario())
    assert chosen == spec and menu == [spec.to_json()]
