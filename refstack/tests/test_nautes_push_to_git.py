"""``PushToGit`` of the emulated Nautes API (NAUTES ``app/api-server/internal/biz/resource.go`` @v0.4.2):
nothing changed, nothing committed or pushed; a commit that fails otherwise fails the request in
``SaveConfig``'s words."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gitlab.v4.objects import Project
from nautes_refstack.nautes.errors import NautesError
from nautes_refstack.nautes.workcopy import GitFailed, WorkingCopy
from support.gitlab import Account, RunningGitLab, gitlab_server, owner, unique

__all__ = ["gitlab_server", "owner"]  # module-scoped fixtures from the shared harness


@pytest.fixture
def project(gitlab_server: RunningGitLab, owner: Account) -> Project:
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Product", "path": unique("product")})
    return api.projects.create(
        {"name": "default.project", "namespace_id": group.id, "initialize_with_readme": True}
    )


async def clone(project: Project, owner: Account, into: Path) -> WorkingCopy:
    return await WorkingCopy.clone(
        project.http_url_to_repo, owner.username, owner.token, owner.username, "u@example.com", into=into
    )


def head(gitlab_server: RunningGitLab, project: Project) -> str | None:
    return gitlab_server.gitlab.resolve_commit(project.path_with_namespace, "main")


def test_a_save_that_changes_nothing_pushes_nothing(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account, project: Project
) -> None:
    before = head(gitlab_server, project)

    async def run() -> None:
        async with await clone(project, owner, tmp_path) as copy:
            copy.write("README.md", (copy.root / "README.md").read_text())  # the same content again
            await copy.push()

    asyncio.run(run())
    assert head(gitlab_server, project) == before


def test_a_save_that_changes_a_file_pushes_one_commit(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account, project: Project
) -> None:
    before = head(gitlab_server, project)

    async def run() -> None:
        async with await clone(project, owner, tmp_path) as copy:
            copy.write("envs/dev.yaml", "kind: Environment\n")
            await copy.push()

    asyncio.run(run())
    after = head(gitlab_server, project)
    assert after != before
    assert set(gitlab_server.gitlab.list_files(project.id, "main")) == {"README.md", "envs/dev.yaml"}


def test_a_commit_that_fails_otherwise_fails_the_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, owner: Account, project: Project
) -> None:
    async def run() -> str:
        async with await clone(project, owner, tmp_path) as copy:
            original = copy.git

            async def git(*args: str, cwd: Path | None = None) -> str:
                if args[0] == "commit":
                    raise GitFailed("fatal: unable to write new index file")
                return await original(*args, cwd=cwd)

            monkeypatch.setattr(copy, "git", git)
            copy.write("envs/dev.yaml", "kind: Environment\n")
            with pytest.raises(NautesError) as caught:
                await copy.push()
            return caught.value.message

    assert asyncio.run(run()) == "commit output: fatal: unable to write new index file, err: exit status 1"
