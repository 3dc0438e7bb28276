"""The directory a running stack owns (``up --dir DIR``): claimed with a lock, private, and tidied on exit.

* One stack per directory. ``DIR/stack.lock`` holds the running stack's pid under an exclusive ``flock``
  that the kernel drops when the process dies, however it dies (a SIGKILL included), so a stale lock file
  never blocks a new stack. The lock is taken before anything in DIR is written: a second ``up`` into the
  directory of a running stack refuses without touching the first one's files (its ``ready`` above all,
  which a harness is waiting on).
* Private: the stack runs with umask 077, so DIR (when the stack creates it), its logs, the GitLab data
  and every file it writes — ``credentials.env``, the kubeconfigs, the registry CA — are 0700/0600, and so
  are its children's files (OpenBao's, git's, the Tekton work directory's).
* Tidied: on exit the stack removes what it wrote there (:data:`STACK_FILES`: the target files, whose
  credentials and ports are dead with it, the GitLab data, the Tekton work folders, the lock) and keeps
  ``logs/`` for whoever reads them next — the user of a standalone stack, or the harness that keeps them as
  evidence. Only when the process that started the stack is gone (``--exit-with-parent``: nobody is left to
  read the logs) does a directory the stack created itself go entirely; a directory the user gave by hand
  always stays.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from pathlib import Path
from types import TracebackType

LOCK_FILE = "stack.lock"
READY_FILE = "ready"
TARGET_FILE = "target.yaml"
CREDENTIALS_FILE = "credentials.env"
REGISTRY_CA_FILE = "registry-ca.pem"
GITLAB_DIR = "gitlab"
LOGS_DIR = "logs"
KUBECONFIG_PATTERN = "kubeconfig-*.yaml"
#: What the stack writes into DIR besides ``logs/``, removed again when it stops.
#: The runtime clusters' Tekton work folders (workspaces, task scripts) live under this one.
TEKTON_DIR = "tekton"
#: Faults armed for single runs while the stack runs (:mod:`.fault_control`).
FAULT_CONTROL_DIR = "faults.d"
#: The Nautes API server's ``/tmp``, where it clones (:mod:`.nautes.workcopy`): in DIR, so that a stack
#: killed outright leaves its clones where the world's removal finds them, not in the system's ``/tmp``.
NAUTES_API_DIR = "nautes-api"
STACK_FILES = (
    READY_FILE,
    TARGET_FILE,
    CREDENTIALS_FILE,
    REGISTRY_CA_FILE,
    GITLAB_DIR,
    TEKTON_DIR,
    FAULT_CONTROL_DIR,
    NAUTES_API_DIR,
)
#: The stack's files are its own: no other local user reads a token, a kubeconfig or a repository.
PRIVATE_UMASK = 0o077


class WorldInUse(Exception):
    """Another stack runs in the directory; the text names the directory and that stack's pid."""


class WorldDirectory:
    """``DIR`` claimed by this process: ``with WorldDirectory.claim(path) as world: ...``."""

    def __init__(self, path: Path, created: bool, lock_fd: int) -> None:
        self.path = path
        self.created = created
        self._lock_fd = lock_fd
        #: Set when the process that started the stack is gone: then a directory the stack created goes too.
        self.orphaned = False

    @property
    def logs(self) -> Path:
        return self.path / LOGS_DIR

    @classmethod
    def claim(cls, path: Path) -> WorldDirectory:
        """Create ``path`` if missing (0700) and lock it for this process, before writing anything else.

        Raises :class:`WorldInUse` if a living stack holds it, OSError if it cannot be used."""
        os.umask(PRIVATE_UMASK)
        created = not path.exists()
        if not created and not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise WorldInUse(
                    f"{path} is in use by the reference stack with pid {holder} (stop it, or choose another "
                    "--dir)"
                ) from None
            # The stack that held it may have removed the file between our open and our lock: lock the
            # file that is there now, not an unlinked one.
            if _same_file(fd, path / LOCK_FILE):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        (path / LOGS_DIR).mkdir(mode=0o700, exist_ok=True)
        return cls(path, created, fd)

    def __enter__(self) -> WorldDirectory:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()

    def release(self) -> None:
        """Remove what the stack wrote (everything, if orphaned in a directory it created), then unlock."""
        if self.orphaned and self.created:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            for name in STACK_FILES:
                _remove(self.path / name)
            for kubeconfig in self.path.glob(KUBECONFIG_PATTERN):
                _remove(kubeconfig)
            _remove(self.path / LOCK_FILE)  # still locked: a stack claiming it now retries on the new file
        os.close(self._lock_fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
