"""Which clusters a run sweeps: only a dead owner's on this host, and only once old enough."""
import socket
import time

from harness.cluster.cluster import LABEL_OWNER, LABEL_RUN, SWEEP_AGE_S, orphan_runs

HOST = socket.gethostname()
NOW = time.time()


def created(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.123456789Z", time.gmtime(NOW - seconds_ago))


def obj(run: str, owner: str, age: float):
    return ({LABEL_RUN: run, LABEL_OWNER: owner}, created(age))


def test_only_old_clusters_of_dead_owners_on_this_host_are_swept():
    dead, alive = f"{HOST}:111", f"{HOST}:222"
    objects = [
        obj("killed", dead, SWEEP_AGE_S + 60),
        obj("killed-just-now", dead, 5),                 # still being looked at
        obj("running", alive, SWEEP_AGE_S + 60),
        obj("kept", "", SWEEP_AGE_S + 60),              # harness up
        obj("elsewhere", "other-host:111", SWEEP_AGE_S + 60),
    ]
    assert orphan_runs(objects, NOW, alive=lambda pid: pid == "222") == ["killed"]


def test_the_newest_object_of_a_run_decides_its_age():
    objects = [obj("r", f"{HOST}:111", SWEEP_AGE_S + 60), obj("r", f"{HOST}:111", 1)]  # a network made just now
    assert orphan_runs(objects, NOW, alive=lambda pid: False) == []


def test_an_unreadable_creation_time_is_never_taken_for_old():
    objects = [({LABEL_RUN: "r", LABEL_OWNER: f"{HOST}:111"}, "not a time")]
    assert orphan_runs(objects, NOW, alive=lambda pid: False) == []
