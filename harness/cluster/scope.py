"""A cluster's scope: who it is for (label io.hx.scope), from HX_SCOPE; `down --all` and the tests' leak
check touch only their own scope. Kept apart from the cluster code so the CLI can check HX_SCOPE without
loading Docker's client."""
from __future__ import annotations

import os
import re

DEFAULT_SCOPE = "user"
SCOPE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")


def current() -> str:
    """This process's scope: HX_SCOPE, else DEFAULT_SCOPE."""
    return os.environ.get("HX_SCOPE") or DEFAULT_SCOPE


def problem(scope: str) -> str | None:
    """What is wrong with a scope, or None."""
    if SCOPE_PATTERN.fullmatch(scope):
        return None
    return (f"HX_SCOPE must be 1-63 lower-case letters, digits, '.', '_' and '-', starting with a letter or digit; "
            f"got {scope!r}")
