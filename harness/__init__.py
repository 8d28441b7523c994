"""Resilience chaos-testing harness for a Pusher-style pub/sub cluster.

A scenario says which cluster to start, which load to drive, which faults to inject when, and what must
hold; the harness runs it against real containers, journals everything that happened, and judges the
journal with pure functions.
"""

__version__ = "0.1.0"
