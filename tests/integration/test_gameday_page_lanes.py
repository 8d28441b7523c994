"""The live page's alert lanes in headless Chromium, fed hand-made alert transitions (no cluster: the
page server runs over a desk without one, in a thread, and is pushed samples as a game day pushes them)."""
from __future__ import annotations

import asyncio
import threading

import pytest

from harness.gameday.live import LiveView
from harness.gameday.page import LivePage
from tests.integration.gameday_kit import chromium, until
from tests.unit.gameday_kit import desk_on

pytestmark = pytest.mark.integration
pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

ALERT = {"alert": "RedisCacheErrors", "labels": {"instance": "node1:8080"}}
SCRIPT = {2: ("alert_pending", {}), 4: ("alert_firing", {}), 5: ("alert_notified", {"status": "firing"}),
          9: ("alert_resolved", {})}


def serve(tmp_path, ready: dict, stop: threading.Event) -> None:
    async def main():
        async with desk_on(tmp_path) as desk:
            live = LiveView()
            page = LivePage(desk, live, "lanes")
            ready["url"] = await page.start()
            ready["event"].set()
            sent, t = 0, 0
            while not stop.is_set():
                t += 1
                if t in SCRIPT:
                    kind, extra = SCRIPT[t]
                    live.feed({"t": float(t), "kind": kind, **ALERT, **extra})
                sample = live.sample(float(t))
                page.push("sample", {"sample": sample, "markers": live.markers_since(sent)})
                sent = live.marked
                await asyncio.sleep(0.2)  # poll: a compressed game day, five seconds a second
            await page.stop()
    asyncio.run(main())


def test_alert_lanes_on_the_live_page(tmp_path):
    ready, stop = {"event": threading.Event()}, threading.Event()
    server = threading.Thread(target=serve, args=(tmp_path, ready, stop))
    server.start()
    driver = None
    try:
        assert ready["event"].wait(10)
        driver = chromium()
        driver.get(ready["url"])
        svg = lambda: driver.find_element(By.ID, "chart-alerts")
        until("the alert's name in its lane", lambda: "RedisCacheErrors" in svg().get_attribute("innerHTML"), 15)
        until("a firing span", lambda: svg().find_elements(By.CSS_SELECTOR, 'rect[fill="#c0392b"]'), 15)
        until("a pending span", lambda: svg().find_elements(By.CSS_SELECTOR, 'rect[fill="#f5b041"]'), 5)
        until("the notification", lambda: svg().find_elements(By.CSS_SELECTOR, "path"), 5)
        until("the alert resolved (no tag left)", lambda: driver.find_element(By.ID, "alerts").text == "none", 15)
        until("the resolution in the timeline", lambda: any(
            "resolved" in x and "RedisCacheErrors" in x for x in driver.find_element(By.ID, "markers").text.splitlines()), 5)
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == [], errors
    finally:
        if driver is not None:
            driver.quit()
        stop.set()
        server.join(15)
