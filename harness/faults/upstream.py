"""The upstream answering 5xx on command, through its admin endpoint on the port published on 127.0.0.1.

`POST /admin/fail {"status", "for_s"}` makes it fail every request until `POST /admin/recover` or
until `for_s` has passed (a safety net should the harness die). The upstream link itself (down,
blackholed, slow) is a Toxiproxy fault on target `upstream` or `nodeN.upstream`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.faults.base import FaultError
from harness.faults.catalog import FaultSpec


@dataclass
class UpstreamFailFault:
    spec: FaultSpec
    url: str                       # the upstream's base URL on 127.0.0.1
    app_id: str                    # an app the probe asks for
    memo: dict[str, Any] = field(default_factory=dict)

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=5.0, trust_env=False) as http:
            try:
                response = await http.post(path, json=body or {})
            except httpx.TransportError as exc:
                raise FaultError(f"{self.spec.name}: POST {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 300:
            raise FaultError(f"{self.spec.name}: POST {path}: {response.status_code} {response.text[:200]}")

    async def inject(self) -> None:
        await self._post("/admin/fail", {"status": int(self.spec.params["status"]),
                                         "for_s": self.spec.params["for_s"]})

    async def confirm(self) -> str:
        async with httpx.AsyncClient(base_url=self.url, timeout=5.0, trust_env=False) as http:
            response = await http.get(f"/apps/{self.app_id}")
        if response.status_code != self.spec.params["status"]:
            raise FaultError(f"{self.spec.name}: GET /apps/{self.app_id} answered {response.status_code}, "
                             f"not {self.spec.params['status']:g}")
        return f"GET /apps/{self.app_id} -> {response.status_code}"

    async def revert(self) -> None:
        await self._post("/admin/recover")
