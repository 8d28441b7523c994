"""compose/redis/healthcheck.sh (the redis service's Docker healthcheck) run for real against a host
redis-server: only a PONG passes, as a client reaches Redis (port, password); once passed for this Redis
process, a probe asks Redis nothing more, until the process is another one (a restart)."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import redis

from nodekit import REDIS_SERVER, ROOT, free_port, wait_until

pytestmark = pytest.mark.node

HEALTHCHECK = ROOT / "compose" / "redis" / "healthcheck.sh"
PASSWORD = "s3cret"


@pytest.fixture
def server(tmp_path):
    port = free_port()
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir",
                             str(tmp_path), "--requirepass", PASSWORD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, password=PASSWORD, decode_responses=True, socket_timeout=2)
    try:
        wait_until(client.ping, 10, "redis-server")
        yield port, proc.pid, client
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


def probe(tmp_path: Path, pid: int, idle_s: str = "0", **env: str) -> tuple[int, str]:
    """One healthcheck run: its exit code and output."""
    out = subprocess.run(["sh", str(HEALTHCHECK)], capture_output=True, text=True, timeout=20,
                         env={"PATH": os.environ["PATH"], "HX_REDIS_HEALTH_PID": str(pid), "HX_REDIS_HEALTH_IDLE_S": idle_s,
                              "HX_REDIS_HEALTH_FILE": str(tmp_path / "answered"), **env})
    return out.returncode, (out.stdout + out.stderr).strip()


def asked(client: redis.Redis) -> tuple[int, int]:
    """What Redis has seen from outside this client: connections and error replies."""
    stats = client.info("stats")
    return stats["total_connections_received"], stats.get("total_error_replies", 0)


def test_only_a_pong_passes_and_an_error_reply_is_asked_again_only_after_the_idle_sleep(server, tmp_path):
    port, pid, client = server
    before = asked(client)
    # redis-cli itself exits 0 on an error reply: the script must not.
    code, output = probe(tmp_path, pid, REDIS_PORT=str(port))
    assert code == 1 and output.startswith("NOAUTH")
    began = time.monotonic()
    code, output = probe(tmp_path, pid, idle_s="0.3", REDIS_PORT=str(port), REDIS_PASSWORD="wrong")
    assert code == 1 and "NOAUTH" in output
    assert time.monotonic() - began >= 0.3        # after an error reply a probe waits before asking
    assert asked(client) == (before[0] + 2, before[1] + 3)   # one connection each; AUTH failed, 2 PINGs refused
    assert probe(tmp_path, pid, REDIS_PORT=str(port), REDIS_PASSWORD=PASSWORD) == (0, "PONG")


def test_a_redis_not_listening_yet_is_waited_for_within_the_probe(tmp_path):
    port = free_port()
    env = {"REDIS_PORT": str(port)}
    began = time.monotonic()
    code, output = probe(tmp_path, os.getpid(), **env)
    assert code == 1 and "Could not connect" in output
    assert time.monotonic() - began >= 59 * 0.05          # 60 tries, 50 ms apart
    # A Redis that starts while the probe asks: found by the same probe.
    waiting = subprocess.Popen(["sh", str(HEALTHCHECK)], stdout=subprocess.PIPE, text=True, env={
        "PATH": os.environ["PATH"], "HX_REDIS_HEALTH_PID": str(os.getpid()), "HX_REDIS_HEALTH_FILE": str(tmp_path / "answered"), **env})
    try:
        server = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
                                  stdout=subprocess.DEVNULL)
        try:
            assert waiting.communicate(timeout=10)[0].strip() == "PONG" and waiting.returncode == 0
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()


def test_once_answered_a_probe_asks_redis_nothing_until_the_process_is_another(server, tmp_path):
    port, pid, client = server
    env = {"REDIS_PORT": str(port), "REDIS_PASSWORD": PASSWORD}
    assert probe(tmp_path, pid, **env) == (0, "PONG")
    before = asked(client)
    began = time.monotonic()
    assert probe(tmp_path, pid, idle_s="0.3", **env) == (0, "")
    assert time.monotonic() - began >= 0.3        # the idle probe spaces Docker's probes out
    assert asked(client) == before
    # Another process start (a restarted container's Redis): asked again.
    (tmp_path / "answered").write_text("1\n")
    assert probe(tmp_path, pid, **env) == (0, "PONG")
    assert asked(client)[0] == before[0] + 1
