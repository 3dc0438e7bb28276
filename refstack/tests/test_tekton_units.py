"""The Tekton executor's pure parts: substitution, validation messages, templates, Dockerfiles, images."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from nautes_refstack.kube import ObjectStore
from nautes_refstack.tekton import install_tekton
from nautes_refstack.tekton.consul_template import TemplateError, render, secret_paths
from nautes_refstack.tekton.objects import child_name
from nautes_refstack.tekton.pipeline_spec import (
    RunFailure,
    check_result_references,
    check_task_params,
    resolve,
    resolve_task,
)
from nautes_refstack.tekton.pipelinerun import parse_duration
from nautes_refstack.tekton.tasks.dockerfile import parse
from nautes_refstack.tekton.tasks.image_build import BuiltImage, DockerfileError, ImageBuilder
from nautes_refstack.tekton.tasks.oci_push import ImageReference, credentials_for
from nautes_refstack.tekton.variables import Variables
from nautes_refstack.tekton.workspaces import claim_name, task_run_bindings


# --- variables -------------------------------------------------------------------------------------
def test_substitution_of_strings_arrays_and_unknown_references() -> None:
    variables = Variables(
        {"params.REVISION": "main", "params.GOALS": ["clean", "install"], "tasks.clone.results.commit": "abc"}
    )
    assert variables.string("$(params.REVISION)-$(tasks.clone.results.commit)") == "main-abc"
    assert variables.string("$(params[\"REVISION\"]) $(params['REVISION'])") == "main main"
    assert variables.string("echo $(date) $(params.UNKNOWN)") == "echo $(date) $(params.UNKNOWN)"
    assert variables.apply(["-B", "$(params.GOALS[*])", "-f", "$(params.GOALS)"]) == [
        "-B",
        "clean",
        "install",
        "-f",
        "clean",
        "install",
    ]
    assert variables.apply({"value": "$(params.REVISION)", "nested": [{"v": "$(params.REVISION)"}]}) == {
        "value": "main",
        "nested": [{"v": "main"}],
    }


def test_child_names_follow_knative() -> None:
    assert (
        child_name("main-pipiline-n1a2b", "-git-clone-sourcecode")
        == "main-pipiline-n1a2b-git-clone-sourcecode"
    )
    long_name = child_name("a" * 50, "-git-clone-sourcecode")
    assert len(long_name) == 63
    assert long_name.endswith("-git-clone-sourcecode")
    assert child_name(long_name, "-pod") != long_name + "-pod"
    assert len(child_name(long_name, "-pod")) == 63


def test_durations() -> None:
    assert parse_duration("1h0m0s") == 3600
    assert parse_duration("1m30s") == 90
    assert parse_duration("0") == 0
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("soon")


# --- pipeline validation ---------------------------------------------------------------------------
def pipeline_run(tasks: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    pipeline_spec = {"tasks": tasks, **spec.pop("pipeline", {})}
    return {
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "PipelineRun",
        "metadata": {"name": "run", "namespace": "ns", "uid": "uid-1"},
        "spec": {"pipelineSpec": pipeline_spec, **spec},
    }


def clone_task(name: str = "clone", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "taskRef": {"name": "git-clone", "kind": "ClusterTask"},
        "params": [{"name": "url", "value": "$(params.URL)"}],
        **extra,
    }


def failure(store: ObjectStore, run: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(RunFailure) as raised:
        resolve(store, run)
    return raised.value.reason, raised.value.message


@pytest.fixture
def store() -> ObjectStore:
    store = ObjectStore()
    install_tekton(store)
    install_tekton(store)  # idempotent: a second cluster registration must not fail
    return store


def test_missing_parameter(store: ObjectStore) -> None:
    run = pipeline_run([clone_task()], pipeline={"params": [{"name": "URL"}]})
    assert failure(store, run) == (
        "ParameterMissing",
        "PipelineRun ns parameters is missing some parameters required by Pipeline run's parameters: "
        "PipelineRun missing parameters: [URL]",
    )


def test_parameter_type_mismatch(store: ObjectStore) -> None:
    run = pipeline_run(
        [clone_task()],
        pipeline={"params": [{"name": "URL", "type": "string"}]},
        params=[{"name": "URL", "value": ["a"]}],
    )
    reason, message = failure(store, run)
    assert reason == "ParameterTypeMismatch"
    assert message.endswith("parameters have inconsistent types : [URL]")


def test_graph_errors(store: ObjectStore) -> None:
    unknown = pipeline_run(
        [clone_task(runAfter=["nope"])], pipeline={"params": [{"name": "URL", "default": "u"}]}
    )
    assert failure(store, unknown) == (
        "PipelineInvalidGraph",
        "PipelineRun ns/run's Pipeline DAG is invalid: couldn't add link between clone and nope: "
        "task clone depends on nope but nope wasn't present in Pipeline",
    )
    cycle = pipeline_run(
        [clone_task("a", runAfter=["b"]), clone_task("b", runAfter=["a"])],
        pipeline={"params": [{"name": "URL", "default": "u"}]},
    )
    assert failure(store, cycle) == (
        "PipelineInvalidGraph",
        'PipelineRun ns/run\'s Pipeline DAG is invalid: cycle detected; task "a" depends on "b"',
    )


def test_workspace_and_task_run_spec_errors(store: ObjectStore) -> None:
    params = {"params": [{"name": "URL", "default": "u"}]}
    unbound = pipeline_run([clone_task()], pipeline={**params, "workspaces": [{"name": "source"}]})
    assert failure(store, unbound)[0] == "InvalidWorkspaceBindings"
    assert failure(store, unbound)[1].endswith(
        'pipeline requires workspace with name "source" be provided by pipelinerun'
    )
    wrong_spec = pipeline_run([clone_task()], pipeline=params, taskRunSpecs=[{"pipelineTaskName": "build"}])
    assert failure(store, wrong_spec) == (
        "InvalidServiceAccountMappings",
        "PipelineRun ns/run doesn't define taskRunSpecs correctly: "
        'PipelineRun\'s taskrunSpecs defined wrong taskName: "build", does not exist in Pipeline',
    )
    unsupported = pipeline_run([clone_task()], pipeline={**params, "finally": [clone_task("last")]})
    assert failure(store, unsupported)[0] == "PipelineValidationFailed"
    assert "finally tasks" in failure(store, unsupported)[1]


def test_params_and_context_are_applied(store: ObjectStore) -> None:
    task = clone_task(
        params=[
            {"name": "url", "value": "$(params.URL)"},
            {"name": "subdirectory", "value": "$(context.pipelineRun.name)"},
        ]
    )
    resolved = resolve(
        store, pipeline_run([task], pipeline={"params": [{"name": "URL", "default": "ssh://git@h/x.git"}]})
    )
    assert resolved.tasks[0].spec["params"] == [
        {"name": "url", "value": "ssh://git@h/x.git"},
        {"name": "subdirectory", "value": "run"},
    ]
    assert resolved.name == "run"


def test_task_params_and_results_are_checked_against_the_cluster_task(store: ObjectStore) -> None:
    run = pipeline_run(
        [clone_task(params=[{"name": "revision", "value": "main"}, {"name": "colour", "value": "red"}])],
        pipeline={"params": [{"name": "URL", "default": "u"}]},
    )
    resolved = resolve(store, run)
    task_object = resolve_task(store, "ns", resolved.name, resolved.tasks[0])
    with pytest.raises(
        RunFailure,
        match=r"invalid input params for task git-clone: missing values for these params "
        r"which have no default values: \[url\]",
    ):
        check_task_params(resolved.tasks[0], task_object)
    reader = resolve(
        store,
        pipeline_run(
            [
                clone_task(),
                clone_task("second", params=[{"name": "url", "value": "$(tasks.clone.results.sha)"}]),
            ],
            pipeline={"params": [{"name": "URL", "default": "u"}]},
        ),
    )
    objects = {task.name: task_object for task in reader.tasks}
    assert reader.tasks[1].dependencies() == ["clone"]
    with pytest.raises(RunFailure, match='"sha" is not a named result returned by pipeline task "clone"'):
        check_result_references(reader.tasks, objects)


def test_volume_claim_templates_become_claims_named_like_tekton() -> None:
    run_bindings = [
        {"name": "source-volume", "volumeClaimTemplate": {"spec": {}}},
        {"name": "cfg", "configMap": {"name": "registry-auth"}, "subPath": "a"},
    ]
    task = {
        "workspaces": [
            {"name": "source", "workspace": "source-volume", "subPath": "x"},
            {"name": "dockerconfig", "workspace": "cfg"},
        ]
    }
    assert task_run_bindings(task, run_bindings, "uid-1") == [
        {
            "name": "source",
            "persistentVolumeClaim": {"claimName": claim_name(run_bindings[0], "uid-1")},
            "subPath": "x",
        },
        {"name": "dockerconfig", "configMap": {"name": "registry-auth"}, "subPath": "a"},
    ]
    assert claim_name(run_bindings[0], "uid-1").startswith("pvc-")
    assert len(claim_name(run_bindings[0], "uid-1")) == len("pvc-") + 10


# --- consul-template -------------------------------------------------------------------------------
QUICKSTART_TEMPLATE = (
    '{{- with secret "git/data/gitlab/repo-7/default/readonly" -}}\n{{ .Data.data.deploykey }}\n{{- end -}}\n'
)


def test_quickstart_template_renders_only_the_key() -> None:
    secrets = {
        "git/data/gitlab/repo-7/default/readonly": {
            "data": {"deploykey": "KEY\nLINES\n"},
            "metadata": {"version": 1},
        }
    }
    assert secret_paths(QUICKSTART_TEMPLATE) == ["git/data/gitlab/repo-7/default/readonly"]
    assert render(QUICKSTART_TEMPLATE, secrets) == "KEY\nLINES\n"


def test_default_template_and_missing_keys() -> None:
    template = '{{ with secret "p" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}'
    secrets = {"p": {"data": {"b": "2", "a": "1"}, "metadata": {"version": 3}}}
    assert render(template, secrets) == "data: map[a:1 b:2]\nmetadata: map[version:3]\n"
    assert render('{{ with secret "p" }}{{ .Data.data.nope }}{{ end }}', secrets) == "<no value>"
    with pytest.raises(TemplateError, match="unsupported template action"):
        render('{{ with secret "p" }}{{ .Data.data.a | base64Decode }}{{ end }}', secrets)
    with pytest.raises(TemplateError, match="no secret exists at other"):
        render('{{ with secret "other" }}x{{ end }}', secrets)


# --- Dockerfile and image --------------------------------------------------------------------------
def build(
    context: Path, dockerfile: str, build_args: dict[str, str] | None = None
) -> tuple[BuiltImage, list[str]]:
    lines: list[str] = []
    builder = ImageBuilder(context, "/workspace/source/.", build_args or {}, lines.append)
    return builder.build(parse(dockerfile)), lines


def layer_members(image: BuiltImage) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(image.layer))) as archive:
        return {member.name: member for member in archive.getmembers()}


def test_scratch_image_layout_config_and_determinism(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "a.jar").write_bytes(b"jar-a")
    (tmp_path / "target" / "b.jar").write_bytes(b"jar-b")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.yaml").write_text("x: 1\n")
    dockerfile = (
        "# a comment\nFROM scratch AS final\nARG VERSION=1.0\nWORKDIR /home\n"
        "ENV APP=/home \\\n    MODE=prod\n"
        "COPY target/*.jar /home\nCOPY conf ./conf/\nADD conf/app.yaml /etc/app.yaml\n"
        'LABEL version="${VERSION}"\nEXPOSE 8080 53/udp\nUSER 1000\nCMD java -jar *.jar\n'
    )
    first, log_lines = build(tmp_path, dockerfile, {"VERSION": "2.0"})
    second, _ = build(tmp_path, dockerfile, {"VERSION": "2.0"})
    assert first.digest == second.digest
    assert "No base image, nothing to extract" in log_lines
    members = layer_members(first)
    assert sorted(members) == [
        "etc",
        "etc/app.yaml",
        "home",
        "home/a.jar",
        "home/b.jar",
        "home/conf",
        "home/conf/app.yaml",
    ]
    assert {member.mtime for member in members.values()} == {0}
    manifest = json.loads(first.manifest)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    config = json.loads(first.config)
    assert config["config"]["Env"] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "APP=/home",
        "MODE=prod",
    ]
    assert config["config"]["Cmd"] == ["/bin/sh", "-c", "java -jar *.jar"]
    assert config["config"]["Labels"] == {"version": "2.0"}
    assert config["config"]["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert config["config"]["User"] == "1000"
    assert config["rootfs"]["diff_ids"][0].startswith("sha256:")


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        ("FROM openjdk:8\n", "base image 'openjdk:8' cannot be pulled in the reference stack"),
        ("FROM scratch\nRUN echo hi\n", "RUN cannot be executed in the reference stack"),
        (
            "FROM scratch\nCOPY missing.txt /\n",
            "lstat /workspace/source/./missing.txt: no such file or directory",
        ),
        ("FROM scratch\nCOPY a.txt b.txt /file\n", "destination must be a directory and end in '/'"),
        ("FROM scratch\nFROM scratch\n", "multi-stage builds"),
        ("COPY a.txt /\n", "COPY before FROM"),
        ("FROM scratch\nCOPY ../outside /\n", "forbidden path outside the build context"),
        ("FROM scratch\nCOPY --chown=app a.txt /\n", "use numeric ids"),
    ],
)
def test_dockerfiles_the_reference_stack_cannot_build(tmp_path: Path, dockerfile: str, message: str) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "a.txt").write_text("a")
    (tmp_path / "ctx" / "b.txt").write_text("b")
    (tmp_path / "outside").write_text("o")
    with pytest.raises(
        DockerfileError, match=message.replace("(", r"\(").replace(".", r"\.").replace("[", r"\[")
    ):
        build(tmp_path / "ctx", dockerfile)


# --- registry client -------------------------------------------------------------------------------
def test_image_references_and_docker_config_credentials() -> None:
    reference = ImageReference.parse("127.0.0.1:5000/team/devops-sample:0.0.1-abc")
    assert (reference.registry, reference.repository, reference.tag) == (
        "127.0.0.1:5000",
        "team/devops-sample",
        "0.0.1-abc",
    )
    assert ImageReference.parse("127.0.0.1:5000/app").tag == "latest"
    assert ImageReference.parse("openjdk:8").registry == "index.docker.io"
    config = {"auths": {"http://127.0.0.1:5000": {"auth": "dXNlcjpwdw=="}}}
    assert credentials_for(config, "127.0.0.1:5000") == "Basic dXNlcjpwdw=="
    assert credentials_for(
        {"auths": {"127.0.0.1:5000": {"username": "user", "password": "pw"}}}, "127.0.0.1:5000"
    ) == ("Basic dXNlcjpwdw==")
    assert credentials_for({"auths": {}}, "127.0.0.1:5000") is None
