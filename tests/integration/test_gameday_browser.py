"""The live page in real headless Chromium (Debian's chromium and chromium-driver): it loads with no
console errors, its numbers and probes update live, a latency fault injected from its form is confirmed and the
delivery latency rises, reverting it brings the latency back. A screenshot of the page is kept in
runs/artifacts/gameday-live-page.png."""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from harness.journal import read_journal
from tests.integration.gameday_kit import GameDayProcess, chromium, until

pytestmark = pytest.mark.integration
pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "runs" / "artifacts"
SMOKE = ROOT / "scenarios" / "smoke.yaml"      # its fault offered as a menu
LATENCY_MS = 400


def number(driver, element_id: str) -> float | None:
    text = driver.find_element(By.ID, element_id).get_attribute("data-value")
    return float(text) if text else None


def test_the_live_page_in_headless_chromium(images, tmp_path):
    env = {**os.environ, "HX_STATE_DIR": str(tmp_path / "state")}
    gameday = GameDayProcess(tmp_path / "out", env, "--nodes", "2", "--for", "10m", "--rate", "20",
                             "--faults", str(SMOKE))
    driver = None
    try:
        url = gameday.started()
        driver = chromium()
        driver.get(url)
        assert "token=" not in driver.current_url          # traded for a cookie, dropped from the address bar
        until("a live connection", lambda: driver.find_element(By.ID, "status").text == "live", 20)

        # Numbers update live: the clock moves and publishes are counted each second.
        first = until("a first sample", lambda: driver.find_element(By.ID, "clock").text.split(" ")[0], 10)
        until("the clock moving", lambda: driver.find_element(By.ID, "clock").text.split(" ")[0] != first, 5)
        assert until("publishes counted", lambda: number(driver, "pub-success"), 10) == 100.0
        baseline = []
        while len(baseline) < 4:
            seen = driver.find_element(By.ID, "clock").text
            until("the next sample", lambda: driver.find_element(By.ID, "clock").text != seen, 5)
            if (p50 := number(driver, "lat-p50")) is not None:
                baseline.append(p50)
        before = statistics.median(baseline)

        until("the system's probes", lambda: "ready node1 ok" in driver.find_element(By.ID, "probes").text, 10)
        menu = driver.find_element(By.CSS_SELECTOR, 'button.menu[data-name="latency-1"]')
        assert menu.text == "latency-1 (latency on redis)"

        # A note from the page.
        driver.find_element(By.ID, "note-text").send_keys("watching the latency plot")
        driver.find_element(By.ID, "note-btn").click()
        until("the note confirmed", lambda: "watching the latency plot" in driver.find_element(By.ID, "confirm").text, 10)

        # Inject latency from the form: confirmed, then the plot and the p50 rise.
        Select(driver.find_element(By.ID, "kind")).select_by_value("latency")
        Select(driver.find_element(By.ID, "target")).select_by_value("redis")
        latency = driver.find_element(By.ID, "param-latency")
        latency.clear()
        latency.send_keys(str(LATENCY_MS))
        driver.find_element(By.ID, "inject-btn").click()
        confirm = until("the confirmation", lambda: driver.find_element(By.ID, "confirm").text.startswith("injected")
                        and driver.find_element(By.ID, "confirm").text, 30)
        assert confirm.startswith("injected latency (latency on redis): ")
        until("the fault listed as confirmed", lambda: driver.find_element(
            By.CSS_SELECTOR, '#active-faults li[data-name="latency"]').get_attribute("data-state") == "confirmed", 10)
        # Under a loaded machine the baseline is noisy; the toxic adds its delay on top of whatever it is.
        threshold = before + LATENCY_MS / 2
        high = until("the latency rising", lambda: (v := number(driver, "lat-p50")) and v >= max(LATENCY_MS, threshold)
                     and v, 30)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "gameday-live-page.png"))
        polyline = driver.find_elements(By.CSS_SELECTOR, "#chart-latency polyline")
        assert polyline, "the latency plot draws nothing"

        # Revert from the page: the latency comes back.
        driver.find_element(By.CSS_SELECTOR, 'button.revert[data-name="latency"]').click()
        until("the revert confirmed", lambda: driver.find_element(By.ID, "confirm").text == "reverted: latency", 30)
        until("the latency back", lambda: (v := number(driver, "lat-p50")) is not None and v < threshold, 30)
        until("no active fault", lambda: driver.find_element(By.ID, "active-faults").text == "none", 5)

        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == [], errors
        status = gameday.stop()
    finally:
        if driver is not None:
            driver.quit()
        gameday.ensure_stopped()
    assert status == 0, "\n".join(gameday.lines[-30:])
    events = read_journal(tmp_path / "out" / "gameday" / "journal.jsonl")
    steps = [(e["kind"], e["by"]["via"]) for e in events if e["kind"].startswith("fault_")]
    assert steps == [("fault_injected", "page"), ("fault_confirmed", "page"), ("fault_reverted", "page")]
    [note] = [e for e in events if e["kind"] == "note"]
    assert (note["text"], note["via"]) == ("watching the latency plot", "page")
    [opened] = [e for e in events if e["kind"] == "gameday_open"]
    assert [m["name"] for m in opened["menu"]] == ["latency-1"]
    print(f"delivery p50 before {before:.0f} ms, with {LATENCY_MS} ms on redis {high:.0f} ms; "
          f"screenshot {ARTIFACTS / 'gameday-live-page.png'}")
