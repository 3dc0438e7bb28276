"""Real ``git`` over smart HTTP against the emulated GitLab: tokens, refusals, large pushes, protections."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import gitlab
import pytest
import requests
from gitlab.v4.objects import Project
from support.gitlab import Account, RunningGitLab, commit_file, git, gitlab_server, owner, unique

__all__ = ["gitlab_server", "owner"]  # module-scoped fixtures from the shared harness


@pytest.fixture(scope="module")
def project(gitlab_server: RunningGitLab, owner: Account) -> Project:
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Http", "path": unique("http")})
    return api.projects.create({"name": "repo", "namespace_id": group.id, "initialize_with_readme": True})


def with_token(url: str, token: str, user: str = "oauth2") -> str:
    return url.replace("http://", f"http://{user}:{token}@", 1)


def askpass(tmp_path: Path, token: str) -> dict[str, str]:
    """Credentials the way CI scripts pass them: a ``GIT_ASKPASS`` helper that prints the token."""
    helper = tmp_path / "askpass.sh"
    helper.write_text(f"#!/bin/sh\ncase \"$1\" in Username*) echo oauth2 ;; *) echo '{token}' ;; esac\n")
    helper.chmod(0o700)
    return {"GIT_ASKPASS": str(helper)}


def test_clone_and_push_with_token_via_askpass(tmp_path: Path, owner: Account, project: Project) -> None:
    env = askpass(tmp_path, owner.token)
    cloned = git("clone", project.http_url_to_repo, str(tmp_path / "c"), env=env)
    assert cloned.returncode == 0, cloned.stderr
    assert (tmp_path / "c" / "README.md").read_text() == "# repo\n"
    commit_file(tmp_path / "c", "app.txt", "v1\n")
    pushed = git("push", "origin", "main", cwd=tmp_path / "c", env=env)
    assert pushed.returncode == 0, pushed.stderr
    remote = git("ls-remote", project.http_url_to_repo, "refs/heads/main", env=env)
    assert remote.stdout.split()[0] == git("rev-parse", "HEAD", cwd=tmp_path / "c").stdout.strip()


def test_extra_header_and_project_access_token(
    tmp_path: Path, gitlab_server: RunningGitLab, project: Project
) -> None:
    token = project.access_tokens.create(
        {"name": "ci", "scopes": ["write_repository"], "access_level": 40}
    ).token
    header = "Authorization: Basic " + base64.b64encode(f"anything:{token}".encode()).decode()
    cloned = git("-c", f"http.extraHeader={header}", "clone", project.http_url_to_repo, str(tmp_path / "c"))
    assert cloned.returncode == 0, cloned.stderr
    commit_file(tmp_path / "c", "bot.txt", "from the bot\n")
    pushed = git("-c", f"http.extraHeader={header}", "push", "origin", "main", cwd=tmp_path / "c")
    assert pushed.returncode == 0, pushed.stderr
    assert gitlab_server.gitlab.read_file(project.id, "main", "bot.txt") == b"from the bot\n"


def test_wrong_token_and_no_credentials_are_refused(
    tmp_path: Path, gitlab_server: RunningGitLab, project: Project
) -> None:
    wrong = git("clone", with_token(project.http_url_to_repo, "glpat-not-a-real-token"), str(tmp_path / "c"))
    assert wrong.returncode != 0
    assert "Authentication failed" in wrong.stderr
    assert "HTTP Basic: Access denied" in wrong.stderr
    challenge = requests.get(f"{project.http_url_to_repo}/info/refs?service=git-upload-pack", timeout=5)
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"] == 'Basic realm="GitLab"'


def test_outsiders_and_read_only_tokens_get_gitlab_messages(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account, project: Project
) -> None:
    outsider = gitlab_server.account()
    hidden = git("clone", with_token(project.http_url_to_repo, outsider.token), str(tmp_path / "o"))
    assert hidden.returncode != 0
    assert "could not be found or you don't have permission to view it" in hidden.stderr
    reader = gitlab_server.client(owner.token).projects.get(project.id)
    token = reader.access_tokens.create(
        {"name": "ro", "scopes": ["read_repository"], "access_level": 40}
    ).token
    url = with_token(project.http_url_to_repo, token)
    assert git("clone", url, str(tmp_path / "r")).returncode == 0
    commit_file(tmp_path / "r", "nope.txt", "x")
    refused = git("push", "origin", "main", cwd=tmp_path / "r")
    assert refused.returncode != 0
    assert "remote: You are not allowed to upload code." in refused.stderr


def test_two_megabyte_push_goes_through_chunked(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account
) -> None:
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Big", "path": unique("big")})
    target = api.projects.create({"name": "big", "namespace_id": group.id})
    checkout = tmp_path / "big"
    assert git("init", "-q", "-b", "main", str(checkout)).returncode == 0
    payload = os.urandom(2 * 1024 * 1024)  # incompressible: the pack exceeds http.postBuffer (1 MiB)
    commit_file(checkout, "blob.bin", payload)
    pushed = git(
        "-c",
        "http.postBuffer=1048576",
        "push",
        with_token(target.http_url_to_repo, owner.token),
        "main",
        cwd=checkout,
        env={"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"},
    )
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    assert "Transfer-Encoding: chunked" in pushed.stderr
    assert gitlab_server.gitlab.read_file(target.id, "main", "blob.bin") == payload
    assert api.projects.get(target.id).empty_repo is False


def test_force_push_to_protected_main_needs_allow_force_push(
    tmp_path: Path, owner: Account, project: Project
) -> None:
    checkout = tmp_path / "f"
    url = with_token(project.http_url_to_repo, owner.token)
    assert git("clone", url, str(checkout)).returncode == 0
    # A history of two commits at least, whichever tests of this module ran before (xdist orders them).
    commit_file(checkout, "kept.txt", "a commit to rewrite\n")
    assert git("push", "origin", "main", cwd=checkout).returncode == 0
    assert git("reset", "-q", "--hard", "HEAD~1", cwd=checkout).returncode == 0
    commit_file(checkout, "history.txt", "rewritten history\n")
    refused = git("push", "--force", "origin", "main", cwd=checkout)
    assert refused.returncode != 0
    assert (
        "remote: GitLab: You are not allowed to force push code to a protected branch on this project."
        in refused.stderr
    )
    assert "[remote rejected] main -> main (pre-receive hook declined)" in refused.stderr
    deletion = git("push", "origin", ":main", cwd=checkout)
    assert "The default branch of a project cannot be deleted." in deletion.stderr
    protection = project.protectedbranches.get("main")
    protection.allow_force_push = True
    protection.save()
    forced = git("push", "--force", "origin", "main", cwd=checkout)
    assert forced.returncode == 0, forced.stderr
    assert project.branches.get("main").commit["id"] == git("rev-parse", "HEAD", cwd=checkout).stdout.strip()


def test_developer_cannot_push_to_protected_main_but_can_push_a_branch(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account, project: Project
) -> None:
    developer = gitlab_server.account()
    gitlab_server.client(owner.token).projects.get(project.id).members.create(
        {"user_id": developer.user_id, "access_level": 30}
    )
    checkout = tmp_path / "d"
    assert git("clone", with_token(project.http_url_to_repo, developer.token), str(checkout)).returncode == 0
    commit_file(checkout, "dev.txt", "developer\n")
    refused = git("push", "origin", "main", cwd=checkout)
    assert "You are not allowed to push code to protected branches on this project." in refused.stderr
    feature = git("push", "origin", "HEAD:refs/heads/feature", cwd=checkout)
    assert feature.returncode == 0, feature.stderr
    with pytest.raises(gitlab.GitlabGetError):
        project.protectedbranches.get("feature")


def test_first_push_of_another_branch_becomes_the_protected_default(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account
) -> None:
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Empty", "path": unique("empty")})
    empty = api.projects.create({"name": "empty", "namespace_id": group.id})
    assert empty.empty_repo is True
    checkout = tmp_path / "e"
    assert git("init", "-q", "-b", "master", str(checkout)).returncode == 0
    commit_file(checkout, "a.txt", "a\n")
    pushed = git("push", with_token(empty.http_url_to_repo, owner.token), "master", cwd=checkout)
    assert pushed.returncode == 0, pushed.stderr
    reloaded = api.projects.get(empty.id)
    assert (reloaded.default_branch, reloaded.empty_repo) == ("master", False)
    assert reloaded.protectedbranches.get("master").allow_force_push is False
    cloned = git("clone", with_token(empty.http_url_to_repo, owner.token), str(tmp_path / "c"))
    assert git("branch", "--show-current", cwd=tmp_path / "c").stdout.strip() == "master", cloned.stderr


def test_renaming_group_and_project_moves_the_repository(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account
) -> None:
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Old", "path": unique("old")})
    moved = api.projects.create({"name": "before", "namespace_id": group.id, "initialize_with_readme": True})
    group.path = unique("new")
    group.save()
    moved.path = "after"
    moved.save()
    reloaded = api.projects.get(f"{group.path}/after")
    assert reloaded.http_url_to_repo == f"{gitlab_server.gitlab.url}/{group.path}/after.git"
    assert (gitlab_server.data_dir / "repositories" / group.path / "after.git").is_dir()
    cloned = git("clone", with_token(reloaded.http_url_to_repo, owner.token), str(tmp_path / "c"))
    assert cloned.returncode == 0, cloned.stderr
    assert gitlab_server.gitlab.read_file(moved.id, "main", "README.md") == b"# before\n"


def test_a_new_branch_pushed_with_main_counts_only_commits_no_other_branch_has(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account
) -> None:
    """A push that moves main and creates a branch at the same commit: the branch's event lists the other
    branches' tips as they are after the push, so it brings no commit of its own."""
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Both", "path": unique("both")})
    target = api.projects.create({"name": "both", "namespace_id": group.id, "initialize_with_readme": True})
    checkout = tmp_path / "b"
    assert git("clone", with_token(target.http_url_to_repo, owner.token), str(checkout)).returncode == 0
    tip = commit_file(checkout, "both.txt", "on main and feature\n")
    pushed = git("push", "origin", "main", "HEAD:refs/heads/feature", cwd=checkout)
    assert pushed.returncode == 0, pushed.stderr
    pushes = [event.push_data for event in target.events.list(action="pushed", all=True)]
    counts = {push["ref"]: push["commit_count"] for push in pushes if push["commit_to"] == tip}
    assert counts == {"main": 1, "feature": 0}
