"""Observers of a running cluster: the alert watcher (Prometheus and the alert sink) and rule files."""
