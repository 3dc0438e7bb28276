"""Wiring git processes to GitLab's server-side hooks: the hook program and the environment it reads.

Every repository gets ``hook_script.py`` as its ``pre-receive`` and ``post-receive`` hook, run by this
interpreter. Every ``git-receive-pack`` the emulation starts (smart HTTP or SSH) gets the pusher's identity
and the way back to the internal API in its environment, which git passes on to the hooks.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nautes_refstack.gitlab.git_access import GitActor
from nautes_refstack.gitlab.model import Project

_HOOK_SCRIPT = Path(__file__).with_name("hook_script.py")


def hook_source() -> str:
    """``hook_script.py`` with a shebang for this interpreter (isolated, no site: it starts on every push)."""
    body = _HOOK_SCRIPT.read_text().split("\n", 1)[1]
    return f"#!{sys.executable} -IS\n{body}"


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
