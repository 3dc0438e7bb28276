"""Every saved Nautes resource, read back and compared with what was sent.

A save answered 200 proves only that the API server said so. Read back at once (``nautes get``, a GET on
the path it was saved to), the resource must be there with the values sent, in the fields the reply
carries: the reply is not the request (contract §2.4), so each kind's expected reply is derived from the
body the CLI sent, as the API server maps it:

* a product-scoped reply names the product of the URL (a CodeRepoBinding's body ``product`` is ignored,
  §2.3), except the ProjectPipelineRuntime's, which has no product; ``product_name`` is only in the URL;
* Cluster: no ``kubeconfig``, no ``vcluster``, and ``components_list.event_listener`` always null
  (NAUTES ``service/cluster.go convertClustertoReply``);
* Product: ``name`` is the group name; ``git.gitlab`` carries path, visibility and description only;
* CodeRepo: ``name`` is the repository path; the clone URLs are GitLab's when the body left them empty.

Unset and empty are one value on the wire (protojson cannot tell a nil map from an empty one), so a field
sent empty matches one returned empty, null or absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from nautes_e2e.clients import Document, document_request
from nautes_e2e.suite import NautesClient, StageContext

#: Top-level body fields that are part of the URL only (contract §1.4: ``productName→product_name``).
URL_ONLY = ("product_name",)
#: Body fields no reply of the kind carries (contract §2.4), as paths.
NOT_IN_REPLY: dict[str, tuple[tuple[str, ...], ...]] = {
    "Cluster": (("kubeconfig",), ("vcluster",), ("components_list", "event_listener")),
    "Product": (("git", "gitlab", "name"), ("git", "gitlab", "parent_id")),
    # PPR GetReply has no product field (NAUTES projectpipelineruntime.proto, ``message GetReply``).
    "ProjectPipelineRuntime": (("product",),),
}
#: How many differing fields a diagnosis lists before it says "and N more".
SHOWN_DIFFERENCES = 4


def verify_saved(
    stage: StageContext, nautes: NautesClient, documents: Sequence[Document], group: str
) -> dict[str, dict[str, Any]]:
    """Fail the stage unless every document (of the scenario's ``group``) reads back as sent: naming kind,
    name and each differing field (sent and returned value), or the resource Nautes answered 200 for
    and does not have. The replies are kept as evidence ``read-back-<group>.json`` and returned, keyed
    ``<Kind> <name>``, for the stage's own checks (no second GET)."""
    problems: list[str] = []
    replies: dict[str, Any] = {}
    for document in documents:
        reply = nautes.read_back(document)
        label = f"{document.kind} {document.name}"
        replies[label] = reply
        if reply is None:
            problems.append(
                f"{label} is not there: its save answered 200, and reading it back answers not found"
            )
            continue
        differences = list(_differences(expected_reply(document), reply, ()))
        if differences:
            shown = "; ".join(differences[:SHOWN_DIFFERENCES])
            hidden = len(differences) - SHOWN_DIFFERENCES
            more = f"; and {hidden} more" if hidden > 0 else ""
            problems.append(f"{label} reads back otherwise than saved: {shown}{more}")
    stage.evidence(f"read-back-{group}.json", replies)
    if problems:
        stage.fail("; ".join(problems))
    return replies


def expected_reply(document: Document) -> dict[str, Any]:
    """What the GET of ``document`` must answer (a subset of the reply), from the body the CLI sends."""
    path, body = document_request(document)
    expected: dict[str, Any] = json.loads(body)
    for field in URL_ONLY:
        expected.pop(field, None)
    for drop in NOT_IN_REPLY.get(document.kind, ()):
        _remove(expected, drop)
    product = _url_product(path)
    if product is not None and "product" in expected:
        expected["product"] = product
    if document.kind == "CodeRepo":
        gitlab = (expected.get("git") or {}).get("gitlab") or {}
        expected["name"] = gitlab.get("path", expected.get("name"))
        for url in ("ssh_url_to_repo", "http_url_to_repo"):
            if not gitlab.get(url):
                gitlab.pop(url, None)
    if document.kind == "Cluster":
        expected["name"] = document.name
    return expected


def _url_product(path: str) -> str | None:
    """``/api/v1/products/<product>/...``: the product of a product-scoped path."""
    parts = path.strip("/").split("/")
    return parts[3] if len(parts) > 4 and parts[2] == "products" else None


def _remove(tree: dict[str, Any], path: tuple[str, ...]) -> None:
    node: Any = tree
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _differences(expected: Any, actual: Any, where: tuple[str, ...]) -> Iterator[str]:
    """``field: sent X, Nautes returns Y`` for every leaf of ``expected`` that ``actual`` does not hold."""
    if _empty(expected) and _empty(actual):
        return
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            yield from _differences(value, actual.get(key), (*where, key))
        return
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (sent, returned) in enumerate(zip(expected, actual, strict=True)):
            yield from _differences(sent, returned, (*where, str(index)))
        return
    if expected != actual:
        yield f"{'.'.join(where) or '(reply)'}: sent {_shown(expected)}, Nautes returns {_shown(actual)}"


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
