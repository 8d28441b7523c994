"""compose/redis/entrypoint.sh run for real (host redis-server): env vars become config, bad ones are loud."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis

from nodekit import ROOT, free_port, wait_until

pytestmark = pytest.mark.node

ENTRYPOINT = ROOT / "compose" / "redis" / "entrypoint.sh"


def run_entrypoint(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(["sh", str(ENTRYPOINT)], env={"PATH": os.environ["PATH"], **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def invalid_lines(stderr: str) -> list[str]:
    return [json.loads(line)["message"] for line in stderr.splitlines()
            if line.startswith("{") and json.loads(line).get("event") == "redis_env_invalid"]


def test_env_becomes_redis_config():
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        proc = run_entrypoint({"REDIS_PORT": str(port), "REDIS_BIND": "127.0.0.1", "REDIS_DIR": data,
                               "REDIS_MAXMEMORY": "10mb", "REDIS_MAXMEMORY_POLICY": "allkeys-lru",
                               "REDIS_SAVE": "60 100", "REDIS_PASSWORD": "s3cret"})
        try:
            client = redis.Redis(port=port, password="s3cret", decode_responses=True, socket_timeout=1)
            wait_until(client.ping, 10, "redis started by the entrypoint")
            assert client.config_get("maxmemory")["maxmemory"] == str(10 * 1024 * 1024)
            assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
            assert client.config_get("save")["save"] == "60 100"
            assert Path(client.config_get("dir")["dir"]).resolve() == Path(data).resolve()
            with pytest.raises(redis.exceptions.ResponseError, match="WRONGPASS"):
                redis.Redis(port=port, password="wrong", socket_timeout=1).ping()
            client.close()
        finally:
            proc.terminate()
            _, stderr = proc.communicate(timeout=10)
    assert invalid_lines(stderr) == []
    start = [json.loads(line) for line in stderr.splitlines() if '"redis_start"' in line][0]
    assert start["password"] is True and "s3cret" not in stderr


@pytest.mark.parametrize("env, needle", [
    ({"REDIS_MAXMEMORY_POLICY": "evict-everything"}, "REDIS_MAXMEMORY_POLICY=evict-everything"),
    ({"REDIS_SAVE": "sometimes"}, "REDIS_SAVE=sometimes"),
    ({"REDIS_PORT": "70000"}, "REDIS_PORT=70000 is out of range"),
    ({"REDIS_DIR": "/nonexistent/hx"}, "REDIS_DIR=/nonexistent/hx does not exist"),
])
def test_invalid_values_are_logged_and_redis_fails(env, needle):
    with tempfile.TemporaryDirectory() as data:
        proc = run_entrypoint({"REDIS_PORT": str(free_port()), "REDIS_BIND": "127.0.0.1", "REDIS_DIR": data, **env})
        try:
            _, stderr = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=5)
    assert any(needle in line for line in invalid_lines(stderr)), stderr
    assert proc.returncode != 0  # passed on unchanged, so Redis refuses it as it would in production
