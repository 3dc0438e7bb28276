"""Git over SSH, as gitlab-shell serves it: user ``git``, public-key authentication, two commands.

A client authenticates with one of its user SSH keys (acting as that user) or with a deploy key (acting
for the key's owner, limited to the projects the key is enabled on, and pushing only where ``can_push``).
``git-upload-pack``/``git-receive-pack`` run for real on the repository named in the command; refusals are
printed in gitlab-shell's boxed format and the session exits 1, so git says "Could not read from remote
repository". A session without a command gets GitLab's welcome line and ends, like ``ssh -T git@gitlab``.
The host key is generated at start and lives only in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex

import asyncssh

from nautes_refstack.gitlab import git_access
from nautes_refstack.gitlab.git_access import GitAccessDenied, GitActor
from nautes_refstack.gitlab.model import SshKey, utc_now
from nautes_refstack.gitlab.repository import clean_git_environment
from nautes_refstack.gitlab.repository_hooks import hook_environment
from nautes_refstack.gitlab.state import GitLabState

log = logging.getLogger(__name__)

SSH_USER = "git"
COMMANDS = ("git-upload-pack", "git-receive-pack")
DISALLOWED_COMMAND = "Disallowed command"
_CHUNK = 64 * 1024


def boxed(message: str) -> bytes:
    """gitlab-shell's ``DisplayWarningMessage``: the message between two rulers, as ``remote:`` lines."""
    ruler = "=" * 72
    lines = ["", ruler, "", *message.splitlines(), "", ruler, ""]
    return "".join(f"remote: {line}\n" for line in lines).encode()


class _Connection(asyncssh.SSHServer):
    """One client connection; remembers which stored key it authenticated with."""

    def __init__(self, server: GitSshServer) -> None:
        self._server = server
        self.key: SshKey | None = None
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._server.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._server.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if username != SSH_USER:
            return False
        state = self._server.state
        found = state.key_by_fingerprint(key.get_fingerprint("sha256"))
        if found is None or (found.expires_at is not None and found.expires_at <= utc_now()):
            return False
        owner = state.users.get(found.user_id)
        if owner is None or owner.state != "active":
            return False
        self.key = found
        return True


class GitSshServer:
    def __init__(self, state: GitLabState, internal_api_url: str, shared_secret: str) -> None:
        self.state = state
        self.internal_api_url = internal_api_url
        self._shared_secret = shared_secret
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._acceptor: asyncssh.SSHAcceptor | None = None

    @property
    def host_public_key(self) -> str:
        """The server's host key in OpenSSH format, for a ``known_hosts`` line."""
        return str(self._host_key.export_public_key("openssh").decode().strip())

    @property
    def port(self) -> int:
        if self._acceptor is None:
            raise RuntimeError("GitSshServer.start() has not run")
        return int(self._acceptor.get_port())

    async def start(self, host: str) -> None:
        self._acceptor = await asyncssh.listen(
            host,
            0,
            server_factory=lambda: _Connection(self),
            server_host_keys=[self._host_key],
            process_factory=self._handle,
            encoding=None,
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
        )

    async def stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        for conn in list(self.connections):
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()

    async def _handle(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        connection: _Connection = process.get_extra_info("connection").get_owner()
        key = connection.key
        assert key is not None, "sessions open only after public-key authentication"
        actor = GitActor(self.state.users[key.user_id], key)
        try:
            status = await self._serve(process, actor)
        except GitAccessDenied as denied:
            process.stderr.write(boxed(denied.message))
            status = 1
        process.exit(status)

    async def _serve(self, process: asyncssh.SSHServerProcess[bytes], actor: GitActor) -> int:
        if not process.command:
            name = "Anonymous" if actor.deploy_key is not None else f"@{actor.user.username}"
            process.stdout.write(f"Welcome to GitLab, {name}!\n".encode())
            return 0
        argv = shlex.split(process.command)
        if len(argv) != 2 or argv[0] not in COMMANDS:
            raise GitAccessDenied(DISALLOWED_COMMAND)
        project = self.state.project_by_path(argv[1].lstrip("~/"))
        if project is None:
            raise GitAccessDenied(git_access.PROJECT_NOT_FOUND, not_found=True)
        env = clean_git_environment()
        if argv[0] == "git-upload-pack":
            git_access.check_download(self.state, actor, project)
        else:
            git_access.check_push(self.state, actor, project)
            env |= hook_environment(self.internal_api_url, self._shared_secret, actor, project, "ssh")
        if protocol := process.env.get("GIT_PROTOCOL"):
            env["GIT_PROTOCOL"] = str(protocol)
        service = argv[0].removeprefix("git-")
        return await _run(process, ["git", service, str(self.state.repository(project).path)], env)


async def _run(process: asyncssh.SSHServerProcess[bytes], argv: list[str], env: dict[str, str]) -> int:
    """Run a git service with the SSH channel as its stdin/stdout/stderr; its exit status."""
    child = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    assert child.stderr is not None
    to_child = asyncio.create_task(_pump_in(process, child.stdin))
    try:
        await asyncio.gather(_pump_out(child.stdout, process.stdout), _pump_out(child.stderr, process.stderr))
        return await child.wait()
    finally:
        to_child.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await to_child
        if child.returncode is None:
            child.kill()
            await child.wait()


async def _pump_in(process: asyncssh.SSHServerProcess[bytes], stdin: asyncio.StreamWriter) -> None:
    try:
        while chunk := await process.stdin.read(_CHUNK):
            stdin.write(chunk)
            await stdin.drain()
    except (ConnectionResetError, BrokenPipeError, asyncssh.Error):
        pass
    finally:
        stdin.close()


async def _pump_out(source: asyncio.StreamReader, sink: asyncssh.SSHWriter[bytes]) -> None:
    while chunk := await source.read(_CHUNK):
        sink.write(chunk)
        await sink.drain()
