"""A throw-away git clone made with the caller's credentials, as ``internal/data/git.go`` makes one.

The real server clones ``http(s)://<gitlab user>:<token>@...`` into ``/tmp/product<unix seconds>/<repo>``,
commits as the GitLab user with the message ``[API] Save operator`` and pushes (``biz/resource.go
PushToGit``). The credentials here travel in git's environment-only configuration (an ``Authorization:
Basic`` header with the same ``user:token`` pair), so they never appear in a URL, in ``.git/config``, in argv
or in an error text; GitLab sees the same HTTP Basic authentication.

Nothing in the real server serialises requests, and two of its choices make concurrent requests collide;
the stack keeps both (it is never kinder than the real server):

* the clone directory is named after the current second (NAUTES ``app/api-server/internal/data/git.go``
  ``Clone``: ``fmt.Sprintf("%s%v", "/tmp/product", time.Now().Unix())``), so two requests that clone a
  repository of the same name in the same second — the tenant repository ``management``, or any product's
  ``default.project`` — collide: the second ``git clone`` fails with "destination path ... already exists";
* ``PushToGit`` (NAUTES ``app/api-server/internal/biz/resource.go`` @v0.4.2) pushes at once when the remote
  had not moved at its fetch, and a push that then loses a race fails the request; when the remote had
  moved it commits, merges (a conflict fails the request) and pushes, and a failed push is retried by
  running ``PushToGit`` again after 3 s — whose ``retryAutoMerge`` commits again, which fails on the clean
  working tree ("nothing to commit"), so in effect no retry succeeds.

What a client cannot tell apart is made cheaper than the real server's fresh clone: a request that ends
normally leaves its clone for the next request to the same repository (one per URL, outside the
per-second directories), which moves it to its own ``product<second>/<repo>`` and fetches (``--prune``) and
resets it to the remote's ``main`` with its own credentials — the same files, refs and failures as a clone
at that moment. The directory is claimed exactly as the clone claims it (an existing one is left to
``git clone`` to refuse, in its words), and anything the warm copy cannot do (no warm copy, another
request holds it, a fetch the caller's token may not make, no ``main`` on the remote) falls back to the
real clone, whose error text is the one a client sees.

Most requests find the remote where the previous one left it, and then even the fetch is work a client
cannot see: a fetch over smart HTTP starts with ``GET <repo>/info/refs?service=git-upload-pack`` and, when
every advertised branch already is where the clone's remote-tracking branch is, asks for nothing more.
The stack makes that first request itself (with the caller's ``Authorization`` header, see
:mod:`.remote_refs`) before fetching: when it answers 200 with exactly the clone's ``refs/remotes/origin/*``
and the clone was put aside clean, on ``main`` at ``origin/main`` (a request that ended normally after
changing nothing, or after its push or "nothing to commit"), the fetch, reset and clean are skipped; a
save's ``PushToGit`` skips its fetch the same way and then knows the remote had not moved when ``main``
is ``origin/main``. The probe is indistinguishable from the fetch for a client: it is the fetch's own
first request, so it sees the remote at the same point in time (a push made by anyone before the request
is in its answer, one made after is the race the real server loses too), and it authenticates the same
way, so a token that may not read the repository is refused by the probe, which then falls back to the
real fetch and the real clone, whose errors (git's words) are the ones a client reads. Any other answer
(not 200, other branches, an advertisement that does not parse, a clone whose state is not known) runs
exactly the commands above. The author's identity and "no automatic
maintenance" travel in git's environment-only configuration instead of ``git config`` in the clone
(the same configuration for every command, two processes fewer; maintenance is invisible to a client).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from nautes_refstack.nautes import errors
from nautes_refstack.nautes.remote_refs import (
    advertised_branches,
    head_branch,
    local_branches,
    tracking_branches,
)
from nautes_refstack.pace import INSTANT, Pace

COMMIT_MESSAGE = "[API] Save operator"
#: What ``git commit`` says (LANG=C) when the index is the commit it would make.
NOTHING_TO_COMMIT = "nothing to commit"
BRANCH = "main"
#: ``retryAutoMerge``: a failed push after a merge runs ``PushToGit`` again, 3 s later, up to the 3rd time.
PUSH_ATTEMPTS = 3
PUSH_RETRY_PAUSE_S = 3.0
_REPO_NAME = re.compile(r"^.+/(.+)\.git$")
#: Where finished clones wait for the next request to their repository, inside the server's ``/tmp``.
WARM_DIR = "warm-clones"
#: How many requests one warm clone serves before a fresh clone replaces it: with automatic maintenance
#: off, each fetch and commit leaves its objects loose, so a long-lived stack would otherwise let them pile
#: up. A request that skipped its fetch counts too: a bound on requests is a bound on objects.
WARM_REUSES = 100
#: Files of a clone outside ``.git``: relative path -> (size, modification time in ns).
Files = dict[str, tuple[int, int]]


@dataclass
class _WarmClone:
    """What is known of one warm clone between requests."""

    #: How many requests it has served.
    reuses: int = 0
    #: Put aside clean, on ``main`` at ``origin/main`` (the next request may skip the fetch).
    settled: bool = False


#: Warm clone directory -> what is known of it.
_WARM: dict[Path, _WarmClone] = {}


class GitFailed(Exception):
    """A git command exited non-zero; ``output`` is its combined output with the token removed."""

    def __init__(self, output: str) -> None:
        super().__init__(output)
        self.output = output


class WorkingCopy:
    """A clone of one repository; use ``async with await WorkingCopy.clone(...)`` to have it removed."""

    def __init__(
        self, root: Path, env: dict[str, str], secret: str, pace: Pace, *, url: str, authorization: str
    ) -> None:
        self.root = root
        self._env = env
        self._secret = secret
        self._pace = pace
        self._url = url
        self._authorization = authorization
        self._cloned = False
        self._warm: Path | None = None
        #: The files when the clone was last known clean at ``origin/main``; ``None`` once written to.
        self._settled: Files | None = None

    @classmethod
    async def clone(
        cls,
        url: str,
        auth_user: str,
        token: str,
        author: str,
        email: str,
        *,
        into: Path,
        pace: Pace = INSTANT,
    ) -> WorkingCopy:
        """Clone ``url`` as ``auth_user`` into ``into/product<unix seconds>/``; commits will be authored by
        ``author <email>``. ``into`` stands for the server's ``/tmp``: one per API server.

        Failures read like the real server's (``failed to clone repository: <git output>``).
        """
        if not token:
            raise errors.plain(
                f"failed to clone repository, the repository url: {url}, "
                "err: failed to get authorization, the token is not found"
            )
        parent = into / f"product{int(time.time())}"
        parent.mkdir(parents=True, exist_ok=True)
        env = git_environment(auth_user, token, parent, identity=(author, email))
        copy = cls(parent, env, token, pace, url=url, authorization=basic_authorization(auth_user, token))
        copy._warm = into / WARM_DIR / hashlib.sha256(url.encode()).hexdigest()[:32]
        match = _REPO_NAME.match(url)
        if match is not None and await copy._take_warm(copy._warm, parent / match.group(1).strip()):
            return copy
        try:
            await copy.git("clone", "--verbose", url, cwd=parent)
        except GitFailed as failure:  # nothing of ours to remove: git cleans up, the rest is another's
            raise errors.plain(
                f"failed to clone repository, the repository url: {url}, "
                f"err: failed to clone repository: {failure.output}"
            ) from None
        match = _REPO_NAME.match(url)
        if match is None:
            raise errors.plain(f'failed to extract repo name from URL "{url}"')
        copy.root = parent / match.group(1).strip()
        copy._cloned = True
        copy._settled = _files(copy.root)
        return copy

    async def _take_warm(self, warm: Path, target: Path) -> bool:
        """Move the warm copy ``warm`` to ``target`` and bring it to the remote's ``main`` as a clone
        would; ``False`` (nothing left behind) when the real clone must do it."""
        if target.exists():  # a clone in the same second holds it: git clone refuses, in its words
            return False
        try:
            os.rename(warm, target)
        except OSError:  # none, or another request holds it
            return False
        self.root = target
        self._cloned = True
        state = _WARM.setdefault(warm, _WarmClone())
        state.reuses += 1
        settled, state.settled = state.settled, False
        if settled and await self._remote_unmoved():
            self._settled = _files(target)
            return True
        try:
            await self.git("fetch", "--prune", "--quiet", "origin")
            await self.git("reset", "--quiet", "--hard", f"remotes/origin/{BRANCH}")
            await self.git("clean", "-dfxq")
        except GitFailed:
            self.close()
            self.root = target.parent
            self._cloned = False
            return False
        self._settled = _files(target)
        return True

    async def _remote_unmoved(self) -> bool:
        """Whether a fetch would change none of the clone's ``refs/remotes/origin/*`` (the remote
        advertises exactly those branches, at those commits, to the caller); ``False`` when not known."""
        tracking = tracking_branches(self.root / ".git")
        if tracking is None:
            return False
        return await advertised_branches(self._url, self._authorization) == tracking

    async def __aenter__(self) -> WorkingCopy:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self._keep_warm()
        else:
            self.close()

    def close(self) -> None:
        """``cleanCodeRepo``: the clone goes (the per-second directory stays, as in the real ``/tmp``)."""
        if self._cloned:
            shutil.rmtree(self.root, ignore_errors=True)

    def _keep_warm(self) -> None:
        """The clone of a request that ended normally leaves its place as :meth:`close` does, but waits
        for the next request to the repository (unless another one already waits, or it has served
        :data:`WARM_REUSES` requests), with whether it is settled (:meth:`_is_settled`)."""
        state = _WARM.get(self._warm) if self._warm is not None else None
        if self._warm is not None and state is not None and state.reuses >= WARM_REUSES:
            del _WARM[self._warm]
        elif self._cloned and self._warm is not None and not self._warm.exists():
            settled = self._is_settled()
            self._warm.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                os.rename(self.root, self._warm)
                self._cloned = False
                _WARM.setdefault(self._warm, _WarmClone()).settled = settled
        self.close()

    def _is_settled(self) -> bool:
        """Clean, on ``main`` and at ``origin/main``: nothing written since it was last known so (the
        files as they were then: nothing removed, added or rewritten behind :meth:`write`), ``HEAD`` on
        ``main`` and ``main`` where ``origin/main`` is (a push that lost its race leaves them apart)."""
        branches = self._main_and_origin_main()
        return (
            self._settled is not None
            and branches is not None
            and branches[0] == branches[1]
            and head_branch(self.root / ".git") == BRANCH
            and _files(self.root) == self._settled
        )

    def _main_and_origin_main(self) -> tuple[str | None, str | None] | None:
        """The commits ``main`` and ``origin/main`` name (``None``: no such branch), read without git;
        ``None`` when the refs cannot be read."""
        git_dir = self.root / ".git"
        local, tracking = local_branches(git_dir), tracking_branches(git_dir)
        if local is None or tracking is None:
            return None
        return local.get(BRANCH), tracking.get(BRANCH)

    async def git(self, *args: str, cwd: Path | None = None) -> str:
        process = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd or self.root,
            env=self._env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        raw, _ = await process.communicate()
        output = raw.decode(errors="replace").replace(self._secret, "***")
        if process.returncode != 0:
            raise GitFailed(output)
        return output

    def path(self, relative: str) -> Path:
        return self.root / relative

    def write(self, relative: str, text: str) -> None:
        self._settled = None
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    async def push(self) -> None:
        """``PushToGit``: commit whatever changed and push it to ``main``; nothing changed, nothing pushed."""
        try:
            await self._push_to_git(1)
        except GitFailed as failure:
            raise errors.plain(failure.output) from None
        # Everything is committed now except what a ``.gitignore`` keeps out (``clean -x`` would remove
        # it): without one, the clone is as clean as after a reset.
        files = _files(self.root)
        ignoring = files is None or any(Path(name).name == ".gitignore" for name in files)
        self._settled = None if ignoring else files

    async def _push_to_git(self, attempt: int) -> None:
        if not await self._remote_unmoved():  # nothing to fetch: the fetch would only have asked
            await self.git("fetch", "origin")
        if await self._remote_moved():
            await self._retry_auto_merge(attempt)
            return
        # SaveConfig: the remote had not moved at the fetch; a push that loses a race now fails the request.
        # Nothing changed (``status --porcelain`` empty), nothing pushed: after ``git add .`` the commit
        # finds nothing to commit in exactly that case, one process fewer than asking ``status`` first.
        await self.git("add", ".")
        try:
            await self.git("commit", "-m", COMMIT_MESSAGE)
        except GitFailed as failure:
            if NOTHING_TO_COMMIT in failure.output:
                return
            raise GitFailed(f"commit output: {failure.output}, err: exit status 1") from None
        await self._push()

    async def _remote_moved(self) -> bool:
        """Whether ``main`` differs from the fetched ``origin/main``, which is not there on an empty remote
        (then nothing moved); whatever else makes ``git diff`` fail fails the request, as it does there.
        ``main`` at the very commit ``origin/main`` names has no difference to show (read without git)."""
        branches = self._main_and_origin_main()
        if branches is not None and branches[0] is not None and branches[0] == branches[1]:
            return False
        try:
            return bool(await self.git("diff", BRANCH, f"remotes/origin/{BRANCH}"))
        except GitFailed:
            if await self._remote_has_branch():
                raise
            return False

    async def _remote_has_branch(self) -> bool:
        try:
            await self.git("rev-parse", "--verify", "--quiet", f"remotes/origin/{BRANCH}")
        except GitFailed:
            return False
        return True

    async def _commit(self) -> None:
        await self.git("add", ".")
        try:
            await self.git("commit", "-m", COMMIT_MESSAGE)
        except GitFailed as failure:
            raise GitFailed(f"commit output: {failure.output}, err: exit status 1") from None

    async def _push(self) -> None:
        try:
            await self.git("push", "origin", f"HEAD:{BRANCH}")
        except GitFailed as failure:
            raise GitFailed(f"push data: {failure.output}, err: exit status 1") from None

    async def _retry_auto_merge(self, attempt: int) -> None:
        """``retryAutoMerge``: the remote moved since the clone; commit, merge it and push. A failed push
        runs ``PushToGit`` again (3 s later, 3 attempts), whose commit finds nothing left to commit."""
        try:
            await self.git("fetch")
        except GitFailed as failure:
            raise GitFailed(
                f"when the save configuration cannot be fetch remote branch, err: {failure.output}"
            ) from None
        await self._commit()
        try:
            await self.git("merge", f"origin/{BRANCH}")
        except GitFailed as failure:
            raise GitFailed(
                "when the save configuration cannot be merge automatically, manual approval may be required, "
                f"err: merge data: {failure.output}, err: exit status 1"
            ) from None
        try:
            await self._push()
        except GitFailed as failure:
            if attempt >= PUSH_ATTEMPTS:
                raise GitFailed(f"failed to save config, err: {failure.output}") from None
            await self._pace.wait(PUSH_RETRY_PAUSE_S)
            await self._push_to_git(attempt + 1)


def git_environment(
    username: str, token: str, home: Path, *, identity: tuple[str, str] | None = None
) -> dict[str, str]:
    """A clean environment for git over HTTP as ``username``: the credentials go through git's
    environment-only config, never argv, the remote URL or a config file; no user or system config.
    ``identity`` (name, email) is ``user.name``/``user.email`` for the commits; automatic maintenance is
    off (it would only start one more process after each fetch and commit), and fetches speak git's
    protocol v0, whose ref advertisement is one request where v2 asks for capabilities and refs in two
    (what is fetched is the same; GitLab serves both)."""
    config = {
        "http.extraHeader": f"Authorization: {basic_authorization(username, token)}",
        "init.defaultBranch": BRANCH,
        "maintenance.auto": "false",
        "protocol.version": "0",
    }
    if identity is not None:
        config["user.name"], config["user.email"] = identity
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_COUNT": str(len(config)),
    }
    for index, (key, value) in enumerate(config.items()):
        environment[f"GIT_CONFIG_KEY_{index}"] = key
        environment[f"GIT_CONFIG_VALUE_{index}"] = value
    return environment


def basic_authorization(username: str, token: str) -> str:
    """The ``Authorization`` header value git sends for ``username:token`` (HTTP Basic)."""
    return "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()


def _files(root: Path) -> Files | None:
    """Every file, link and directory outside ``.git`` with its size and modification time (a write
    changes one or the other, a removal or creation the set); ``None`` when the tree cannot be read."""
    files: Files = {}
    try:
        for directory, subdirectories, names in os.walk(root, onerror=_raise):
            if Path(directory) == root and ".git" in subdirectories:
                subdirectories.remove(".git")
            for name in [*subdirectories, *names]:
                path = os.path.join(directory, name)
                status = os.lstat(path)
                files[os.path.relpath(path, root)] = (status.st_size, status.st_mtime_ns)
    except OSError:
        return None
    return files


def _raise(error: OSError) -> None:
    raise error
