"""Faults: small reversible objects with inject(), confirm() and revert() (see base.py)."""
