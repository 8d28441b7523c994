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


def test_accuracy_needs_a_check_of_a_channel_with_members():
    # Nobody joined (their subscriptions refused, say): every node rightly answering 0 proves nothing about
    # presence across nodes, so accuracy has no value; the counts stay.
    m = window_metrics([check(5, 0), check(6, 0, "node2")], [W])["p"]
    assert (m["presence.checks"], m["presence.correct"], m["presence.accuracy"]) == (2, 2, None)
    # Once a member is known, checks of the empty channel after it left count too.
    left = subscribed(1, "a") + [check(5, 1), {"t": 6, "kind": "ws_disconnect", "sub": "a"}, check(9, 0)]
    assert window_metrics(left, [W])["p"]["presence.accuracy"] == 1.0
