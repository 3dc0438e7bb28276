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
real clone, whose error text is the one a client sees. The author's identity and "no automatic
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
from pathlib import Path
from types import TracebackType

from nautes_refstack.nautes import errors
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
#: off, each fetch leaves its objects loose, so a long-lived stack would otherwise let them pile up.
WARM_REUSES = 100
#: Warm clone -> how many requests it has served.
_REUSED: dict[Path, int] = {}


class GitFailed(Exception):
    """A git command exited non-zero; ``output`` is its combined output with the token removed."""

    def __init__(self, output: str) -> None:
        super().__init__(output)
        self.output = output


class WorkingCopy:
    """A clone of one repository; use ``async with await WorkingCopy.clone(...)`` to have it removed."""

    def __init__(self, root: Path, env: dict[str, str], secret: str, pace: Pace) -> None:
        self.root = root
        self._env = env
        self._secret = secret
        self._pace = pace
        self._cloned = False
        self._warm: Path | None = None

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
        copy = cls(parent, env, token, pace)
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
        _REUSED[warm] = _REUSED.get(warm, 0) + 1
        try:
            await self.git("fetch", "--prune", "--quiet", "origin")
            await self.git("reset", "--quiet", "--hard", f"remotes/origin/{BRANCH}")
            await self.git("clean", "-dfxq")
        except GitFailed:
            self.close()
            self.root = target.parent
            self._cloned = False
            return False
        return True

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
        :data:`WARM_REUSES` requests)."""
        if self._warm is not None and _REUSED.get(self._warm, 0) >= WARM_REUSES:
            del _REUSED[self._warm]
        elif self._cloned and self._warm is not None and not self._warm.exists():
            self._warm.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                os.rename(self.root, self._warm)
                self._cloned = False
        self.close()

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
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    async def push(self) -> None:
        """``PushToGit``: commit whatever changed and push it to ``main``; nothing changed, nothing pushed."""
        try:
            await self._push_to_git(1)
        except GitFailed as failure:
            raise errors.plain(failure.output) from None

    async def _push_to_git(self, attempt: int) -> None:
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
        (then nothing moved); whatever else makes ``git diff`` fail fails the request, as it does there."""
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
    basic = base64.b64encode(f"{username}:{token}".encode()).decode()
    config = {
        "http.extraHeader": f"Authorization: Basic {basic}",
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
