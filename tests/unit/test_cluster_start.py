"""The cluster starter's reading of the compose file: interpolation, the services it makes, and their
start order (no Docker needed)."""
import pytest

from harness.cluster.cluster import Cluster
from harness.cluster.start import StartError, interpolate, read_spec, services, start_order


def test_interpolation_takes_values_and_defaults():
    env = {"A": "1", "EMPTY": ""}
    assert interpolate({"x": ["${A}", "${B:-two}", "${EMPTY:-3}", "${B}", 5]}, env) == {"x": ["1", "two", "3", "", 5]}


def test_the_default_topology_reads_as_the_cluster_asks():
    cluster = Cluster(nodes=2, monitoring=True, ports={k: 20000 + i for i, k in enumerate(
        ("redis", "toxiproxy", "upstream", "node1", "node2", "node3", "client1", "client2", "client3",
         "prometheus", "alertmanager", "alertsink"))},
        images={k: f"hx-{k}:tag" for k in ("redis", "toxiproxy", "pubsub", "upstream", "prometheus",
                                            "alertmanager", "redis_exporter", "alertsink")})
    made = {s.name: s for s in services(read_spec(cluster.env()), cluster.services)}
    assert list(made) == cluster.services
    node = made["node1"]
    assert node.image == "hx-pubsub:tag" and node.networks == ["hx"]
    assert node.environment["NODE_NAME"] == "node1" and node.environment["REDIS_POLICY"] == "strict"
    assert node.ports == [("127.0.0.1", 20003, 8080)] and node.stop_grace_s == 5
    assert node.labels["io.hx.run-id"] == cluster.run_id
    toxiproxy = made["toxiproxy"]
    assert ("127.0.0.1", 20006, 18001) in toxiproxy.ports
    source, target, mode = toxiproxy.binds[0]
    assert source.endswith("compose/toxiproxy/toxiproxy.json") and target == "/etc/toxiproxy/toxiproxy.json" and mode == "ro"
    assert made["prometheus"].environment["PROM_NODES"] == "2"


def test_dependencies_start_first_and_cycles_are_refused(tmp_path):
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x}\n  c: {image: x, depends_on: [a]}\n")
    assert [s.name for s in start_order(services(read_spec({}, compose), ["a", "b", "c"]), compose)] == ["b", "a", "c"]
    compose.write_text("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n")
    with pytest.raises(StartError, match="cycle among a, b"):
        start_order(services(read_spec({}, compose), ["a", "b"]), compose)


def test_only_whole_second_grace_periods(tmp_path):
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  a: {image: x, stop_grace_period: 1m}\n")
    with pytest.raises(StartError, match="whole seconds"):
        services(read_spec({}, compose), ["a"], compose)
