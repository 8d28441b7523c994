"""Systems under test: the built-in ones by name, a user's own from its declaration (docs/systems.md)."""
from __future__ import annotations

from typing import Any

from harness.systems import centrifugo, custom, pusher_node
from harness.systems.base import Probe, System

BUILTIN = {"pusher-node": pusher_node.system, "centrifugo": centrifugo.system}
DEFAULT = "pusher-node"

__all__ = ["BUILTIN", "DEFAULT", "Probe", "System", "resolve"]


def resolve(spec: Any = DEFAULT) -> System:
    """A built-in system's name, or a custom declaration (mapping); ValueError("<field>: …") otherwise."""
    if isinstance(spec, str):
        if spec not in BUILTIN:
            raise ValueError(f"unknown system {spec!r}; allowed: {', '.join(BUILTIN)}, or a mapping "
                             "{image, protocol, ...} declaring your own (docs/systems.md)")
        return BUILTIN[spec]()
    if isinstance(spec, dict):
        return custom.parse(spec)
    raise ValueError(f"must be a system name ({', '.join(BUILTIN)}) or a mapping {{image, protocol, ...}}, got {spec!r}")
