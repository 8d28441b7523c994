"""Helpers of the game day tests: `harness gameday` in a subprocess, read as a person reads it."""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness.cluster.cluster import LABEL_RUN, remove_labelled


def chromium():
    """Headless Chromium that reaches 127.0.0.1 only: anything else goes to a dead proxy."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1500",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-extensions", "--disable-default-apps", "--proxy-server=http://127.0.0.1:9"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)


def until(what: str, check, timeout: float):
    """Poll `check()` until it returns something truthy; AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # an element being re-rendered: try again
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, f"the page never showed {what}"
        time.sleep(0.2)  # poll


class GameDayProcess:
    """`harness gameday` in a subprocess; its stderr collected line by line by a thread."""

    def __init__(self, out: Path, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "harness", "gameday", "--out", str(out), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.stdout = ""
        self.project: str | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for text in self.proc.stderr:
            self.lines.append(text.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        """The first stderr line matching `pattern`, polled until `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            for text in list(self.lines):
                if m := re.search(pattern, text):
                    return m
            assert self.proc.poll() is None, "the game day ended early:\n" + "\n".join(self.lines[-30:])
            assert time.monotonic() < deadline, f"no line matching {pattern!r}:\n" + "\n".join(self.lines[-30:])
            time.sleep(0.1)  # poll

    def started(self) -> str:
        """The page URL once the game day is up and its load settled (its project in `self.project`)."""
        self.project = self.wait_for(r"starting cluster (hx-\w+)", 30)[1]
        self.wait_for(r"game day hx-\w+:", 180)
        url = self.wait_for(r"live page: (http://127\.0\.0\.1:\d+/\?token=\S+)", 30)[1]
        self.wait_for(r"publish +\d+/\d+ +ok 100\.0%", 30)   # load flowing and settled
        return url

    def stop(self, timeout: float = 120) -> int:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout)
        self.stdout = self.proc.stdout.read()   # the final table: small, no pipe filled while waiting
        self._reader.join(10)
        return self.proc.returncode

    def ensure_stopped(self) -> None:
        """Whatever failed: the game day ended (SIGINT, then SIGKILL) and its cluster removed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        if self.project:
            remove_labelled({LABEL_RUN: self.project.removeprefix("hx-")})

