"""How a game day ends: Ctrl-C is its orderly end; the infrastructure watch's cancellation is not."""
import asyncio
from pathlib import Path

import pytest

from harness.cluster.cluster import Endpoints
from harness.gameday.session import GameDay, Plan, scenario
from harness.observe.infra import watched_parts


def _day(tmp_path: Path) -> GameDay:
    plan = Plan(for_s=60)
    return GameDay(scenario(plan), tmp_path, plan=plan)


async def _end(day: GameDay, ctrl_c: bool) -> str:
    ticker = asyncio.create_task(asyncio.sleep(60))  # poll: a ticker that never ends by itself
    waiting = asyncio.create_task(day._until_the_end(ticker))
    await asyncio.sleep(0)  # poll: one loop turn, and `waiting` is inside asyncio.wait
    day.interrupt_requested = ctrl_c   # the CLI sets it before cancelling; the infra watch does not
    waiting.cancel()
    try:
        return await waiting
    finally:
        ticker.cancel()


def test_ctrl_c_ends_the_game_day_in_order(tmp_path: Path):
    day = _day(tmp_path)
    assert asyncio.run(_end(day, ctrl_c=True)) == "stopped by Ctrl-C"
    assert day.stopping and not day.interrupt_requested


def test_a_cancellation_without_ctrl_c_is_not_taken_for_one(tmp_path: Path):
    # The infrastructure watch cancels the run when a part dies: the run must end as a harness error,
    # not as a game day stopped by its facilitator.
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(_end(_day(tmp_path), ctrl_c=False))


def test_parts_a_fault_by_hand_can_target_are_not_watched(tmp_path: Path):
    endpoints = Endpoints("hx-x", "x", [], [], toxiproxy="http://127.0.0.1:1", prometheus="http://127.0.0.1:2",
                          alertmanager="http://127.0.0.1:3", alertsink="http://127.0.0.1:4")
    watched = watched_parts(endpoints, _day(tmp_path)._targeted())
    assert set(watched) == {"prometheus", "alertmanager", "alertsink"}   # pausing Toxiproxy is an experiment
