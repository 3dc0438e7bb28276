"""The texts Nautes generates for the runtime side (Sensor Lua, the pipeline-run script) and how the
emulation evaluates them: against Lua/Go semantics and, for kustomize, against the real ``kubectl``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from nautes_refstack.runtime import kustomize, lua, pipeline_script

QUICKSTART_SCRIPT = (
    "\n"
    'SUFFIX="`openssl rand -hex 2`"\n'
    "cat > ./kustomization.yaml << EOF\n"
    "apiVersion: kustomize.config.k8s.io/v1beta1\n"
    "kind: Kustomization\n"
    "resources:\n"
    "- $(params.PipelineFile)\n"
    "nameSuffix: -n${SUFFIX}\n"
    "commonLabels:\n"
    "  branch: main\n"
    "patches:\n"
    "- patch: |-\n"
    "    - op: replace\n"
    "      path: /spec/params/0/value\n"
    "      value: |-\n"
    "        $(params.Revision)\n"
    "    \n"
    "  target:\n"
    "    kind: PipelineRun\n"
    "EOF\n"
    "cat ./kustomization.yaml\n"
    "kubectl kustomize . | kubectl -n pr-demo create -f -"
)

PIPELINE_FILE = """\
apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata:
  name: main-pipiline
  labels:
    app: devops-sample
spec:
  params:
  - name: REVISION
    value: placeholder
  - name: OTHER
    value: kept
  pipelineRef:
    name: build
