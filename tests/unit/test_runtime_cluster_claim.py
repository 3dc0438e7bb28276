"""A run claims a runtime cluster no other run uses: a Lease in the cluster, and the choice among the
target's clusters that skips those carrying another run's Nautes registration.

The Leases live in the Kubernetes API of a standalone reference stack (``nautes-e2e refstack up --clusters
2``, a process: the harness's tests never import the stack), which answers as a real API server does:
``AlreadyExists`` for a second create, ``Conflict`` for a replace or delete naming a stale
``resourceVersion``. The registrations are the list Nautes would answer (``nautes get cluster``).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.clients import ClaimedCluster, claim_runtime_cluster, scenario_cluster_names
from nautes_e2e.clients import KubeClient, ServiceUnreachable
from nautes_e2e.clients.kube import CLAIM_LEASE, LEASE_API_VERSION, ClusterClaim, NoFreeCluster
from nautes_e2e.scenario import Scenario
from nautes_e2e.targets import ClusterEndpoint

ROOT = Path(__file__).resolve().parents[2]
READY_WITHIN_S = 60.0


@dataclass(frozen=True)
class Stack:
    clusters: list[ClusterEndpoint]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("claims") / "world"
    script = Path(sys.executable).with_name("nautes-e2e")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "nautes_e2e.cli"]
    process = subprocess.Popen(
        [*command, "refstack", "up", "--dir", str(directory), "--clusters", "2", "--pace", "instant",
         f"--exit-with-parent={os.getpid()}"],
        stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while not (directory / "ready").exists():
            assert process.poll() is None, f"the stack exited with {process.returncode}"
            assert time.monotonic() < deadline, f"the stack was not ready within {READY_WITHIN_S:g} s"
            time.sleep(0.05)
        target = yaml.safe_load((directory / "target.yaml").read_text())
        yield Stack(
            [
                ClusterEndpoint(c["name"], directory / c["kubeconfig"], c["apiServer"], c["ip"])
                for c in target["clusters"]
            ]
        )
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)


@pytest.fixture
def kube(stack: Stack) -> Iterator[KubeClient]:
    client = KubeClient(stack.clusters[0].kubeconfig)
    yield client
    client.close()


@pytest.fixture
def lease(request: pytest.FixtureRequest, kube: KubeClient) -> Iterator[str]:
    """A Lease name of the test's own, removed afterwards whoever holds it."""
    name = "claim-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[5:60].strip("-")
    yield name
    kube.delete(LEASE_API_VERSION, "Lease", name, "default")


def claim(kube: KubeClient, holder: str, lease: str, **options: Any) -> ClusterClaim:
    return ClusterClaim(kube, holder, lease=lease, **options)


def spec(kube: KubeClient, lease: str) -> dict[str, Any]:
    found = kube.get(LEASE_API_VERSION, "Lease", lease, "default")
    assert found is not None, f"no Lease {lease}"
    return dict(found["spec"])


def put_lease(kube: KubeClient, lease: str, holder: str, renewed: datetime) -> None:
    """A Lease as another run left it: ``holder``, last renewed at ``renewed``, for 60 s."""
    stamp = renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    kube.create(
        {
            "apiVersion": LEASE_API_VERSION,
            "kind": "Lease",
            "metadata": {"name": lease, "namespace": "default"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 60, "renewTime": stamp},
        }
    )


def test_the_first_claim_holds_the_cluster_and_another_holder_is_told_who(
    kube: KubeClient, lease: str
) -> None:
    assert claim(kube, "physical-worker-a", lease).take() is None

    held = claim(kube, "physical-worker-b", lease).take()

    assert held is not None
    assert held.identity == "physical-worker-a"
    assert held.expires is not None
    assert not held.expired(datetime.now(UTC))
    current = spec(kube, lease)
    assert (current["holderIdentity"], current["leaseDurationSeconds"]) == ("physical-worker-a", 60)


