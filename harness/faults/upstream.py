"""The upstream failing on command, through its admin endpoint on the port published on 127.0.0.1.

`POST /admin/fail {"status", "for_s"}` makes it answer every request with that status until
`POST /admin/recover` or until `for_s` has passed (a safety net should the harness die);
`POST /admin/latency {"ms"}` delays every answer. The upstream link itself (down, blackholed, slow)
is a Toxiproxy fault on target `upstream` or `nodeN.upstream`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.faults.base import FaultError
from harness.faults.catalog import FaultSpec


@dataclass
class UpstreamFault:
    """upstream-5xx or upstream-slow; revert is POST /admin/recover, which clears both."""

    spec: FaultSpec
    url: str                       # the upstream's base URL on 127.0.0.1
    app_id: str                    # an app the probe asks for
    memo: dict[str, Any] = field(default_factory=dict)

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        timeout = 5.0 + self.spec.params.get("ms", 0) / 1000
        async with httpx.AsyncClient(base_url=self.url, timeout=timeout, trust_env=False) as http:
            try:
                return await http.request(method, path, json=body)
            except httpx.TransportError as exc:
                raise FaultError(f"{self.spec.name}: {method} {path}: {type(exc).__name__}: {exc}") from None

    async def _admin(self, path: str, body: dict[str, Any] | None = None) -> None:
        response = await self._request("POST", path, body or {})
        if response.status_code != 200:
            raise FaultError(f"{self.spec.name}: POST {path}: {response.status_code} {response.text[:200]}")

    async def inject(self) -> None:
        p = self.spec.params
        if self.spec.kind == "upstream-5xx":
            await self._admin("/admin/fail", {"status": int(p["status"]), "for_s": p["for_s"]})
        else:
            await self._admin("/admin/latency", {"ms": p["ms"]})

    async def confirm(self) -> str:
        started = time.monotonic()
        response = await self._request("GET", f"/apps/{self.app_id}")
        took_ms = (time.monotonic() - started) * 1000
        seen = f"GET /apps/{self.app_id} -> {response.status_code} in {took_ms:.0f} ms"
        if self.spec.kind == "upstream-5xx" and response.status_code != self.spec.params["status"]:
            raise FaultError(f"{self.spec.name}: {seen}, not {self.spec.params['status']:g}")
        if self.spec.kind == "upstream-slow" and took_ms < self.spec.params["ms"]:
            raise FaultError(f"{self.spec.name}: {seen}, faster than {self.spec.params['ms']:g} ms")
        return seen

    async def revert(self) -> None:
        await self._admin("/admin/recover")
