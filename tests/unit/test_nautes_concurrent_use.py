"""A request Nautes refused because another request used the same repository at the same moment is sent
again, and only such a request.

NAUTES v0.4.2 serialises nothing (``app/api-server/internal/data/git.go`` ``Clone``,
``internal/biz/resource.go`` ``PushToGit``/``retryAutoMerge``); the refusals below are the ones it gives,
as the reference stack gives them (its real ``git`` racing, ``refstack/tests/test_nautes_api_concurrency.py``)
and as two quickstarts on one stack met them. The client runs against a small recording server that
answers what each test scripts; pauses go to a recorder instead of the clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from nautes_e2e.clients.nautes import (
    Collision,
    NautesApiError,
    NautesClient,
    NautesConcurrentUse,
    NautesNotFound,
    ResendPolicy,
    parse_documents,
)
from nautes_e2e.secrets import Secret
from tests.support.http import catch_all, serve
from tests.support.loop import BackgroundLoop

TOKEN = Secret("glpat-concurrent-use-test-token")
CLONE_URL = "http://gitlab.example/nautes/management.git"
CLONE = f"failed to clone repository, the repository url: {CLONE_URL}, err: failed to clone repository: "

#: What Nautes answers when another request used the same repository at the same moment, with what the
#: client quotes of it. Every one of them pushed nothing.
REFUSALS = {
    "clone-destination-taken": (
        "failed to get gitlab certificate, err: " + CLONE + "fatal: destination path 'management' already "
        "exists and is not an empty directory.\n",
        "destination path 'management' already exists",
    ),
    "clone-work-tree-taken": (
        CLONE + "fatal: could not create work tree dir 'management': File exists\n",
        "fatal: could not create work tree dir 'management': File exists",
    ),
    "clone-config-locked": (
        CLONE + "Cloning into 'default.project'...\nerror: could not lock config file "
        "/tmp/product1796427123/default.project/.git/config: File exists\nfatal: could not set "
        "'core.repositoryformatversion' to '0'\n",
        "error: could not lock config file /tmp/product1796427123/default.project/.git/config: File exists",
    ),
    "clone-config-removed": (
        CLONE + "Cloning into 'default.project'...\nerror: could not write config file "
        "/tmp/product1796427123/default.project/.git/config: No such file or directory\nfatal: could not set "
        "'core.logallrefupdates' to 'true'\n",
        "error: could not write config file /tmp/product1796427123/default.project/.git/config: No such file "
        "or directory",
    ),
    "clone-refs-raced": (
        CLONE
        + "Cloning into 'management'...\nBUG: refs/files-backend.c:3040: initial ref transaction called "
        "with existing refs\n",
        "initial ref transaction called with existing refs",
    ),
    "push-fetch-first": (
        "push data: To http://gitlab.example/nautes/management.git\n ! [rejected]        HEAD -> main (fetch "
        "first)\nerror: failed to push some refs to 'http://gitlab.example/nautes/management.git'\nhint: "
        "Updates were rejected because the remote contains work that you do\n, err: exit status 1",
        "[rejected] HEAD -> main (fetch first)",
    ),
    "push-cannot-lock-ref": (
        "failed to save config, err: push data: To http://gitlab.example/nautes/management.git\n ! [remote "
        "rejected] HEAD -> main (cannot lock ref 'refs/heads/main': is at 1a2b but expected 3c4d)\nerror: "
        "failed to push some refs\n, err: exit status 1",
        "[remote rejected] HEAD -> main (cannot lock ref 'refs/heads/main': is at 1a2b but expected 3c4d)",
    ),
    "merge-conflict": (
        "when the save configuration cannot be merge automatically, manual approval may be required, err: "
        "merge data: Auto-merging clusters/kustomization.yaml\nCONFLICT (add/add): Merge conflict in "
        "clusters/kustomization.yaml\nAutomatic merge failed; fix conflicts and then commit the result.\n, "
        "err: exit status 1",
        "when the save configuration cannot be merge automatically",
    ),
    "retry-finds-nothing-to-commit": (
        "commit output: On branch main\nYour branch is ahead of 'origin/main' by 1 commit.\n\nnothing to "
        "commit, working tree clean\n, err: exit status 1",
        "nothing to commit",
    ),
}

#: Failures that look alike but are no collision: sending them again would fail the same way.
NOT_COLLISIONS = {
    "protected-branch": (
        500,
        "push data: To http://gitlab.example/nautes/management.git\n ! [remote rejected] HEAD -> main "
        "(pre-receive hook declined)\nerror: failed to push some refs\n, err: exit status 1",
    ),
    "clone-authentication": (
        500,
        CLONE + f"remote: HTTP Basic: Access denied\nfatal: Authentication failed for '{CLONE_URL}/'\n",
    ),
    "clone-permission-denied": (
        500,
        CLONE + "fatal: could not create work tree dir 'management': Permission denied\n",
    ),
    "clone-no-space": (
        500,
        CLONE + "Cloning into 'management'...\nerror: unable to write file /tmp/product1796427123/management/"
        ".git/objects/pack/tmp_pack_x: No space left on device\n",
    ),
    "plain-500": (500, "failed to get product demo, err: unknown"),
    # (a 502/503/504 is a gateway's transient answer, waited out by nautes_e2e.clients.transient)
    "not-implemented-with-a-collision-text": (501, REFUSALS["clone-destination-taken"][0]),
    "bad-request-with-a-collision-text": (400, REFUSALS["push-fetch-first"][0]),
    "forbidden": (403, "the token has no access to the group"),
}

CLUSTER_FILE = """\
kind: Cluster
spec: {name: c1, apiServer: "https://1.2.3.4:6443", usage: worker}
---
kind: Product
spec: {name: demo, git: {gitlab: {name: demo, path: demo, visibility: private}}}
"""


@dataclass
class Refusing:
    """Answers each request with the next scripted ``(status, message)``, then 200; records every request
    as (method, path with query, body)."""

    script: list[tuple[int, str]] = field(default_factory=list)
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs, await request.read()))
        if self.script:
            status, message = self.script.pop(0)
            return web.json_response({"code": status, "reason": "", "message": message}, status=status)
        return web.json_response({"message": "Successfully saved", "items": []})


@dataclass
class Pauses:
    """Stands for ``time.sleep``: records the pauses the client asks for."""

    taken: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


@pytest.fixture(scope="module")
def background() -> Iterator[BackgroundLoop]:
    with BackgroundLoop() as loop:
        yield loop


@pytest.fixture
def server(background: BackgroundLoop) -> Iterator[tuple[Refusing, str]]:
    refusing = Refusing()
    with serve(background, catch_all(refusing.handle)) as served:
        yield refusing, served.url


@pytest.fixture
def pauses() -> Pauses:
    return Pauses()


def client_for(url: str, policy: ResendPolicy) -> NautesClient:
    return NautesClient(url, TOKEN, timeout=5, resend=policy)


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refusal_for_concurrent_use_is_sent_again_as_it_was(
    server: tuple[Refusing, str], pauses: Pauses, refusal: tuple[str, str]
) -> None:
    refusing, url = server
    message, quoted = refusal
    refusing.script = [(500, message)]
    client = client_for(url, ResendPolicy(sleep=pauses))

    results = client.apply(parse_documents(CLUSTER_FILE, "c.yaml")[:1])

    assert [result.message for result in results] == ["Successfully saved"]
    assert len(refusing.requests) == 2
    assert refusing.requests[0] == refusing.requests[1]  # the same method, path, query and body
    assert client.collisions == [
        Collision("Cluster", "c1", "POST", "/api/v1/clusters/c1", quoted, 1, pauses.taken[0])
    ]
    assert str(client.collisions[0]) == (
        f"Nautes refused POST /api/v1/clusters/c1 (Cluster c1, send 1): another request used the same "
        f"repository at the same moment ({quoted}); resent after {pauses.taken[0]:.1f} s"
    )


@pytest.mark.parametrize("failure", NOT_COLLISIONS.values(), ids=NOT_COLLISIONS.keys())
def test_every_other_failure_fails_at_once(
    server: tuple[Refusing, str], pauses: Pauses, failure: tuple[int, str]
) -> None:
    refusing, url = server
    refusing.script = [failure]
    client = client_for(url, ResendPolicy(sleep=pauses))

    with pytest.raises(NautesApiError) as caught:
        client.apply(parse_documents(CLUSTER_FILE, "c.yaml")[:1])

    assert not isinstance(caught.value, NautesConcurrentUse)
    assert (caught.value.status, caught.value.message) == failure
    assert len(refusing.requests) == 1
    assert client.collisions == []
    assert pauses.taken == []


def test_a_not_found_is_not_a_collision(server: tuple[Refusing, str], pauses: Pauses) -> None:
    refusing, url = server
    refusing.script = [(500, "the cluster resource c1 is not found")]

    with pytest.raises(NautesNotFound):
        client_for(url, ResendPolicy(sleep=pauses)).get("Cluster", "c1")

    assert len(refusing.requests) == 1


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("GET", lambda client: client.list("Cluster")),
        ("GET", lambda client: client.get("Product", "demo")),
        ("DELETE", lambda client: client.remove(parse_documents(CLUSTER_FILE, "c.yaml")[1:])),
    ],
    ids=["list", "get", "remove"],
)
def test_any_method_is_sent_again(
    server: tuple[Refusing, str], pauses: Pauses, method: str, call: Callable[[NautesClient], object]
) -> None:
    """A GET clones the repository it reads, a DELETE the one it changes: both collide like a save."""
    refusing, url = server
    refusing.script = [(500, REFUSALS["clone-destination-taken"][0])] * 2
    client = client_for(url, ResendPolicy(sleep=pauses))

    call(client)

    assert [request[0] for request in refusing.requests] == [method] * 3
    assert len({request[1:] for request in refusing.requests}) == 1
    assert [collision.send for collision in client.collisions] == [1, 2]


def test_the_pause_is_random_between_one_and_three_seconds(
    server: tuple[Refusing, str], pauses: Pauses
) -> None:
    """At least a second, so that the next send clones in another second than the one that collided; at
    random, so that two runs that collided do not collide again in step."""
    refusing, url = server
    refusing.script = [(500, REFUSALS["clone-destination-taken"][0])] * 6
    client = client_for(url, ResendPolicy(sleep=pauses))

    client.list("Cluster")

    assert len(pauses.taken) == 6
    assert all(1.0 <= pause <= 3.0 for pause in pauses.taken), pauses.taken
    assert len(set(pauses.taken)) > 1
    assert [collision.pause_s for collision in client.collisions] == pauses.taken


def test_resends_are_bounded_and_the_last_refusal_says_so(
    server: tuple[Refusing, str], pauses: Pauses
) -> None:
    refusing, url = server
    refusing.script = [(500, REFUSALS["push-fetch-first"][0])] * 100
    client = client_for(url, ResendPolicy(sends=4, sleep=pauses))

    with pytest.raises(NautesConcurrentUse) as caught:
        client.apply(parse_documents(CLUSTER_FILE, "c.yaml"))

    assert len(refusing.requests) == 4
    assert [collision.send for collision in client.collisions] == [1, 2, 3]
    assert caught.value.collision == "[rejected] HEAD -> main (fetch first)"
    assert caught.value.completed == ()  # the Product after the Cluster was never sent
    (note,) = caught.value.__notes__
    assert note.startswith("Nautes refused POST /api/v1/clusters/c1 4 time(s) in ")
    assert "another request used the same repository at the same moment" in note
    assert "nothing was pushed" in note


def test_no_resend_starts_once_the_total_time_is_spent(server: tuple[Refusing, str], pauses: Pauses) -> None:
    """The time bound holds even when sends remain: a server refusing everything ends the run."""
    refusing, url = server
    refusing.script = [(500, REFUSALS["merge-conflict"][0])] * 10
    client = client_for(url, ResendPolicy(sends=10, within_s=0.0, sleep=pauses))

    with pytest.raises(NautesConcurrentUse):
        client.list("Cluster")

    assert len(refusing.requests) == 1
    assert pauses.taken == []


def test_the_default_policy() -> None:
    policy = ResendPolicy()
    assert (policy.sends, policy.within_s, policy.pause_s) == (12, 180.0, (1.0, 3.0))


def test_a_later_document_runs_on_after_a_resend(server: tuple[Refusing, str], pauses: Pauses) -> None:
    refusing, url = server
    refusing.script = [(200, ""), (500, REFUSALS["retry-finds-nothing-to-commit"][0])]
    client = client_for(url, ResendPolicy(sleep=pauses))

    results = client.apply(parse_documents(CLUSTER_FILE, "c.yaml"))

    assert [(result.kind, result.name) for result in results] == [("Cluster", "c1"), ("Product", "demo")]
    assert [request[1] for request in refusing.requests] == [
        "/api/v1/clusters/c1",
        "/api/v1/products/demo",
        "/api/v1/products/demo",
    ]
    assert [(collision.kind, collision.name) for collision in client.collisions] == [("Product", "demo")]


def test_resends_are_reported_as_they_happen_within_the_block_only(
    server: tuple[Refusing, str], pauses: Pauses
) -> None:
    refusing, url = server
    client = client_for(url, ResendPolicy(sleep=pauses))
    lines: list[str] = []

    with client.reporting_collisions(lines.append):
        refusing.script = [(500, REFUSALS["clone-work-tree-taken"][0])]
        client.list("Cluster")
    refusing.script = [(500, REFUSALS["clone-work-tree-taken"][0])]
    client.list("Cluster")

    assert len(client.collisions) == 2
    assert lines == [str(client.collisions[0])]
    assert lines[0].startswith("Nautes refused GET /api/v1/clusters/ (Cluster, send 1): another request used")


def test_the_refusal_body_is_redacted_in_what_is_kept(server: tuple[Refusing, str], pauses: Pauses) -> None:
    refusing, url = server
    leaking = REFUSALS["clone-destination-taken"][0].replace(
        CLONE_URL, f"http://u:{TOKEN.reveal()}@gitlab/x.git"
    )
    refusing.script = [(500, leaking)] * 2
    client = client_for(url, ResendPolicy(sends=2, sleep=pauses))

    with pytest.raises(NautesConcurrentUse) as caught:
        client.list("Cluster")

    kept = json.dumps([str(collision) for collision in client.collisions]) + str(caught.value)
    assert TOKEN.reveal() not in kept + "".join(caught.value.__notes__)
