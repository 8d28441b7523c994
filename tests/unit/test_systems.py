"""Systems under test: built-in declarations, a custom declaration's checks, probe verdicts and metrics."""
from __future__ import annotations

import pytest

from harness import systems
from harness.analysis import analyse
from harness.probe_metrics import Answered, window_metrics
from harness.systems.probes import verdict
from harness.scenario import ScenarioError, loads

MINIMAL = "name: s\nphases: [{name: steady, duration: 5s}]\nexpect: ['steady: publish.success_rate >= 0.9']\n"


def test_builtin_systems():
    node, centrifugo = systems.resolve("pusher-node"), systems.resolve("centrifugo")
    assert (node.protocol, node.readiness.path) == ("pusher", "/readyz")
    assert all(app.id.isdigit() for app in node.credentials)
    assert (centrifugo.protocol, centrifugo.ws_path, centrifugo.http_port) == ("centrifugo", "/connection/websocket", 8080)
    assert [p.name for p in centrifugo.probes] == ["health", "info"]
    assert centrifugo.readiness.api_errors and dict(centrifugo.readiness.headers)["X-API-Key"] == centrifugo.credentials[0].key


def test_custom_system_fills_each_nodes_links():
    s = systems.resolve({"image": "mine:1", "protocol": "pusher", "http_port": 6001,
                         "env": {"REDIS_URL": "redis://{redis}/0", "UPSTREAM": "http://{upstream}", "NAME": "{node}",
                                 "WORKERS": 2, "REDIS_HOST": "{redis_host}", "REDIS_PORT": "{redis_port}"}})
    assert (s.name, s.image, s.builtin_image, s.http_port) == ("custom", "mine:1", False, 6001)
    assert s.node_env(2) == {"REDIS_URL": "redis://toxiproxy:16002/0", "UPSTREAM": "http://toxiproxy:17002",
                             "NAME": "node2", "WORKERS": "2", "REDIS_HOST": "toxiproxy", "REDIS_PORT": "16002"}
    assert s.credentials == systems.resolve("pusher-node").credentials


