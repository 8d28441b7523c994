"""Journal → metrics on small hand-written journals, one edge case each."""
import pytest

from harness.analysis import analyse
from harness.percentile import percentile
from harness.recovery import Recovery
from harness.windows import NamedWindow

GRACE = 1.0


class J:
    """A tiny journal builder: phase 'p' from 0 to 10 s; one run 'r'."""

    def __init__(self):
        self.events = [{"t": 0.0, "kind": "run_start", "run_id": "r", "grace_s": GRACE},
                       {"t": 0.0, "kind": "phase_start", "phase": "p"}]

    def add(self, t, kind, **fields):
        self.events.append({"t": t, "kind": kind, **fields})
        return self

    def sub(self, t, sub, channel="c"):
        return self.add(t, "ws_connect", sub=sub).add(t, "ws_subscribed", sub=sub, channel=channel)

    def pub(self, sent, ack, seq, ok=True, channel="c", error=None):
        return self.add(ack, "publish", pub="p1", seq=seq, channel=channel, sent=sent, ok=ok, error=error)

    def recv(self, t, sub, seq, channel="c", run="r", pub="p1"):
        return self.add(t, "ws_receive", sub=sub, channel=channel, run=run, pub=pub, seq=seq, sent=None)

    def analysis(self, **kw):
        events = sorted(self.events + [{"t": 10.0, "kind": "phase_end", "phase": "p"}], key=lambda e: e["t"])
        return analyse(events, **kw)

    def metrics(self, window="p"):
        return self.analysis().metrics[window]


def test_received_and_latency():
    m = J().sub(0.1, "a").pub(1.0, 1.01, 0).recv(1.02, "a", 0).metrics()
    assert (m["delivery.expected"], m["delivery.received"], m["delivery.lost"]) == (1, 1, 0)
    assert m["delivery.latency_ms.p50"] == 20.0
    assert m["publish.latency_ms.p99"] == 10.0
    assert m["delivery.ratio"] == 1.0


def test_lost_only_when_expected():
    m = J().sub(0.1, "a").pub(1.0, 1.01, 0).metrics()
    assert (m["delivery.expected"], m["delivery.lost"]) == (1, 1)


def test_subscriber_joined_after_the_send_is_not_expected():
    m = J().pub(1.0, 1.01, 0).sub(1.005, "late-joiner").metrics()
    assert m["delivery.expected"] == 0 and m["delivery.lost"] == 0


def test_disconnected_inside_grace_is_not_expected():
    m = J().sub(0.1, "a").pub(1.0, 1.01, 0).add(1.5, "ws_disconnect", sub="a", reason="closed 1006").metrics()
    assert m["delivery.expected"] == 0
    assert m["ws.disconnects"] == 1


def test_harness_closing_its_own_sockets_is_not_a_disconnect():
    m = J().sub(0.1, "a").add(9.0, "ws_disconnect", sub="a", reason="stopped").metrics()
    assert m["ws.disconnects"] == 0


def test_failed_publish_that_was_delivered_is_recovered_not_lost():
    m = J().sub(0.1, "a").pub(1.0, 3.0, 0, ok=False, error="timeout").recv(1.2, "a", 0).metrics()
    assert m["delivery.expected"] == 0 and m["delivery.lost"] == 0
    assert m["delivery.recovered"] == 1
    assert m["publish.errors.timeout"] == 1 and m["publish.success_rate"] == 0.0


def test_duplicate_is_counted_once_as_received():
    m = J().sub(0.1, "a").pub(1.0, 1.01, 0).recv(1.02, "a", 0).recv(1.03, "a", 0).metrics()
    assert (m["delivery.received"], m["delivery.duplicated"]) == (1, 1)


def test_late_delivery():
    m = J().sub(0.1, "a").pub(1.0, 1.01, 0).recv(2.5, "a", 0).metrics()
    assert (m["delivery.received"], m["delivery.late"]) == (1, 1)


def test_reordered_delivery():
    j = J().sub(0.1, "a").pub(1.0, 1.01, 0).pub(1.1, 1.11, 1)
    m = j.recv(1.2, "a", 1).recv(1.3, "a", 0).metrics()
    assert m["delivery.reordered"] == 1 and m["delivery.received"] == 2


