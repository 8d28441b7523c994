"""The cluster starter's reading of the compose files (the cluster file and a system's fragment):
interpolation, env files, the services it makes, and what it refuses (no Docker needed)."""
import pytest

from harness import systems
from harness.cluster import cluster as cluster_module
from harness.cluster.cluster import Cluster
from harness.cluster.start import (
    StartError, check_order, health_verdict, healthcheck, interpolate, read_spec, services,
)

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
    # The pusher node starts without Redis by design (compose/pubsub): it waits for Toxiproxy only.
    assert node.image == "hx-node:tag" and node.networks == ["hx"] and node.depends_on == {"toxiproxy": "service_started"}
    assert node.environment["NODE_NAME"] == "node1" and node.environment["REDIS_POLICY"] == "strict"
    assert node.ports == [("127.0.0.1", 20003, 8080)] and node.stop_grace_s == 5
    assert node.labels["io.hx.run-id"] == cluster.run_id and node.labels["io.hx.system"] == "pusher-node"
    toxiproxy = by_name["toxiproxy"]
    assert ("127.0.0.1", 20006, 18001) in toxiproxy.ports
    source, target, mode = toxiproxy.binds[0]
    assert source.endswith("compose/toxiproxy/toxiproxy.json") and target == "/etc/toxiproxy/toxiproxy.json" and mode == "ro"
    assert by_name["prometheus"].environment["PROM_NODES"] == "2"


def test_centrifugo_nodes_come_from_its_fragment():
    by_name = made(Cluster(nodes=1, system=systems.resolve("centrifugo")))
    node = by_name["node1"]
    assert node.environment == {"CENTRIFUGO_NODE_NAME": "node1", "CENTRIFUGO_ENGINE_REDIS_ADDRESS": "redis://toxiproxy:16001"}
    # Centrifugo exits at start without Redis: its nodes wait for Redis's healthcheck.
    assert node.depends_on == {"toxiproxy": "service_started", "redis": "service_healthy"}
    assert by_name["redis"].healthcheck == {"test": ["CMD", "hx-redis-health"], "interval": 100_000_000,
                                            "timeout": 15_000_000_000, "start_period": 10_000_000_000, "retries": 3}


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
    # d is not started: nothing to wait for
    assert [s.depends_on for s in wanted] == [{"b": "service_started"}, {}, {"a": "service_started"}]
    check_order(wanted)
    compose.write_text("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n")
    with pytest.raises(StartError, match="cycle among a, b"):
        check_order(services(read_spec((compose,), {}), ["a", "b"]))


def test_what_the_starter_does_not_support_is_refused_by_name(tmp_path):
    compose, fragment = tmp_path / "compose.yml", tmp_path / "fragment.yml"
    compose.write_text("services:\n  a: {image: x, stop_grace_period: 1m}\n")
    with pytest.raises(StartError, match="whole seconds"):
        services(read_spec((compose,), {}), ["a"])
    compose.write_text("services:\n  b: {image: x, restart: always}\n")
    with pytest.raises(StartError, match=r"compose.yml: service b: restart not supported"):
        read_spec((compose,), {})
    compose.write_text("services:\n  c: {image: x, ports: ['8080:80']}\n")
    with pytest.raises(StartError, match="only IP:HOST:CONTAINER"):
        services(read_spec((compose,), {}), ["c"])
    fragment.write_text("services:\n  c: {image: y}\n")
    with pytest.raises(StartError, match="fragment.yml: service c is also defined in .*compose.yml"):
        read_spec((compose, fragment), {})


def read(tmp_path, text: str, names: list[str]):
    compose = tmp_path / "compose.yml"
    compose.write_text(text)
    return {s.name: s for s in services(read_spec((compose,), {}), names)}


def test_depends_on_takes_the_long_form_with_its_conditions(tmp_path):
    wanted = read(tmp_path, """services:
  db: {image: x, healthcheck: {test: [CMD, ping]}}
  proxy: {image: x}
  app:
    image: x
    depends_on:
      proxy: {condition: service_started}
      db: {condition: service_healthy}
""", ["db", "proxy", "app"])
    assert wanted["app"].depends_on == {"proxy": "service_started", "db": "service_healthy"}
    check_order(list(wanted.values()))


@pytest.mark.parametrize("how, needle", [
    ("{condition: service_completed_successfully}", "service_completed_successfully"),
    ("{condition: service_healthy, restart: true}", "restart"),
    ("{}", "{}"),
    ("healthy", "'healthy'"),
])
def test_an_unknown_dependency_condition_is_refused_naming_file_and_service(tmp_path, how, needle):
    with pytest.raises(StartError, match=rf"compose.yml: service app: depends_on db: .*{needle}.* not supported "
                                         r"by the harness's starter \(supported: condition service_started or service_healthy\)"):
        read(tmp_path, f"services:\n  db: {{image: x}}\n  app: {{image: x, depends_on: {{db: {how}}}}}\n", ["db", "app"])