def test_the_same_holder_claims_again(kube: KubeClient, lease: str) -> None:
    """A run of the same suffix after one killed outright: the claim is its own."""
    assert claim(kube, "physical-worker-a", lease).take() is None
    assert claim(kube, "physical-worker-a", lease).take() is None
    assert spec(kube, lease)["leaseTransitions"] == 0


def test_a_claim_its_holder_let_expire_is_taken_over(kube: KubeClient, lease: str) -> None:
    put_lease(kube, lease, "physical-worker-killed", datetime.now(UTC) - timedelta(seconds=61))

    assert claim(kube, "physical-worker-b", lease).take() is None

    current = spec(kube, lease)
    assert current["holderIdentity"] == "physical-worker-b"
    assert current["leaseTransitions"] == 1


def test_a_claim_renewed_within_its_duration_is_not_taken_over(kube: KubeClient, lease: str) -> None:
    put_lease(kube, lease, "physical-worker-alive", datetime.now(UTC) - timedelta(seconds=50))

    held = claim(kube, "physical-worker-b", lease).take()

    assert held is not None
    assert held.identity == "physical-worker-alive"
    assert spec(kube, lease)["holderIdentity"] == "physical-worker-alive"


def test_a_lease_with_no_holder_is_free(kube: KubeClient, lease: str) -> None:
    """How client-go leaves a Lease it released without deleting it."""
    put_lease(kube, lease, "", datetime.now(UTC))

    assert claim(kube, "physical-worker-b", lease).take() is None
    assert spec(kube, lease)["holderIdentity"] == "physical-worker-b"


