"""Argo Events and Argo CD objects (the kinds the runtime operator writes for a pipeline runtime): apply,
get by their names and short names, delete, as against K3s
v1.21.14 with Argo Events v1.7.1 and Argo CD v2.4."""

from __future__ import annotations

import json

import pytest

from tests.fidelity.kubectl.checks.kubectl_stack import Kubectl

pytestmark = pytest.mark.fidelity

EVENT_SOURCE = """\
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: ticker
spec:
  calendar:
    hourly:
      interval: 1h
"""
SENSOR = """\
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: ticker-log
  labels:
    nautes.argoevents.consumer: demo
spec:
  dependencies:
    - name: tick
      eventSourceName: ticker
      eventName: hourly
  triggers:
    - template:
        name: log
        log:
          intervalSeconds: 10
"""
APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: demo-additional
spec:
  project: default
  source:
    repoURL: ssh://git@127.0.0.1:2222/demo/sourcecode.git
    targetRevision: main
    path: test
  destination:
    server: https://kubernetes.default.svc
    namespace: demo
"""


@pytest.fixture(scope="module")
def argo_objects(kubectl: Kubectl, namespace: str) -> None:
    applied = kubectl.ok("apply", "-n", namespace, "-f", "-", stdin="---\n".join((EVENT_SOURCE, SENSOR)))
    assert applied.splitlines() == [
        "eventsource.argoproj.io/ticker created",
        "sensor.argoproj.io/ticker-log created",
    ]


def test_a_short_name_two_groups_share(kubectl: Kubectl, namespace: str, argo_objects: None) -> None:
    listed = kubectl("get", "es", "-n", namespace, "-o", "name")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == "eventsource.argoproj.io/ticker\n"
    assert listed.stderr.strip() == (
        'Warning: short name "es" could also match lower priority resource '
        "externalsecrets.external-secrets.io"
    )


def test_the_sensor_by_its_label(kubectl: Kubectl, namespace: str, argo_objects: None) -> None:
    named = kubectl.ok(
        "get", "sensors", "-n", namespace, "-l", "nautes.argoevents.consumer=demo", "-o", "name"
    )
    assert named == "sensor.argoproj.io/ticker-log\n"
    sensor = json.loads(kubectl.ok("get", "sensor", "ticker-log", "-n", namespace, "-o", "json"))
    assert sensor["spec"]["dependencies"][0]["eventSourceName"] == "ticker"


def test_an_application(kubectl: Kubectl, namespace: str) -> None:
    created = kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=APPLICATION)
    assert created == "application.argoproj.io/demo-additional created\n"
    by_short_name = kubectl.ok(
        "get", "app", "demo-additional", "-n", namespace, "-o", "jsonpath={.spec.source.path}"
    )
    assert by_short_name == "test"
    deleted = kubectl.ok("delete", "-n", namespace, "-f", "-", stdin=APPLICATION)
    assert deleted == 'application.argoproj.io "demo-additional" deleted\n'


def test_delete_by_file(kubectl: Kubectl, namespace: str, argo_objects: None) -> None:
    deleted = kubectl.ok("delete", "-n", namespace, "-f", "-", stdin=SENSOR)
    assert deleted == 'sensor.argoproj.io "ticker-log" deleted\n'
    gone = kubectl("get", "sensor", "ticker-log", "-n", namespace)
    assert gone.stderr.strip() == 'Error from server (NotFound): sensors.argoproj.io "ticker-log" not found'
