"""`harness ps` status: orphaned owners and the faults a cluster shows (pure parts)."""
import socket

from harness.cluster.status import LABEL_FAULT, ClusterStatus, container_faults, is_orphaned, toxic_faults


def test_orphaned_means_a_dead_owner_of_this_host():
    here = socket.gethostname()
    assert is_orphaned(f"{here}:123", alive=lambda pid: False)
    assert not is_orphaned(f"{here}:123", alive=lambda pid: True)
    assert not is_orphaned("", alive=lambda pid: False)                       # kept on purpose
    assert not is_orphaned("elsewhere:123", alive=lambda pid: False)          # cannot be judged from here


def test_faults_shown_by_containers_and_toxiproxy():
    containers = [{"service": "redis", "status": "running", "networks": ["hx"],
                   "labels": {LABEL_FAULT: "redis-misconf-unwritable-dir (broken-1)"}},
                  {"service": "node2", "status": "paused", "networks": ["hx"], "labels": {}},
                  {"service": "node1", "status": "running", "networks": [], "labels": {}},
                  {"service": "upstream", "status": "running", "networks": ["hx"], "labels": {}}]
    assert container_faults(containers) == ["node1 cut from every network (partition)", "node2 paused",
                                            "redis re-created by redis-misconf-unwritable-dir (broken-1)"]
    proxies = {"node1_redis": {"enabled": True, "toxics": [{"name": "slow-1", "type": "latency"}]},
               "node2_redis": {"enabled": False, "toxics": []}, "node1_client": {"enabled": True, "toxics": []}}
    assert toxic_faults(proxies) == ["latency toxic slow-1 on node1_redis", "proxy node2_redis disabled"]


def test_describe_says_orphaned_and_lists_faults():
    line = ClusterStatus("r", "user", "h:1", True, ["node2 paused"]).describe()
    assert "ORPHANED: owner h:1 is gone" in line and "active faults: node2 paused" in line
    assert "active faults: none seen" in ClusterStatus("r", "test-x", "").describe()
