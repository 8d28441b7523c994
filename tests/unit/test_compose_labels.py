"""Every container and network the harness's Compose files make carries the harness's labels: the
sweep, `harness ps`, `down --all --scope` and the tests' leak check find clusters by them alone."""
from pathlib import Path

import pytest
import yaml

from harness.cluster.cluster import LABEL_MANAGED, LABEL_OWNER, LABEL_RUN, LABEL_SCOPE, LABEL_SYSTEM
from harness.cluster.paths import COMPOSE_DIR

LABELS = {LABEL_MANAGED, LABEL_RUN, LABEL_OWNER, LABEL_SYSTEM, LABEL_SCOPE}
FILES = [COMPOSE_DIR / "docker-compose.yml", *sorted((COMPOSE_DIR / "systems").glob("*.yml"))]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_service_and_network_carries_every_label(path: Path):
    doc = yaml.safe_load(path.read_text())
    assert doc.get("services"), path
    for kind in ("services", "networks"):
        for name, item in (doc.get(kind) or {}).items():
            labels = (item or {}).get("labels") or {}
            if isinstance(labels, list):
                labels = dict(line.split("=", 1) for line in labels)
            assert LABELS <= set(labels), f"{path.name}: {kind}.{name} lacks {sorted(LABELS - set(labels))}"


def test_the_system_fragments_are_all_checked():
    assert {p.stem for p in FILES[1:]} >= {"pusher-node", "centrifugo", "custom"}
