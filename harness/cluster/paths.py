"""Where the project's compose/ tree lives (next to the package in a checkout or editable install)."""
from __future__ import annotations

import os
from pathlib import Path

COMPOSE_DIR = Path(os.environ.get("HX_COMPOSE_DIR", Path(__file__).resolve().parents[2] / "compose"))
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
