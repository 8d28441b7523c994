"""The cluster's service names (pure data: the fault catalog and the cluster both use them)."""
from __future__ import annotations

CORE_SERVICES = ("redis", "toxiproxy", "upstream")
MONITORING_SERVICES = ("redis-exporter", "prometheus", "alertmanager", "alertsink")
