"""Toxiproxy faults: a toxic on one or more proxies, or a proxy taken down."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from harness.faults.base import FaultError
from harness.faults.catalog import FAULT_KINDS, FaultSpec
from harness.faults.toxiproxy import ToxiproxyClient, ToxiproxyError


@dataclass
class ToxicFault:
    """Adds the toxic `hx-<name>` to every proxy of the target; revert deletes it."""

    spec: FaultSpec
    client: ToxiproxyClient
    proxies: list[str]
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def toxic_name(self) -> str:
        return f"hx-{self.spec.name}"

    async def inject(self) -> None:
        toxic_type = FAULT_KINDS[self.spec.kind].toxic_type
        for proxy in self.proxies:
            try:
                await self.client.add_toxic(proxy, self.toxic_name, toxic_type, dict(self.spec.params),
                                            self.spec.stream, self.spec.toxicity)
            except ToxiproxyError as exc:
                if exc.status != 409:  # 409: already there, injecting twice is fine
                    raise FaultError(f"{self.spec.name}: cannot add {toxic_type} to {proxy}: {exc}") from None

    async def confirm(self) -> str:
        for proxy in self.proxies:
            names = {t.name for t in await self.client.toxics(proxy)}
            if self.toxic_name not in names:
                raise FaultError(f"{self.spec.name}: toxic {self.toxic_name} not listed on {proxy}")
        return f"toxic {self.toxic_name} listed on {', '.join(self.proxies)}"

    async def update(self, params: dict[str, Any]) -> str:
        """Change the toxic's attributes in place (a ramp's step); returns what Toxiproxy now lists."""
        listed = []
        for proxy in self.proxies:
            try:
                toxic = await self.client.update_toxic(proxy, self.toxic_name, dict(params))
            except ToxiproxyError as exc:
                raise FaultError(f"{self.spec.name}: cannot update the toxic on {proxy}: {exc}") from None
            listed.append(f"{proxy} {toxic.attributes}")
        self.spec = replace(self.spec, params=dict(params))
        return "; ".join(listed)

    async def revert(self) -> None:
        for proxy in self.proxies:
            try:
                await self.client.remove_toxic(proxy, self.toxic_name)
            except ToxiproxyError as exc:
                if exc.status != 404:  # 404: already gone
                    raise FaultError(f"{self.spec.name}: cannot remove toxic from {proxy}: {exc}") from None


@dataclass
class ProxyDownFault:
    """Disables proxies: Toxiproxy closes their listeners and live connections."""

    spec: FaultSpec
    client: ToxiproxyClient
    proxies: list[str]
    memo: dict[str, Any] = field(default_factory=dict)

    async def inject(self) -> None:
        for proxy in self.proxies:
            await self.client.update_proxy(proxy, enabled=False)

    async def confirm(self) -> str:
        for proxy in self.proxies:
            if (await self.client.proxy(proxy)).enabled:
                raise FaultError(f"{self.spec.name}: proxy {proxy} still enabled")
        return f"proxies disabled: {', '.join(self.proxies)}"

    async def revert(self) -> None:
        for proxy in self.proxies:
            await self.client.update_proxy(proxy, enabled=True)

