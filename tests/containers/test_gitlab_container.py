"""GitLabContainer: its omnibus configuration (offline), and its readiness and token minting against the
replay image, a real container that boots like GitLab CE 15.10.8 (logs, health endpoints, gitlab-rails)."""

from __future__ import annotations

import time

import docker
import pytest
import requests

from nautes_e2e.containers.errors import ContainerNotReady
from nautes_e2e.containers.gitlab import RUNNER_TOKEN_ENV, GitLabContainer
from nautes_e2e.containers.images import GITLAB_REPLAY_IMAGE
from nautes_e2e.containers.labels import COMPONENT_LABEL, WORLD_LABEL
from nautes_e2e.containers.service import free_loopback_port
from nautes_e2e.secrets import Secret
from tests.support.service_containers import ca_signed_tls, containers_of, require_image

ROOT_PASSWORD = Secret("root-password-" + "g" * 10)


@pytest.fixture(scope="module")
def replay(docker_engine: docker.DockerClient) -> str:
    return require_image(docker_engine, GITLAB_REPLAY_IMAGE)


def gitlab(image: str, world: str, **options: object) -> GitLabContainer:
    return GitLabContainer(
        image,
        world=world,
        hostname="gitlab.test",
        http_port=free_loopback_port(),
        ssh_port=free_loopback_port(),
        root_password=ROOT_PASSWORD,
        poll_interval_s=0.1,
        **options,  # type: ignore[arg-type]
    )


def test_omnibus_config_is_slim_and_names_its_url_and_ssh_port(docker_engine: docker.DockerClient) -> None:
    """testcontainers' container asks the engine for its version as soon as it is made."""
    container = GitLabContainer(
        world="w", hostname="gitlab.nautes.test", http_port=8929, ssh_port=2224, root_password=ROOT_PASSWORD
    )
    assert container.image == "gitlab/gitlab-ce:15.10.8-ce.0"
    assert container.omnibus_config().splitlines() == [
        "external_url 'http://gitlab.nautes.test:8929'",
        "gitlab_rails['gitlab_ssh_host'] = 'gitlab.nautes.test'",
        "gitlab_rails['gitlab_shell_ssh_port'] = 2224",
        "gitlab_rails['monitoring_whitelist'] = ['0.0.0.0/0']",
        "prometheus_monitoring['enable'] = false",
        "grafana['enable'] = false",
        "prometheus['enable'] = false",
        "alertmanager['enable'] = false",
        "node_exporter['enable'] = false",
        "redis_exporter['enable'] = false",
        "postgres_exporter['enable'] = false",
        "pgbouncer_exporter['enable'] = false",
        "gitlab_exporter['enable'] = false",
        "registry['enable'] = false",
        "letsencrypt['enable'] = false",
        "puma['worker_processes'] = 0",
        "sidekiq['max_concurrency'] = 10",
    ]
    assert (container.url, container.external_url, container.ssh_url) == (
        "http://127.0.0.1:8929",
        "http://gitlab.nautes.test:8929",
        "ssh://git@127.0.0.1:2224",
    )
    tls = GitLabContainer(
        world="w",
        hostname="g.test",
        http_port=8443,
        ssh_port=22,
        root_password=ROOT_PASSWORD,
        tls=ca_signed_tls(),
    )
    assert tls.omnibus_config().splitlines()[0] == "external_url 'https://g.test:8443'"
    assert tls.omnibus_config().splitlines()[-2:] == [
        "nginx['ssl_certificate'] = '/etc/gitlab/ssl/g.test.crt'",
        "nginx['ssl_certificate_key'] = '/etc/gitlab/ssl/g.test.key'",
    ]
    assert ROOT_PASSWORD.reveal() not in container.omnibus_config()


def test_readiness_waits_for_the_log_line_then_the_health_endpoints(
    docker_engine: docker.DockerClient, replay: str, world: str
) -> None:
    container = gitlab(replay, world, startup_timeout_s=30).with_env("REPLAY_DELAY_S", "2")
    began = time.monotonic()
    container.start()
    try:
        assert time.monotonic() - began >= 2  # the log line comes after the replayed reconfigure
        assert "gitlab Reconfigured!" in container.logs_redacted()
        for check in ("health", "readiness", "liveness"):
            assert requests.get(f"{container.url}/-/{check}", timeout=5).status_code == 200
        attrs = container.get_wrapped_container().attrs
        assert (attrs["Config"]["Labels"][WORLD_LABEL], attrs["Config"]["Labels"][COMPONENT_LABEL]) == (
            world,
            "gitlab",
        )
        ports = attrs["HostConfig"]["PortBindings"]
        assert ports[f"{container.http_port}/tcp"] == [
            {"HostIp": "127.0.0.1", "HostPort": str(container.http_port)}
        ]
        assert ports["22/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(container.ssh_port)}]
    finally:
        container.stop()
    assert containers_of(docker_engine, world) == []


def test_a_gitlab_that_never_reconfigures_times_out_naming_the_line(replay: str, world: str) -> None:
    container = gitlab(replay, world, startup_timeout_s=3).with_env("REPLAY_RECONFIGURED", "false")
    began = time.monotonic()
    try:
        with pytest.raises(ContainerNotReady) as caught:
            container.start()
        elapsed = time.monotonic() - began
        text = str(caught.value)
        assert text.startswith(f"the gitlab container {container.short_id} ({replay}) was not ready: ")
        assert "did not emit logs containing 'gitlab Reconfigured!' within 3" in text
        assert 3 <= elapsed < 20
        # The health endpoints answered all along: the log line is what readiness waited for.
        assert requests.get(f"{container.url}/-/health", timeout=5).status_code == 200
    finally:
        container.stop()


def test_mint_token_passes_the_token_in_the_environment_and_allows_local_webhooks(
    replay: str, world: str
) -> None:
    container = gitlab(replay, world, startup_timeout_s=30).with_env("REPLAY_DELAY_S", "0")
    container.start()
    try:
        token = container.mint_token()
        assert token.reveal().startswith("glpat-")
        assert container.exec(["cat", "/replay/runner-token"]).output.decode() == token.reveal()
        script = container.exec(["cat", "/replay/runner-script.rb"]).output.decode()
        assert "allow_local_requests_from_web_hooks_and_services: true" in script
        assert f"token.set_token(ENV.fetch('{RUNNER_TOKEN_ENV}'))" in script
        assert "scopes: ['api', 'sudo', 'read_repository', 'write_repository']" in script
        assert token.reveal() not in script
        assert container.mint_token() != token
    finally:
        container.stop()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"http_port": 0}, "http_port 0: not a TCP port"),
        ({"ssh_port": 8929}, "both 8929"),
        ({"root_password": Secret("short")}, "shorter than 8"),
    ],
)
def test_bad_options_are_refused_before_anything_starts(options: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "world": "w",
        "hostname": "g",
        "http_port": 8929,
        "ssh_port": 2224,
        "root_password": ROOT_PASSWORD,
        **options,
    }
    with pytest.raises(ValueError, match=message):
        GitLabContainer(**arguments)  # type: ignore[arg-type]
