"""GitWorkingCopy with the real git: local bare repositories, and an HTTP endpoint that records headers."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from nautes_e2e.clients import GitError, GitWorkingCopy, ServiceUnreachable, git_invocation
from nautes_e2e.clients.trust import combined_bundle
from nautes_e2e.secrets import Secret
from tests.support.http import catch_all, serve
from tests.support.https import CA_PEM, serve_tls
from tests.support.loop import BackgroundLoop

TOKEN = Secret("glpat-git-client-test-token")
AUTHOR = ("Quickstart User", "quickstart@example.test")


def bare_repository(path: Path) -> Path:
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)], check=True)
    return path


def remote_head(bare: Path, branch: str = "main") -> str:
    return subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", f"refs/heads/{branch}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_init_commit_push_then_clone_reads_it_back(tmp_path: Path) -> None:
    bare = bare_repository(tmp_path / "remote.git")
    copy = GitWorkingCopy.init(tmp_path / "work", str(bare), None)
    copy.write_files({"deployments/test/app.yaml": b"kind: Deployment\n", "README.md": b"hello\n"})
    sha = copy.commit_all("submit the kubernetes manifests.", *AUTHOR)
    copy.push("main")
    assert remote_head(bare) == sha == copy.head()

    clone = GitWorkingCopy.clone(str(bare), tmp_path / "check", None)
    assert clone.head() == sha
    assert clone.read("deployments/test/app.yaml") == "kind: Deployment\n"
    assert clone.log_message() == "submit the kubernetes manifests."
    author = subprocess.run(
        ["git", "log", "-1", "--format=%an <%ae>|%cn"],
        cwd=clone.path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert author == "Quickstart User <quickstart@example.test>|Quickstart User"


def test_unrelated_history_needs_force_push(tmp_path: Path) -> None:
    bare = bare_repository(tmp_path / "remote.git")
    first = GitWorkingCopy.init(tmp_path / "first", str(bare), None)
    first.write_files({"a.txt": b"1\n"})
    first.commit_all("first", *AUTHOR)
    first.push()

    second = GitWorkingCopy.init(tmp_path / "second", str(bare), None)
    second.write_files({"b.txt": b"2\n"})
    sha = second.commit_all("second", *AUTHOR)
    with pytest.raises(GitError, match=r"(?s)git push origin HEAD:refs/heads/main failed \(1\):.*rejected"):
        second.push("main")
    assert remote_head(bare) == first.head()
    second.push("main", force=True)
    assert remote_head(bare) == sha


def test_commit_all_allows_an_empty_commit_so_a_re_push_triggers_again(tmp_path: Path) -> None:
    bare = bare_repository(tmp_path / "remote.git")
    copy = GitWorkingCopy.init(tmp_path / "work", str(bare), None)
    copy.write_files({"a.txt": b"1\n"})
    first = copy.commit_all("one", *AUTHOR)
    second = copy.commit_all("two", *AUTHOR)
    assert first != second
    assert copy.log_message() == "two"


def test_write_files_stays_inside_the_working_copy(tmp_path: Path) -> None:
    copy = GitWorkingCopy.init(tmp_path / "work", "https://example.invalid/x.git", None)
    for bad in ("../escape.txt", "/etc/passwd", ".git/config", ""):
        with pytest.raises(ValueError, match="refusing to write"):
            copy.write_files({bad: b"x"})
    assert not (tmp_path / "escape.txt").exists()


def test_credentials_travel_in_the_environment_only() -> None:
    invocation = git_invocation(["push", "--force", "origin", "HEAD:refs/heads/main"], TOKEN)
    assert invocation.argv == ("git", "push", "--force", "origin", "HEAD:refs/heads/main")
    assert all(TOKEN.reveal() not in arg for arg in invocation.argv)
    encoded = base64.b64encode(f"oauth2:{TOKEN.reveal()}".encode()).decode()
    assert all(encoded not in arg for arg in invocation.argv)
    assert invocation.env["GIT_CONFIG_COUNT"] == "1"
    assert invocation.env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert invocation.env["GIT_CONFIG_VALUE_0"] == f"Authorization: Basic {encoded}"
    assert invocation.env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GIT_CONFIG_COUNT" not in git_invocation(["status"], None).env


def test_a_ca_bundle_travels_in_the_environment_only(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    invocation = git_invocation(["clone", "--", "https://gitlab.example/g/r.git", "r"], TOKEN, bundle)
    assert all(str(bundle) not in arg for arg in invocation.argv)
    assert invocation.env["GIT_SSL_CAINFO"] == str(bundle)
    assert invocation.env["GIT_CONFIG_KEY_0"] == "http.extraHeader", "the token still travels"
    assert "GIT_SSL_CAINFO" not in git_invocation(["status"], None).env


def test_real_git_trusts_a_private_ca_only_when_given_it(tmp_path: Path) -> None:
    recording = HeaderRecorder()
    with BackgroundLoop() as loop, serve_tls(loop, catch_all(recording.handle)) as served:
        url = f"https://127.0.0.1:{served.port}/group/repo.git"
        with pytest.raises(ServiceUnreachable, match="certificate") as untrusted:
            GitWorkingCopy.clone(url, tmp_path / "untrusted", TOKEN)  # (an inherited GIT_SSL_CAINFO too)
        assert "gitlab.caBundle" in str(untrusted.value)
        assert recording.authorizations == [], "no credentials to a server git cannot verify"
        with pytest.raises(GitError, match="403"):
            GitWorkingCopy.clone(url, tmp_path / "trusted", TOKEN, ca_bundle=combined_bundle([CA_PEM]))
        assert recording.authorizations, "with the CA added, git reached the server"


class HeaderRecorder:
    """An HTTP endpoint that records the Authorization header git sends, then refuses with 403."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        return web.Response(status=403, text=f"denied; you sent {request.headers.get('Authorization')}")


@pytest.fixture
def recorder() -> Iterator[HeaderRecorder]:
    recording = HeaderRecorder()
    with BackgroundLoop() as loop, serve(loop, catch_all(recording.handle)) as served:
        recording.url = served.url
        yield recording


def test_real_git_sends_the_token_as_basic_auth_and_errors_are_redacted(
    recorder: HeaderRecorder, tmp_path: Path
) -> None:
    with pytest.raises(GitError) as caught:
        GitWorkingCopy.clone(f"{recorder.url}/group/repo.git", tmp_path / "clone", TOKEN)
    encoded = base64.b64encode(f"oauth2:{TOKEN.reveal()}".encode()).decode()
    assert recorder.authorizations[0] == f"Basic {encoded}"
    text = str(caught.value)
    assert text.startswith(f"git clone -- {recorder.url}/group/repo.git ")
    assert TOKEN.reveal() not in text
    assert encoded not in text


def test_credentials_in_a_url_never_reach_the_error(recorder: HeaderRecorder, tmp_path: Path) -> None:
    url = recorder.url.replace("http://", "http://someone:pa55word-in-url@") + "/x.git"
    with pytest.raises(GitError) as caught:
        GitWorkingCopy.clone(url, tmp_path / "clone", None)
    assert "pa55word-in-url" not in str(caught.value)
    assert "***@127.0.0.1" in str(caught.value)
