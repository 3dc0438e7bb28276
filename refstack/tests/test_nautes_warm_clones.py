"""A request's clone reused by the next request to the repository is what a fresh clone would be.

The real server clones afresh for every request (NAUTES ``app/api-server/internal/data/git.go`` ``Clone``);
the stack keeps a normally finished request's clone and fetches and resets it for the next one, or, when
the remote advertises exactly the branches the clone already has, skips even that. A client must not be
able to tell: same files, same commit, nothing left over, another client's push seen at once, the same
refusal of a token that may not read the repository, and a failed request's clone is never reused.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from gitlab.v4.objects import Project
from nautes_refstack.nautes import remote_refs, workcopy
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


@pytest.fixture
def git_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The git commands (``clone``, ``fetch``, ...) the working copies run, in order."""
    commands: list[str] = []
    run = WorkingCopy.git

    async def recorded(copy: WorkingCopy, *args: str, cwd: Path | None = None) -> str:
        commands.append(args[0])
        return await run(copy, *args, cwd=cwd)

    monkeypatch.setattr(WorkingCopy, "git", recorded)
    return commands


def commit_by_another_client(project: Project, path: str, content: str) -> None:
    """Another GitLab user of the repository commits to ``main`` (through the REST API)."""
    project.files.create(
        {"file_path": path, "branch": "main", "content": content, "commit_message": f"add {path}"}
    )


async def read(project: Project, account: Account, into: Path) -> tuple[set[str], str]:
    """One request that only reads: the files and the commit it saw."""
    async with await clone(project, account, into) as copy:
        return files(copy.root), head(copy)


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


def test_reads_and_a_save_of_an_unchanged_repository_fetch_nothing(
    tmp_path: Path, owner: Account, project: Project, git_commands: list[str]
) -> None:
    """Nothing moved on the remote: the warm clone answers reads without a single git command, and a save
    commits and pushes without fetching or comparing first."""

    async def run() -> tuple[list[tuple[set[str], str]], tuple[set[str], str]]:
        seen = [await read(project, owner, tmp_path / "server") for _ in range(5)]
        async with await clone(project, owner, tmp_path / "server") as copy:
            copy.write("clusters/a.yaml", "a\n")
            await copy.push()
        seen += [await read(project, owner, tmp_path / "server") for _ in range(3)]
        return seen, await read(project, owner, tmp_path / "fresh")

    seen, fresh = asyncio.run(run())
    assert git_commands == ["clone", "add", "commit", "push", "clone"]
    assert all(view == seen[0] for view in seen[:5])
    assert all(view == fresh for view in seen[5:])
    assert "clusters/a.yaml" in fresh[0]


def test_a_push_by_another_client_between_two_requests_is_seen_by_the_second(
    tmp_path: Path, owner: Account, project: Project, git_commands: list[str]
) -> None:
    async def run() -> tuple[tuple[set[str], str], tuple[set[str], str]]:
        await read(project, owner, tmp_path / "server")
        commit_by_another_client(project, "clusters/b.yaml", "b\n")
        return await read(project, owner, tmp_path / "server"), await read(project, owner, tmp_path / "fresh")

    reused, fresh = asyncio.run(run())
    assert reused == fresh
    assert "clusters/b.yaml" in reused[0]
    assert git_commands == ["clone", "fetch", "reset", "clean", "clone"]


def test_a_save_after_another_client_s_push_merges_it(
    tmp_path: Path, owner: Account, project: Project
) -> None:
    """``PushToGit`` sees the remote moved (its fetch is not skipped) and merges, as a fresh clone would."""

    async def run() -> tuple[set[str], str]:
        async with await clone(project, owner, tmp_path / "server") as copy:
            copy.write("clusters/a.yaml", "a\n")
            commit_by_another_client(project, "clusters/b.yaml", "b\n")
            await copy.push()
        return await read(project, owner, tmp_path / "fresh")

    seen, _ = asyncio.run(run())
    assert {"clusters/a.yaml", "clusters/b.yaml"} <= seen


