"""Every client says "no answer" the same way: :class:`ServiceUnreachable`, one line naming the endpoint,
what was tried and why, raised without the chain of library exceptions beneath it.

Each client is pointed at a loopback port nothing listens on (held bound so that nothing else takes it),
then at servers that fail in the other ways a service gives no answer: a name that does not resolve, a
connection closed without a reply, no reply in time, a certificate nobody trusts.
"""

from __future__ import annotations

import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from nautes_e2e.clients import (
    GitLabClient,
    GitWorkingCopy,
    KubeClient,
    NautesClient,
    NautesConnectionError,
    NautesRequestCut,
    RegistryClient,
    RegistryEndpoint,
    ServiceUnreachable,
    VaultClient,
)
from nautes_e2e.secrets import Secret
from tests.support.http import catch_all
from tests.support.https import serve_tls
from tests.support.loop import BackgroundLoop

TOKEN = Secret("glpat-unreachable-test-token-9d2e")


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def kubeconfig(directory: Path, server: str) -> Path:
    path = directory / "kubeconfig.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        f"users: [{{name: u, user: {{token: {TOKEN.reveal()}}}}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    return path


def git_push(directory: Path, remote: str) -> None:
    copy = GitWorkingCopy.init(directory / "copy", remote, TOKEN)
    copy.commit_all("a commit", "Demo", "demo@example.com")
    copy.push()


#: name -> (what the message starts with, given the port; the call, given the port and a scratch folder)
CLIENTS: dict[str, tuple[Callable[[int], str], Callable[[int, Path], object]]] = {
    "nautes": (
        lambda port: f"Nautes API at http://127.0.0.1:{port} did not answer GET /api/v1/clusters/",
        lambda port, _: NautesClient(f"http://127.0.0.1:{port}", TOKEN).list("Cluster"),
    ),
    "gitlab": (
        lambda port: f"GitLab at http://127.0.0.1:{port} did not answer GET /api/v4/user",
        lambda port, _: GitLabClient(f"http://127.0.0.1:{port}", TOKEN).current_user(),
    ),
    "gitlab-projects": (
        lambda port: f"GitLab at http://127.0.0.1:{port} did not answer GET /api/v4/groups/demo",
        lambda port, _: GitLabClient(f"http://127.0.0.1:{port}", TOKEN).group_projects("demo"),
    ),
    "vault-health": (
        lambda port: f"Vault at http://127.0.0.1:{port} did not answer GET /v1/sys/health",
        lambda port, _: VaultClient(f"http://127.0.0.1:{port}", TOKEN).healthy(),
    ),
    "vault-read": (
        lambda port: f"Vault at http://127.0.0.1:{port} did not answer GET /v1/git/data/gitlab/repo-1",
        lambda port, _: VaultClient(f"http://127.0.0.1:{port}", TOKEN).kv_keys("git", "gitlab/repo-1"),
    ),
    "registry": (
        lambda port: f"registry at http://127.0.0.1:{port} did not answer GET /v2/",
        lambda port, _: RegistryClient(
            RegistryEndpoint(host=f"127.0.0.1:{port}", scheme="http", username=None, password=None)
        ).ping(),
    ),
    "kube": (
        lambda port: f"Kubernetes API at http://127.0.0.1:{port} did not answer GET /version",
        lambda port, scratch: KubeClient(kubeconfig(scratch, f"http://127.0.0.1:{port}")).version(),
    ),
    "git-http": (
        lambda port: f"git remote at http://127.0.0.1:{port}/group/repo.git/ did not answer git push",
        lambda port, scratch: git_push(scratch, f"http://127.0.0.1:{port}/group/repo.git"),
    ),
    "git-ssh": (
        lambda port: f"git remote at ssh://127.0.0.1:{port} did not answer git push",
        lambda port, scratch: git_push(scratch, f"ssh://git@127.0.0.1:{port}/group/repo.git"),
    ),
}


@pytest.mark.parametrize("client", CLIENTS)
def test_a_closed_port_is_one_line_naming_endpoint_action_and_reason(
    client: str, closed_port: int, tmp_path: Path
) -> None:
    starts, call = CLIENTS[client]

    with pytest.raises(ServiceUnreachable) as caught:
        call(closed_port, tmp_path)

    error = caught.value
    assert str(error).startswith(starts(closed_port) + ": "), str(error)
    assert "refused" in error.reason.lower() or "couldn't connect" in error.reason.lower(), error.reason
    assert "\n" not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    printed = "".join(traceback.format_exception(error))
    assert "During handling" not in printed
    assert "direct cause" not in printed
    assert "MaxRetryError" not in printed
    assert "NewConnectionError" not in printed
    assert TOKEN.reveal() not in printed


def test_the_nautes_client_s_errors_are_service_unreachable_too() -> None:
    """What the teardown and retries catch by their Nautes names stays catchable as the shared type."""
    assert issubclass(NautesConnectionError, ServiceUnreachable)
    assert issubclass(NautesRequestCut, NautesConnectionError)


def test_a_name_that_does_not_resolve() -> None:
    with pytest.raises(ServiceUnreachable) as caught:
        GitLabClient("http://no-such-host.invalid", TOKEN).current_user()
    assert str(caught.value) == (
        "GitLab at http://no-such-host.invalid did not answer GET /api/v4/user: "
        "its host name does not resolve"
    )


@pytest.fixture
def hangs_up() -> Iterator[int]:
    """A server that reads each request and closes the connection without a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.1)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    connection, _ = server.accept()
                except TimeoutError:
                    continue
                with connection:
                    connection.recv(65536)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        yield int(server.getsockname()[1])
        stop.set()
        thread.join(timeout=5)


def test_a_connection_closed_without_a_reply(hangs_up: int) -> None:
    with pytest.raises(ServiceUnreachable) as caught:
        VaultClient(f"http://127.0.0.1:{hangs_up}", TOKEN).kv_keys("cluster", "x")
    assert caught.value.reason == "the connection closed without a reply"


@pytest.fixture
def never_answers() -> Iterator[int]:
    """A server whose kernel completes the connection (the backlog) while nothing ever reads or replies."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


def test_no_reply_in_time_names_the_timeout_and_a_cut_save_says_it_may_land(never_answers: int) -> None:
    client = NautesClient(f"http://127.0.0.1:{never_answers}", TOKEN, timeout=0.3)
    with pytest.raises(NautesRequestCut) as caught:
        client.list("Cluster")
    assert str(caught.value) == (
        f"Nautes API at http://127.0.0.1:{never_answers} did not answer GET /api/v1/clusters/: "
        "no reply within 0.3s (the server may still be at work)"
    )


def test_an_untrusted_certificate_says_where_to_give_the_ca(tmp_path: Path) -> None:
    async def hello(request: web.Request) -> web.StreamResponse:
        return web.json_response({"username": "demo"})

    with BackgroundLoop() as loop, serve_tls(loop, catch_all(hello)) as served:
        with pytest.raises(ServiceUnreachable) as gitlab:
            GitLabClient(f"https://127.0.0.1:{served.port}", TOKEN).current_user()
        with pytest.raises(ServiceUnreachable) as kube:
            KubeClient(kubeconfig(tmp_path, f"https://127.0.0.1:{served.port}")).version()

    assert gitlab.value.reason.startswith("its TLS certificate is not trusted (")
    assert gitlab.value.reason.endswith("): give its CA as gitlab.caBundle (or caBundle) in the target file")
    assert kube.value.reason.startswith("its TLS certificate is not trusted (")
    assert "certificate-authority" in kube.value.reason
