"""The software a run used, so that a report from CI can be compared with one from a laptop."""

from __future__ import annotations

import platform
from importlib import metadata

#: The distributions whose behaviour shapes a run: the test runner and the clients that talk to Nautes.
REPORTED_DISTRIBUTIONS = ("nautes-e2e", "pytest", "kubernetes", "python-gitlab", "hvac", "aiohttp")


def collect_environment() -> dict[str, str]:
    """Python, the platform, and the version of each reported distribution (``not installed`` if absent)."""
    environment = {"python": platform.python_version(), "platform": platform.platform()}
    for distribution in REPORTED_DISTRIBUTIONS:
        try:
            environment[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            environment[distribution] = "not installed"
    return environment
