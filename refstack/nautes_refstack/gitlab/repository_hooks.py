"""Wiring git processes to GitLab's server-side hooks: the hook program and the environment it reads.

Every repository gets ``hook_script.sh`` as its ``pre-receive`` and ``post-receive`` hook, run by bash.
Every ``git-receive-pack`` the emulation starts (smart HTTP or SSH) gets the pusher's identity
and the way back to the internal API in its environment, which git passes on to the hooks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from nautes_refstack.gitlab.git_access import GitActor
from nautes_refstack.gitlab.model import Project

_HOOK_SCRIPT = Path(__file__).with_name("hook_script.sh")


def hook_source() -> str:
    """``hook_script.sh`` behind a shebang naming this machine's bash, privileged (``-p``): no ``BASH_ENV``
    read, no functions taken from the environment, as the pusher's environment reaches the hook."""
    bash = shutil.which("bash")
    if bash is None:
        raise RuntimeError("the emulated GitLab's repository hooks need bash, and there is none on PATH")
    return f"#!{bash} -p\n{_HOOK_SCRIPT.read_text()}"


def gl_repository(project: Project) -> str:
    """GitLab's name for a project's repository in hook traffic."""
    return f"project-{project.id}"


def hook_environment(
    internal_api_url: str, shared_secret: str, actor: GitActor, project: Project, protocol: str
) -> dict[str, str]:
    return {
        "GITLAB_INTERNAL_API_URL": internal_api_url,
        "GITLAB_SHARED_SECRET": shared_secret,
        "GL_ID": actor.gl_id,
        "GL_USERNAME": actor.user.username,
        "GL_REPOSITORY": gl_repository(project),
        "GL_PROTOCOL": protocol,
    }
