"""The quickstart against a standalone reference stack, cross-checked with the tools a user would reach for.

``nautes-e2e refstack up --dir DIR`` runs the stack; ``pytest suites/quickstart --target existing`` runs the
stages against it with ``--keep-env``; then kubectl, python-gitlab, hvac and a plain ``git clone`` — none of
them the harness's own clients — must see what ``report.json`` says. Finally SIGINT stops the stack and every
port it listened on is closed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gitlab
import hvac
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
IMAGE_URL = re.compile(r"^127\.0\.0\.1:\d+/devops-sample:0\.0\.1-(?P<commit>[0-9a-f]{40})$")
NAMESPACE = "pr-demo-quickstart"
PRODUCT = "demo-quickstart"
CODE_REPOS = {
    "coderepo-sc-demo-quickstart",
    "coderepo-deploy-demo-quickstart",
    "coderepo-pipeline-demo-quickstart",
}


@dataclass
class StandaloneRun:
    directory: Path
    environ: dict[str, str]
    target: dict[str, Any]
    report: dict[str, Any]
    stack: subprocess.Popen[bytes]

    @property
    def facts(self) -> dict[str, Any]:
        return dict(self.report["facts"])

    def ports(self) -> list[int]:
        urls = [self.target["nautes"]["url"], self.target["gitlab"]["url"], self.target["gitlab"]["sshUrl"]]
        urls += [self.target["vault"]["url"], "http://" + self.target["registry"]["url"]]
        urls += [cluster["apiServer"] for cluster in self.target["clusters"]]
        return [int(urlsplit(url).port or 0) for url in urls]


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("nautes-e2e")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nautes_e2e.cli"]


def _wait_ready(stack: subprocess.Popen[bytes], directory: Path) -> None:
    deadline = time.monotonic() + 60
    while not (directory / "ready").exists():
        assert stack.poll() is None, f"the stack exited with {stack.returncode}; see {directory}/logs"
        assert time.monotonic() < deadline, "the stack was not ready within 60 s"
        time.sleep(0.05)


@contextmanager
def _standalone_world(directory: Path) -> Iterator[StandaloneRun]:
    """A standalone stack in ``directory`` with the main job run against it (``--keep-env``)."""
    stack = subprocess.Popen(
        [*_console_script(), "refstack", "up", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_ready(stack, directory)
        credentials = dict(
            line.split("=", 1) for line in (directory / "credentials.env").read_text().splitlines() if line
        )
        environ = {**os.environ, **credentials}
        reports = directory / "reports"
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "suites/quickstart", "-q", "-p", "no:cacheprovider",
             "--target", "existing", "--target-file", str(directory / "target.yaml"), "--keep-env",
             "--reports-dir", str(reports)],
            cwd=ROOT, env=environ, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
        (report_file,) = reports.glob("*/report.json")
        yield StandaloneRun(
            directory=directory,
            environ=environ,
            target=yaml.safe_load((directory / "target.yaml").read_text()),
            report=json.loads(report_file.read_text()),
            stack=stack,
        )
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGINT)
            stack.wait(timeout=20)


class StandaloneWorlds:
    """The module's standalone world, started on first use. :func:`test_sigint_stops_everything` stops
    it; work stealing does not keep a module's tests in order on one worker, so a test that comes after
    that on the same worker gets a new world instead of a stopped one."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, cleanup: ExitStack) -> None:
        self._tmp_path_factory = tmp_path_factory
        self._cleanup = cleanup
        self._current: StandaloneRun | None = None

    def running(self) -> StandaloneRun:
        if self._current is None or self._current.stack.poll() is not None:
            directory = self._tmp_path_factory.mktemp("world")
            self._current = self._cleanup.enter_context(_standalone_world(directory))
        return self._current


@pytest.fixture(scope="module")
def standalone_worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneWorlds]:
    with ExitStack() as cleanup:
        yield StandaloneWorlds(tmp_path_factory, cleanup)


@pytest.fixture
def standalone(standalone_worlds: StandaloneWorlds) -> StandaloneRun:
    return standalone_worlds.running()


def test_credentials_file_is_private(standalone: StandaloneRun) -> None:
    assert (standalone.directory / "credentials.env").stat().st_mode & 0o777 == 0o600
    assert "Env" in json.dumps(standalone.target["gitlab"]), "the target file names variables, not values"
    token = standalone.environ["NAUTES_E2E_GITLAB_TOKEN"]
    assert token not in (standalone.directory / "target.yaml").read_text()


