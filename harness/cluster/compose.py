"""Running the Compose CLI: Compose v2 (`docker compose`) when present, else docker-compose v1."""
from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from harness.cluster.paths import COMPOSE_FILE


class ComposeError(Exception):
    """A compose command failed; the message carries its output tail."""


@functools.lru_cache(maxsize=1)
def compose_command() -> tuple[str, ...]:
    """The Compose CLI of this machine; v1 and v2 differ in names, never in labels."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    raise ComposeError("neither `docker compose` (v2) nor `docker-compose` (v1) is installed")


def compose(project: str, args: list[str], env: dict[str, str], timeout: float = 300,
            fragments: tuple[Path, ...] = ()) -> str:
    """Run one compose command for a project (the cluster file plus `fragments`, e.g. the system's nodes);
    returns stdout, raises ComposeError with the output tail."""
    files = [arg for path in (COMPOSE_FILE, *fragments) for arg in ("-f", str(path))]
    cmd = [*compose_command(), "-p", project, *files, *args]
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ComposeError(f"compose {' '.join(args)} (project {project}): no answer in {timeout:.0f} s") from None
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise ComposeError(f"compose {' '.join(args)} (project {project}) failed:\n{tail}")
    return result.stdout
