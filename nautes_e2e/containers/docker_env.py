"""The Docker engine the service containers run on, and the testcontainers settings this harness needs.

testcontainers reads its settings from the environment once, when it is imported, and some defaults do not
fit the machines the harness runs on (measured, see the project's environment notes):

- Ryuk, its reaper container, is an image that cannot be pulled on a machine without a registry; the
  harness removes its containers itself, by id, so Ryuk is disabled.
- Inside a container (``/.dockerenv``) testcontainers guesses the "gateway_ip" connection mode and hands out
  ``172.17.0.1`` as the host of every mapped port; against a local engine the ports are on ``127.0.0.1``
  (``TESTCONTAINERS_CONNECTION_MODE=docker_host`` and ``TC_HOST`` are both needed).
- The default 1 s poll interval turns a 0.4 s start of OpenBao into 1.3 s.

:func:`configure_testcontainers` sets these unless the user did, in the environment (for the processes the
harness starts) and in the already imported configuration object.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

import docker
import docker.errors

#: What the harness sets unless the environment already says otherwise. The host settings only apply to
#: a local engine (no ``DOCKER_HOST``, or a unix socket): a remote engine's ports are not on 127.0.0.1.
ALWAYS = {"TESTCONTAINERS_RYUK_DISABLED": "true", "TC_POOLING_INTERVAL": "0.1"}
LOCAL_ENGINE = {"TESTCONTAINERS_CONNECTION_MODE": "docker_host", "TC_HOST": "127.0.0.1"}
#: How long the reachability check waits for the engine before it calls Docker unavailable.
PING_TIMEOUT_S = 5


def configure_testcontainers(environ: MutableMapping[str, str] | None = None) -> None:
    """Set the testcontainers settings above unless already set (idempotent), and apply the effective
    values to testcontainers' configuration object, which was filled from the environment at import."""
    from testcontainers.core.config import ConnectionMode, testcontainers_config

    env = os.environ if environ is None else environ
    defaults = dict(ALWAYS)
    if _local_engine(env.get("DOCKER_HOST", "")):
        defaults |= LOCAL_ENGINE
    for name, value in defaults.items():
        env.setdefault(name, value)
    testcontainers_config.ryuk_disabled = env["TESTCONTAINERS_RYUK_DISABLED"].lower() in ("1", "true", "yes")
    testcontainers_config.sleep_time = float(env["TC_POOLING_INTERVAL"])
    if "TESTCONTAINERS_CONNECTION_MODE" in env:
        testcontainers_config.connection_mode_override = ConnectionMode(env["TESTCONTAINERS_CONNECTION_MODE"])
    if "TC_HOST" in env:
        testcontainers_config.tc_host_override = env["TC_HOST"]


def _local_engine(docker_host: str) -> bool:
    return not docker_host or docker_host.startswith("unix://")


def docker_client() -> docker.DockerClient:
    """A client of the engine ``DOCKER_HOST`` (or the local socket) names."""
    return docker.from_env(timeout=PING_TIMEOUT_S * 12)


def docker_unavailable_reason() -> str | None:
    """Why no container can be started here (the engine named and what went wrong), or None when the
    engine answers a ping."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.from_env(timeout=PING_TIMEOUT_S)
        try:
            client.ping()
        finally:
            client.close()
    except docker.errors.DockerException as error:
        return (
            f"the Docker engine at {where} does not answer ({_first_line(error)}); start it (dockerd) or "
            "point DOCKER_HOST at one"
        )
    return None


def image_present(client: docker.DockerClient, image: str) -> bool:
    """Whether ``image`` is in the engine's image store (nothing is pulled)."""
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
