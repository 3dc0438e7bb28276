"""The stack's long-lived child processes (OpenBao, the scripts of Tekton steps) die with the stack.

A stopping stack ends its children itself, but a stack killed outright (SIGKILL, the OOM killer) runs no
code: its children would be re-parented to init and keep ports, files and secrets in memory. On Linux such
a child asks the kernel for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``); where that is not
available the children are ended by the stack's own stop only.

The short-lived git children (``git http-backend`` and the SSH services behind the emulated GitLab, the API
server's clones and pushes, the ``git-clone`` task's git commands) are spawned without it: a
``preexec_fn`` makes every spawn fork the whole stack process (measured: about 11 ms instead of 2 ms per
spawn, and a run spawns hundreds), and they end by themselves once the stack is gone — their pipes to it
close, and the GitLab they talk to is the stack.

asyncio learns of a child's exit from a pidfd on the event loop (:func:`watch_children_with_pidfds`), not
from Python 3.11's default, a thread per child blocked in ``waitpid``: a run spawns hundreds of children,
and each such thread costs its start and its switches.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@functools.cache
def _libc() -> ctypes.CDLL:
    # The C library Python itself runs on, through the process's own symbols (dlopen(NULL)):
    # ctypes.util.find_library would run ``ldconfig -p`` to look for it.
    return ctypes.CDLL(None, use_errno=True)


def die_with_stack() -> Callable[[], None] | None:
    """A ``preexec_fn`` for a child of this process (``create_subprocess_exec(..., preexec_fn=...)``):
    SIGTERM to the child when this process dies; None where the kernel offers no such thing.

    Must be called in the thread that lives as long as the stack (the event loop's): the kernel signals on
    the death of the thread that forked."""
    if not sys.platform.startswith("linux"):
        return None
    libc = _libc()
    stack = os.getpid()

    def arm() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != stack:  # the stack died between fork and prctl: nobody would signal us
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def watch_children_with_pidfds(loop: asyncio.AbstractEventLoop) -> None:
    """Have ``loop`` learn of its subprocesses' exits from a pidfd each (``asyncio.PidfdChildWatcher``, the
    default from Python 3.12 on) instead of a ``waitpid`` thread each; where the kernel offers no pidfd
    (before Linux 5.3, or a sandbox that refuses it) the default stays. Every subprocess must then be
    started from ``loop``'s thread, as the stack starts them."""
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return
    watcher = asyncio.PidfdChildWatcher()
    watcher.attach_loop(loop)
    asyncio.set_child_watcher(watcher)