@pytest.mark.parametrize("expired", [False, True], ids=["fresh", "expired"])
def test_of_runs_claiming_at_the_same_moment_exactly_one_wins(
    stack: Stack, kube: KubeClient, lease: str, expired: bool
) -> None:
    if expired:  # every contender reads the same expired Lease and replaces it naming its version
        put_lease(kube, lease, "physical-worker-killed", datetime.now(UTC) - timedelta(hours=1))
    contenders = [f"physical-worker-{n}" for n in range(6)]
    clients = [KubeClient(stack.clusters[0].kubeconfig) for _ in contenders]
    start = threading.Barrier(len(contenders))
    outcomes: dict[str, str | None] = {}
    errors: list[BaseException] = []

    def contend(holder: str, client: KubeClient) -> None:
        start.wait()
        try:
            held = claim(client, holder, lease).take()
        except Exception as error:
            errors.append(error)
            return
        outcomes[holder] = None if held is None else held.identity

    threads = [threading.Thread(target=contend, args=pair) for pair in zip(contenders, clients, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()

    assert errors == []
    winners = [holder for holder, outcome in outcomes.items() if outcome is None]
    assert len(winners) == 1, outcomes
    assert set(outcomes.values()) == {None, winners[0]}, "every loser is told the winner"
    assert spec(kube, lease)["holderIdentity"] == winners[0]


def test_a_live_run_renews_its_claim(kube: KubeClient, lease: str) -> None:
    mine = claim(kube, "physical-worker-a", lease)
    assert mine.take() is None
    first = spec(kube, lease)["renewTime"]

    mine.renew_in_background(every_s=0.05)
    try:
        deadline = time.monotonic() + 10
        while spec(kube, lease)["renewTime"] == first:
            assert time.monotonic() < deadline, "the claim was not renewed"
            time.sleep(0.05)
    finally:
        mine.abandon()

    renewed = spec(kube, lease)
    assert renewed["holderIdentity"] == "physical-worker-a"
    assert renewed["acquireTime"] < renewed["renewTime"]
    assert mine.problems == []


def test_release_deletes_the_claim_and_abandon_leaves_it_to_expire(kube: KubeClient, lease: str) -> None:
    kept = claim(kube, "physical-worker-kept", lease)
    assert kept.take() is None
    kept.abandon()
    assert spec(kube, lease)["holderIdentity"] == "physical-worker-kept"

    released = claim(kube, "physical-worker-kept", lease)
    assert released.take() is None
    released.release()
    assert kube.get(LEASE_API_VERSION, "Lease", lease, "default") is None
    assert claim(kube, "physical-worker-b", lease).take() is None


def test_a_claim_taken_over_meanwhile_is_reported_and_left_to_its_new_holder(
    kube: KubeClient, lease: str
) -> None:
    """A run that stopped renewing for longer than the claim lasts (a paused process) lost the cluster: its
    renewal says so and stops, and its release does not delete the new holder's claim."""
    clock = [datetime.now(UTC) - timedelta(hours=1)]
    paused = claim(kube, "physical-worker-paused", lease, clock=lambda: clock[0])
    assert paused.take() is None  # renewTime an hour ago: expired for everybody else
    assert claim(kube, "physical-worker-b", lease).take() is None

    paused.renew_in_background(every_s=0.01)
    deadline = time.monotonic() + 10
    while not paused.problems:
        assert time.monotonic() < deadline, "the renewal did not notice"
        time.sleep(0.02)
    paused.release()

    (problem,) = paused.problems
    assert problem.startswith(
        f"the claim (Lease default/{lease} at {kube.endpoint}) was taken by physical-worker-b (until "
    )
    assert problem.endswith(" unless renewed) while the run used the cluster")
    assert spec(kube, lease)["holderIdentity"] == "physical-worker-b"


# -- the choice among the target's clusters -------------------------------------------------------------


@pytest.fixture
def choose(stack: Stack) -> Iterator[list[ClaimedCluster]]:
    """Claims made by a test, released afterwards (they use the run's Lease name in each cluster)."""
    made: list[ClaimedCluster] = []
    yield made
    for claimed in made:
        claimed.end(keep=False)
    for cluster in stack.clusters:  # a claim a test expected to lose may still have been taken
        client = KubeClient(cluster.kubeconfig)
        client.delete(LEASE_API_VERSION, "Lease", CLAIM_LEASE, "default")
        client.close()


def registration(name: str, cluster: ClusterEndpoint, *, spelled: str | None = None) -> dict[str, Any]:
    """A Cluster as ``GET /api/v1/clusters`` lists it (snake_case keys)."""
    return {"name": name, "api_server": spelled or cluster.api_server, "usage": "worker"}


def test_the_first_cluster_no_registration_uses_is_claimed(
    stack: Stack, choose: list[ClaimedCluster]
) -> None:
    first, second = stack.clusters

    claimed = claim_runtime_cluster(stack.clusters, [], {"physical-worker-a"}, "physical-worker-a")
    choose.append(claimed)

    assert claimed.cluster == first
    assert claimed.passed_over == {}
    assert claimed.claim.holder == "physical-worker-a"
    held = ClusterClaim(claimed.kube, "someone-else").take()
    assert held is not None
    assert held.identity == "physical-worker-a"
    assert second != first


def test_a_cluster_carrying_another_registration_is_passed_over(
    stack: Stack, choose: list[ClaimedCluster]
) -> None:
    """The README's flow: a ``--keep-env`` run left its registration; the next run, with another suffix,
    must not register the same cluster. The API server URL may be spelled otherwise (case, default port)."""
    first, second = stack.clusters
    spelled = first.api_server.upper().replace("HTTPS", "https")
    kept = registration("physical-worker-kept", first, spelled=spelled)

    claimed = claim_runtime_cluster(
        stack.clusters, [kept], {"physical-worker-after"}, "physical-worker-after"
    )
    choose.append(claimed)

    assert claimed.cluster == second
    assert claimed.passed_over == {first.name: "it carries the Nautes registration physical-worker-kept"}
    assert claimed.fact()["passed_over"] == claimed.passed_over
    assert claimed.describe().startswith(f"{second.name} claimed for physical-worker-after (Lease default/")


def test_a_cluster_claimed_by_a_live_run_is_passed_over(stack: Stack, choose: list[ClaimedCluster]) -> None:
    first, second = stack.clusters
    choose.append(claim_runtime_cluster(stack.clusters, [], {"physical-worker-a"}, "physical-worker-a"))

    claimed = claim_runtime_cluster(stack.clusters, [], {"physical-worker-b"}, "physical-worker-b")
    choose.append(claimed)

    assert claimed.cluster == second
    assert claimed.passed_over[first.name].startswith("the run physical-worker-a (until ")


def test_the_cluster_carrying_this_runs_own_registration_comes_first(
    stack: Stack, choose: list[ClaimedCluster]
) -> None:
    second = stack.clusters[1]
    own = registration("physical-worker-a", second)

    claimed = claim_runtime_cluster(stack.clusters, [own], {"physical-worker-a"}, "physical-worker-a")
    choose.append(claimed)

    assert claimed.cluster == second
    assert claimed.passed_over == {}


def test_no_free_cluster_is_a_clear_diagnosis(stack: Stack, choose: list[ClaimedCluster]) -> None:
    first, second = stack.clusters
    choose.append(claim_runtime_cluster([second], [], {"physical-worker-a"}, "physical-worker-a"))
    kept = registration("physical-worker-kept", first)

    with pytest.raises(NoFreeCluster) as caught:
        claim_runtime_cluster(stack.clusters, [kept], {"physical-worker-b"}, "physical-worker-b")

    text = str(caught.value)
    assert text.startswith(
        "no runtime cluster of the target is free for this run (physical-worker-b): "
        f"{first.name}: it carries the Nautes registration physical-worker-kept; "
        f"{second.name}: the run physical-worker-a (until "
    )
    assert (
        "Nautes v0.4.x cannot carry two registrations of one Kubernetes cluster (cluster-templates v0.4.0 "
        "runtimes/_RUNTIME_/production/vault-app.yaml" in text
    )
    assert "Remedy: remove it (nautes remove" in text
    assert "refstack up --clusters N" in text


@pytest.fixture
def dead_cluster(tmp_path: Path) -> ClusterEndpoint:
    """A cluster whose API server does not answer (a port nothing listens on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig = tmp_path / "dead.yaml"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    return ClusterEndpoint("dead", kubeconfig, f"http://127.0.0.1:{port}", "127.0.0.1")


def test_a_cluster_that_does_not_answer_is_passed_over(
    stack: Stack, choose: list[ClaimedCluster], dead_cluster: ClusterEndpoint
) -> None:
    claimed = claim_runtime_cluster(
        [dead_cluster, *stack.clusters], [], {"physical-worker-a"}, "physical-worker-a"
    )
    choose.append(claimed)

    assert claimed.cluster == stack.clusters[0]
    assert claimed.passed_over["dead"].startswith(
        f"it does not answer (Kubernetes API at {dead_cluster.api_server} did not answer "
    )


def test_when_no_cluster_answers_the_preflight_is_left_to_say_so(dead_cluster: ClusterEndpoint) -> None:
    """The fixture then goes on with the first cluster, unclaimed: the preflight checks the cluster and
    names it, as it does for every endpoint."""
    with pytest.raises(ServiceUnreachable) as caught:
        claim_runtime_cluster([dead_cluster], [], {"physical-worker-a"}, "physical-worker-a")

    assert str(caught.value).startswith(f"Kubernetes API at {dead_cluster.api_server} did not answer ")


def test_the_runs_cluster_names_follow_the_suffix() -> None:
    scenario = Scenario.load(ROOT / "scenarios" / "quickstart")

    # Every variant's registrations are the run's own: a physical run and a virtual one of one suffix share
    # a product, and either may find the other's earlier registration on its cluster.
    assert scenario_cluster_names(scenario, "x1") == {"physical-worker-x1", "host-x1", "vcluster-x1"}
    assert scenario_cluster_names(scenario, None) == {
        "physical-worker-quickstart",
        "host-quickstart",
        "vcluster-quickstart",
    }
