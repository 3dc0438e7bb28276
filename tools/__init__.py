"""Maintenance scripts of the repository (run with ``python tools/<script>.py``)."""
