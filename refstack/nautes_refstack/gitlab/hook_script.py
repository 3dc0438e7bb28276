#!/usr/bin/env python3
"""The server-side hook of every repository of the emulated GitLab (``pre-receive`` and ``post-receive``).

Like GitLab's own hooks, it decides nothing itself: ``pre-receive`` asks the internal API whether the ref
changes read from stdin are allowed (``POST /api/v4/internal/allowed``) and ``post-receive`` reports them
(``POST /api/v4/internal/post_receive``). The emulation copies this file into each bare repository and runs
git with the pusher's identity (``GL_ID``, ``GL_REPOSITORY``, ``GL_PROTOCOL``), the internal API URL and
the per-process shared secret in the environment. Standard library only: it runs on every push.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import urllib.parse
from typing import Any

# Environment of a push that went through the emulation (git over HTTP or SSH).
API_URL = "GITLAB_INTERNAL_API_URL"
SECRET = "GITLAB_SHARED_SECRET"
IDENTITY = ("GL_ID", "GL_REPOSITORY", "GL_PROTOCOL")
# Where git keeps a push's objects until pre-receive accepts it; the API needs them to detect force pushes.
OBJECT_ENV = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")


def call_internal_api(endpoint: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    url = urllib.parse.urlsplit(os.environ[API_URL])
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
    try:
        connection.request(
            "POST",
            f"{url.path}/{endpoint}",
            body=json.dumps(body),
            headers={"Content-Type": "application/json", "Gitlab-Shared-Secret": os.environ[SECRET]},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def main() -> int:
    hook = os.path.basename(sys.argv[0])
    changes = sys.stdin.read()
    if not all(os.environ.get(name) for name in (API_URL, SECRET, *IDENTITY)):
        print("GitLab: pushes are only accepted through GitLab (HTTP or SSH).", file=sys.stderr)
        return 1
    body = {
        "gl_id": os.environ["GL_ID"],
        "gl_repository": os.environ["GL_REPOSITORY"],
        "protocol": os.environ["GL_PROTOCOL"],
        "changes": changes,
        "env": {name: os.environ[name] for name in OBJECT_ENV if name in os.environ},
    }
    try:
        status, reply = call_internal_api("allowed" if hook == "pre-receive" else "post_receive", body)
    except (OSError, ValueError):
        print("GitLab: Internal API unreachable", file=sys.stderr)
        return 1
    if hook == "pre-receive" and not (status == 200 and reply.get("status")):
        print(f"GitLab: {reply.get('message', 'API is not accessible')}", file=sys.stderr)
        return 1
    for message in reply.get("messages", []):
        print(message, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