@pytest.mark.parametrize("spec, message", [
    ({"protocol": "pusher"}, "image: missing required field"),
    ({"image": "x", "protocol": "mqtt"}, "protocol: must be one of pusher, centrifugo"),
    ({"image": "x", "protocol": "pusher", "http_port": 0}, "http_port: must be a port number"),
    ({"image": "x", "protocol": "pusher", "health": "health"}, "health: must be a URL path"),
    ({"image": "x", "protocol": "pusher", "env": {"A": "{redis_url}"}}, "env: A: unknown placeholder {redis_url}"),
    ({"image": "x", "protocol": "centrifugo"}, "credentials: a centrifugo-protocol system needs"),
    ({"image": "x", "protocol": "pusher", "colour": "red"}, "colour: unknown field"),
    ("rabbitmq", "unknown system 'rabbitmq'"),
])
def test_bad_declarations_name_the_field(spec, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        systems.resolve(spec)


def test_scenario_system_and_probes_fields():
    s = loads(MINIMAL + "system: centrifugo\nprobes: [{name: api, path: /health, node: node1}]\n")
    assert s.system.name == "centrifugo"
    assert [(p.name, p.node) for p in s.all_probes] == [("health", "all"), ("info", "all"), ("api", "node1")]
    assert loads(MINIMAL).system.name == "pusher-node"


@pytest.mark.parametrize("extra, where", [
    ("system: kafka\n", "<scenario>:4: system: unknown system 'kafka'"),
    ("system: {image: x, protocol: pusher, http_port: high}\n", "<scenario>:4: system.http_port: must be a port"),
    ("probes: [{name: health, path: /x}]\n", "<scenario>:4: probes[0].name: probe name 'health' is taken"),
    ("probes: [{name: p, path: /x, node: node7}]\n", "<scenario>:4: probes[0].node: unknown node 'node7'"),
    ("probes: {name: p}\n", "<scenario>:4: probes: must be a list"),
])
def test_scenario_refuses_bad_system_or_probes_with_file_line_and_field(extra, where):
    with pytest.raises(ScenarioError) as info:
        loads(MINIMAL + extra)
    assert str(info.value).startswith(where)


def test_probe_verdicts():
    plain, api = systems.Probe("health", "/health"), systems.resolve("centrifugo").readiness
    assert verdict(plain, 200, b"{}") == (True, None)
    assert verdict(plain, 503, b"") == (False, "HTTP 503")
    assert verdict(api, 200, b'{"result":{"nodes":[]}}') == (True, None)
    ok, error = verdict(api, 200, b'{"error":{"code":100,"message":"internal server error"}}')
    assert not ok and "internal server error" in error


def test_probe_window_metrics_and_no_evidence_without_answers():
    answers = [Answered(0.5, "health", True, 2.0), Answered(1.5, "health", True, 4.0),
               Answered(2.5, "health", False, 900.0), Answered(1.0, "info", True, 1.0)]
    m = window_metrics(answers, 0.0, 2.0)
    assert m["probe.health.ok_ratio"] == 1.0 and m["probe.health.answers"] == 2
    assert m["probe.health.latency_ms.p99"] == 4.0
    assert window_metrics(answers, 2.0, 3.0)["probe.health.ok_ratio"] == 0.0
    assert window_metrics(answers, 5.0, 6.0) == {}


def test_analysis_puts_probe_metrics_in_every_window():
    events = [{"kind": "phase_start", "t": 0.0, "phase": "a"},
              {"kind": "probe", "t": 0.5, "name": "health", "node": "node1", "ok": True, "status": 200,
               "latency_ms": 3.0, "error": None},
              {"kind": "probe", "t": 1.5, "name": "health", "node": "node1", "ok": False, "status": None,
               "latency_ms": 1000.0, "error": "ConnectTimeout"},
              {"kind": "phase_end", "t": 1.0, "phase": "a"},
              {"kind": "phase_start", "t": 1.0, "phase": "b"}, {"kind": "phase_end", "t": 2.0, "phase": "b"}]
    m = analyse(events).metrics
    assert m["a"]["probe.health.ok_ratio"] == 1.0 and m["b"]["probe.health.ok_ratio"] == 0.0
    assert m["run"]["probe.health.ok_ratio"] == 0.5


def test_pusher_frames_map_to_the_same_incoming_kinds():
    from harness.workload.protocols.base import Incoming
    from harness.workload.protocols.pusher import incoming
    assert incoming({"event": "pusher_internal:subscription_succeeded", "channel": "c"}) == Incoming("subscribed", "c")
    assert incoming({"event": "pusher:error", "data": {"code": 4001}}) == Incoming("error", data={"code": 4001})
    assert incoming({"event": "hx-load", "channel": "c", "data": "{}"}) == Incoming("message", "c", "{}")
    assert incoming({"event": "pusher:pong"}).kind == "other"


def test_cluster_environment_names_the_system_and_its_fragment(tmp_path, monkeypatch):
    from harness.cluster import cluster as cluster_module
    monkeypatch.setattr(cluster_module, "SYSTEM_DIRS", tmp_path)
    c = cluster_module.Cluster(nodes=2, system=systems.resolve("centrifugo"))
    env = c.env()
    assert (env["HX_SYSTEM"], env["HX_NODE_PORT"], env["HX_NODE_JOB"]) == ("centrifugo", "8080", "centrifugo")
    assert [p.name for p in c.compose_files] == ["docker-compose.yml", "centrifugo.yml"] and all(p.exists() for p in c.compose_files)
    custom = cluster_module.Cluster(nodes=1, system=systems.resolve(
        {"image": "x:1", "protocol": "pusher", "env": {"REDIS_URL": "redis://{redis}/0"}}))
    custom._write_system_env()
    assert (tmp_path / custom.run_id / "node3.env").read_text() == "REDIS_URL=redis://toxiproxy:16003/0\n"
    cluster_module.forget_system_dir(custom.run_id)
    assert not (tmp_path / custom.run_id).exists()


@pytest.mark.parametrize("argv, message", [
    (["up", "--system", "kafka"], "up: --system: unknown system 'kafka'"),
    (["up", "--system", "missing.yaml"], "up: --system: missing.yaml: cannot read the system declaration"),
])
def test_up_refuses_an_unknown_system_with_exit_2_before_docker(argv, message, capsys):
    from harness.cli import main
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_up_reads_a_declaration_file_and_names_its_bad_field(tmp_path, capsys):
    from harness.cli import main
    path = tmp_path / "mine.yaml"
    path.write_text("image: mine:1\nprotocol: mqtt\n")
    assert main(["up", "--system", str(path)]) == 2
    assert f"{path}: protocol: must be one of pusher, centrifugo" in capsys.readouterr().err


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))


@pytest.mark.parametrize("command", ["up", "gameday"])
@pytest.mark.parametrize("text, says", [
    (BOMB, "aliases"),                                         # billion laughs: refused, not expanded
    ("image: a\nimage: b\n", "duplicate key"),
    ("image: !!python/object:os.system x\n", "tag"),
], ids=["alias-bomb", "duplicate-key", "python-tag"])
def test_a_hostile_declaration_file_is_refused_with_its_line(tmp_path, capsys, command, text, says):
    from harness.cli import main
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    assert main([command, "--system", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{command}: --system: {path}:" in err and says in err and len(err.splitlines()) == 1
