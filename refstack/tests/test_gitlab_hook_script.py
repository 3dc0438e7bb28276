"""The repository hook (``gitlab/hook_script.sh``) on its own, against a stand-in for the internal API: the
request it sends is the JSON GitLab's hooks send, whatever the refnames and paths hold, and what it prints
and exits with follows the reply."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from nautes_refstack.gitlab.repository_hooks import hook_source
from nautes_refstack.vault import free_port

SECRET = "shared-secret-for-hooks"
OLD, NEW = "1" * 40, "2" * 40


@dataclass
class InternalApi:
    """Answers every POST with ``status``/``reply``, and keeps what it was sent."""

    url: str
    status: int = 200
    reply: dict[str, Any] = field(default_factory=dict)
    received: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)


@pytest.fixture
def api() -> Iterator[InternalApi]:
    server_side = InternalApi("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length).decode())  # strict: a wrong length or escape fails
            server_side.received.append((self.path, dict(self.headers), body))
            payload = json.dumps(server_side.reply).encode()
            self.send_response(server_side.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_side.url = f"http://127.0.0.1:{server.server_address[1]}/api/v4/internal"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_side
    finally:
        server.shutdown()
        server.server_close()


def run_hook(
    tmp_path: Path, name: str, changes: str, environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    hook = tmp_path / name
    hook.write_text(hook_source())
    hook.chmod(0o755)
    return subprocess.run(
        [str(hook)],
        input=changes,
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def push_environment(api: InternalApi) -> dict[str, str]:
    return {
        "GITLAB_INTERNAL_API_URL": api.url,
        "GITLAB_SHARED_SECRET": SECRET,
        "GL_ID": "user-7",
        "GL_REPOSITORY": "project-3",
        "GL_PROTOCOL": "http",
    }


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])  # Content-Length counts bytes in either
def test_pre_receive_sends_the_changes_and_quarantine_as_json(
    api: InternalApi, tmp_path: Path, locale: str
) -> None:
    api.reply = {"status": True, "gl_repository": "project-3", "gl_id": "user-7"}
    changes = f'{OLD} {NEW} refs/heads/main\n{OLD} {NEW} refs/heads/"quoted"-é\n'
    quarantine = {
        "GIT_OBJECT_DIRECTORY": str(tmp_path / 'objects/incoming-"x"\\y'),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": "",
        "GIT_QUARANTINE_PATH": str(tmp_path / "objects/incoming\tz"),
    }
    done = run_hook(tmp_path, "pre-receive", changes, push_environment(api) | quarantine | {"LC_ALL": locale})
    assert (done.returncode, done.stderr) == (0, "")
    [(path, headers, body)] = api.received
    assert path == "/api/v4/internal/allowed"
    assert headers["Gitlab-Shared-Secret"] == SECRET
    assert body == {
        "gl_id": "user-7",
        "gl_repository": "project-3",
        "protocol": "http",
        "changes": changes,
        "env": quarantine,
    }


def test_post_receive_reports_and_prints_the_messages(api: InternalApi, tmp_path: Path) -> None:
    api.reply = {
        "reference_counter_decreased": True,
        "messages": ['see "this"', "caf\u00e9 \\ done \U0001f680"],
    }
    done = run_hook(tmp_path, "post-receive", f"{OLD} {NEW} refs/heads/main\n", push_environment(api))
    assert done.returncode == 0
    assert done.stderr == 'see "this"\ncafé \\ done \U0001f680\n'
    assert [path for path, _, _ in api.received] == ["/api/v4/internal/post_receive"]


@pytest.mark.parametrize(
    ("status", "reply", "printed"),
    [
        (
            403,
            {"status": False, "message": 'You are not allowed to push to "main" \u2014 sorry'},
            'GitLab: You are not allowed to push to "main" \u2014 sorry\n',
        ),
        (200, {"status": False, "message": "Refused"}, "GitLab: Refused\n"),
        (500, {}, "GitLab: API is not accessible\n"),
    ],
)
def test_pre_receive_refuses_with_the_api_message(
    api: InternalApi, tmp_path: Path, status: int, reply: dict[str, Any], printed: str
) -> None:
    api.status, api.reply = status, reply
    done = run_hook(tmp_path, "pre-receive", f"{OLD} {NEW} refs/heads/main\n", push_environment(api))
    assert (done.returncode, done.stderr) == (1, printed)


def test_an_unreachable_api_refuses_the_push(tmp_path: Path) -> None:
    nowhere = InternalApi(f"http://127.0.0.1:{free_port()}/api/v4/internal")
    done = run_hook(tmp_path, "pre-receive", f"{OLD} {NEW} refs/heads/main\n", push_environment(nowhere))
    assert (done.returncode, done.stderr) == (1, "GitLab: Internal API unreachable\n")


def test_a_push_from_outside_gitlab_is_refused(api: InternalApi, tmp_path: Path) -> None:
    environment = push_environment(api)
    del environment["GL_ID"]
    done = run_hook(tmp_path, "pre-receive", f"{OLD} {NEW} refs/heads/main\n", environment)
    assert (done.returncode, api.received) == (1, [])
    assert done.stderr == "GitLab: pushes are only accepted through GitLab (HTTP or SSH).\n"
