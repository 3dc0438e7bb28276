"""Namespaces, ConfigMaps, Secrets and ServiceAccounts: apply (with kubectl's default validation), get in
every output format, selectors, patch, label, describe, delete and wait, as against K3s v1.21.14."""

from __future__ import annotations

import base64
import json
import time

import pytest
import yaml

from tests.fidelity.kubectl.checks.kubectl_stack import Kubectl

pytestmark = pytest.mark.fidelity

SETTINGS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels:
    app: demo
    tier: backend
data:
  color: blue
  size: "3"
"""
CREDENTIALS = """\
apiVersion: v1
kind: Secret
metadata:
  name: credentials
  labels:
    app: demo
stringData:
  user: robot
"""


@pytest.fixture(scope="module")
def settings(kubectl: Kubectl, namespace: str) -> str:
    assert kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=SETTINGS) == "configmap/settings created\n"
    return "settings"


def test_apply_again_is_unchanged_then_configured(kubectl: Kubectl, namespace: str, settings: str) -> None:
    assert kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=SETTINGS) == "configmap/settings unchanged\n"
    changed = SETTINGS.replace('size: "3"', 'size: "3"\n  shape: round')
    assert kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=changed) == "configmap/settings configured\n"
    assert (
        kubectl.ok("get", "configmap", settings, "-n", namespace, "-o", "jsonpath={.data.shape}") == "round"
    )


def test_apply_refuses_an_unknown_field_on_the_client(kubectl: Kubectl, namespace: str) -> None:
    misspelt = SETTINGS.replace("\ndata:", "\ndat:")
    refused = kubectl("apply", "-n", namespace, "-f", "-", stdin=misspelt)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'error: error validating "STDIN": error validating data: '
        'ValidationError(ConfigMap): unknown field "dat" '
        "in io.k8s.api.core.v1.ConfigMap; if you choose to ignore these errors, turn validation off with "
        "--validate=false"
    )


def test_apply_refuses_a_wrong_type_on_the_client(kubectl: Kubectl, namespace: str) -> None:
    wrong = SETTINGS.replace('data:\n  color: blue\n  size: "3"', "data: [blue]")
    refused = kubectl("apply", "-n", namespace, "-f", "-", stdin=wrong)
    assert refused.returncode == 1
    assert (
        'ValidationError(ConfigMap.data): invalid type for io.k8s.api.core.v1.ConfigMap.data: got "array"'
        in (refused.stderr)
    )


def test_get_the_table(kubectl: Kubectl, namespace: str, settings: str) -> None:
    lines = kubectl.ok("get", "configmap", settings, "-n", namespace).splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]
    assert lines[1].split()[:2] == [settings, "3"]


def test_get_as_json_yaml_name_and_jsonpath(kubectl: Kubectl, namespace: str, settings: str) -> None:
    as_json = json.loads(kubectl.ok("get", "configmap", settings, "-n", namespace, "-o", "json"))
    assert (as_json["apiVersion"], as_json["kind"]) == ("v1", "ConfigMap")
    assert as_json["metadata"]["namespace"] == namespace
    assert {"uid", "resourceVersion", "creationTimestamp"} <= set(as_json["metadata"])
    assert "managedFields" not in as_json["metadata"]  # kubectl leaves them out unless asked
    as_yaml = yaml.safe_load(kubectl.ok("get", "configmap", settings, "-n", namespace, "-o", "yaml"))
    assert as_yaml["data"] == as_json["data"]
    assert kubectl.ok("get", "configmap", settings, "-n", namespace, "-o", "name") == "configmap/settings\n"
    color = kubectl.ok("get", "configmap", settings, "-n", namespace, "-o", "jsonpath={.data.color}")
    assert color == "blue"


def test_a_list_as_json_is_a_list(kubectl: Kubectl, namespace: str, settings: str) -> None:
    listed = json.loads(kubectl.ok("get", "configmaps", "-n", namespace, "-l", "app=demo", "-o", "json"))
    assert (listed["apiVersion"], listed["kind"]) == ("v1", "List")
    assert [item["kind"] for item in listed["items"]] == ["ConfigMap"]


def test_label_selectors(kubectl: Kubectl, namespace: str, settings: str) -> None:
    def names(selector: str) -> list[str]:
        return kubectl.ok("get", "configmaps", "-n", namespace, "-l", selector, "-o", "name").split()

    assert names("app=demo") == ["configmap/settings"]
    assert names("app=demo,tier!=frontend") == ["configmap/settings"]
    assert names("tier in (backend, frontend)") == ["configmap/settings"]
    assert names("app,!missing") == ["configmap/settings"]
    assert names("app=other") == []
    invalid = kubectl("get", "configmaps", "-n", namespace, "-l", "tier in (backend")
    assert invalid.returncode == 1
    assert "unable to parse requirement" in invalid.stderr


def test_field_selectors(kubectl: Kubectl, namespace: str, settings: str) -> None:
    named = kubectl.ok(
        "get", "configmaps", "-A", "--field-selector", f"metadata.name={settings}", "-o", "name"
    )
    assert named.split() == ["configmap/settings"]
    others = kubectl.ok("get", "configmaps", "-n", namespace, "--field-selector", "metadata.name!=settings")
    assert "settings" not in others
    in_namespace = kubectl.ok(
        "get", "configmaps", "-A", "--field-selector", f"metadata.namespace={namespace}", "-o", "name"
    )
    assert "configmap/settings" in in_namespace.split()
    unsupported = kubectl("get", "configmaps", "-n", namespace, "--field-selector", "data.color=blue")
    assert unsupported.returncode == 1
    assert unsupported.stderr.strip() == (
        'Error from server (BadRequest): Unable to find "/v1, Resource=configmaps" '
        'that match label selector "", '
        'field selector "data.color=blue": field label not supported: data.color'
    )


def test_all_namespaces_adds_the_namespace_column(kubectl: Kubectl, namespace: str, settings: str) -> None:
    lines = kubectl.ok("get", "configmaps", "-A", "-l", "app=demo").splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "DATA", "AGE"]
    assert [line.split()[:2] for line in lines[1:]] == [[namespace, settings]]


def test_patch_strategic_merge_json_and_no_change(kubectl: Kubectl, namespace: str, settings: str) -> None:
    patched = kubectl.ok("patch", "configmap", settings, "-n", namespace, "-p", '{"data":{"size":"4"}}')
    assert patched == "configmap/settings patched\n"
    again = kubectl.ok("patch", "configmap", settings, "-n", namespace, "-p", '{"data":{"size":"4"}}')
    assert again == "configmap/settings patched (no change)\n"
    merge = '{"data":{"color":null}}'
    assert kubectl.ok("patch", "configmap", settings, "-n", namespace, "--type=merge", "-p", merge).endswith(
        "patched\n"
    )
    operations = (
        '[{"op":"add","path":"/data/color","value":"green"},{"op":"test","path":"/data/size","value":"4"}]'
    )
    assert kubectl.ok(
        "patch", "configmap", settings, "-n", namespace, "--type=json", "-p", operations
    ).endswith("patched\n")
    assert (
        kubectl.ok("get", "configmap", settings, "-n", namespace, "-o", "jsonpath={.data.color}") == "green"
    )


def test_a_failed_json_patch_test_is_refused(kubectl: Kubectl, namespace: str, settings: str) -> None:
    operations = '[{"op":"test","path":"/data/size","value":"99"}]'
    refused = kubectl("patch", "configmap", settings, "-n", namespace, "--type=json", "-p", operations)
    assert refused.returncode == 1
    assert refused.stderr.startswith("The request is invalid")


def test_label_and_annotate(kubectl: Kubectl, namespace: str, settings: str) -> None:
    assert (
        kubectl.ok("label", "configmap", settings, "-n", namespace, "env=dev")
        == "configmap/settings labeled\n"
    )
    annotated = kubectl.ok("annotate", "configmap", settings, "-n", namespace, "note=kept")
    assert annotated == "configmap/settings annotated\n"
    shown = kubectl.ok("get", "configmap", settings, "-n", namespace, "--show-labels").splitlines()
    assert shown[0].split() == ["NAME", "DATA", "AGE", "LABELS"]
    assert shown[1].split()[-1] == "app=demo,env=dev,tier=backend"
    taken = kubectl.ok("label", "configmap", settings, "-n", namespace, "env-")
    assert taken == "configmap/settings unlabeled\n"
    clash = kubectl("label", "configmap", settings, "-n", namespace, "app=other")
    assert clash.returncode == 1
    assert "'app' already has a value (demo), and --overwrite is false" in clash.stderr


def test_describe_a_config_map(kubectl: Kubectl, namespace: str, settings: str) -> None:
    described = kubectl.ok("describe", "configmap", settings, "-n", namespace)
    assert described.startswith(
        f"Name:         {settings}\nNamespace:    {namespace}\nLabels:       app=demo\n"
    )
    assert "\nData\n====\n" in described
    assert described.rstrip().endswith("Events:  <none>")


def test_a_secret_from_string_data(kubectl: Kubectl, namespace: str) -> None:
    created = kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=CREDENTIALS)
    assert created == "secret/credentials created\n"
    secret = json.loads(kubectl.ok("get", "secret", "credentials", "-n", namespace, "-o", "json"))
    assert secret["type"] == "Opaque"
    assert "stringData" not in secret
    assert base64.b64decode(secret["data"]["user"]) == b"robot"
    lines = kubectl.ok("get", "secret", "credentials", "-n", namespace).splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "DATA", "AGE"]
    assert lines[1].split()[:3] == ["credentials", "Opaque", "1"]
    described = kubectl.ok("describe", "secret", "credentials", "-n", namespace)
    assert "Type:  Opaque" in described
    assert "user:  5 bytes" in described


def test_the_default_service_account(kubectl: Kubectl, namespace: str) -> None:
    lines = kubectl.ok("get", "serviceaccounts", "-n", namespace).splitlines()
    assert lines[0].split() == ["NAME", "SECRETS", "AGE"]
    assert "default" in [line.split()[0] for line in lines[1:]]


def test_delete_then_not_found_then_ignored(kubectl: Kubectl, namespace: str) -> None:
    doomed = SETTINGS.replace("name: settings", "name: doomed")
    kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=doomed)
    assert kubectl.ok("delete", "configmap", "doomed", "-n", namespace) == 'configmap "doomed" deleted\n'
    again = kubectl("delete", "configmap", "doomed", "-n", namespace)
    assert again.returncode == 1
    assert again.stderr.strip() == 'Error from server (NotFound): configmaps "doomed" not found'
    ignored = kubectl("delete", "configmap", "doomed", "-n", namespace, "--ignore-not-found")
    assert (ignored.returncode, ignored.stdout, ignored.stderr) == (0, "", "")


def test_wait_for_delete(kubectl: Kubectl, namespace: str) -> None:
    doomed = SETTINGS.replace("name: settings", "name: waited")
    kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=doomed)
    kubectl.ok("delete", "configmap", "waited", "-n", namespace, "--wait=false")
    waited = kubectl("wait", "--for=delete", "configmap/waited", "-n", namespace, "--timeout=10s")
    assert waited.returncode == 0, waited.stderr


def test_wait_times_out_on_a_condition_never_met(kubectl: Kubectl, namespace: str) -> None:
    waited = kubectl("wait", "--for=condition=Ready", f"namespace/{namespace}", "--timeout=1s")
    assert waited.returncode == 1
    assert waited.stderr.strip() == f"error: timed out waiting for the condition on namespaces/{namespace}"


def test_wait_for_a_jsonpath(kubectl: Kubectl, namespace: str) -> None:
    waited = kubectl.ok(
        "wait", "--for=jsonpath={.status.phase}=Active", f"namespace/{namespace}", "--timeout=10s"
    )
    assert waited == f"namespace/{namespace} condition met\n"


def test_server_side_dry_run(kubectl: Kubectl, namespace: str) -> None:
    tried = SETTINGS.replace("name: settings", "name: tried")
    answered = kubectl.ok("apply", "-n", namespace, "--dry-run=server", "-f", "-", stdin=tried)
    assert answered == "configmap/tried created (server dry run)\n"
    missing = kubectl("get", "configmap", "tried", "-n", namespace)
    assert missing.stderr.strip() == 'Error from server (NotFound): configmaps "tried" not found'
    deleted = kubectl.ok("delete", "namespace", namespace, "--dry-run=server")
    assert deleted == f'namespace "{namespace}" deleted (server dry run)\n'
    phase = kubectl.ok("get", "namespace", namespace, "-o", "jsonpath={.status.phase}")
    assert phase == "Active"


def test_server_side_dry_run_still_validates(kubectl: Kubectl, namespace: str) -> None:
    bad_name = SETTINGS.replace("name: settings", "name: Not_A_Name")
    refused = kubectl("apply", "-n", namespace, "--dry-run=server", "-f", "-", stdin=bad_name)
    assert refused.returncode == 1
    assert (
        'The ConfigMap "Not_A_Name" is invalid: metadata.name: Invalid value: "Not_A_Name"' in refused.stderr
    )


def test_watch_prints_each_change_as_a_row(kubectl: Kubectl, namespace: str) -> None:
    watch = ("get", "configmaps", "-n", namespace, "-l", "watched=yes", "-w", "--output-watch-events")
    watcher = kubectl.start(*watch, "--request-timeout=4s")
    time.sleep(1.0)  # the watch is set up; a change made earlier would show in its initial list instead
    watched = SETTINGS.replace("name: settings", "name: watched").replace("app: demo", 'watched: "yes"')
    kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=watched)
    kubectl.ok("label", "configmap", "watched", "-n", namespace, "step=two")
    kubectl.ok("delete", "configmap", "watched", "-n", namespace)
    output, errors = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, errors
    lines = [line.split() for line in output.splitlines()]
    assert lines[0] == ["EVENT", "NAME", "DATA", "AGE"]
    assert [line[:3] for line in lines[1:]] == [
        ["ADDED", "watched", "2"],
        ["MODIFIED", "watched", "2"],
        [
            "DELETED",
            "watched",
            "2",
        ],
    ]


def test_a_namespace_is_labelled_with_its_name(kubectl: Kubectl, namespace: str) -> None:
    labelled = kubectl.ok("get", "namespaces", "-l", f"kubernetes.io/metadata.name={namespace}", "-o", "name")
    assert labelled == f"namespace/{namespace}\n"


def test_each_namespace_holds_the_clusters_ca(kubectl: Kubectl, namespace: str) -> None:
    ca = kubectl.ok(
        "get", "configmap", "kube-root-ca.crt", "-n", namespace, "-o", "jsonpath={.data.ca\\.crt}"
    )
    assert ca.startswith("-----BEGIN CERTIFICATE-----\n")
