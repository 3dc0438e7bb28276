#!/usr/bin/env python3
"""The server-side hook of every repository of the emulated GitLab (``pre-receive`` and ``post-receive``).

Like GitLab's own hooks, it decides nothing itself: ``pre-receive`` asks the internal API whether the ref
changes read from stdin are allowed (``POST /api/v4/internal/allowed``) and ``post-receive`` reports them
(``POST /api/v4/internal/post_receive``). The emulation copies this file into each bare repository and runs
git with the pusher's identity (``GL_ID``, ``GL_REPOSITORY``, ``GL_PROTOCOL``), the internal API URL and
the per-process shared secret in the environment. Standard library only: it runs on every push.
"""

from __future__ import annotations

import _json  # json's C half: json itself imports re and compiles its patterns, 6 ms more per hook run
import _socket  # socket without the enum and selectors imports of the socket module
import os
import sys

# Environment of a push that went through the emulation (git over HTTP or SSH).
API_URL = "GITLAB_INTERNAL_API_URL"
SECRET = "GITLAB_SHARED_SECRET"
IDENTITY = ("GL_ID", "GL_REPOSITORY", "GL_PROTOCOL")
# Where git keeps a push's objects until pre-receive accepts it; the API needs them to detect force pushes.
OBJECT_ENV = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")


class _Decoding:
    """What json's C scanner reads off its decoder: ``json.JSONDecoder()``'s defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float


_SCAN = _json.make_scanner(_Decoding())  # type: ignore[arg-type]  # typeshed names only JSONDecoder


def to_json(value: object) -> str:
    """``json.dumps(value)`` of strings and mappings of them (what a hook sends), by json's C escaper."""
    if isinstance(value, dict):
        items = (f"{_json.encode_basestring_ascii(key)}: {to_json(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    return str(_json.encode_basestring_ascii(str(value)))


def from_json(content: bytes) -> object:
    """``json.loads(content)`` by json's C scanner; :class:`ValueError` for what is not JSON."""
    try:
        return _SCAN(content.decode(), 0)[0]
    except StopIteration:
        raise ValueError("not JSON") from None


def call_internal_api(endpoint: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    """One HTTP/1.0 POST over a plain socket to ``http://<host>:<port>/<path>`` (the internal API URL):
    the hook starts twice on every push, and ``http.client``, ``socket``, ``urllib.parse`` and ``typing``
    would more than double its start-up. The server closes the connection after its reply."""
    netloc, _, path = os.environ[API_URL].partition("://")[2].partition("/")
    host, _, port = netloc.rpartition(":")
    payload = to_json(body).encode()
    head = (
        f"POST /{path}/{endpoint} HTTP/1.0\r\nHost: {netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nGitlab-Shared-Secret: {os.environ[SECRET]}\r\n\r\n"
    )
    connection = _socket.socket()
    try:
        connection.settimeout(60)
        connection.connect((host, int(port)))
        connection.sendall(head.encode() + payload)
        reply = b"".join(iter(lambda: connection.recv(65536), b""))
    finally:
        connection.close()
    status_line, _, rest = reply.partition(b"\r\n")
    _, _, content = rest.partition(b"\r\n\r\n")
    parsed = from_json(content or b"{}")
    return int(status_line.split()[1]), parsed if isinstance(parsed, dict) else {}


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
    except (OSError, ValueError, IndexError):
        print("GitLab: Internal API unreachable", file=sys.stderr)
        return 1
    if hook == "pre-receive" and not (status == 200 and reply.get("status")):
        print(f"GitLab: {reply.get('message', 'API is not accessible')}", file=sys.stderr)
        return 1
    messages = reply.get("messages")
    for message in messages if isinstance(messages, list) else []:
        print(message, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
