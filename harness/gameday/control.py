"""The game day's control socket: how `harness fault inject|revert` and `harness note` in another
terminal reach a running game day, so their actions land in its journal.

A Unix socket `<state dir>/<project>.sock` (the state dir of faults/manual.py), mode 0600: only the
user who runs the game day can connect; no TCP port, nothing another machine or a web page can reach.
One request a connection: a JSON line `{"op": "inject"|"revert"|"note"|"status", ..., "by": {user,
host}}`, answered by a JSON line `{"ok": true, ...}` or `{"ok": false, "status": 2|3, "error": "..."}`
(2: bad input; 3: the fault or the cluster failed). Every append to the journal happens in the game
day's own process, in its event loop: appends from many terminals never interleave.
"""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from harness.faults.manual import state_dir
from harness.gameday.desk import FaultDesk, clean_by

MAX_REQUEST = 1 << 16
BAD_INPUT, FAILED = 2, 3


class NoGameDay(Exception):
    """No game day listens for this project."""


def project_name(project: str) -> str:
    """`hx-<run id>` from a project or run id as the user typed it."""
    return f"hx-{project.removeprefix('hx-')}"


def socket_path(project: str) -> Path:
    return state_dir() / f"{project_name(project)}.sock"


async def handle(desk: FaultDesk, request: dict[str, Any]) -> dict[str, Any]:
    """Carry out one request on the desk; the answer to send back."""
    op = request.get("op")
    by = clean_by(request.get("by"), "cli")
    try:
        if op == "inject":
            fault = request.get("fault")
            if not isinstance(fault, dict):
                raise ValueError("fault: expected a mapping with kind, target and parameters")
            return {"ok": True, **await desk.inject(fault, by)}
        if op == "revert":
            name = request.get("name")
            return {"ok": True, "reverted": await desk.revert(None if name is None else str(name), by)}
        if op == "note":
            return {"ok": True, **desk.note(str(request.get("text") or ""), by)}
        if op == "status":
            return {"ok": True, **desk.catalogue()}
        raise ValueError(f"op: unknown operation {op!r}; allowed: inject, revert, note, status")
    except ValueError as exc:
        return {"ok": False, "status": BAD_INPUT, "error": str(exc)}
    except Exception as exc:  # the fault or the cluster failed: the game day goes on
        return {"ok": False, "status": FAILED, "error": f"{type(exc).__name__}: {exc}"}


class ControlServer:
    """Serves the control socket of one game day."""

    def __init__(self, project: str, desk: FaultDesk) -> None:
        self.path = socket_path(project)
        self.desk = desk
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)  # a killed game day's leftover: its project is gone
        old = os.umask(0o177)              # created 0600: no window where others could connect
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_REQUEST)
        finally:
            os.umask(old)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError
            except ValueError:
                answer = {"ok": False, "status": BAD_INPUT, "error": "not a JSON request line"}
            else:
                answer = await handle(self.desk, request)
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # a client that went away or sent too much: nothing to answer
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.path.unlink(missing_ok=True)


async def request(project: str, payload: dict[str, Any], timeout: float = 300.0) -> dict[str, Any]:
    """Send one request to the game day of `project`; NoGameDay when none listens."""
    path = socket_path(project)
    try:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=MAX_REQUEST)
    except (FileNotFoundError, ConnectionRefusedError):
        raise NoGameDay(f"no game day is running on {project_name(project)} (no {path})") from None
    try:
        writer.write(json.dumps(payload).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
    if not line:
        raise ConnectionError(f"the game day on {project_name(project)} closed the connection without an answer")
    return json.loads(line)
