"""A small typed async client for the Toxiproxy control API (v2.12), over httpx.

Every call has a timeout and is retried on transport errors and 503 (Toxiproxy answers 503 when a
handler runs past 25 s, e.g. a toxic DELETE under load). Error bodies `{"error", "status"}` become
`ToxiproxyError` with the server's message.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx


class ToxiproxyError(Exception):
    """Toxiproxy refused a call, or could not be reached after the retries."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Toxic":
        return cls(data["name"], data["type"], data.get("stream", "downstream"),
                   float(data.get("toxicity", 1.0)), dict(data.get("attributes") or {}))


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = field(default=())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Proxy":
        return cls(data["name"], data["listen"], data["upstream"], bool(data["enabled"]),
                   tuple(Toxic.from_json(t) for t in data.get("toxics") or ()))


class ToxiproxyClient:
    """Async client for one Toxiproxy server, e.g. `ToxiproxyClient("http://127.0.0.1:8474")`."""

    def __init__(self, base_url: str, timeout: float = 10.0, retries: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        # A Mozilla/ User-Agent gets 403 from Toxiproxy; httpx's default agent is fine, name ours anyway.
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=httpx.Timeout(timeout),
                                       trust_env=False, headers={"User-Agent": "hx-harness"})

    async def __aenter__(self) -> "ToxiproxyClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        delay = 0.2
        for attempt in range(self.retries + 1):
            try:
                response = await self._http.request(method, path, json=body)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise ToxiproxyError(f"{method} {self.base_url}{path}: {type(exc).__name__}: {exc}") from None
            else:
                if response.status_code in ok:
                    return response.json() if response.content else None
                if response.status_code != 503 or attempt == self.retries:
                    try:
                        message = response.json().get("error", response.text)
                    except ValueError:
                        message = response.text
                    raise ToxiproxyError(f"{method} {path}: {response.status_code} {message}".strip(),
                                         response.status_code)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    async def version(self) -> str:
        data = await self._call("GET", "/version")
        return data["version"] if isinstance(data, dict) else str(data)

    async def proxies(self) -> dict[str, Proxy]:
        return {name: Proxy.from_json(p) for name, p in (await self._call("GET", "/proxies")).items()}

    async def proxy(self, name: str) -> Proxy:
        return Proxy.from_json(await self._call("GET", f"/proxies/{name}"))

    async def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return Proxy.from_json(await self._call("POST", "/proxies", body, ok=(201,)))

    async def populate(self, proxies: list[dict[str, Any]]) -> list[Proxy]:
        """Create or keep proxies in bulk (same name and config are left untouched)."""
        data = await self._call("POST", "/populate", proxies, ok=(201,))
        return [Proxy.from_json(p) for p in data["proxies"]]

    async def update_proxy(self, name: str, **fields: Any) -> Proxy:
        return Proxy.from_json(await self._call("PATCH", f"/proxies/{name}", fields))

    async def delete_proxy(self, name: str) -> None:
        await self._call("DELETE", f"/proxies/{name}", ok=(204,))

    async def toxics(self, proxy: str) -> list[Toxic]:
        return [Toxic.from_json(t) for t in await self._call("GET", f"/proxies/{proxy}/toxics")]

    async def toxic(self, proxy: str, name: str) -> Toxic:
        return Toxic.from_json(await self._call("GET", f"/proxies/{proxy}/toxics/{name}"))

    async def add_toxic(self, proxy: str, name: str, type: str, attributes: dict[str, Any],
                        stream: str = "downstream", toxicity: float = 1.0) -> Toxic:
        body = {"name": name, "type": type, "stream": stream, "toxicity": toxicity, "attributes": attributes}
        return Toxic.from_json(await self._call("POST", f"/proxies/{proxy}/toxics", body))

    async def update_toxic(self, proxy: str, name: str, attributes: dict[str, Any],
                           toxicity: float | None = None) -> Toxic:
        body: dict[str, Any] = {"attributes": attributes}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return Toxic.from_json(await self._call("PATCH", f"/proxies/{proxy}/toxics/{name}", body))

    async def remove_toxic(self, proxy: str, name: str) -> None:
        await self._call("DELETE", f"/proxies/{proxy}/toxics/{name}", ok=(204,))

    async def reset(self) -> None:
        """Re-enable every proxy and remove every toxic."""
        await self._call("POST", "/reset", ok=(204,))
