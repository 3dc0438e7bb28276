"""A CustomResourceDefinition as ``apiextensions.k8s.io/v1`` and as ``v1beta1`` show it (1.21 serves both).

The apiserver keeps one object and converts through its internal type (k8s.io/apiextensions-apiserver
pkg/apis/apiextensions/v1/conversion.go and v1beta1/conversion.go, defaults from v1beta1/defaults.go):

* v1beta1's top-level ``version``, ``validation``, ``subresources`` and ``additionalPrinterColumns`` are
  per-version fields in v1 (``versions[].schema``, ...); a v1beta1 CRD with only ``version`` has one served
  storage version of that name;
* read as v1beta1, ``version`` is the first version's name, and a per-version field that is the same in
  every version is hoisted to the top level;
* printer columns say ``JSONPath`` in v1beta1 and ``jsonPath`` in v1; a webhook conversion's settings sit in
  ``conversion.webhook`` in v1 and flat in v1beta1's ``conversion``;
* ``preserveUnknownFields`` defaults to true in v1beta1 and is omitted when false in v1.
"""

from __future__ import annotations

import copy
from typing import Any

from nautes_refstack.kube.errors import JsonObject

GROUP = "apiextensions.k8s.io"
_HOISTABLE = ("validation", "subresources", "additionalPrinterColumns")  # v1beta1's top-level copies


def _columns(columns: list[JsonObject], *, json_path_key: str) -> list[JsonObject]:
    renamed = []
    for column in columns:
        column = dict(column)
        path = column.pop("JSONPath", None) or column.pop("jsonPath", None)
        if path is not None:
            column[json_path_key] = path
        renamed.append(column)
    return renamed


def _conversion_to_v1(conversion: JsonObject) -> JsonObject:
    result = {"strategy": conversion.get("strategy", "None")}
    webhook: JsonObject = {}
    if "webhookClientConfig" in conversion:
        webhook["clientConfig"] = conversion["webhookClientConfig"]
    if "conversionReviewVersions" in conversion:
        webhook["conversionReviewVersions"] = conversion["conversionReviewVersions"]
    if webhook:
        result["webhook"] = webhook
    return result


def _conversion_to_v1beta1(conversion: JsonObject) -> JsonObject:
    result = {"strategy": conversion.get("strategy", "None")}
    webhook = conversion.get("webhook") or {}
    if "clientConfig" in webhook:
        result["webhookClientConfig"] = webhook["clientConfig"]
    if "conversionReviewVersions" in webhook:
        result["conversionReviewVersions"] = webhook["conversionReviewVersions"]
    return result


def spec_to_v1(spec: JsonObject) -> JsonObject:
    """A v1beta1 ``spec`` as v1 shows it."""
    result = copy.deepcopy(spec)
    version = result.pop("version", None)
    versions = result.get("versions") or (
        [{"name": version, "served": True, "storage": True}] if version else []
    )
    hoisted = {key: result.pop(key, None) for key in _HOISTABLE}
    for entry in versions:
        if hoisted["validation"] is not None:
            entry.setdefault("schema", copy.deepcopy(hoisted["validation"]))
        if hoisted["subresources"] is not None:
            entry.setdefault("subresources", copy.deepcopy(hoisted["subresources"]))
        columns = entry.get("additionalPrinterColumns") or hoisted["additionalPrinterColumns"]
        if columns:
            entry["additionalPrinterColumns"] = _columns(columns, json_path_key="jsonPath")
    result["versions"] = versions
    result["conversion"] = _conversion_to_v1(result.get("conversion") or {})
    if result.get("preserveUnknownFields", True) is False:
        result.pop("preserveUnknownFields", None)
    else:
        result["preserveUnknownFields"] = True
    return result


def spec_to_v1beta1(spec: JsonObject) -> JsonObject:
    """A v1 ``spec`` as v1beta1 shows it (per-version fields shared by every version hoisted)."""
    result = copy.deepcopy(spec)
    versions: list[JsonObject] = result.get("versions") or []
    if versions:
        result["version"] = versions[0]["name"]
    for top, per_version in (("validation", "schema"), ("subresources", "subresources")):
        _hoist(result, versions, top, per_version)
    for entry in versions:
        if entry.get("additionalPrinterColumns"):
            entry["additionalPrinterColumns"] = _columns(
                entry["additionalPrinterColumns"], json_path_key="JSONPath"
            )
    _hoist(result, versions, "additionalPrinterColumns", "additionalPrinterColumns")
    result["conversion"] = _conversion_to_v1beta1(result.get("conversion") or {})
    result["preserveUnknownFields"] = bool(result.get("preserveUnknownFields", False))
    return result


def _hoist(spec: JsonObject, versions: list[JsonObject], top: str, per_version: str) -> None:
    values = [entry.get(per_version) for entry in versions]
    if values and values[0] is not None and all(value == values[0] for value in values):
        spec[top] = values[0]
        for entry in versions:
            entry.pop(per_version, None)


def with_defaults(crd: JsonObject) -> JsonObject:
    """``crd`` as the apiserver stores it after decoding: in the version it was written in, with what that
    version leaves implicit filled in (v1beta1: a round trip through v1; v1: the conversion strategy and
    ``preserveUnknownFields`` as the round trip would leave them), plus the names' defaults of
    v1/defaults.go ``SetDefaults_CustomResourceDefinitionSpec``."""
    version = str(crd.get("apiVersion", "")).rpartition("/")[2]
    if not isinstance(crd.get("spec"), dict):
        return crd
    if version == "v1beta1":
        result = convert(convert(crd, "v1"), version)
    else:
        result = {**crd, "spec": copy.deepcopy(crd["spec"])}
        spec = result["spec"]
        spec["conversion"] = _conversion_to_v1(_conversion_to_v1beta1(spec.get("conversion") or {}))
        if spec.get("preserveUnknownFields") is False:
            del spec["preserveUnknownFields"]
    names = result["spec"].get("names")
    if isinstance(names, dict) and names.get("kind"):
        names.setdefault("singular", str(names["kind"]).lower())
        names.setdefault("listKind", f"{names['kind']}List")
    return result


def convert(crd: JsonObject, version: str) -> JsonObject:
    """``crd`` (as stored, in either version) as served at ``version``; other fields are shared."""
    stored_version = str(crd.get("apiVersion", "")).rpartition("/")[2]
    if stored_version == version or not isinstance(crd.get("spec"), dict):
        return crd
    result: dict[str, Any] = dict(crd)
    v1_spec = crd["spec"] if stored_version == "v1" else spec_to_v1(crd["spec"])
    result["spec"] = v1_spec if version == "v1" else spec_to_v1beta1(v1_spec)
    result["apiVersion"] = f"{GROUP}/{version}"
    return result