def test_unexpected_never_published_other_run_or_wrong_channel():
    j = J().sub(0.1, "a").add(0.1, "ws_subscribed", sub="a", channel="d").pub(1.0, 1.01, 0)
    m = j.recv(1.1, "a", 0).recv(1.2, "a", 99).recv(1.3, "a", 0, run="other").recv(1.4, "a", 0, channel="d").metrics()
    assert m["delivery.unexpected"] == 3
    assert m["delivery.received"] == 1


def test_timestamp_ties_subscription_and_send_at_the_same_instant_is_not_expected():
    m = J().sub(1.0, "a").pub(1.0, 1.01, 0).recv(1.02, "a", 0).metrics()
    assert m["delivery.expected"] == 0


def test_empty_phase_has_no_rates():
    m = J().metrics()
    assert m["publish.attempts"] == 0 and m["publish.success_rate"] is None and m["delivery.ratio"] is None
    assert m["delivery.latency_ms.p99"] is None


def test_publishes_belong_to_the_phase_of_their_send_time():
    j = J()
    j.events += [{"t": 5.0, "kind": "phase_end", "phase": "p"}, {"t": 5.0, "kind": "phase_start", "phase": "q"}]
    j.sub(0.1, "a").pub(4.9, 5.2, 0).pub(5.1, 5.2, 1).recv(5.3, "a", 0).recv(5.3, "a", 1)
    events = sorted(j.events + [{"t": 10.0, "kind": "phase_end", "phase": "q"}], key=lambda e: e["t"])
    metrics = analyse(events).metrics
    assert metrics["p"]["publish.attempts"] == 1 and metrics["q"]["publish.attempts"] == 1
    assert metrics["run"]["delivery.received"] == 2


def test_faults_are_listed_with_their_times():
    j = J().add(1.0, "fault_injected", fault="f", fault_kind="latency", target="redis")
    j.add(1.1, "fault_confirmed", fault="f").add(4.0, "fault_reverted", fault="f")
    events = sorted(j.events + [{"t": 10.0, "kind": "phase_end", "phase": "p"}], key=lambda e: e["t"])
    assert analyse(events).faults == [{"name": "f", "kind": "latency", "target": "redis", "phase": "p",
                                       "injected_s": 1.0, "confirmed_s": 1.1, "reverted_s": 4.0, "planned_s": None,
                                       "confirm_s": 0.1, "recovery_s": None}]


def test_percentile_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([3, 1, 2], 0.5) == 2
    assert percentile(list(range(1, 101)), 0.99) == 99


def test_canary_is_accounted_apart_from_the_load():
    j = J().sub(0.1, "canary", channel="hx-canary").sub(0.1, "a")
    j.add(1.01, "publish", pub="canary", seq=0, channel="hx-canary", sent=1.0, ok=True, error=None)
    j.add(2.01, "publish", pub="canary", seq=1, channel="hx-canary", sent=2.0, ok=True, error=None)
    j.recv(1.05, "canary", 0, channel="hx-canary", pub="canary")
    m = j.metrics()
    assert (m["canary.sent"], m["canary.received"], m["canary.success_rate"]) == (2, 1, 0.5)
    assert m["canary.latency_ms.p50"] == 50.0
    assert m["publish.attempts"] == 0 and m["delivery.expected"] == 0


def test_named_window_and_timeline_buckets():
    j = J().sub(0.1, "a")
    for i in range(10):
        j.pub(i + 0.5, i + 0.51, i).recv(i + 0.52, "a", i)
    a = j.analysis(named=[NamedWindow("first-3s", "p", 0.0, 3.0)], bucket_s=1.0)
    assert a.metrics["first-3s"]["publish.attempts"] == 3
    assert [b["publish.attempts"] for b in a.timeline] == [1] * 10
    assert a.timeline[4]["delivery.latency_ms.p99"] == 20.0


