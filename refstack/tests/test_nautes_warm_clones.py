"""A request's clone reused by the next request to the repository is what a fresh clone would be.

The real server clones afresh for every request (NAUTES ``app/api-server/internal/data/git.go`` ``Clone``);
the stack keeps a normally finished request's clone and fetches and resets it for the next one. A client
must not be able to tell: same files, same commit, nothing left over, the same refusal of a token that
may not read the repository, and a failed request's clone is never reused.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from gitlab.v4.objects import Project
from nautes_refstack.nautes import workcopy
from nautes_refstack.nautes.errors import NautesError
from nautes_refstack.nautes.workcopy import WARM_DIR, WorkingCopy
from support.gitlab import Account, RunningGitLab, gitlab_server, owner, unique

__all__ = ["gitlab_server", "owner"]  # module-scoped fixtures from the shared harness

FIRST_SECOND = 1_796_000_000.0


class Clock:
    """Stands for the ``time`` module in the working copy: ``step`` seconds later at each clone."""

    def __init__(self) -> None:
        self.now = FIRST_SECOND
        self.step = 1

    def time(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    ticking = Clock()
    monkeypatch.setattr(workcopy, "time", ticking)
    return ticking


@pytest.fixture
def project(gitlab_server: RunningGitLab, owner: Account) -> Project:
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Product", "path": unique("product")})
    return api.projects.create(
        {"name": "default.project", "namespace_id": group.id, "initialize_with_readme": True}
    )


async def clone(project: Project, account: Account, into: Path, token: str | None = None) -> WorkingCopy:
    return await WorkingCopy.clone(
        project.http_url_to_repo,
        account.username,
        account.token if token is None else token,
        account.username,
        "u@example.com",
        into=into,
    )


def head(copy: WorkingCopy) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=copy.root, capture_output=True, text=True, check=True
    ).stdout.strip()


def files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if ".git" not in path.parts}


def warm_clones(into: Path) -> list[Path]:
    return list((into / WARM_DIR).iterdir()) if (into / WARM_DIR).is_dir() else []


def test_the_next_request_sees_the_remote_as_a_fresh_clone_would(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account, project: Project
) -> None:
    async def run() -> tuple[set[str], str, set[str], str]:
        async with await clone(project, owner, tmp_path / "server") as first:
            first.write("leftover/untracked.txt", "never pushed\n")
            first.write("README.md", "changed but never pushed\n")
        assert len(warm_clones(tmp_path / "server")) == 1
        async with await clone(project, owner, tmp_path / "other") as other:
            other.write("clusters/a.yaml", "a\n")
            (other.root / "README.md").unlink()
            await other.push()
        async with (
            await clone(project, owner, tmp_path / "server") as reused,
            await clone(project, owner, tmp_path / "fresh") as fresh,
        ):
            return files(reused.root), head(reused), files(fresh.root), head(fresh)

    reused_files, reused_head, fresh_files, fresh_head = asyncio.run(run())
    assert reused_files == fresh_files == {"clusters", "clusters/a.yaml"}
    assert reused_head == fresh_head


def test_a_token_that_may_not_clone_is_refused_in_the_clone_s_words(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account, project: Project
) -> None:
    async def refusal(into: Path) -> str:
        with pytest.raises(NautesError) as caught:
            await clone(project, owner, into, token="glpat-not-a-token")
        return caught.value.message

    async def run() -> tuple[str, str]:
        async with await clone(project, owner, tmp_path / "server"):
            pass
        return await refusal(tmp_path / "server"), await refusal(tmp_path / "fresh")

    with_warm_clone, without = asyncio.run(run())
    assert with_warm_clone == without
    assert with_warm_clone.startswith("failed to clone repository, the repository url: ")
    assert "glpat-not-a-token" not in with_warm_clone


def test_a_failed_request_leaves_no_clone_to_reuse(tmp_path: Path, owner: Account, project: Project) -> None:
    async def run() -> None:
        async with await clone(project, owner, tmp_path):
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        asyncio.run(run())
    assert warm_clones(tmp_path) == []


def test_a_clone_in_the_same_second_still_collides_with_a_reused_one(
    clock: Clock, tmp_path: Path, owner: Account, project: Project
) -> None:
    async def run() -> str:
        async with await clone(project, owner, tmp_path):
            pass
        clock.step = 0
        async with await clone(project, owner, tmp_path):
            with pytest.raises(NautesError) as caught:
                await clone(project, owner, tmp_path)
            return caught.value.message

    assert "fatal: destination path 'default.project' already exists" in asyncio.run(run())


def test_a_warm_clone_is_replaced_by_a_fresh_one_after_its_reuses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, owner: Account, project: Project
) -> None:
    monkeypatch.setattr(workcopy, "WARM_REUSES", 2)

    async def request() -> None:
        async with await clone(project, owner, tmp_path):
            pass

    async def run() -> list[int]:
        warm = []
        for _ in range(4):
            await request()
            warm.append(len(warm_clones(tmp_path)))
        return warm

    # fresh (kept), reused once (kept), reused twice (dropped), fresh again (kept)
    assert asyncio.run(run()) == [1, 1, 0, 1]
