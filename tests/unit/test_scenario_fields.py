"""A scenario's documents are all of kinds Nautes knows, with only fields Nautes reads: the up-front check
refuses the rest, naming file, line and field, before the target starts and before any request is sent.

``nautes apply`` itself skips an unknown kind and yaml.v3 drops an unknown key without a word (contract
§1.4, §1.5); the API server discards or ignores a few fields the CLI sends (``IGNORED_BY_API``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from aiohttp import web

from nautes_e2e.scenario import Scenario, ScenarioError
from nautes_e2e.scenario.fields import IGNORED_BY_API, check_documents
from tests.support.http import catch_all, serve
from tests.support.loop import BackgroundLoop

REPO_ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = REPO_ROOT / "scenarios" / "quickstart"

PROJECT = """\
apiVersion: nautes.resource.nautes.io/v1alpha1
kind: Project
spec:
  name: p
  product: demo
  language: golang
"""


def refused(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        check_documents(text, "docs.yaml")
    message = str(caught.value)
    assert "\n" not in message  # one line
    return message


def test_documents_of_known_kinds_with_known_fields_pass() -> None:
    check_documents(PROJECT + "---\n" + PROJECT, "docs.yaml")


def test_an_unknown_kind_is_refused_with_its_file_and_line() -> None:
    typo = "# a typo\napiVersion: nautes.resource.nautes.io/v1alpha1\nkind: CodeRpo\nspec: {}\n"
    text = PROJECT + "---\n" + typo
    assert refused(text) == (
        "docs.yaml:10: unknown kind 'CodeRpo' (did you mean 'CodeRepo'?): nautes apply would skip this "
        "document silently, the harness refuses it (kinds: Cluster, Product, Environment, Project, CodeRepo, "
        "CodeRepoBinding, ProjectPipelineRuntime, DeploymentRuntime)"
    )


def test_a_document_without_kind_is_refused() -> None:
    assert refused("\n\napiVersion: v1\nspec: {name: x}\n").startswith(
        "docs.yaml:3: a document without kind: nautes apply would skip it silently"
    )


def test_an_empty_or_comment_only_chunk_is_no_document() -> None:
    check_documents("# nothing\n---\n\n---\n" + PROJECT, "docs.yaml")


def test_keys_beside_kind_and_spec_are_refused() -> None:
    text = PROJECT.replace("spec:\n", "metadata:\n  name: p\nspec:\n")
    assert refused(text) == (
        "docs.yaml:3: Project metadata: unknown key; nautes apply reads only apiVersion, kind, spec and "
        "would drop it silently"
    )


@pytest.mark.parametrize(
    ("document", "line", "field", "hint"),
    [
        (PROJECT + "  lanuage: go\n", 7, "spec.lanuage", " (did you mean 'language'?)"),
        (
            "kind: CodeRepo\nspec:\n  name: r\n  git:\n    gitlab:\n      name: r\n"
            "      visiblity: private\n",
            7,
            "spec.git.gitlab.visiblity",
            " (did you mean 'visibility'?)",
        ),
        (
            "kind: CodeRepo\nspec:\n  name: r\n  pipelineRuntime: true\n",
            4,
            "spec.pipelineRuntime",
            " (did you mean 'projectPipelineRuntime'?)",
        ),
        (
            "kind: ProjectPipelineRuntime\nspec:\n  pipelines:\n  - name: a\n    path: p.yaml\n  - name: b\n"
            "    lable: main\n",
            7,
            "spec.pipelines[1].lable",
            " (did you mean 'label'?)",
        ),
        ("kind: Cluster\nspec:\n  tektonHost: tekton.example\n", 3, "spec.tektonHost", ""),
    ],
)
def test_a_field_the_cli_would_drop_is_refused_naming_its_line(
    document: str, line: int, field: str, hint: str
) -> None:
    kind = document.split("kind: ", 1)[1].split("\n", 1)[0]
    assert refused(document) == (
        f"docs.yaml:{line}: {kind} {field}: not a field of {kind} in nautes v0.4.2 (CLI cmd/types/types.go)"
        f"{hint}, so nautes apply would drop it silently"
    )


def test_free_form_maps_take_any_key() -> None:
    check_documents(
        textwrap.dedent(
            """\
            kind: Cluster
            spec:
              componentsList:
                gateway:
                  name: traefik
                  additions: {httpsNodePort: "30443", anything: goes}
              reservedNamespacesAllowedProducts: {tekton-pipelines: [demo]}
            ---
            kind: ProjectPipelineRuntime
            spec:
              hooks:
                preHooks:
                - {name: log, vars: {printPath: /var}}
            """
        ),
        "docs.yaml",
    )


def test_merge_keys_are_checked_like_the_keys_they_merge() -> None:
    base = "kind: Project\nspec:\n  <<: &common\n    product: demo\n    languag: go\n  name: p\n"
    assert refused(base).startswith("docs.yaml:5: Project spec.languag: not a field of Project")


@pytest.mark.parametrize(
    ("document", "line", "field"),
    [
        (
            "kind: Product\nspec:\n  name: demo\n  git:\n    gitlab:\n      path: demo\n      parentID: 42\n",
            7,
            "spec.git.gitlab.parentID",
        ),
        (
            "kind: CodeRepo\nspec:\n  git:\n    gitlab:\n      sshUrlToRepo: ssh://git@x/demo/r.git\n",
            5,
            "spec.git.gitlab.sshUrlToRepo",
        ),
        (
            "kind: CodeRepoBinding\nspec:\n  productName: demo\n  product: other\n  coderepo: r\n",
            4,
            "spec.product",
        ),
    ],
)
def test_a_field_the_api_server_ignores_is_refused_when_it_says_something(
    document: str, line: int, field: str
) -> None:
    message = refused(document)
    assert message.startswith(f"docs.yaml:{line}: ")
    assert f" {field}: the CLI sends it but Nautes v0.4.2 drops it: " in message
    assert "@v0.4.2" in message  # where the real server decides it


def test_an_ignored_field_with_the_value_nautes_uses_anyway_passes() -> None:
    check_documents(
        textwrap.dedent(
            """\
            kind: Product
            spec: {name: demo, git: {gitlab: {path: demo, parentID: 0}}}
            ---
            kind: CodeRepo
            spec: {git: {gitlab: {name: r, sshUrlToRepo: ""}}}
            ---
            kind: CodeRepoBinding
            spec: {productName: demo, product: demo, coderepo: r}
            """
        ),
        "docs.yaml",
    )
    assert set(IGNORED_BY_API) <= {"Product", "CodeRepo", "CodeRepoBinding"}


def test_lines_count_from_the_file_across_separators() -> None:
    # nautes apply splits at every "---", wherever it stands: the chunk after it starts mid-line
    text = "# first\n---\n" + PROJECT + "--- # the third\nkind: Project\nspec:\n  name: a\n  extra: 1\n"
    assert refused(text).startswith("docs.yaml:13: Project spec.extra: ")


@pytest.fixture
def scenario_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, copy)
    return copy


def test_load_names_the_template_line_past_a_multi_line_variable(scenario_copy: Path) -> None:
    """The cluster template holds ``$kubeconfig`` (many lines once rendered): the line named is the
    template's."""
    template = scenario_copy / "cluster" / "physical-worker-pipeline.yaml"
    lines = template.read_text().splitlines(keepends=True)
    kubeconfig_line = next(i for i, line in enumerate(lines) if "$kubeconfig" in line)
    lines.insert(kubeconfig_line + 1, "  workerTyp: pipeline\n")
    template.write_text("".join(lines))
    with pytest.raises(ScenarioError) as caught:
        Scenario.load(scenario_copy)
    assert str(caught.value).startswith(f"{template}:{kubeconfig_line + 2}: Cluster spec.workerTyp: ")


