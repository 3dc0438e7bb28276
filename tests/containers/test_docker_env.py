"""The testcontainers settings the harness needs on this kind of machine, and how a missing engine is said."""

from __future__ import annotations

import pytest
from testcontainers.core.config import ConnectionMode, testcontainers_config

from nautes_e2e.containers.docker_env import configure_testcontainers, docker_unavailable_reason


def test_defaults_for_a_local_engine() -> None:
    environ: dict[str, str] = {}
    configure_testcontainers(environ)
    assert environ == {
        "TESTCONTAINERS_RYUK_DISABLED": "true",
        "TC_POOLING_INTERVAL": "0.1",
        "TESTCONTAINERS_CONNECTION_MODE": "docker_host",
        "TC_HOST": "127.0.0.1",
    }
    assert testcontainers_config.ryuk_disabled is True
    assert testcontainers_config.connection_mode_override == ConnectionMode.docker_host
    assert testcontainers_config.tc_host_override == "127.0.0.1"
    assert testcontainers_config.sleep_time == 0.1


def test_what_the_user_set_wins_and_a_remote_engine_gets_no_local_host() -> None:
    environ = {"DOCKER_HOST": "tcp://docker.internal:2375", "TC_POOLING_INTERVAL": "0.5"}
    try:
        configure_testcontainers(environ)
        assert environ == {
            "DOCKER_HOST": "tcp://docker.internal:2375",
            "TC_POOLING_INTERVAL": "0.5",
            "TESTCONTAINERS_RYUK_DISABLED": "true",
        }
        assert testcontainers_config.sleep_time == 0.5
    finally:
        configure_testcontainers()  # this process's own settings back


def test_an_engine_that_does_not_answer_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    reason = docker_unavailable_reason()
    assert reason is not None
    assert reason.startswith("the Docker engine at unix:///nonexistent/docker.sock does not answer (")
    assert reason.endswith("); start it (dockerd) or point DOCKER_HOST at one")
