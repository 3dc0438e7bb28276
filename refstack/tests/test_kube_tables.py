"""Server-side printing: the Table columns and cells a 1.21 apiserver renders for ``kubectl get``."""

from __future__ import annotations

import pytest
from nautes_refstack.kube import tables


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (600, "10m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (50 * 3600, "2d2h"),
        (400 * 86400, "400d"),
        (3 * 365 * 86400 + 86400, "3y1d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: int, shown: str) -> None:
    assert tables.human_duration(seconds) == shown


def test_json_path_of_a_printer_column() -> None:
    run = {
        "status": {"conditions": [{"type": "Ready"}, {"type": "Succeeded", "status": "True", "reason": "Ok"}]}
    }
    assert tables.json_path(run, '.status.conditions[?(@.type=="Succeeded")].reason') == ["Ok"]
    assert tables.json_path(run, ".status.conditions[*].type") == ["Ready", "Succeeded"]
    assert tables.json_path(run, ".status.missing") == []


def _pod(statuses: list[dict[str, object]], **status: object) -> dict[str, object]:
    containers = [{"name": str(s["name"])} for s in statuses]
    return {
        "metadata": {"name": "p"},
        "spec": {"containers": containers},
        "status": {"containerStatuses": statuses, **status},
    }


@pytest.mark.parametrize(
    ("pod", "ready", "shown"),
    [
        (_pod([{"name": "a", "ready": True, "state": {"running": {}}}], phase="Running"), "1/1", "Running"),
        (
            _pod([{"name": "a", "state": {"waiting": {"reason": "PodInitializing"}}}], phase="Pending"),
            "0/1",
            "PodInitializing",
        ),
        (
            _pod(
                [{"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                phase="Succeeded",
            ),
            "0/1",
            "Completed",
        ),
        (
            _pod([{"name": "a", "state": {"terminated": {"exitCode": 2}}}], phase="Failed"),
            "0/1",
            "ExitCode:2",
        ),
    ],
)
def test_pod_ready_and_status_columns(pod: dict[str, object], ready: str, shown: str) -> None:
    cells = tables.table("v1", tables.POD, [pod], "1")["rows"][0]["cells"]
    assert cells[1:4] == [ready, shown, 0]


def test_a_table_is_served_only_when_asked_for() -> None:
    kubectl = (
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
        "application/json"
    )
    assert tables.table_version(kubectl) == "v1"
    assert tables.table_version("application/json") is None
    assert tables.table_version("") is None