def test_waiting_for_health_needs_a_healthcheck(tmp_path):
    text = "services:\n  db: {image: x}\n  app: {image: x, depends_on: {db: {condition: service_healthy}}}\n"
    with pytest.raises(StartError, match="service app: depends_on db being healthy, but db has no healthcheck"):
        read(tmp_path, text, ["db", "app"])
    assert read(tmp_path, text, ["app"])["app"].depends_on == {}     # db is not started: nothing to wait for


def test_a_healthcheck_becomes_dockers_form_with_nanoseconds():
    where = "f.yml: service s"
    assert healthcheck({"test": ["CMD", "redis-cli", "ping"], "interval": "100ms", "timeout": "1s",
                        "start_period": "2m", "retries": 5}, where) == {
        "test": ["CMD", "redis-cli", "ping"], "interval": 100_000_000, "timeout": 1_000_000_000,
        "start_period": 120_000_000_000, "retries": 5}
    assert healthcheck({"test": "pg_isready || exit 1"}, where) == {"test": ["CMD-SHELL", "pg_isready || exit 1"]}
    assert healthcheck({"test": ["CMD-SHELL", "true"], "interval": "1.5s"}, where) == {
        "test": ["CMD-SHELL", "true"], "interval": 1_500_000_000}


@pytest.mark.parametrize("definition, needle", [
    ({"test": ["CMD", "x"], "start_interval": "1s"}, r"healthcheck start_interval not supported .*supported: interval, retries"),
    ({"test": ["CMD", "x"], "disable": True}, "healthcheck disable not supported"),
    ({"test": ["NONE"]}, r"healthcheck test \['NONE'\]: expected"),
    ({"test": ["CMD"]}, "healthcheck test"),
    ({"test": ["CMD-SHELL", "a", "b"]}, "healthcheck test"),
    ({"interval": "1s"}, "healthcheck test None"),
    ({"test": ["CMD", "x"], "interval": 5}, "healthcheck interval 5: expected a positive duration like 10s, 500ms"),
    ({"test": ["CMD", "x"], "timeout": "1m30s"}, "healthcheck timeout '1m30s'"),
    ({"test": ["CMD", "x"], "start_period": "0s"}, "healthcheck start_period '0s'"),
    ({"test": ["CMD", "x"], "retries": 0}, "healthcheck retries 0: expected a whole number from 1"),
    ({"test": ["CMD", "x"], "retries": "3"}, "healthcheck retries '3'"),
    ("CMD true", "healthcheck must be a mapping"),
])
def test_what_a_healthcheck_may_not_say_is_refused_naming_file_and_service(definition, needle):
    with pytest.raises(StartError, match=rf"^f.yml: service s: {needle}"):
        healthcheck(definition, "f.yml: service s")


def test_a_healthcheck_in_a_file_is_read_and_its_errors_name_the_file(tmp_path):
    text = "services:\n  db: {image: x, healthcheck: {test: [CMD, ping], interval: 200ms, retries: 3}}\n"
    assert read(tmp_path, text, ["db"])["db"].healthcheck == {"test": ["CMD", "ping"], "interval": 200_000_000, "retries": 3}
    with pytest.raises(StartError, match=r"compose.yml: service db: healthcheck interval '200'"):
        read(tmp_path, text.replace("200ms", "'200'"), ["db"])


def state(running=True, status="running", health=None, log=(), exit_code=0):
    out = {"Running": running, "Status": status, "ExitCode": exit_code}
    if health:
        out["Health"] = {"Status": health, "Log": [{"ExitCode": c, "Output": o} for c, o in log]}
    return out


def test_health_verdicts_from_dockers_state():
    assert health_verdict(state(health="healthy", log=[(0, "PONG\n")])) == (True, None)
    assert health_verdict(state(health="starting")) == (False, None)
    assert health_verdict(state(health="starting", log=[(1, "Could not connect to Redis\n")])) == (False, None)
    assert health_verdict(state(health="unhealthy", log=[(1, "first\n"), (1, "NOAUTH Authentication required.\n\n")])) == \
        (False, "is unhealthy (unhealthy, last health check exit 1: NOAUTH Authentication required.)")
    # Exited: never healthy, whatever its health said last.
    assert health_verdict(state(False, "exited", "starting", exit_code=1)) == \
        (False, "is exited (exit code 1; starting, no health check has run yet)")
    assert health_verdict(state(False, "exited", "healthy", [(0, "")], exit_code=137)) == \
        (False, "is exited (exit code 137; healthy, last health check exit 0: (no output))")
    # No healthcheck at all (refused when read, so only seen if the image's own is removed): waits to the deadline.
    assert health_verdict(state()) == (False, None)
