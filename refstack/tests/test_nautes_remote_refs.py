"""The emulated Nautes API reads a ref advertisement and a clone's refs as git does, or says it cannot.

A warm clone skips its fetch only when :mod:`nautes_refstack.nautes.remote_refs` says the remote advertises
exactly the clone's remote-tracking branches; anything it cannot read must be "not known" (``None``), never
a guess, so that the real fetch runs. git itself is the oracle for what a clone's refs are.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
from pathlib import Path

import pytest
from nautes_refstack.nautes.remote_refs import (
    advertised_branches,
    branches_of,
    head_branch,
    local_branches,
    tracking_branches,
)

A = "a" * 40
B = "b" * 40
C = "c" * 40
ZERO = "0" * 40


def pkt(payload: str) -> bytes:
    data = payload.encode()
    return f"{len(data) + 4:04x}".encode() + data


FLUSH = b"0000"
SERVICE = pkt("# service=git-upload-pack\n") + FLUSH


def test_an_advertisement_gives_its_branches_and_nothing_else() -> None:
    advertisement = (
        SERVICE
        + pkt(f"{A} HEAD\0multi_ack side-band-64k symref=HEAD:refs/heads/main agent=git/2.39.5\n")
        + pkt(f"{A} refs/heads/main\n")
        + pkt(f"{B} refs/heads/feature/x\n")
        + pkt(f"{C} refs/tags/v1\n")
        + pkt(f"{A} refs/tags/v1^{{}}\n")
        + pkt(f"{B} refs/merge-requests/1/head\n")
        + FLUSH
    )
    assert branches_of(advertisement) == {"main": A, "feature/x": B}


def test_an_empty_repository_advertises_no_branch() -> None:
    assert branches_of(SERVICE + pkt(f"{ZERO} capabilities^{{}}\0agent=git/2.39.5\n") + FLUSH) == {}


@pytest.mark.parametrize(
    "answer",
    [
        b"<html>GitLab is not responding</html>",
        SERVICE + pkt(f"{A} refs/heads/main\n"),  # cut before the closing flush
        SERVICE + pkt(f"{A} refs/heads/main\n")[:-3],  # cut inside a line
        pkt("version 2\n") + pkt("ls-refs\n") + FLUSH,  # protocol v2: not what a v0 fetch reads
        SERVICE + pkt(f"{A} refs/heads/main\n") + FLUSH + pkt(f"{B} refs/heads/other\n") + FLUSH,
        SERVICE + pkt("not-an-object refs/heads/main\n") + FLUSH,
        b"",
    ],
    ids=[
        "not-pkt-lines",
        "no-closing-flush",
        "truncated",
        "protocol-v2",
        "two-sections",
        "bad-object",
        "empty",
    ],
)
def test_an_answer_that_is_not_a_v0_advertisement_is_not_known(answer: bytes) -> None:
    assert branches_of(answer) is None


def test_an_unreachable_remote_is_not_known_and_the_credentials_are_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    answer = asyncio.run(advertised_branches(f"http://127.0.0.1:{port}/g/p.git", "Basic c2VjcmV0"))
    assert answer is None
    assert "c2VjcmV0" not in caplog.text


def git(repository: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=repository,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(repository), "GIT_CONFIG_NOSYSTEM": "1"},
    ).stdout


def for_each_ref(repository: Path, prefix: str) -> dict[str, str]:
    """git's own view: ``<ref> <object>`` of every non-symbolic ref under ``prefix``."""
    listed = git(repository, "for-each-ref", "--format=%(refname) %(objectname) %(symref)", prefix)
    refs = {}
    for line in listed.splitlines():
        name, value, symref = line.split(" ")
        if not symref:
            refs[name.removeprefix(prefix)] = value
    return refs


def test_a_clone_s_refs_read_from_packed_and_loose_files_are_git_s(tmp_path: Path) -> None:
    repository = tmp_path / "clone"
    repository.mkdir()
    git(repository, "init", "-q", "-b", "main")
    git(repository, "commit", "-q", "--allow-empty", "-m", "one")
    first = git(repository, "rev-parse", "HEAD").strip()
    git(repository, "update-ref", "refs/remotes/origin/main", first)
    git(repository, "update-ref", "refs/remotes/origin/gone", first)
    git(repository, "update-ref", "refs/remotes/origin/topic/a", first)
    git(repository, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    git(repository, "pack-refs", "--all")
    git(repository, "commit", "-q", "--allow-empty", "-m", "two")
    second = git(repository, "rev-parse", "HEAD").strip()
    git(repository, "update-ref", "refs/remotes/origin/main", second)  # loose, overrides the packed one
    git(repository, "update-ref", "-d", "refs/remotes/origin/gone")
    git(repository, "branch", "-q", "other", first)

    git_dir = repository / ".git"
    assert tracking_branches(git_dir) == for_each_ref(repository, "refs/remotes/origin/")
    assert tracking_branches(git_dir) == {"main": second, "topic/a": first}
    assert local_branches(git_dir) == for_each_ref(repository, "refs/heads/")
    assert head_branch(git_dir) == "main"
    git(repository, "checkout", "-q", "--detach")
    assert head_branch(git_dir) is None


def test_refs_that_cannot_be_read_are_not_known(tmp_path: Path) -> None:
    git_dir = tmp_path / ".git"
    (git_dir / "refs/remotes/origin").mkdir(parents=True)
    (git_dir / "refs/remotes/origin/main.lock").write_text("half a wri")
    assert tracking_branches(git_dir) is None
    (git_dir / "refs/remotes/origin/main.lock").unlink()
    (git_dir / "packed-refs").write_text("# pack-refs with: peeled fully-peeled sorted\nnonsense\n")
    assert tracking_branches(git_dir) is None
