"""Concurrent requests to the emulated Nautes API server collide where the real one collides (v0.4.2).

The real server serialises nothing: each request clones into ``/tmp/product<unix seconds>/<repo>`` and
pushes with ``PushToGit`` (NAUTES ``app/api-server/internal/data/git.go`` ``Clone``,
``app/api-server/internal/biz/resource.go`` ``PushToGit``/``retryAutoMerge``). These tests drive the stack's
working copy against the emulated GitLab with the interleavings that make the real server fail — and the
ones it survives — and check the error texts a client sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from gitlab.v4.objects import Project
from nautes_refstack.nautes import workcopy
from nautes_refstack.nautes.errors import NautesError
from nautes_refstack.nautes.workcopy import WorkingCopy
from support.gitlab import Account, RunningGitLab, gitlab_server, owner, unique

__all__ = ["gitlab_server", "owner"]  # module-scoped fixtures from the shared harness

ONE_SECOND = 1_796_000_000.0  # any fixed wall-clock second


@dataclass
class Clock:
    """Stands for the ``time`` module where the working copy reads the wall clock: the given seconds."""

    seconds: list[float]

    def time(self) -> float:
        return self.seconds.pop(0)


@pytest.fixture
def management(gitlab_server: RunningGitLab, owner: Account) -> Project:
    """A repository named like the tenant repository, with one commit (as the installer leaves it)."""
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Tenant", "path": unique("tenant")})
    return api.projects.create(
        {"name": "management", "namespace_id": group.id, "initialize_with_readme": True}
    )


async def clone(project: Project, owner: Account, into: Path) -> WorkingCopy:
    return await WorkingCopy.clone(
        project.http_url_to_repo, owner.username, owner.token, owner.username, "u@example.com", into=into
    )


def before_push(
    monkeypatch: pytest.MonkeyPatch, copy: WorkingCopy, act: Callable[[], Awaitable[None]]
) -> None:
    """Run ``act`` (another request's push) right before ``copy``'s next ``git push``, once."""
    original = copy.git
    pending = [act]

    async def git(*args: str, cwd: Path | None = None) -> str:
        if args[0] == "push" and pending:
            await pending.pop()()
        return await original(*args, cwd=cwd)

    monkeypatch.setattr(copy, "git", git)


def failure_of(coroutine: Awaitable[None]) -> str:
    async def run() -> None:
        await coroutine

    with pytest.raises(NautesError) as caught:
        asyncio.run(run())
    return caught.value.message


def files_on_main(gitlab_server: RunningGitLab, project: Project) -> set[str]:
    return set(gitlab_server.gitlab.list_files(project.id, "main"))


def test_two_clones_of_one_repository_name_in_one_second_collide(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, owner: Account, management: Project
) -> None:
    monkeypatch.setattr(workcopy, "time", Clock([ONE_SECOND] * 2))

    async def run() -> tuple[WorkingCopy, str]:
        first = await clone(management, owner, tmp_path)
        try:
            await clone(management, owner, tmp_path)
        except NautesError as error:
            return first, error.message
        raise AssertionError("the second clone in the same second succeeded")

    first, message = asyncio.run(run())
    assert message == (
        f"failed to clone repository, the repository url: {management.http_url_to_repo}, err: failed to "
        "clone repository: fatal: destination path 'management' already exists and is not an empty "
        "directory.\n"
    )
    assert first.root == tmp_path / f"product{int(ONE_SECOND)}" / "management"
    assert (first.root / "README.md").is_file()  # the first request's clone is untouched
    first.close()
    assert not first.root.exists()


def test_clones_in_different_seconds_do_not_collide(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, owner: Account, management: Project
) -> None:
    monkeypatch.setattr(workcopy, "time", Clock([ONE_SECOND, ONE_SECOND + 1]))

    async def run() -> None:
        async with (
            await clone(management, owner, tmp_path) as first,
            await clone(management, owner, tmp_path) as second,
        ):
            assert first.root != second.root

    asyncio.run(run())


def test_a_push_racing_another_after_an_unmoved_fetch_fails_the_request(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    gitlab_server: RunningGitLab,
    owner: Account,
    management: Project,
) -> None:
    """``SaveConfig`` pushes once: the remote moved between its fetch and its push, the request fails."""

    async def run() -> None:
        async with (
            await clone(management, owner, tmp_path / "a") as a,
            await clone(management, owner, tmp_path / "b") as b,
        ):
            a.write("clusters/a.yaml", "a\n")
            b.write("clusters/b.yaml", "b\n")
            before_push(monkeypatch, b, a.push)
            await b.push()

    message = failure_of(run())
    assert message.startswith("push data: ")
    assert message.endswith(", err: exit status 1")
    assert "rejected" in message
    assert files_on_main(gitlab_server, management) == {"README.md", "clusters/a.yaml"}


def test_a_push_after_the_remote_moved_merges_and_lands(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account, management: Project
) -> None:
    async def run() -> None:
        async with (
            await clone(management, owner, tmp_path / "a") as a,
            await clone(management, owner, tmp_path / "b") as b,
        ):
            a.write("clusters/a.yaml", "a\n")
            await a.push()
            b.write("clusters/b.yaml", "b\n")
            await b.push()  # its fetch sees a's commit: retryAutoMerge commits, merges, pushes

    asyncio.run(run())
    assert files_on_main(gitlab_server, management) == {"README.md", "clusters/a.yaml", "clusters/b.yaml"}


def test_two_saves_adding_to_one_list_file_conflict(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account, management: Project
) -> None:
    """Two cluster saves both add their line to ``clusters/kustomization.yaml``: git cannot merge that."""

    async def run() -> None:
        async with (
            await clone(management, owner, tmp_path / "a") as a,
            await clone(management, owner, tmp_path / "b") as b,
        ):
            a.write("clusters/kustomization.yaml", "resources:\n- a.yaml\n")
            await a.push()
            b.write("clusters/kustomization.yaml", "resources:\n- b.yaml\n")
            await b.push()

    message = failure_of(run())
    assert message.startswith(
        "when the save configuration cannot be merge automatically, manual approval may be required, err: "
        "merge data: "
    )
    assert "CONFLICT (add/add): Merge conflict in clusters/kustomization.yaml" in message


def test_the_retry_after_a_lost_merge_push_finds_nothing_to_commit(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    gitlab_server: RunningGitLab,
    owner: Account,
    management: Project,
) -> None:
    """``retryAutoMerge`` runs ``PushToGit`` again after a lost push, and its ``Commit`` fails on the
    clean working tree: the real server's retry never lands, and neither does the stack's."""

    async def run() -> None:
        a, b, c = [await clone(management, owner, tmp_path / name) for name in "abc"]
        async with a, b, c:
            a.write("clusters/a.yaml", "a\n")
            await a.push()
            b.write("clusters/b.yaml", "b\n")
            c.write("clusters/c.yaml", "c\n")
            before_push(monkeypatch, b, c.push)  # c lands between b's merge and b's push
            await b.push()

    message = failure_of(run())
    assert message.startswith("commit output: ")
    assert "nothing to commit, working tree clean" in message
    assert files_on_main(gitlab_server, management) == {"README.md", "clusters/a.yaml", "clusters/c.yaml"}
