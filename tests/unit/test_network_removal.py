"""Removing a cluster's network when the engine is slow to release, or keeps, an endpoint.

The engine fault (an endpoint left with no container, moby/moby#17217) cannot be caused on purpose, so
a stand-in network object plays the engine's answers; the real removal path runs in the integration tests.
"""
from __future__ import annotations

import docker
import pytest

from harness.cluster.cluster import ClusterError, _remove_network


class Engine(docker.errors.APIError):
    def __init__(self, message: str) -> None:
        super().__init__(message, explanation=message)


class Network:
    """Refuses removal with 'active endpoints' `busy` times, or until `releases_on` is force-disconnected."""

    def __init__(self, busy: int = 0, releases_on: str | None = None, endpoints: dict | None = None) -> None:
        self.name, self.busy, self.releases_on = "hx-x_hx", busy, releases_on
        self.attrs = {"Containers": endpoints or {}}
        self.containers: list = []
        self.removed, self.disconnected = False, []

    def reload(self) -> None:
        pass

    def remove(self) -> None:
        if self.releases_on is not None and self.releases_on not in self.disconnected:
            raise Engine("error while removing network: network hx-x_hx has active endpoints")
        if self.busy:
            self.busy -= 1
            raise Engine("error while removing network: network hx-x_hx has active endpoints")
        self.removed = True

    def disconnect(self, name: str, force: bool = False) -> None:
        assert force
        self.disconnected.append(name)


def test_an_endpoint_released_late_is_waited_for():
    network = Network(busy=3)
    assert _remove_network(network, [], release_s=5) is None
    assert network.removed and network.disconnected == []


def test_a_stale_endpoint_is_force_disconnected_by_its_name():
    network = Network(releases_on="hx-x-redis-1", endpoints={"ep-1": {"Name": "hx-x-redis-1"}})
    assert _remove_network(network, [], release_s=0) is None
    assert network.removed and "hx-x-redis-1" in network.disconnected


def test_a_removed_containers_name_is_tried_when_the_engine_lists_no_endpoint():
    network = Network(releases_on="hx-x-node1-1")
    assert _remove_network(network, ["hx-x-node1-1", "hx-x-redis-1"], release_s=0) is None
    assert network.removed


def test_a_network_the_engine_keeps_is_named_with_the_remedy():
    network = Network(releases_on="never-attached-name")
    problem = _remove_network(network, ["hx-x-node1-1"], release_s=0)
    assert problem and "hx-x_hx left over" in problem and "docker network rm hx-x_hx" in problem
    assert not network.removed


def test_other_engine_errors_are_not_taken_for_a_stale_endpoint():
    class Refusing(Network):
        def remove(self) -> None:
            raise Engine("permission denied")

    with pytest.raises(docker.errors.APIError, match="permission denied"):
        _remove_network(Refusing(), [], release_s=5)

