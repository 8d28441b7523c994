"""TCP connections made inside a container's network namespace, to 127.0.0.1 there.

A slow reader has to meet the node's own send buffer. Through Docker's port proxy (docker-proxy) or
Toxiproxy, megabytes of their socket buffers sit in between: a paused reader was closed only after
6–7 MB, not near the node's 1 MiB limit. Aiming at the container's address on the bridge would send
traffic to an address other than 127.0.0.1; instead the socket is made in the container's network
namespace (setns(2), as `nsenter --net` does; needs root) and connects to 127.0.0.1 there: loopback
traffic inside the container, the connected socket handed back to this process.
"""
from __future__ import annotations

import ctypes
import os
import socket
import threading

import docker

from harness.cluster.cluster import ClusterError
from harness.cluster.start import LABEL_PROJECT, LABEL_SERVICE

CLONE_NEWNET = 0x40000000
RECEIVE_BUFFER = 64 * 1024  # bytes; the kernel doubles it for its bookkeeping


def container_pid(project: str, service: str) -> int:
    """The main process of a project's running service container (looked up each time: faults re-create)."""
    client = docker.from_env()
    try:
        found = client.containers.list(filters={"label": [f"{LABEL_PROJECT}={project}", f"{LABEL_SERVICE}={service}"]},
                                       ignore_removed=True)
        pid = found[0].attrs["State"]["Pid"] if found else 0
    finally:
        client.close()
    if not pid:
        raise ConnectionError(f"project {project}: no running {service}")
    return pid


def connect_inside(project: str, service: str, port: int, timeout: float = 5.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:`port` in the network namespace of a project's service container.

    ConnectionError (OSError) when the container is not running or refuses; ClusterError when this process
    may not enter the namespace (not root)."""
    pid = container_pid(project, service)
    made: dict[str, object] = {}

    def enter_and_connect() -> None:
        # A thread of its own: setns moves only the calling thread, and this one ends right after.
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        except OSError as exc:
            os.close(own)
            made["error"] = ConnectionError(f"{service} (pid {pid}) is gone: {exc}")
            return
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                made["error"] = ClusterError(f"cannot enter {service}'s network namespace: "
                                             f"{os.strerror(ctypes.get_errno())} (slow readers need root)")
                return
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                # A fixed, small receive buffer (set before connecting: it also fixes the window): what a
                # paused reader leaves unread is then held by the node, not by the kernel on its side.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
                sock.settimeout(timeout)
                try:
                    sock.connect(("127.0.0.1", port))
                except OSError:
                    sock.close()
                    raise
                made["socket"] = sock
            except OSError as exc:
                made["error"] = exc
            finally:
                libc.setns(own, CLONE_NEWNET)
        finally:
            os.close(target)
            os.close(own)

    thread = threading.Thread(target=enter_and_connect, name=f"hx-inside-{service}")
    thread.start()
    thread.join()
    if "error" in made:
        raise made["error"]  # type: ignore[misc]
    sock = made["socket"]
    assert isinstance(sock, socket.socket)
    sock.settimeout(None)  # asyncio takes it over
    return sock
