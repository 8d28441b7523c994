"""The cluster starter's reading of the compose files (the cluster file and a system's fragment):
interpolation, env files, the services it makes, and what it refuses (no Docker needed)."""
import pytest

from harness import systems
from harness.cluster import cluster as cluster_module
from harness.cluster.cluster import Cluster
from harness.cluster.start import StartError, check_order, interpolate, read_spec, services

PORTS = ("redis", "toxiproxy", "upstream", "node1", "node2", "node3", "client1", "client2", "client3",
         "prometheus", "alertmanager", "alertsink")
IMAGES = ("redis", "toxiproxy", "node", "upstream", "prometheus", "alertmanager", "redis_exporter", "alertsink")


def made(cluster: Cluster) -> dict:
    cluster.ports = {k: 20000 + i for i, k in enumerate(PORTS)}
    cluster.images = {k: f"hx-{k}:tag" for k in IMAGES}
    return {s.name: s for s in services(read_spec(cluster.compose_files, cluster.env()), cluster.services)}


def test_interpolation_takes_values_and_defaults():
    env = {"A": "1", "EMPTY": ""}
    assert interpolate({"x": ["${A}", "${B:-two}", "${EMPTY:-3}", "${B}", 5]}, env) == {"x": ["1", "two", "3", "", 5]}


def test_the_pusher_node_cluster_reads_as_the_cluster_asks():
    cluster = Cluster(nodes=2, monitoring=True)
    by_name = made(cluster)
    assert list(by_name) == cluster.services
    node = by_name["node1"]
    assert node.image == "hx-node:tag" and node.networks == ["hx"] and node.depends_on == ["toxiproxy"]
    assert node.environment["NODE_NAME"] == "node1" and node.environment["REDIS_POLICY"] == "strict"
    assert node.ports == [("127.0.0.1", 20003, 8080)] and node.stop_grace_s == 5
    assert node.labels["io.hx.run-id"] == cluster.run_id and node.labels["io.hx.system"] == "pusher-node"
    toxiproxy = by_name["toxiproxy"]
    assert ("127.0.0.1", 20006, 18001) in toxiproxy.ports
    source, target, mode = toxiproxy.binds[0]
    assert source.endswith("compose/toxiproxy/toxiproxy.json") and target == "/etc/toxiproxy/toxiproxy.json" and mode == "ro"
    assert by_name["prometheus"].environment["PROM_NODES"] == "2"


def test_centrifugo_nodes_come_from_its_fragment():
    node = made(Cluster(nodes=1, system=systems.resolve("centrifugo")))["node1"]
    assert node.environment == {"CENTRIFUGO_NODE_NAME": "node1", "CENTRIFUGO_ENGINE_REDIS_ADDRESS": "redis://toxiproxy:16001"}


def test_a_custom_systems_nodes_take_their_env_files(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster_module, "SYSTEM_DIRS", tmp_path)
    system = systems.resolve({"image": "mine:1", "protocol": "pusher", "http_port": 9000,
                              "env": {"REDIS": "redis://{redis}", "NAME": "{node}"}})
    cluster = Cluster(nodes=2, system=system)
    cluster._write_system_env()
    node2 = made(cluster)["node2"]
    assert node2.environment == {"REDIS": "redis://toxiproxy:16002", "NAME": "node2"}
    assert node2.image == "hx-node:tag" and node2.ports == [("127.0.0.1", 20004, 9000)]


def test_env_files_skip_comments_and_refuse_lines_without_a_value(tmp_path):
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  a: {image: x, env_file: [a.env], environment: {B: kept}}\n")
    (tmp_path / "a.env").write_text("# comment\n\nA=1=2\nB=overridden\n")
    assert services(read_spec((compose,), {}), ["a"])[0].environment == {"A": "1=2", "B": "kept"}
    (tmp_path / "a.env").write_text("A=1\nJUSTANAME\n")
    with pytest.raises(StartError, match=r"a.env, line 2: expected KEY=VALUE"):
        services(read_spec((compose,), {}), ["a"])


def test_dependencies_are_kept_and_cycles_refused(tmp_path):
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x}\n  c: {image: x, depends_on: [a, d]}\n")
    wanted = services(read_spec((compose,), {}), ["a", "b", "c"])
    assert [s.depends_on for s in wanted] == [["b"], [], ["a"]]   # d is not started: nothing to wait for
    check_order(wanted)
    compose.write_text("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n")
    with pytest.raises(StartError, match="cycle among a, b"):
        check_order(services(read_spec((compose,), {}), ["a", "b"]))


def test_what_the_starter_does_not_support_is_refused_by_name(tmp_path):
    compose, fragment = tmp_path / "compose.yml", tmp_path / "fragment.yml"
    compose.write_text("services:\n  a: {image: x, stop_grace_period: 1m}\n")
    with pytest.raises(StartError, match="whole seconds"):
        services(read_spec((compose,), {}), ["a"])
    compose.write_text("services:\n  b: {image: x, healthcheck: {test: true}}\n")
    with pytest.raises(StartError, match=r"compose.yml: service b: healthcheck not supported"):
        read_spec((compose,), {})
    compose.write_text("services:\n  c: {image: x, ports: ['8080:80']}\n")
    with pytest.raises(StartError, match="only IP:HOST:CONTAINER"):
        services(read_spec((compose,), {}), ["c"])
    fragment.write_text("services:\n  c: {image: y}\n")
    with pytest.raises(StartError, match="fragment.yml: service c is also defined in .*compose.yml"):
        read_spec((compose, fragment), {})
