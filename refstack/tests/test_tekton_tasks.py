"""ClusterTask implementations driven directly through a TaskContext (real store, real git, real files)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nautes_refstack.kube import ObjectStore
from nautes_refstack.registry import Registry
from nautes_refstack.registry.tls import RegistryCertificate
from nautes_refstack.tekton import StepFailed, TaskContext, TaskOutcome
from nautes_refstack.tekton.catalog import cluster_task_object
from nautes_refstack.tekton.task_api import StepState, cluster_task_implementation
from nautes_refstack.tekton.tasks.git_auth import ssh_command
from nautes_refstack.tekton.tasks.oci_push import may_use_http
from nautes_refstack.tekton.variables import ParamValue
from support.loop import BackgroundLoop

NAMESPACE, POD = "ns", "task-pod"


def context(
    tmp_path: Path, task: str, params: dict[str, ParamValue], workspaces: dict[str, Path]
) -> TaskContext:
    """A TaskContext for ClusterTask ``task`` with its declared defaults, over a pod object in a store."""
    store = ObjectStore()
    spec = cluster_task_object(task)["spec"]
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    containers = [{"name": f"step-{step['name']}", "image": "i"} for step in spec["steps"]]
    store.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": POD, "namespace": NAMESPACE},
            "spec": {"containers": containers},
        }
    )
    values: dict[str, ParamValue] = {param["name"]: param.get("default", "") for param in spec["params"]}
    values.update(params)
    return TaskContext(
        store=store,
        namespace=NAMESPACE,
        task_run="tr",
        pod=POD,
        pipeline_task="pt",
        cluster_task=task,
        service_account="default",
        params=values,
        workspaces=workspaces,
        pod_root=tmp_path / "pod",
        steps={step["name"]: StepState(step["name"], "i") for step in spec["steps"]},
    )


def run_task(ctx: TaskContext) -> TaskOutcome:
    implementation = cluster_task_implementation(ctx.cluster_task)
    assert implementation is not None
    return asyncio.run(implementation(ctx))


def log(ctx: TaskContext, step: str) -> str:
    return ctx.store.pod_log(NAMESPACE, POD, f"step-{step}")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


POM = '<project xmlns="http://maven.apache.org/POM/4.0.0"><groupId>g</groupId><artifactId>a</artifactId>{version}</project>'


@pytest.mark.parametrize(
    ("goals", "pom", "expected"),
    [
        (["-f", "app/pom.xml"], POM.format(version="<version>1</version>"), "No goals have been specified"),
        (
            ["package", "-f", "missing/pom.xml"],
            None,
            "POM file missing/pom.xml specified with the -f/--file command",
        ),
        (["package"], None, "there is no POM in this directory"),
        (["package", "-f", "app/pom.xml"], POM.format(version=""), "'version' is missing."),
        (["package", "-f", "app/pom.xml"], "<project><artifactId>", "Non-parseable POM app/pom.xml"),
    ],
)
def test_maven_checks_fail_like_maven(
    tmp_path: Path, goals: list[str], pom: str | None, expected: str
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    if pom is not None:
        write(source / "app" / "pom.xml", pom)
    ctx = context(
        tmp_path, "maven", {"GOALS": goals}, {"source": source, "maven-settings": tmp_path / "settings"}
    )
    (tmp_path / "settings").mkdir()
    with pytest.raises(StepFailed) as raised:
        run_task(ctx)
    assert raised.value.exit_code == 1
    assert expected in log(ctx, "mvn-goals")
    assert ctx.steps["mvn-settings"].exit_code == 0
    assert ctx.steps["mvn-goals"].exit_code == 1


def test_maven_reports_what_it_verified(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write(source / "pom.xml", POM.format(version="<version>1.2</version>"))
    (tmp_path / "settings").mkdir()
    ctx = context(
        tmp_path,
        "maven",
        {"GOALS": ["-B", "-s", "x.xml", "verify"]},
        {"source": source, "maven-settings": tmp_path / "settings"},
    )
    outcome = run_task(ctx)
    assert (
        outcome.message == "maven not executed in the reference stack; "
        "verified pom.xml (g:a:1.2) and goals [-B -s x.xml verify]"
    )
    assert "maven not executed in the reference stack (no Maven repository is reachable)" in log(
        ctx, "mvn-goals"
    )


def make_repository(root: Path) -> Path:
    bare, work = root / "repo.git", root / "work"
    for args in (["init", "--bare", "-b", "main", str(bare)], ["init", "-b", "main", str(work)]):
        subprocess.run(["git", *args], check=True, capture_output=True)
    write(work / "README", "hello\n")
    for args in (
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-m", "one"],
        ["push", str(bare), "main"],
    ):
        subprocess.run(["git", *args], cwd=work, check=True, capture_output=True)
    return bare


def test_git_clone_of_a_missing_revision_fails_with_gits_exit_code(tmp_path: Path) -> None:
    repository = make_repository(tmp_path)
    output = tmp_path / "output"
    output.mkdir()
    ctx = context(
        tmp_path, "git-clone", {"url": str(repository), "revision": "no-such-branch"}, {"output": output}
    )
    with pytest.raises(StepFailed) as raised:
        run_task(ctx)
    assert raised.value.exit_code == 128
    assert "couldn't find remote ref no-such-branch" in log(ctx, "clone")


def test_git_clone_checks_out_into_a_subdirectory_and_cleans_it_first(tmp_path: Path) -> None:
    repository = make_repository(tmp_path)
    output = tmp_path / "output"
    write(output / "code" / "stale.txt", "old")
    ctx = context(
        tmp_path,
        "git-clone",
        {"url": str(repository), "revision": "main", "subdirectory": "code"},
        {"output": output},
    )
    outcome = run_task(ctx)
    head = subprocess.run(
        ["git", "rev-parse", "main"], cwd=repository, check=True, capture_output=True, text=True
    ).stdout.strip()
    assert outcome.results == {"commit": head, "url": str(repository)}
    assert (output / "code" / "README").read_text() == "hello\n"
    assert not (output / "code" / "stale.txt").exists()
    with pytest.raises(StepFailed, match="leaves the output workspace"):
        run_task(
            context(
                tmp_path, "git-clone", {"url": str(repository), "subdirectory": "../x"}, {"output": output}
            )
        )


def test_git_cli_failure_keeps_the_scripts_exit_code(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    ctx = context(tmp_path, "git-cli", {"GIT_SCRIPT": "echo before\nexit 3\n"}, {"source": source})
    with pytest.raises(StepFailed) as raised:
        run_task(ctx)
    assert raised.value.exit_code == 3
    assert "before" in log(ctx, "git")
    assert "exited with code" not in log(ctx, "git"), "the step's log holds only what the script printed"


def test_ssh_command_uses_only_the_task_keys(tmp_path: Path) -> None:
    write(tmp_path / "home" / ".ssh" / "id_ecdsa", "k")
    write(tmp_path / "root" / ".ssh" / "id_rsa", "k")
    command = ssh_command(tmp_path / "home" / ".ssh", tmp_path / "root" / ".ssh", tmp_path / "none")
    assert "-o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null" in command
    assert command.endswith(f"-i {tmp_path}/home/.ssh/id_ecdsa -i {tmp_path}/root/.ssh/id_rsa")
    assert command.startswith("ssh -F /dev/null")


def test_step_logs_hide_url_credentials(tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.mkdir()
    ctx = context(
        tmp_path, "git-clone", {"url": "http://oauth2:glpat-secret@127.0.0.1:1/g/r.git"}, {"output": output}
    )
    with pytest.raises(StepFailed):
        run_task(ctx)
    text: Any = log(ctx, "clone")
    assert "glpat-secret" not in text
    assert "http://oauth2:***@127.0.0.1:1/g/r.git" in text


# -- kaniko against an HTTPS registry with a private CA (127.0.0.2: a host kaniko speaks only HTTPS to) ----


@pytest.fixture(scope="module")
def tls_registry() -> Iterator[Registry]:
    with BackgroundLoop("tls-registry", timeout=10) as loop:
        server = Registry("pusher", "pw", RegistryCertificate.generate())
        loop.run(server.start())
        yield server
        loop.run(server.stop())


def kaniko_context(tmp_path: Path, registry: Registry, extra_args: list[str]) -> TaskContext:
    source, dockerconfig = tmp_path / "source", tmp_path / "dockerconfig"
    write(source / "app" / "Dockerfile", "FROM scratch\nCOPY hello.txt /\n")
    write(source / "app" / "hello.txt", "hello\n")
    auth = base64.b64encode(b"pusher:pw").decode()
    write(dockerconfig / "config.json", json.dumps({"auths": {registry.host: {"auth": auth}}}))
    assert registry.tls is not None
    write(dockerconfig / "ca.crt", registry.tls.ca_pem)
    image = f"{registry.host}/org/team/devops-sample:{tmp_path.name[-20:].strip('_')}"
    params: dict[str, ParamValue] = {
        "IMAGE": image,
        "DOCKERFILE": "./app/Dockerfile",
        "CONTEXT": "./app",
        "EXTRA_ARGS": extra_args,
    }
    return context(tmp_path, "kaniko", params, {"source": source, "dockerconfig": dockerconfig})


@pytest.mark.parametrize(
    "extra_args",
    [
        ["--registry-certificate={host}=/kaniko/.docker/ca.crt"],
        ["--insecure", "--skip-tls-verify"],
        ["--skip-tls-verify"],
    ],
    ids=["registry-certificate", "insecure-and-skip-tls-verify", "skip-tls-verify"],
)
def test_kaniko_pushes_to_a_private_ca_registry_it_is_told_to_trust(
    tmp_path: Path, tls_registry: Registry, extra_args: list[str]
) -> None:
    ctx = kaniko_context(tmp_path, tls_registry, [arg.format(host=tls_registry.host) for arg in extra_args])
    outcome = run_task(ctx)
    image = str(ctx.param("IMAGE"))
    assert outcome.results["IMAGE_URL"] == image
    assert image.rsplit(":", 1)[1] in tls_registry.content.tags("org/team/devops-sample")


@pytest.mark.parametrize(
    ("extra_args", "error"),
    [
        ([], "x509: certificate signed by unknown authority"),
        (["--registry-certificate=other.example=/kaniko/.docker/ca.crt"], "x509: certificate signed by"),
        (["--registry-certificate={host}=/kaniko/ca.crt"], "x509: certificate signed by unknown authority"),
        (["--insecure"], 'Get "http://'),  # HTTPS fails verification, HTTP reaches a TLS server
    ],
    ids=["no-flags", "certificate-for-another-registry", "certificate-not-mounted", "insecure-alone"],
)
def test_kaniko_refuses_a_private_ca_registry_as_kaniko_does(
    tmp_path: Path, tls_registry: Registry, extra_args: list[str], error: str
) -> None:
    ctx = kaniko_context(tmp_path, tls_registry, [arg.format(host=tls_registry.host) for arg in extra_args])
    with pytest.raises(StepFailed) as caught:
        run_task(ctx)
    message = str(caught.value)
    assert message.startswith("error checking push permissions"), message
    assert f'Get "https://{tls_registry.host}/v2/"' in message
    assert error in message
    assert base64.b64encode(b"pusher:pw").decode() not in message


@pytest.mark.parametrize(
    ("registry", "http"),
    [
        ("127.0.0.1:5000", True),
        ("localhost:5000", True),
        ("registry.local:5000", True),
        ("10.1.2.3:5000", True),
        ("192.168.0.9", True),
        ("172.20.0.1:443", True),
        ("127.0.0.2:5000", False),
        ("172.32.0.1:5000", False),
        ("ghcr.io", False),
    ],
)
def test_which_registries_kaniko_may_speak_plain_http_to(registry: str, http: bool) -> None:
    assert may_use_http(registry) is http