def test_recovery_seconds_after_revert():
    j = J().sub(0.1, "a")
    for i in range(10):
        ok = not 3 <= i < 6           # failing from 3 s to 6 s; the fault is reverted at 4 s
        j.pub(i + 0.5, i + 0.51, i, ok=ok, error=None if ok else "http_5xx")
        if ok:
            j.recv(i + 0.52, "a", i)
    j.add(2.0, "fault_injected", fault="f").add(4.0, "fault_reverted", fault="f")
    j.events += [{"t": 4.0, "kind": "phase_end", "phase": "p"}, {"t": 4.0, "kind": "phase_start", "phase": "q"}]
    events = sorted(j.events + [{"t": 10.0, "kind": "phase_end", "phase": "q"}], key=lambda e: e["t"])
    a = analyse(events, recovery=Recovery(sustain_s=3.0))
    assert a.faults[0]["recovery_s"] == 2.0
    assert a.metrics["q"]["recovery.seconds"] == 2.0         # the phase after the revert
    assert "recovery.seconds" not in a.metrics["p"]
    assert a.metrics["run"]["recovery.seconds"] == 2.0


def test_no_recovery_when_the_run_ends_failing():
    j = J().sub(0.1, "a")
    for i in range(10):
        j.pub(i + 0.5, i + 0.51, i, ok=False, error="http_5xx")
    j.add(4.0, "fault_reverted", fault="f")
    assert j.analysis().metrics["run"]["recovery.seconds"] is None


def test_killed_run_last_publishes_are_not_expected():
    """No disconnect was journaled (SIGKILL): a publish whose ack + grace lies past the end is not lost."""
    events = J().sub(0.1, "a").pub(1.0, 1.01, 0).recv(1.02, "a", 0).pub(2.19, 2.2, 1).events
    m = analyse(events).metrics["p"]          # no phase_end, no disconnect: the journal stops at 2.2
    assert (m["delivery.expected"], m["delivery.lost"]) == (1, 0)


def test_churn_closes_are_not_disconnects():
    m = J().sub(0.1, "a").add(5.0, "ws_disconnect", sub="a", reason="churn").metrics()
    assert m["ws.disconnects"] == 0


def test_a_client_event_is_not_expected_at_its_sender():
    j = J().sub(0.1, "a").sub(0.1, "b")
    j.add(1.0, "publish", pub="c-a", seq=0, channel="c", sent=1.0, ok=True, error=None, origin="a")
    m = j.recv(1.1, "b", 0, pub="c-a").metrics()
    assert (m["delivery.expected"], m["delivery.received"], m["delivery.lost"]) == (1, 1, 0)


@pytest.mark.parametrize("fault_at, expected, lost", [(1.2, 0, 0), (1.6, 1, 1), (0.9, 1, 1)])
def test_a_client_event_sent_just_before_a_fault_is_not_expected(fault_at, expected, lost):
    # No acknowledgement: sent 0.2 s before a fault it may have reached its node after it (a library run
    # lost one sent 14 ms before a Redis blip). Half a second or more before, or after, it is judged.
    j = J().sub(0.1, "a").sub(0.1, "b").add(fault_at, "fault_injected", fault="f", phase=None)   # by hand: p unmoved
    j.add(1.0, "publish", pub="c-a", seq=0, channel="c", sent=1.0, ok=True, error=None, origin="a")
    m = j.metrics()
    assert (m["publish.attempts"], m["delivery.expected"], m["delivery.lost"]) == (1, expected, lost)


def test_another_apps_message_is_unexpected():
    # Apps after the first journal their channels with the app id: a cross-tenant delivery is a wrong channel.
    j = J().sub(0.1, "a").sub(0.1, "a2s", channel="100004/c").pub(1.0, 1.01, 0)
    m = j.recv(1.1, "a", 0).recv(1.1, "a2s", 0, channel="100004/c").metrics()
    assert m["delivery.unexpected"] == 1 and m["delivery.received"] == 1


def test_a_client_event_echoed_to_its_sender_is_unexpected():
    j = J().sub(0.1, "a")
    j.add(1.0, "publish", pub="c-a", seq=0, channel="c", sent=1.0, ok=True, error=None, origin="a")
    assert j.recv(1.1, "a", 0, pub="c-a").metrics()["delivery.unexpected"] == 1


def test_error_latency_tells_how_fast_failures_come():
    m = J().pub(1.0, 1.2, 0, ok=False, error="http_5xx").pub(2.0, 4.0, 1, ok=False, error="timeout").pub(3.0, 3.01, 2).metrics()
    assert (m["publish.error_latency_ms.p50"], m["publish.error_latency_ms.max"]) == (200.0, 2000.0)
    assert m["publish.latency_ms.max"] == 10.0
