"""Remembered reads of a bare repository answer what git answers at that moment.

``BareRepository`` keeps what a full commit id names and what a plain name resolved to (checked against the
ref files git reads for it); these tests move refs under it the ways a GitLab repository's refs move —
pushes, force pushes back to an old commit, a tag taking precedence over a branch, packed refs, a project
re-created under the same path — and compare each answer with ``git rev-parse``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from nautes_refstack.gitlab.repository import BareRepository, clean_git_environment

NO_HOOK = "#!/bin/sh\nexit 0\n"


def git(cwd: Path, *args: str) -> str:
    env = {
        **clean_git_environment(),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.test",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.test",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def bare(tmp_path: Path) -> BareRepository:
    return BareRepository.create(tmp_path / "group" / "project.git", "main", NO_HOOK)


@pytest.fixture
def work(tmp_path: Path, bare: BareRepository) -> Path:
    checkout = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", str(checkout))
    git(checkout, "remote", "add", "origin", str(bare.path))
    return checkout


def commit(work: Path, name: str, text: str) -> str:
    (work / name).write_text(text)
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", f"{name}: {text}")
    return git(work, "rev-parse", "HEAD")


def truth(bare: BareRepository, ref: str) -> str:
    return git(bare.path, "rev-parse", "--verify", f"{ref}^{{commit}}")


def test_a_branch_moved_by_pushes_resolves_to_where_it_is_now(bare: BareRepository, work: Path) -> None:
    first = commit(work, "a.txt", "1")
    git(work, "push", "-q", "origin", "main")
    assert bare.resolve_commit("main") == first
    second = commit(work, "a.txt", "2")
    git(work, "push", "-q", "origin", "main")
    assert bare.resolve_commit("main") == second == truth(bare, "main")
    git(work, "push", "-q", "--force", "origin", f"{first}:main")  # back to the state first read
    assert bare.resolve_commit("main") == first == truth(bare, "main")


def test_a_tag_of_the_same_name_wins_as_it_does_in_git(bare: BareRepository, work: Path) -> None:
    first = commit(work, "a.txt", "1")
    second = commit(work, "a.txt", "2")
    git(work, "push", "-q", "origin", "main")
    assert bare.resolve_commit("main") == second
    git(work, "push", "-q", "origin", f"{first}:refs/tags/main")
    assert bare.resolve_commit("main") == first == truth(bare, "main")


def test_packed_refs_and_a_ref_updated_after_packing(bare: BareRepository, work: Path) -> None:
    first = commit(work, "a.txt", "1")
    git(work, "push", "-q", "origin", "main", f"{first}:refs/heads/release")
    git(bare.path, "pack-refs", "--all")
    assert bare.resolve_commit("release") == first
    second = commit(work, "a.txt", "2")
    git(work, "push", "-q", "origin", f"{second}:refs/heads/release")
    assert bare.resolve_commit("release") == second == truth(bare, "release")
    git(work, "push", "-q", "origin", ":refs/heads/release")
    assert bare.resolve_commit("release") is None


def test_a_project_re_created_under_the_same_path_forgets_the_old_one(
    tmp_path: Path, bare: BareRepository, work: Path
) -> None:
    old = commit(work, "a.txt", "old")
    git(work, "push", "-q", "origin", "main")
    assert bare.read_blob(old, "a.txt") is not None
    assert bare.resolve_commit(old) == old
    subprocess.run(["rm", "-rf", str(bare.path)], check=True)
    again = BareRepository.create(bare.path, "main", NO_HOOK)
    assert again.resolve_commit(old) is None
    assert again.read_blob(old, "a.txt") is None
    assert again.resolve_commit("main") is None


def test_a_commit_read_before_it_was_pushed_is_found_after(bare: BareRepository, work: Path) -> None:
    pending = commit(work, "a.txt", "1")
    assert bare.read_blob(pending, "a.txt") is None
    git(work, "push", "-q", "origin", "main")
    blob = bare.read_blob(pending, "a.txt")
    assert blob is not None
    assert blob.data == b"1"
    assert bare.read_blob(pending, "missing.txt") is None
    assert bare.read_blob(pending, "missing.txt") is None  # remembered: the commit exists for good


def test_reads_from_a_commit_s_listing_match_git_path_by_path(bare: BareRepository, work: Path) -> None:
    """Full ids read from the remembered listing; an abbreviated id makes the same reads through
    ``ls-tree <commit> -- <path>`` each time: both must agree, for files, directories and absent paths."""
    (work / "dir" / "sub").mkdir(parents=True)
    (work / "dir" / "sub" / "deep.yaml").write_text("deep\n")
    (work / "run.sh").write_text("#!/bin/sh\n")
    (work / "run.sh").chmod(0o755)
    (work / "link").symlink_to("run.sh")
    first = commit(work, "a.txt", "1")
    second = commit(work, "a.txt", "2")
    git(work, "push", "-q", "origin", "main")
    paths = ["a.txt", "run.sh", "link", "dir", "dir/sub", "dir/sub/deep.yaml", "dir/sub/", "/a.txt", "b.txt"]
    for full in (first, second):
        assert bare.list_files(full) == git(bare.path, "ls-tree", "-r", "--name-only", full).splitlines()
        for path in paths:
            assert bare.read_blob(full, path) == bare.read_blob(full[:12], path), (full, path)
    blob = bare.read_blob(second, "a.txt")
    assert blob is not None
    assert blob.data == b"2"


def branch_truth(bare: BareRepository) -> dict[str, str]:
    listed = git(bare.path, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/")
    return dict(line.split(" ") for line in listed.splitlines())


def test_the_branch_list_follows_pushes_deletions_and_packing(bare: BareRepository, work: Path) -> None:
    assert bare.branches() == {}
    first = commit(work, "a.txt", "1")
    git(work, "push", "-q", "origin", "main", f"{first}:refs/heads/release")
    assert bare.branches() == branch_truth(bare) == {"main": first, "release": first}
    second = commit(work, "a.txt", "2")
    git(work, "push", "-q", "origin", "main")
    assert bare.branches() == branch_truth(bare) == {"main": second, "release": first}
    git(bare.path, "pack-refs", "--all")
    git(work, "push", "-q", "--force", "origin", f"{first}:main", ":refs/heads/release")
    assert bare.branches() == branch_truth(bare) == {"main": first}
    git(work, "push", "-q", "origin", f"{second}:main")  # main moves back to what it was listed at before
    assert bare.branches() == branch_truth(bare) == {"main": second}
    bare.branches()["main"] = "changed by a caller"
    assert bare.branches() == {"main": second}


def git_commands_asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The git commands every :class:`BareRepository` runs from now on, by name, in order."""
    asked: list[str] = []
    run = BareRepository._run

    def counted(self: BareRepository, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        asked.append(args[0])
        return run(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(BareRepository, "_run", counted)
    return asked


def test_loose_commits_are_read_without_git_and_everything_else_asks_git(
    bare: BareRepository, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A branch or full id naming a loose commit is answered off the object's header; an annotated tag, a
    tree, a replace ref (which git ignores here) and packed refs make it ask git; every answer is git's."""
    first = commit(work, "a.txt", "1")
    second = commit(work, "a.txt", "2")
    git(work, "tag", "-a", "-m", "annotated", "v1", first)
    git(work, "push", "-q", "origin", "main", "v1")
    tree = git(bare.path, "rev-parse", f"{second}^{{tree}}")
    asked = git_commands_asked(monkeypatch)
    assert (bare.resolve_commit("main"), bare.resolve_commit(first)) == (second, first)
    assert asked == []  # read off the loose objects
    assert bare.resolve_commit("v1") == first == truth(bare, "v1")  # a tag object: git peels it
    assert bare.resolve_commit(tree) is None  # a tree is no commit: git says so
    assert asked == ["rev-parse", "rev-parse"]
    git(bare.path, "replace", "-f", first, tree)  # ignored, as Gitaly ignores replace refs
    assert bare.resolve_commit(first) == first == truth(bare, first)
    assert asked[-1] == "rev-parse"
    git(bare.path, "pack-refs", "--all")
    assert bare.resolve_commit("main") == second == truth(bare, "main")
    assert asked[-1] == "rev-parse"  # packed-refs could hold a ref that comes first: git decides


def test_the_last_commit_touching_a_path_is_git_s_and_asked_once_per_commit(
    bare: BareRepository, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = commit(work, "a.txt", "1")
    second = commit(work, "b.txt", "2")
    git(work, "push", "-q", "origin", "main")
    asked = git_commands_asked(monkeypatch)
    for _ in range(2):
        assert bare.last_commit_touching(second, "a.txt") == first
        assert bare.last_commit_touching(second, "b.txt") == second
        assert bare.last_commit_touching(first, "b.txt") == ""
    assert asked == ["log", "log", "log"]
    third = commit(work, "a.txt", "3")
    git(work, "push", "-q", "origin", "main")
    assert bare.last_commit_touching(third, "a.txt") == third
    assert bare.last_commit_touching(second, "a.txt") == first  # an older commit's history is as it was


def test_packed_objects_are_read_by_git(bare: BareRepository, work: Path) -> None:
    """Loose objects are read off the disk; once packed (as a repack would leave them) git reads them."""
    (work / "run.sh").write_text("#!/bin/sh\n")
    (work / "run.sh").chmod(0o755)
    first = commit(work, "a.txt", "1")
    git(work, "push", "-q", "origin", "main")
    git(bare.path, "repack", "-a", "-d", "-q")
    assert not list((bare.path / "objects").glob("??/*"))  # nothing loose is left
    blob = bare.read_blob(first, "run.sh")
    assert blob is not None
    assert (blob.data, blob.executable) == (b"#!/bin/sh\n", True)
    assert bare.resolve_commit(first) == first
    assert bare.resolve_commit("main") == first == truth(bare, "main")


def test_ancestry_is_git_s_and_a_parent_needs_no_git(
    bare: BareRepository, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = commit(work, "a.txt", "1")
    second = commit(work, "a.txt", "2")
    third = commit(work, "a.txt", "3")
    git(work, "checkout", "-q", "-b", "side", first)
    side = commit(work, "b.txt", "side")
    git(work, "push", "-q", "origin", "main", "side")
    asked: list[list[str]] = []
    run = subprocess.run

    def counted(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        asked.append(args)
        return run(args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr("nautes_refstack.gitlab.repository.subprocess.run", counted)
    assert bare.is_ancestor(first, second, {})
    assert bare.is_ancestor(second, third, {})
    assert bare.is_ancestor(first, side, {})
    assert asked == []  # parents, read off the loose commits
    for ancestor, descendant in [(first, third), (third, first), (side, third), (second, second)]:
        expected = (
            subprocess.call(["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=bare.path) == 0
        )
        assert bare.is_ancestor(ancestor, descendant, {}) is expected, (ancestor, descendant)


def test_a_commit_s_listing_read_off_the_disk_is_ls_tree_s(
    bare: BareRepository, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every entry (mode, type, id) in git's order, a submodule's gitlink included; git reads packed trees."""
    (work / "z" / "deep").mkdir(parents=True)
    (work / "z" / "deep" / "f.yaml").write_text("f\n")
    (work / "run.sh").write_text("#!/bin/sh\n")
    (work / "run.sh").chmod(0o755)
    (work / "link").symlink_to("run.sh")
    (work / "a-b").write_text("sorts before a/ in git's order\n")
    (work / "a").mkdir()
    (work / "a" / "x").write_text("x\n")
    first = commit(work, "top.txt", "1")
    git(work, "update-index", "--add", "--cacheinfo", f"160000,{first},sub")
    git(work, "commit", "-q", "-m", "a submodule")
    second = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", "origin", "main")
    listed = git(bare.path, "ls-tree", "-r", second).splitlines()
    expected = [(line.split("\t")[1], tuple(line.split("\t")[0].split(" "))) for line in listed]
    monkeypatch.setattr(BareRepository, "_run", None)  # no git at all
    assert bare.list_files(second) == [path for path, _ in expected]
    for path, (mode, kind, object_id) in expected:
        blob = bare.read_blob(second, path)
        found = None if blob is None else (blob.id, blob.executable)
        assert found == (None if kind == "commit" else (object_id, mode == "100755")), path
    monkeypatch.undo()
    git(bare.path, "repack", "-a", "-d", "-q")
    third = commit(work, "top.txt", "3")
    git(work, "push", "-q", "origin", "main")  # a loose commit whose unchanged trees are packed now
    assert bare.list_files(third) == git(bare.path, "ls-tree", "-r", "--name-only", third).splitlines()
