"""Protocol drivers of the workload: one module per protocol, all behind protocols.base's interface."""
from __future__ import annotations

from harness.workload.protocols.base import Driver
from harness.workload.protocols.centrifugo import CentrifugoDriver
from harness.workload.protocols.pusher import PusherDriver

DRIVERS = {"pusher": PusherDriver, "centrifugo": CentrifugoDriver}


def driver(protocol: str, ws_path: str = "") -> Driver:
    """The driver of a protocol, for a server whose WebSocket endpoint is at ws_path."""
    if protocol not in DRIVERS:
        raise ValueError(f"unknown protocol {protocol!r}; allowed: {', '.join(DRIVERS)}")
    return DRIVERS[protocol](ws_path) if ws_path else DRIVERS[protocol]()
