"""Real ``git`` and OpenSSH against the emulated GitLab's SSH side: deploy keys and user keys."""

from __future__ import annotations

import subprocess
import urllib.parse
from pathlib import Path

import pytest
from gitlab.v4.objects import Project
from support.gitlab import Account, RunningGitLab, commit_file, git, gitlab_server, owner, unique

__all__ = ["gitlab_server", "owner"]  # module-scoped fixtures from the shared harness


def new_key(directory: Path, name: str) -> Path:
    """An ECDSA key pair made by ssh-keygen, as the Nautes API server makes deploy keys (``ecdsa``)."""
    path = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", str(path)], check=True)
    return path


def ssh_env(key: Path, ssh_url_base: str) -> dict[str, str]:
    port = urllib.parse.urlsplit(ssh_url_base).port
    command = (
        f"ssh -i {key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
        f"-o LogLevel=ERROR -p {port}"
    )
    return {"GIT_SSH_COMMAND": command}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("keys")
    return {name: new_key(directory, name) for name in ("readonly", "readwrite", "user", "stranger")}


@pytest.fixture(scope="module")
def projects(gitlab_server: RunningGitLab, owner: Account, keys: dict[str, Path]) -> dict[str, Project]:
    """``source`` has both deploy keys (read-only and read-write); ``other`` has none of them."""
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Ssh", "path": unique("ssh")})
    created = {
        name: api.projects.create({"name": name, "namespace_id": group.id, "initialize_with_readme": True})
        for name in ("source", "other")
    }
    source = created["source"]
    source.keys.create({"title": "repo-readonly", "key": keys["readonly"].with_suffix(".pub").read_text()})
    writer = source.keys.create(
        {"title": "repo-readwrite", "key": keys["readwrite"].with_suffix(".pub").read_text()}
    )
    writer.can_push = True
    writer.save()
    return created


def test_read_only_deploy_key_clones_but_cannot_push(
    tmp_path: Path, gitlab_server: RunningGitLab, keys: dict[str, Path], projects: dict[str, Project]
) -> None:
    env = ssh_env(keys["readonly"], gitlab_server.gitlab.ssh_url_base)
    source = projects["source"]
    cloned = git("clone", source.ssh_url_to_repo, str(tmp_path / "c"), env=env)
    assert cloned.returncode == 0, cloned.stderr
    assert (tmp_path / "c" / "README.md").read_text() == "# source\n"
    commit_file(tmp_path / "c", "ro.txt", "read only\n")
    refused = git("push", "origin", "main", cwd=tmp_path / "c", env=env)
    assert refused.returncode != 0
    assert "remote: This deploy key does not have write access to this project." in refused.stderr
    assert (
        "remote: ========================================================================" in refused.stderr
    )
    assert "Could not read from remote repository" in refused.stderr


def test_read_write_deploy_key_pushes_as_its_owner(
    tmp_path: Path,
    gitlab_server: RunningGitLab,
    owner: Account,
    keys: dict[str, Path],
    projects: dict[str, Project],
) -> None:
    env = ssh_env(keys["readwrite"], gitlab_server.gitlab.ssh_url_base)
    source = projects["source"]
    assert git("clone", source.ssh_url_to_repo, str(tmp_path / "c"), env=env).returncode == 0
    head = commit_file(tmp_path / "c", "deploy.yaml", "image: v2\n", "automatic update by pipeline bot")
    pushed = git("push", "--force", "origin", "HEAD:main", cwd=tmp_path / "c", env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert gitlab_server.gitlab.read_file(source.id, "main", "deploy.yaml") == b"image: v2\n"
    commit = source.commits.get(head)
    assert commit.title == "automatic update by pipeline bot"
    assert git("reset", "-q", "--hard", "HEAD~1", cwd=tmp_path / "c").returncode == 0
    commit_file(tmp_path / "c", "deploy.yaml", "image: rewritten\n")
    forced = git("push", "--force", "origin", "HEAD:main", cwd=tmp_path / "c", env=env)
    assert (
        "remote: GitLab: You are not allowed to force push code to a protected branch on this project."
        in (forced.stderr)
    )


def test_deploy_key_reaches_only_the_projects_it_is_enabled_on(
    tmp_path: Path, gitlab_server: RunningGitLab, keys: dict[str, Path], projects: dict[str, Project]
) -> None:
    for key in ("readwrite", "readonly"):
        env = ssh_env(keys[key], gitlab_server.gitlab.ssh_url_base)
        refused = git("clone", projects["other"].ssh_url_to_repo, str(tmp_path / key), env=env)
        assert refused.returncode != 0
        assert (
            "The project you were looking for could not be found or you don't have permission"
            in refused.stderr
        )
    projects["other"].keys.enable(projects["source"].keys.list()[0].id)
    enabled = git(
        "ls-remote",
        projects["other"].ssh_url_to_repo,
        env=ssh_env(keys["readonly"], gitlab_server.gitlab.ssh_url_base),
    )
    assert enabled.returncode == 0, enabled.stderr
    assert "refs/heads/main" in enabled.stdout


def test_unknown_key_is_refused_by_ssh(
    tmp_path: Path, gitlab_server: RunningGitLab, keys: dict[str, Path], projects: dict[str, Project]
) -> None:
    env = ssh_env(keys["stranger"], gitlab_server.gitlab.ssh_url_base)
    refused = git("clone", projects["source"].ssh_url_to_repo, str(tmp_path / "c"), env=env)
    assert refused.returncode != 0
    assert "Permission denied (publickey)" in refused.stderr


def test_user_key_acts_as_the_user_and_the_published_host_key_verifies(
    tmp_path: Path,
    gitlab_server: RunningGitLab,
    owner: Account,
    keys: dict[str, Path],
    projects: dict[str, Project],
) -> None:
    api = gitlab_server.client(owner.token)
    api.auth()
    assert api.user is not None
    api.user.keys.create({"title": "laptop", "key": keys["user"].with_suffix(".pub").read_text()})
    assert [k.title for k in api.user.keys.list()] == ["laptop"]
    env = ssh_env(keys["user"], gitlab_server.gitlab.ssh_url_base)
    url = projects["other"].ssh_url_to_repo
    assert git("clone", url, str(tmp_path / "c"), env=env).returncode == 0
    commit_file(tmp_path / "c", "user.txt", "by the user\n")
    pushed = git("push", "origin", "main", cwd=tmp_path / "c", env=env)
    assert pushed.returncode == 0, pushed.stderr
    port = urllib.parse.urlsplit(gitlab_server.gitlab.ssh_url_base).port
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {gitlab_server.gitlab.ssh_host_public_key}\n")
    strict = ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}"]
    ssh = [
        "ssh",
        "-i",
        str(keys["user"]),
        "-o",
        "IdentitiesOnly=yes",
        *strict,
        "-p",
        str(port),
        "-T",
        "git@127.0.0.1",
    ]
    welcome = subprocess.run(ssh, capture_output=True, text=True, timeout=30, check=False)
    assert (welcome.returncode, welcome.stdout.strip()) == (0, f"Welcome to GitLab, @{owner.username}!")