def test_report_carries_every_stage_and_the_key_facts(standalone: StandaloneRun) -> None:
    report = standalone.report
    assert report["run"]["result"] == "passed"
    statuses = {stage["name"]: stage["status"] for stage in report["stages"]}
    assert all(status == "passed" for name, status in statuses.items() if name != "teardown"), statuses
    assert statuses.get("teardown") == "skipped", "--keep-env skips the teardown"
    assert re.fullmatch(r"main-pipiline-n[0-9a-f]{4}", standalone.facts["pipelinerun"])
    match = IMAGE_URL.match(standalone.facts["image_url"])
    assert match, standalone.facts["image_url"]
    assert match["commit"] == standalone.facts["source_commit"]
    assert re.fullmatch(r"[0-9a-f]{40}", standalone.facts["deploy_commit"])
    token = standalone.environ["NAUTES_E2E_GITLAB_TOKEN"]
    for path in (standalone.directory / "reports").rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), f"the GitLab token leaked into {path}"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_lists_the_pipelinerun(standalone: StandaloneRun) -> None:
    kubeconfig = standalone.directory / standalone.target["clusters"][0]["kubeconfig"]
    listed = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "get", "pipelineruns", "-n", NAMESPACE, "-o", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    runs = {item["metadata"]["name"]: item for item in json.loads(listed.stdout)["items"]}
    run = runs[standalone.facts["pipelinerun"]]
    assert run["metadata"]["labels"]["branch"] == "main"
    assert [c["status"] for c in run["status"]["conditions"] if c["type"] == "Succeeded"] == ["True"]


def test_python_gitlab_lists_the_product_projects(standalone: StandaloneRun) -> None:
    client = gitlab.Gitlab(
        standalone.target["gitlab"]["url"], private_token=standalone.environ["NAUTES_E2E_GITLAB_TOKEN"]
    )
    projects = {project.path for project in client.groups.get(PRODUCT).projects.list(get_all=True)}
    assert projects >= CODE_REPOS
    assert projects - CODE_REPOS == {"default.project"}, "Nautes keeps its product data in default.project"


def test_hvac_reads_the_deploy_keys(standalone: StandaloneRun) -> None:
    client = hvac.Client(
        url=standalone.target["vault"]["url"], token=standalone.environ["NAUTES_E2E_VAULT_TOKEN"]
    )
    for repo_id in standalone.facts["repo_ids"].values():
        for permission in ("readonly", "readwrite"):
            secret = client.secrets.kv.v2.read_secret_version(
                mount_point="git",
                path=f"gitlab/repo-{repo_id}/default/{permission}",
                raise_on_deleted_version=True,
            )
            assert secret["data"]["data"]["deploykey"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")


def test_plain_git_clone_shows_the_rewritten_image(standalone: StandaloneRun, tmp_path: Path) -> None:
    token = standalone.environ["NAUTES_E2E_GITLAB_TOKEN"]
    header = "Authorization: Basic " + base64.b64encode(f"oauth2:{token}".encode()).decode()
    remote = f"{standalone.target['gitlab']['url']}/{PRODUCT}/coderepo-deploy-demo-quickstart.git"
    env = {
        **os.environ,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": header,
    }
    subprocess.run(["git", "clone", "-q", remote, str(tmp_path / "deploy")], env=env, check=True)
    manifest = yaml.safe_load_all((tmp_path / "deploy" / "deployments/test/devops-sample.yaml").read_text())
    deployment = next(doc for doc in manifest if doc and doc.get("kind") == "Deployment")
    images = {c["name"]: c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]}
    assert images["ks-sample"] == standalone.facts["image_url"]
    message = subprocess.run(
        ["git", "-C", str(tmp_path / "deploy"), "log", "-1", "--format=%s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert message == f"automatic update by pipeline bot: {standalone.facts['image_url']}"


def test_sigint_stops_everything(standalone: StandaloneRun) -> None:
    """Stopping the stack closes every port listed in target.yaml (a test after this one on the same
    worker gets a new world: :class:`StandaloneWorlds`)."""
    ports = standalone.ports()
    os.killpg(standalone.stack.pid, signal.SIGINT)
    assert standalone.stack.wait(timeout=20) == 0
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still accepts connections"
    assert not (standalone.directory / "ready").exists()


def test_main_job_leaves_nothing_listening(tmp_path: Path) -> None:
    """The README's main job on the default local target: every stage passes, then nothing of the world
    it started is left — no listening port, no stack process, no world directory."""
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/quickstart", "-q", "-p", "no:cacheprovider",
         "--reports-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-4000:]
    (report_file,) = tmp_path.glob("*/report.json")
    report = json.loads(report_file.read_text())
    assert report["run"]["result"] == "passed"
    assert {stage["status"] for stage in report["stages"]} == {"passed"}
    for name, url in report["target"]["endpoints"].items():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", int(urlsplit(url).port or 0))) != 0, f"{name} still listens"
    leftovers = subprocess.run(["pgrep", "-f", "nautes_refstack up"], capture_output=True, text=True)
    own = [
        pid for pid in leftovers.stdout.split() if str(tmp_path) in Path(f"/proc/{pid}/cmdline").read_text()
    ]
    assert not own
