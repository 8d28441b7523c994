"""Presence checks judged against the subscribers the harness knows, only when its view was stable."""
from harness.analysis import Window
from harness.presence import window_metrics

W = Window("p", 0, 100)


def subscribed(t, sub, channel="presence-c"):
    return [{"t": t, "kind": "ws_connect", "sub": sub}, {"t": t, "kind": "ws_subscribed", "sub": sub, "channel": channel}]


def check(t, users, node="node1", channel="presence-c"):
    return {"t": t, "kind": "presence_check", "node": node, "channel": channel, "users": users}


def test_right_and_wrong_counts_after_a_stable_view():
    events = subscribed(1, "a") + subscribed(1, "b") + [check(5, 2), check(6, 1, "node2"), check(7, None)]
    m = window_metrics(events, [W])["p"]
    assert (m["presence.checks"], m["presence.correct"], m["presence.errors"], m["presence.accuracy"]) == (2, 1, 1, 0.5)


def test_checks_while_the_view_changes_are_not_judged():
    events = subscribed(1, "a") + [check(2, 5)] + [{"t": 5, "kind": "ws_disconnect", "sub": "a"}, check(6, 1), check(8, 0)]
    m = window_metrics(events, [W])["p"]
    assert (m["presence.checks"], m["presence.correct"]) == (1, 1)


def test_other_apps_channels_are_their_own():
    events = subscribed(1, "a") + subscribed(1, "x", "100004/presence-c") + [check(5, 1), check(5, 1, channel="100004/presence-c")]
    assert window_metrics(events, [W])["p"]["presence.correct"] == 2


def test_no_checks_no_metrics():
    assert window_metrics(subscribed(1, "a"), [W]) == {}
