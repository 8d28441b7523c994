"""Building the cluster's images with no registry, tagged by a hash of their inputs.

Offline (default): a Debian 12 base from packages (`mmdebstrap | docker import`), the real Toxiproxy
and the real Centrifugo built from source with `go install` into FROM scratch images, the node, upstream, Redis and alert
sink images on the base, and Prometheus, Alertmanager and redis_exporter on an image adding Debian's
packages to the base (`apt-get install` during `docker build`). `from_registry=True` builds the same Dockerfiles from official images instead.
An image whose tag (hash of its inputs) already exists is not rebuilt.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker

from harness.cluster.paths import COMPOSE_DIR

TOXIPROXY_VERSION = "v2.12.0"
TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2/cmd/server"
# Stamp the version the way Toxiproxy's release build does (it reports "git" otherwise).
TOXIPROXY_LDFLAGS = f"-s -w -X github.com/Shopify/toxiproxy/v2.Version={TOXIPROXY_VERSION.removeprefix('v')}"
CENTRIFUGO_VERSION = "v6.9.1"
CENTRIFUGO_MODULE = "github.com/centrifugal/centrifugo/v6"
# Without the stamp Centrifugo reports version 0.0.0 (its release build sets internal/build.Version).
CENTRIFUGO_LDFLAGS = f"-s -w -X {CENTRIFUGO_MODULE}/internal/build.Version={CENTRIFUGO_VERSION.removeprefix('v')}"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("HX_DEBIAN_MIRROR", "http://deb.debian.org/debian")
REGISTRY_SOURCES = {
    "base": {"PYTHON_IMAGE": "python:3.11-slim-bookworm"},
    "toxiproxy": {"TOXIPROXY_SOURCE": "ghcr.io/shopify/toxiproxy:2.12.0"},
    "centrifugo": {"CENTRIFUGO_SOURCE": "centrifugo/centrifugo:v6.9.1"},
    "redis": {"BASE": "redis:7.0-bookworm"},
    "prometheus": {"BASE": "prom/prometheus:v2.42.0"},
    "alertmanager": {"BASE": "prom/alertmanager:v0.25.0"},
    "redis-exporter": {"BASE": "oliver006/redis_exporter:v1.45.0"},
}
MONITORING_TOOLS = ("prometheus", "alertmanager", "redis-exporter")
SYSTEM_IMAGES = ("pubsub", "centrifugo")   # the systems under test the harness builds itself


class ImageError(Exception):
    """An image could not be built; the message carries the failing command's output tail."""


@dataclass(frozen=True)
class Built:
    name: str
    tag: str
    seconds: float
    cached: bool


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


def _tree_digest(directory: Path) -> str:
    """Hash of every file's relative path and content under a build context (bytecode ignored)."""
    parts: list[str | bytes] = []
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            parts += [str(path.relative_to(directory)), path.read_bytes()]
    return _digest(*parts)


def image_exists(tag: str) -> bool:
    """Whether Docker has this image locally (asked through the API: a dozen `docker image inspect`
    processes per cluster start cost real CPU on a busy machine)."""
    client = docker.from_env()
    try:
        client.api.inspect_image(tag)
        return True
    except docker.errors.ImageNotFound:
        return False
    finally:
        client.close()


def _run(cmd: list[str] | str, what: str, shell: bool = False, env: dict[str, str] | None = None,
         cwd: Path | None = None) -> None:
    result = subprocess.run(cmd, shell=shell, capture_output=True, text=True, env=env, cwd=cwd)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise ImageError(f"{what} failed (exit {result.returncode}):\n{tail}")