"""


def _event(ref: str | None, header: str = "Push Hook") -> dict[str, object]:
    body = {"object_kind": "push"} if ref is None else {"object_kind": "push", "ref": ref}
    return {"headers": {"X-Gitlab-Event": [header]}, "body": body}


def test_match_script_renders_like_nautes_and_matches_substrings() -> None:
    script = lua.render_match_script([lua.MatchRule("event.body.ref", ("main",))])

    assert script.startswith('local isMatch = false\nlocal patterns = {"main"}\n')
    assert script.endswith("return isMatch")
    assert lua.parse_match_script(script) == [lua.MatchRule("event.body.ref", ("main",))]
    assert lua.evaluate_match_script(script, _event("refs/heads/main"))
    assert lua.evaluate_match_script(
        script, _event("refs/heads/maintenance")
    )  # string.match finds substrings
    assert not lua.evaluate_match_script(script, _event("refs/heads/feature"))
    assert not lua.evaluate_match_script(script, _event(None))  # string.match(nil) raises: filter fails


def test_lua_patterns_keep_their_magic_characters() -> None:
    # In Lua "-" is a lazy repetition and "." any character: "release-1.0" also matches "releas1x0".
    assert lua.lua_pattern_to_regex("release-1.0").search("refs/heads/releas1x0")
    assert not lua.lua_pattern_to_regex("release%-1%.0").search("refs/heads/releas1x0")
    assert lua.lua_pattern_to_regex("release%-1%.0").search("refs/heads/release-1.0")
    assert lua.lua_pattern_to_regex("^refs/heads/%a+$").search("refs/heads/main")
    assert not lua.lua_pattern_to_regex("^refs/heads/%a+$").search("refs/heads/v1")
    assert lua.lua_pattern_to_regex("[%d_]+").search("x_1")
    with pytest.raises(lua.UnsupportedScript):
        lua.lua_pattern_to_regex("%b()")


def test_scripts_nautes_did_not_write_are_refused() -> None:
    with pytest.raises(lua.UnsupportedScript):
        lua.parse_match_script("return true")
    with pytest.raises(lua.UnsupportedScript):
        lua.apply_transform_script("return event", _event("refs/heads/main"))


def test_transform_copies_the_ref_of_push_and_tag_push_hooks_only() -> None:
    pushed = lua.apply_transform_script(lua.TRANSFORM_SCRIPT, _event("refs/heads/main"))
    tagged = lua.apply_transform_script(lua.TRANSFORM_SCRIPT, _event("refs/tags/v1", "Tag Push Hook"))
    noted = lua.apply_transform_script(lua.TRANSFORM_SCRIPT, _event("refs/heads/main", "Note Hook"))

    assert pushed["default"] == {"ref": "refs/heads/main"}
    assert tagged["default"] == {"ref": "refs/tags/v1"}
    assert noted["default"] == {"ref": ""}
    assert lua.apply_transform_script(lua.TRANSFORM_SCRIPT, _event(None))["default"] == {}
    with pytest.raises(lua.LuaRuntimeError):
        lua.apply_transform_script(lua.TRANSFORM_SCRIPT, {"headers": {}, "body": {}})


def test_pipeline_run_script_is_the_go_template_output() -> None:
    rendered = pipeline_script.render(
        "main", "pr-demo", [pipeline_script.UserParam("Revision", "/spec/params/0/value")]
    )

    assert rendered == QUICKSTART_SCRIPT


def test_pipeline_run_script_without_label_has_no_suffix_or_labels() -> None:
    rendered = pipeline_script.render("", "ns", [])

    assert "nameSuffix" not in rendered
    assert "commonLabels" not in rendered
    assert "- $(params.PipelineFile)\n\n\nEOF\n" in rendered


def test_parsed_script_expands_the_suffix_and_refuses_unsubstituted_params() -> None:
    substituted = QUICKSTART_SCRIPT.replace("$(params.PipelineFile)", "pipelines/main.yaml").replace(
        "$(params.Revision)", "refs/heads/main"
    )

    parsed = pipeline_script.parse(substituted)
    text = parsed.kustomization_file("ab12")

    assert parsed.namespace == "pr-demo"
    assert "nameSuffix: -nab12\n" in text
    assert kustomize.parse(text)["resources"] == ["pipelines/main.yaml"]
    with pytest.raises(pipeline_script.UnsupportedScript):
        pipeline_script.parse(QUICKSTART_SCRIPT).kustomization_file("ab12")
    with pytest.raises(pipeline_script.UnsupportedScript):
        pipeline_script.parse("kubectl delete ns --all")


def _quickstart_kustomization(directory: Path) -> dict[str, object]:
    (directory / "pipelines").mkdir()
    (directory / "pipelines" / "main.yaml").write_text(PIPELINE_FILE)
    substituted = QUICKSTART_SCRIPT.replace("$(params.PipelineFile)", "pipelines/main.yaml").replace(
        "$(params.Revision)", "refs/heads/main"
    )
    text = pipeline_script.parse(substituted).kustomization_file("ab12")
    (directory / "kustomization.yaml").write_text(text)
    return kustomize.parse(text)


def test_kustomize_build_suffixes_labels_and_patches(tmp_path: Path) -> None:
    [pipeline_run] = kustomize.build(_quickstart_kustomization(tmp_path), tmp_path)

    assert pipeline_run["metadata"]["name"] == "main-pipiline-nab12"
    assert pipeline_run["metadata"]["labels"] == {"app": "devops-sample", "branch": "main"}
    assert pipeline_run["spec"]["params"][0] == {"name": "REVISION", "value": "refs/heads/main"}
    assert pipeline_run["spec"]["params"][1] == {"name": "OTHER", "value": "kept"}


@pytest.mark.kubectl
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_build_equals_kubectl_kustomize(tmp_path: Path) -> None:
    kustomization = _quickstart_kustomization(tmp_path)

    real = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path)], check=True, capture_output=True, text=True, timeout=30
    )

    assert kustomize.build(kustomization, tmp_path) == list(yaml.safe_load_all(real.stdout))


def test_kustomize_refuses_what_it_does_not_emulate(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(PIPELINE_FILE)

    with pytest.raises(kustomize.KustomizeError):
        kustomize.build({"resources": ["x.yaml"], "images": []}, tmp_path)
    with pytest.raises(kustomize.KustomizeError):
        kustomize.build({"resources": ["missing.yaml"]}, tmp_path)
    patch = {"patch": "- op: replace\n  path: /spec/nothing/0\n  value: x", "target": {"kind": "PipelineRun"}}
    with pytest.raises(kustomize.KustomizeError):
        kustomize.build({"resources": ["x.yaml"], "patches": [patch]}, tmp_path)
