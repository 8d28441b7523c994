"""The alert sink (compose/alertsink) as a process on 127.0.0.1: stamps, keeps and pages webhooks."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from harness.cluster.cluster import free_ports
from harness.cluster.paths import COMPOSE_DIR

WEBHOOK = {"version": "4", "status": "firing", "receiver": "sink", "groupKey": "{}:{alertname=\"A\"}",
           "alerts": [{"status": "firing", "labels": {"alertname": "A"}, "annotations": {},
                       "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "f"}]}


@pytest.fixture
def sink():
    [port] = free_ports(1)
    proc = subprocess.Popen([sys.executable, "-m", "alertsink"], cwd=COMPOSE_DIR / "alertsink",
                            env=dict(os.environ, HOST="127.0.0.1", PORT=str(port)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    with httpx.Client(timeout=2, trust_env=False) as http:
        try:
            while True:
                try:
                    http.get(f"{url}/healthz")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "sink exited"
                    assert time.monotonic() < deadline, "alert sink did not start in 10 s"
                    time.sleep(0.05)  # poll
            yield url, http
        finally:
            proc.terminate()
            proc.wait(5)


def test_webhooks_are_stamped_on_arrival_and_paged(sink):
    url, http = sink
    before = time.time()
    assert http.post(f"{url}/hook", json=WEBHOOK).status_code == 200
    assert http.post(f"{url}/hook", content=b"not json").status_code == 200   # always 200: no retries
    first = http.get(f"{url}/notifications").json()
    assert first["next"] == 2 and [n["index"] for n in first["notifications"]] == [0, 1]
    assert first["notifications"][0]["body"] == WEBHOOK
    assert before <= first["notifications"][0]["arrived"] <= time.time()
    assert first["notifications"][1]["body"] == {"unparsed": "not json"}
    assert http.get(f"{url}/notifications?since=2").json()["notifications"] == []
    assert http.get(f"{url}/notifications?since=x").status_code == 400
