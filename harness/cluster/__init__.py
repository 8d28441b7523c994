"""Cluster lifecycle: images, the Compose project, readiness, teardown."""
