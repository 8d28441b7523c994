"""Network partitions: containers disconnected from the cluster's networks, reconnected with their aliases.

A partitioned container keeps running but reaches nothing and nothing reaches it, by name or by its
port published on 127.0.0.1 (the port mapping lives on the network endpoint). To cut nodes off from
Redis only, take their Redis proxies down instead (`kind: down, target: node2.redis`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import docker

from harness.faults.base import FaultError
from harness.faults.catalog import FaultSpec
from harness.faults.container import in_docker, need_container, snapshot


@dataclass
class PartitionFault:
    """memo[service] = {network: aliases} as the container was connected before the partition."""

    spec: FaultSpec
    project: str
    memo: dict[str, Any] = field(default_factory=dict)

    async def inject(self) -> None:
        def act(client: docker.DockerClient) -> None:
            for service in self.spec.targets:
                container = need_container(client, self.project, service)
                connected = snapshot(container)["networks"]
                self.memo.setdefault(service, connected)
                for network in connected:
                    client.networks.get(network).disconnect(container, force=True)
        await in_docker(act)

    async def confirm(self) -> str:
        def check(client: docker.DockerClient) -> str:
            for service in self.spec.targets:
                left = list(need_container(client, self.project, service).attrs["NetworkSettings"]["Networks"])
                if left:
                    raise FaultError(f"{service}: still connected to {', '.join(left)}")
            return "; ".join(f"{s} disconnected from {', '.join(self.memo[s])}" for s in self.spec.targets)
        return await in_docker(check)

    async def revert(self) -> None:
        def act(client: docker.DockerClient) -> None:
            for service, networks in self.memo.items():
                container = need_container(client, self.project, service)
                connected = container.attrs["NetworkSettings"]["Networks"]
                for network, aliases in networks.items():
                    if network not in connected:
                        client.networks.get(network).connect(container, aliases=aliases)
        await in_docker(act)