def test_a_save_whose_push_loses_a_race_fails_and_is_not_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, owner: Account, project: Project
) -> None:
    """Another client pushes right after the save's probe found nothing to fetch: the push is refused, the
    request fails in git's words (as the real server's does after its fetch), and the next request sees
    the other client's commit."""
    race: list[str] = []

    async def probe_then_lose(url: str, authorization: str) -> dict[str, str] | None:
        answer = await remote_refs.advertised_branches(url, authorization)
        if race:
            commit_by_another_client(project, race.pop(), "raced\n")
        return answer

    monkeypatch.setattr(workcopy, "advertised_branches", probe_then_lose)

    async def save_losing_the_race() -> None:
        async with await clone(project, owner, tmp_path / "server") as copy:
            copy.write("clusters/a.yaml", "a\n")
            race.append("clusters/raced.yaml")
            await copy.push()

    async def run() -> tuple[str, set[str]]:
        await read(project, owner, tmp_path / "server")
        with pytest.raises(NautesError) as caught:
            await save_losing_the_race()
        assert warm_clones(tmp_path / "server") == []
        seen, _ = await read(project, owner, tmp_path / "server")
        return caught.value.message, seen

    message, seen = asyncio.run(run())
    assert message.startswith("push data: ")
    assert "[rejected]" in message
    assert "clusters/raced.yaml" in seen
    assert "clusters/a.yaml" not in seen


@pytest.mark.parametrize(
    "change",
    [
        lambda copy: copy.write("README.md", "changed but never pushed\n"),
        lambda copy: (copy.root / "README.md").unlink(),
        lambda copy: (copy.root / "untracked.txt").write_text("never added\n"),
    ],
    ids=["written", "removed", "created"],
)
def test_a_clone_changed_without_a_push_is_reset_for_the_next_request(
    change: Callable[[WorkingCopy], object], tmp_path: Path, owner: Account, project: Project
) -> None:
    async def run() -> tuple[tuple[set[str], str], tuple[set[str], str], str]:
        async with await clone(project, owner, tmp_path / "server") as copy:
            change(copy)
        async with await clone(project, owner, tmp_path / "server") as copy:
            readme = (copy.root / "README.md").read_text()
            reused = files(copy.root), head(copy)
        return reused, await read(project, owner, tmp_path / "fresh"), readme

    reused, fresh, readme = asyncio.run(run())
    assert reused == fresh
    assert readme != "changed but never pushed\n"


def test_files_a_gitignore_keeps_out_of_a_save_do_not_outlive_the_request(
    tmp_path: Path, owner: Account, project: Project
) -> None:
    async def run() -> tuple[set[str], set[str]]:
        async with await clone(project, owner, tmp_path / "server") as copy:
            copy.write(".gitignore", "scratch/\n")
            await copy.push()
        async with await clone(project, owner, tmp_path / "server") as copy:
            copy.write("scratch/notes.txt", "ignored\n")
            copy.write("clusters/a.yaml", "a\n")
            await copy.push()
        reused, _ = await read(project, owner, tmp_path / "server")
        fresh, _ = await read(project, owner, tmp_path / "fresh")
        return reused, fresh

    reused, fresh = asyncio.run(run())
    assert reused == fresh
    assert "scratch/notes.txt" not in reused


def test_a_user_who_may_not_read_the_repository_is_refused_in_the_clone_s_words(
    tmp_path: Path, gitlab_server: RunningGitLab, owner: Account, project: Project
) -> None:
    """A valid token of a user who is no member: the probe is refused, and so are the fetch and the clone,
    whose words the client reads, as without a warm clone."""
    stranger = gitlab_server.account()

    async def refusal(into: Path) -> str:
        with pytest.raises(NautesError) as caught:
            await clone(project, stranger, into)
        return caught.value.message

    async def run() -> tuple[str, str]:
        await read(project, owner, tmp_path / "server")
        return await refusal(tmp_path / "server"), await refusal(tmp_path / "fresh")

    with_warm_clone, without = asyncio.run(run())
    assert with_warm_clone == without
    assert with_warm_clone.startswith("failed to clone repository, the repository url: ")
    assert stranger.token not in with_warm_clone


def test_a_save_that_finds_nothing_to_commit_behind_the_remote_leaves_no_clone_behind_it(
    tmp_path: Path, owner: Account, project: Project
) -> None:
    """Another client adds a file and removes it again during a save that changes nothing: the save's
    ``main`` stays behind ``origin/main`` with the same files, so the next request must not take the clone
    as it is (its save would push a commit on the old ``main`` and be refused)."""

    async def run() -> tuple[str, str]:
        await read(project, owner, tmp_path / "server")
        async with await clone(project, owner, tmp_path / "server") as copy:
            commit_by_another_client(project, "clusters/b.yaml", "b\n")
            project.files.delete(file_path="clusters/b.yaml", branch="main", commit_message="remove b")
            await copy.push()
        async with await clone(project, owner, tmp_path / "server") as copy:
            copy.write("clusters/a.yaml", "a\n")
            await copy.push()
            saved = head(copy)
        _, fresh = await read(project, owner, tmp_path / "fresh")
        return saved, fresh

    saved, fresh = asyncio.run(run())
    assert saved == fresh
