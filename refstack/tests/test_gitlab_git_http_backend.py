"""The emulated GitLab's smart HTTP answers are git http-backend's, byte for byte and header for header.

The emulation runs ``git upload-pack``/``git receive-pack`` itself and remembers ref advertisements
(``gitlab/git_http.py``); these tests ask it and the real ``git http-backend``, run as a CGI program on the
same repository, the same question and compare the status, the headers (all but those the web server adds
to any answer) and the body.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from gitlab.v4.objects import Project
from nautes_refstack.gitlab.repository import BareRepository
from support.gitlab import Account, RunningGitLab, commit_file, git, gitlab_server, owner, unique

__all__ = ["gitlab_server", "owner"]  # module-scoped fixtures from the shared harness

#: Headers aiohttp puts on every answer it relays, from a CGI program or not.
SERVER_HEADERS = {"Date", "Server", "Transfer-Encoding"}


def pkt(line: str) -> bytes:
    return f"{len(line) + 4:04x}{line}".encode()


#: A protocol v2 ``ls-refs`` command, as ``git ls-remote`` sends it (0001 ends its capabilities).
LS_REFS = (
    pkt("command=ls-refs\n")
    + pkt("object-format=sha1\n")
    + b"0001"
    + pkt("peel\n")
    + pkt("symrefs\n")
    + pkt("ref-prefix refs/heads/\n")
    + b"0000"
)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Target:
    project: Project
    path: str
    token: str


def real_http_backend(
    repositories: Path,
    path_info: str,
    query: str = "",
    protocol: str | None = None,
    method: str = "GET",
    body: bytes = b"",
    content_type: str = "",
) -> Answer:
    """``git http-backend`` run as a web server runs it for an authenticated user, its CGI answer parsed."""
    env = {
        "PATH": os.environ["PATH"],
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_PROJECT_ROOT": str(repositories),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "REQUEST_METHOD": method,
        "REMOTE_USER": "tester",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": content_type,
        **({"HTTP_GIT_PROTOCOL": protocol} if protocol is not None else {}),
    }
    out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=True).stdout
    head, _, payload = out.partition(b"\r\n\r\n")
    status, headers = 200, {}
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(": ")
        if name == "Status":
            status = int(value.split()[0])
        else:
            headers[name] = value
    return Answer(status, headers, payload)


def emulated(
    url: str,
    token: str,
    protocol: str | None = None,
    method: str = "GET",
    body: bytes = b"",
    content_type: str = "",
) -> Answer:
    headers = {"Git-Protocol": protocol} if protocol is not None else {}
    if content_type:
        headers["Content-Type"] = content_type
    response = requests.request(method, url, auth=("oauth2", token), headers=headers, data=body, timeout=30)
    kept = {name: value for name, value in response.headers.items() if name not in SERVER_HEADERS}
    return Answer(response.status_code, kept, response.content)


@pytest.fixture
def target(gitlab_server: RunningGitLab, owner: Account) -> Target:
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Backend", "path": unique("backend")})
    project = api.projects.create({"name": "repo", "namespace_id": group.id, "initialize_with_readme": True})
    return Target(project, project.path_with_namespace, owner.token)


@pytest.mark.parametrize("protocol", [None, "version=1", "version=2", "version=0:version=2"])
@pytest.mark.parametrize("service", ["git-upload-pack", "git-receive-pack"])
def test_info_refs_is_what_http_backend_answers(
    gitlab_server: RunningGitLab, target: Target, service: str, protocol: str | None
) -> None:
    url = f"{target.project.http_url_to_repo}/info/refs?service={service}"
    ours = emulated(url, target.token, protocol)
    theirs = real_http_backend(
        gitlab_server.data_dir / "repositories",
        f"/{target.path}.git/info/refs",
        f"service={service}",
        protocol,
    )
    assert ours == theirs
    # no "# service=" line when v2 was asked for, even for receive-pack, which then advertises in v0
    asked_v2 = protocol is not None and "version=2" in protocol
    assert ours.body.startswith(pkt(f"# service={service}\n") + b"0000") is not asked_v2


def test_a_v2_command_and_a_wrong_content_type_are_answered_as_http_backend_does(
    gitlab_server: RunningGitLab, target: Target
) -> None:
    url = f"{target.project.http_url_to_repo}/git-upload-pack"
    repositories, path_info = gitlab_server.data_dir / "repositories", f"/{target.path}.git/git-upload-pack"
    request = "application/x-git-upload-pack-request"
    ours = emulated(url, target.token, "version=2", "POST", LS_REFS, request)
    assert ours == real_http_backend(repositories, path_info, "", "version=2", "POST", LS_REFS, request)
    assert b"refs/heads/main" in ours.body
    wrong = emulated(url, target.token, None, "POST", LS_REFS, "application/octet-stream")
    theirs = real_http_backend(repositories, path_info, "", None, "POST", LS_REFS, "application/octet-stream")
    assert (wrong.status, wrong.body) == (theirs.status, theirs.body) == (415, wrong.body)
    assert b"Expected POST with Content-Type 'application/x-git-upload-pack-request'" in wrong.body
    assert {name: wrong.headers[name] for name in theirs.headers} == theirs.headers


def test_an_advertisement_is_remembered_until_a_push_moves_a_ref(
    tmp_path: Path, gitlab_server: RunningGitLab, target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[tuple[str, ...]] = []
    run = BareRepository._run

    def counted(self: BareRepository, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        if "--advertise-refs" in args:
            runs.append(args)
        return run(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(BareRepository, "_run", counted)
    url = f"{target.project.http_url_to_repo}/info/refs?service=git-upload-pack"
    first = emulated(url, target.token)
    assert emulated(url, target.token) == first
    assert len(runs) == 1  # the second answer started no process

    checkout = tmp_path / "c"
    authenticated = target.project.http_url_to_repo.replace("http://", f"http://oauth2:{target.token}@", 1)
    assert git("clone", "-q", authenticated, str(checkout)).returncode == 0
    pushed = commit_file(checkout, "next.txt", "next\n")
    assert git("push", "-q", "origin", "main", cwd=checkout).returncode == 0
    second = emulated(url, target.token)
    assert second != first
    assert f"{pushed} refs/heads/main".encode() in second.body
    theirs = real_http_backend(
        gitlab_server.data_dir / "repositories", f"/{target.path}.git/info/refs", "service=git-upload-pack"
    )
    assert second == theirs


def test_new_repositories_leave_housekeeping_to_gitlab(gitlab_server: RunningGitLab, target: Target) -> None:
    repository = gitlab_server.data_dir / "repositories" / f"{target.path}.git"
    settings = {
        key: git("config", "--get", key, cwd=repository).stdout.strip()
        for key in (
            "receive.autogc",
            "gc.auto",
            "uploadpack.allowfilter",
            "core.alternaterefscommand",
            "core.usereplacerefs",
        )
    }
    assert settings == {
        "receive.autogc": "false",
        "gc.auto": "0",
        "uploadpack.allowfilter": "true",
        "core.alternaterefscommand": "exit 0 #",
        "core.usereplacerefs": "false",
    }
