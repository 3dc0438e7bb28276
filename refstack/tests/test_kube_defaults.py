"""The defaults a 1.21 apiserver stores for built-in objects, and that rewriting an undefaulted manifest over
its defaulted self changes nothing."""

from __future__ import annotations

import copy

from nautes_refstack.kube import ObjectStore

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.21",
                        "ports": [{"containerPort": 80}],
                        "readinessProbe": {"httpGet": {"port": 80}},
                    }
                ],
                "volumes": [{"name": "scratch"}, {"name": "config", "configMap": {"name": "c"}}],
            },
        },
    },
}


def test_a_deployment_is_defaulted() -> None:
    stored = ObjectStore().create(copy.deepcopy(DEPLOYMENT))
    spec = stored["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (1, 10, 600)
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    pod = spec["template"]["spec"]
    assert (pod["dnsPolicy"], pod["restartPolicy"], pod["schedulerName"]) == (
        "ClusterFirst",
        "Always",
        "default-scheduler",
    )
    assert (pod["terminationGracePeriodSeconds"], pod["securityContext"]) == (30, {})
    assert "enableServiceLinks" not in pod  # a Pod default, not a template one
    container = pod["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    probe = container["readinessProbe"]
    assert probe == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert pod["volumes"] == [
        {"name": "scratch", "emptyDir": {}},
        {"name": "config", "configMap": {"name": "c", "defaultMode": 420}},
    ]


def test_rewriting_the_undefaulted_manifest_changes_nothing() -> None:
    store = ObjectStore()
    created = store.create(copy.deepcopy(DEPLOYMENT))
    replaced = store.replace(copy.deepcopy(DEPLOYMENT))
    assert replaced["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert replaced["metadata"]["generation"] == 1


def test_a_pod_gets_what_admission_adds() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"limits": {"cpu": "1"}}}]},
    }
    spec = ObjectStore().create(pod)["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"], spec["priority"]) == ("default", "default", 0)
    assert spec["enableServiceLinks"] is True
    assert [t["key"] for t in spec["tolerations"]] == [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ]
    assert spec["containers"][0]["imagePullPolicy"] == "Always"  # no tag: latest
    assert spec["containers"][0]["resources"]["requests"] == {"cpu": "1"}


def test_a_namespace_is_labelled_with_its_name() -> None:
    store = ObjectStore()
    created = store.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "labels": {"a": "b"}}}
    )
    assert created["metadata"]["labels"] == {"a": "b", "kubernetes.io/metadata.name": "team"}
    assert store.get("v1", "Namespace", None, "default")["metadata"]["labels"] == {
        "kubernetes.io/metadata.name": "default"
    }