def test_load_refuses_an_unknown_kind_in_any_group(scenario_copy: Path) -> None:
    pipeline = scenario_copy / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("kind: Environment", "kind: Enviroment"))
    line = pipeline.read_text().splitlines().index("kind: Enviroment") + 1
    with pytest.raises(ScenarioError, match=rf"^{pipeline}:{line}: unknown kind 'Enviroment' \(did you mean"):
        Scenario.load(scenario_copy)


def test_the_quickstart_as_shipped_passes_the_check() -> None:
    assert Scenario.load(QUICKSTART).name == "quickstart"


def test_a_run_with_an_unknown_kind_sends_no_request(scenario_copy: Path, tmp_path: Path) -> None:
    """The whole run, against an ``existing`` target whose every endpoint is one recording server: the
    run fails on the scenario and nothing — Nautes, GitLab, Vault, registry, Kubernetes — hears a thing."""
    product = scenario_copy / "product.yaml"
    product.write_text(product.read_text().replace("kind: Project\n", "kind: Projekt\n"))
    line = product.read_text().splitlines().index("kind: Projekt") + 1
    received: list[str] = []

    async def record(request: web.Request) -> web.Response:
        received.append(f"{request.method} {request.path}")
        return web.Response(status=500)

    with BackgroundLoop() as loop, serve(loop, catch_all(record)) as served:
        (tmp_path / "kubeconfig.yaml").write_text(
            f"apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: '{served.url}'}}\n"
        )
        target = tmp_path / "target.yaml"
        target.write_text(
            textwrap.dedent(
                f"""\
                schema: 1
                nautes: {{url: '{served.url}'}}
                gitlab: {{url: '{served.url}', sshUrl: 'ssh://git@127.0.0.1:{served.port}', tokenEnv: T}}
                vault: {{url: '{served.url}', tokenEnv: T}}
                registry: {{url: '127.0.0.1:{served.port}'}}
                clusters:
                  - {{name: runtime, kubeconfig: kubeconfig.yaml, apiServer: '{served.url}', ip: 127.0.0.1}}
                """
            )
        )
        environ = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "suites/quickstart", "-q", "-p", "no:cacheprovider",
             "--target", "existing", "--target-file", str(target), "--scenario-dir", str(scenario_copy),
             "--reports-dir", str(tmp_path / "reports"), "--basetemp", str(tmp_path / "basetemp")],
            cwd=REPO_ROOT, env={**environ, "T": "token-of-the-test"}, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output[-3000:]
    assert f"{product}:{line}: unknown kind 'Projekt'" in output, output[-3000:]
    assert received == []