def _packages() -> list[str]:
    lines = (COMPOSE_DIR / "images" / "base" / "packages.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _go() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not found:
        raise ImageError("Go is needed to build Toxiproxy and Centrifugo from source and was not found (PATH, /usr/local/go/bin)")
    return found


class ImageBuilder:
    """Builds (or finds) every image; `ensure()` returns image name → tag."""

    def __init__(self, from_registry: bool = False, log=None) -> None:
        self.from_registry = from_registry
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self.built: list[Built] = []

    # --- each image ---------------------------------------------------------------------------------

    def base(self) -> str:
        if self.from_registry:
            context = COMPOSE_DIR / "images" / "base"
            return self._docker_build("base", context, REGISTRY_SOURCES["base"])
        packages = _packages()
        tag = f"hx-base:{_digest('mmdebstrap', DEBIAN_SUITE, *packages)}"
        return self._once("base", tag, lambda: self._mmdebstrap(tag, packages))

    def toxiproxy(self) -> str:
        context = COMPOSE_DIR / "toxiproxy"
        if self.from_registry:
            return self._docker_build("toxiproxy", context, REGISTRY_SOURCES["toxiproxy"])
        source = f"hx-toxiproxy-bin:{_digest(TOXIPROXY_MODULE, TOXIPROXY_VERSION, TOXIPROXY_LDFLAGS)}"
        self._once("toxiproxy-bin", source,
                   lambda: self._go_binary_image(source, TOXIPROXY_MODULE, TOXIPROXY_VERSION, TOXIPROXY_LDFLAGS, "toxiproxy"))
        return self._docker_build("toxiproxy", context, {"TOXIPROXY_SOURCE": source})

    def centrifugo(self) -> str:
        """The real Centrifugo server: `go install` from the module proxy into a FROM scratch image."""
        context = COMPOSE_DIR / "centrifugo"
        if self.from_registry:
            return self._docker_build("centrifugo", context, REGISTRY_SOURCES["centrifugo"])
        source = f"hx-centrifugo-bin:{_digest(CENTRIFUGO_MODULE, CENTRIFUGO_VERSION, CENTRIFUGO_LDFLAGS)}"
        self._once("centrifugo-bin", source,
                   lambda: self._go_binary_image(source, CENTRIFUGO_MODULE, CENTRIFUGO_VERSION, CENTRIFUGO_LDFLAGS,
                                                 "usr/local/bin/centrifugo"))
        return self._docker_build("centrifugo", context, {"CENTRIFUGO_SOURCE": source})

    def redis(self, base: str) -> str:
        args = REGISTRY_SOURCES["redis"] if self.from_registry else {"BASE": base}
        return self._docker_build("redis", COMPOSE_DIR / "redis", args)

    def service(self, name: str, base: str) -> str:
        return self._docker_build(name, COMPOSE_DIR / name, {"BASE": base})

    def monitoring(self, base: str) -> dict[str, str]:
        """Prometheus, Alertmanager and redis_exporter: offline on one image of Debian's packages."""
        if self.from_registry:
            return {name: self._docker_build(name, COMPOSE_DIR / name, REGISTRY_SOURCES[name]) for name in MONITORING_TOOLS}
        tools = self._docker_build("monitoring", COMPOSE_DIR / "images" / "monitoring", {"BASE": base})
        return {name: self._docker_build(name, COMPOSE_DIR / name, {"BASE": tools}) for name in MONITORING_TOOLS}

    def ensure(self, systems: tuple[str, ...] = SYSTEM_IMAGES) -> dict[str, str]:
        """Every image the compose file needs, with the named system images (`pubsub`, `centrifugo`),
        built if missing; independent builds run together, as many at once as there are cores (the Go
        builds of Toxiproxy and Centrifugo beside the Debian base, then every image on the base)."""
        for name in systems:
            if name not in SYSTEM_IMAGES:
                raise ImageError(f"no built-in image {name!r}; built-in system images: {', '.join(SYSTEM_IMAGES)}")
        with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
            toxiproxy = pool.submit(self.toxiproxy)
            on_go = {name: pool.submit(self.centrifugo) for name in systems if name == "centrifugo"}
            base = self.base()
            on_base = {name: pool.submit(self.service, name, base)
                       for name in ("upstream", "alertsink", *(n for n in systems if n != "centrifugo"))}
            redis, monitoring = pool.submit(self.redis, base), pool.submit(self.monitoring, base)
            return {
                "redis": redis.result(),
                "toxiproxy": toxiproxy.result(),
                **{name.replace("-", "_"): tag for name, tag in monitoring.result().items()},
                **{name: job.result() for name, job in {**on_base, **on_go}.items()},
            }

    # --- mechanics ----------------------------------------------------------------------------------

    def _once(self, name: str, tag: str, build) -> str:
        start = time.monotonic()
        if image_exists(tag):
            self.built.append(Built(name, tag, time.monotonic() - start, True))
            return tag
        self.log(f"images: building {tag} …")
        build()
        seconds = time.monotonic() - start
        self.built.append(Built(name, tag, seconds, False))
        self.log(f"images: built {tag} in {seconds:.1f} s")
        return tag

    def _docker_build(self, name: str, context: Path, args: dict[str, str]) -> str:
        flat = [f"{k}={v}" for k, v in sorted(args.items())]
        tag = f"hx-{name}:{_digest(_tree_digest(context), *flat, 'registry' if self.from_registry else 'offline')}"
        cmd = ["docker", "build", "-q", "-t", tag, "--label", "io.hx.image=true"]
        for arg in flat:
            cmd += ["--build-arg", arg]
        env = dict(os.environ)
        if not self.from_registry:
            # The classic builder uses local images for FROM without asking a registry.
            env["DOCKER_BUILDKIT"] = "0"
        return self._once(name, tag, lambda: _run(cmd + [str(context)], f"docker build {tag}", env=env))

    def _mmdebstrap(self, tag: str, packages: list[str]) -> None:
        if not shutil.which("mmdebstrap"):
            raise ImageError("mmdebstrap is not installed (scripts/setup installs it: apt-get install mmdebstrap)")
        excludes = " ".join(f"--dpkgopt='path-exclude=/usr/share/{d}/*'" for d in ("doc", "man", "locale", "info"))
        script = (f"set -o pipefail; mmdebstrap --quiet --variant=minbase --include={','.join(packages)} {excludes} "
                  f"{DEBIAN_SUITE} - {DEBIAN_MIRROR} | docker import --change 'ENV LANG=C.UTF-8' "
                  f"--change 'CMD [\"/bin/bash\"]' - {tag}")
        _run(["bash", "-c", script], f"mmdebstrap {DEBIAN_SUITE} | docker import {tag}")

    def _go_binary_image(self, tag: str, module: str, version: str, ldflags: str, path: str) -> None:
        """`go install module@version` (static, trimmed paths: Go's build cache makes a rebuild quick) and
        import the binary as a one-file image holding /<path>, where the official image has it."""
        with tempfile.TemporaryDirectory(prefix="hx-go-") as tmp:
            env = dict(os.environ, CGO_ENABLED="0", GOBIN=tmp, GOFLAGS="-trimpath")
            _run([_go(), "install", f"-ldflags={ldflags}", f"{module}@{version}"],
                 f"go install {module}@{version}", env=env)
            binary = next(Path(tmp).iterdir())
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as tar:
                parents = Path(path).parents
                for directory in reversed([p for p in parents if str(p) != "."]):
                    entry = tarfile.TarInfo(str(directory))
                    entry.type, entry.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(entry)
                info = tar.gettarinfo(str(binary), arcname=path)
                info.mode, info.uid, info.gid = 0o755, 0, 0
                with open(binary, "rb") as handle:
                    tar.addfile(info, handle)
            result = subprocess.run(["docker", "import", "-", tag], input=buffer.getvalue(), capture_output=True)
            if result.returncode != 0:
                raise ImageError(f"docker import {tag} failed: {result.stderr.decode().strip()}")


def build_all(from_registry: bool = False, log=None) -> tuple[dict[str, str], list[Built]]:
    """Build or find every image; returns (service image tags, what was done)."""
    builder = ImageBuilder(from_registry, log)
    return builder.ensure(), builder.built
