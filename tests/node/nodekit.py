"""Helpers of the node tests: start a real redis-server, the upstream registry and pub/sub nodes as host
processes on free 127.0.0.1 ports, and wait for conditions. No Docker, no mocks.

(A module with its own name rather than conftest, so tests can import it unambiguously.)

Synchronisation is always "poll a condition until a deadline"; a short sleep inside such a loop is
marked `# poll`.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[2]
PUBSUB_DIR = ROOT / "compose" / "pubsub"
UPSTREAM_DIR = ROOT / "compose" / "upstream"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

# The project's own client code signs requests (harness/workload/signing.py).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

APP = {"id": "100001", "key": "f3b0a1c2d4e5f60718a9", "secret": "9c1e7d3b2a4f5e6d7c8b"}
DISABLED_APP = {"id": "100002", "key": "0a1b2c3d4e5f60718293", "secret": "aa11bb22cc33dd44ee55"}

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Return the first truthy value of condition() before the deadline, else fail naming `what`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - not ready yet
            last_error = exc
        time.sleep(interval)  # poll
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last error: {last_error!r})")


@dataclass
class Proc:
    """A host process started by a fixture, with its output captured to a file for post-mortems."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=5)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start(name: str, args: list[str], cwd: Path, env: dict[str, str], log_dir: Path) -> Proc:
    log_path = log_dir / f"{name}.log"
    log_file = open(log_path, "wb")
    popen = subprocess.Popen(args, cwd=cwd, env={**os.environ, **env}, stdout=log_file,
                             stderr=subprocess.STDOUT)
    log_file.close()  # the child has its own descriptor
    return Proc(name, popen, log_path)


@dataclass
class Redis:
    proc: Proc
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis(log_dir: Path, port: int | None = None, as_nobody: bool = False) -> Redis:
    """A fresh redis-server (on `port` if given, to restart one in place), PING-ready. `as_nobody` drops
    root, so that a directory it may not write really is unwritable to it (root writes anywhere)."""
    port = port or free_port()
    drop = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if as_nobody else []
    # Its own working dir (no stray dump.rdb to load); for nobody, outside pytest's root-only tmp tree.
    data_dir = Path(tempfile.mkdtemp(prefix="hx-redis-")) if as_nobody else log_dir / f"redis-{port}-{time.monotonic_ns()}"
    data_dir.mkdir(exist_ok=True)
    data_dir.chmod(0o777)
    proc = start(data_dir.name, [*drop, REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--dir", str(data_dir),
                                 "--enable-protected-configs", "yes"], log_dir, {}, log_dir)

    def pong() -> bool:
        assert proc.popen.poll() is None, f"redis-server exited:\n{proc.output()}"
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    wait_until(pong, 10, f"redis-server on port {port}")
    return Redis(proc, port, data_dir)


@dataclass
class Node:
    proc: Proc
    port: int
    name: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


PROFILED_NODE = """
import cProfile, runpy, sys, time
out = sys.argv[1]
profiler = cProfile.Profile(time.process_time)
profiler.enable()
try:
    runpy.run_module("pubsub", run_name="__main__", alter_sys=True)
finally:
    profiler.disable()
    profiler.dump_stats(out)
"""


def start_node(name: str, redis_url: str, upstream_url: str, log_dir: Path, profile: Path | None = None,
               source: Path = PUBSUB_DIR, **env: str) -> Node:
    """A node on a free port, from `source` (another checkout's compose/pubsub to compare with); with
    `profile`, run under cProfile counting CPU time (not wall time: the machine is shared), its stats
    written there when it stops."""
    port = free_port()
    command = [PYTHON, "-c", PROFILED_NODE, str(profile)] if profile else [PYTHON, "-m", "pubsub"]
    proc = start(name, command, source, {
        "NODE_NAME": name, "PORT": str(port), "REDIS_URL": redis_url, "UPSTREAM_URL": upstream_url,
        "REDIS_TIMEOUT_S": "0.5", "UPSTREAM_TIMEOUT_S": "1.0", "PYTHONUNBUFFERED": "1", **env,
    }, log_dir)
    return Node(proc, port, name)


def start_upstream(log_dir: Path) -> tuple[Proc, str]:
    """The upstream app registry on a free port, /healthz-ready; (process, base URL)."""
    port = free_port()
    proc = start(f"upstream-{port}", [PYTHON, "-m", "upstream"], UPSTREAM_DIR,
                 {"PORT": str(port), "APPS_FILE": str(UPSTREAM_DIR / "apps.json")}, log_dir)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.popen.poll() is None, f"upstream exited:\n{proc.output()}"
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200

    try:
        wait_until(healthy, 10, "upstream /healthz")
    except BaseException:
        proc.stop()
        raise
    return proc, url


def metric(node: "Node", series: str) -> float:
    """One series' value from the node's /metrics (`name{labels}` exactly as exposed); 0 if absent."""
    for line in httpx.get(f"{node.url}/metrics", timeout=3).text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_ready(node: Node, timeout: float = 15) -> None:
    def ready() -> bool:
        assert node.proc.popen.poll() is None, f"{node.name} exited:\n{node.proc.output()}"
        return httpx.get(f"{node.url}/readyz", timeout=1.0).status_code == 200

    wait_until(ready, timeout, f"{node.name} /readyz 200")


@dataclass
class Cluster:
    redis: Redis
    upstream_url: str
    nodes: list[Node] = field(default_factory=list)


class Spawner:
    """Starts processes for one test and stops every one of them when the test ends."""

    def __init__(self, upstream_url: str, log_dir: Path) -> None:
        self.upstream_url = upstream_url
        self.log_dir = log_dir
        self.procs: list[Proc] = []
        self.dirs: list[Path] = []

    def redis(self, port: int | None = None, as_nobody: bool = False) -> Redis:
        redis = start_redis(self.log_dir, port, as_nobody)
        self.procs.append(redis.proc)
        if as_nobody:
            self.dirs.append(redis.data_dir)
        return redis

    def upstream(self) -> str:
        """A private upstream (for tests that make it fail); its base URL."""
        proc, url = start_upstream(self.log_dir)
        self.procs.append(proc)
        return url

    def node(self, redis_url: str, upstream_url: str | None = None, ready: bool = True, **env: str) -> Node:
        node = start_node(f"n{free_port()}", redis_url, upstream_url or self.upstream_url, self.log_dir, **env)
        self.procs.append(node.proc)
        if ready:
            wait_ready(node)
        return node

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)
