"""Extract the Kubernetes 1.21 OpenAPI definitions the emulated apiserver publishes at ``/openapi/v2``.

The source is the ``kubernetes-validate==1.21.0`` sdist (Apache-2.0): its ``v1.21.0-local/_definitions.json``
is the ``definitions`` section of Kubernetes v1.21.0's ``api/openapi-spec/swagger.json`` (what kube-apiserver
serves at ``/openapi/v2``), with two definitions rewritten as JSON-schema ``oneOf``s; those two are put back
as the apiserver publishes them (``IntOrString``, ``Quantity``). K3s v1.21.14 serves the same API types as
v1.21.0 (patch releases change no API).

Only the kinds the emulation serves are kept, with every definition they reach through ``$ref``, so the
file stays small. Run it again after adding a built-in kind:

    python refstack/tools/k8s_definitions.py PATH/TO/v1.21.0-local/_definitions.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUTPUT = Path(__file__).parents[1] / "nautes_refstack" / "kube" / "k8s-1.21-definitions.json"
# (group, version, kind) of every built-in kind served, its list kind being kept with it.
KINDS = {
    *(("", "v1", kind) for kind in ("Namespace", "ConfigMap", "Secret", "ServiceAccount", "Pod", "Service")),
    *(("", "v1", kind) for kind in ("Event", "Node", "PersistentVolumeClaim", "Status", "Endpoints")),
    ("apps", "v1", "Deployment"),
    ("apps", "v1", "StatefulSet"),
    ("apps", "v1", "ReplicaSet"),
    ("networking.k8s.io", "v1", "Ingress"),
    ("coordination.k8s.io", "v1", "Lease"),
    ("authentication.k8s.io", "v1", "TokenReview"),
    ("authentication.k8s.io", "v1", "TokenRequest"),
    ("events.k8s.io", "v1", "Event"),
    ("autoscaling", "v1", "Scale"),
    ("discovery.k8s.io", "v1", "EndpointSlice"),
    *(("rbac.authorization.k8s.io", "v1", kind) for kind in ("Role", "RoleBinding", "ClusterRole")),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
    ("apiextensions.k8s.io", "v1beta1", "CustomResourceDefinition"),
}
# Kept whatever kinds are served: the request and response bodies every resource's operations name.
OPERATION_DEFINITIONS = (
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
)
# As kube-openapi publishes them (k8s.io/apimachinery/pkg/util/intstr/intstr.go OpenAPISchemaType/Format,
# k8s.io/apimachinery/pkg/api/resource/quantity.go OpenAPISchemaType).
RESTORED = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
        "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, "
        "for example, a JSON field that can accept a name or number.",
        "format": "int-or-string",
        "type": "string",
    },
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "description": "Quantity is a fixed-point representation of a number. It provides convenient "
        "marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.",
        "type": "string",
    },
}


def _served(definition: dict[str, object]) -> bool:
    for gvk in definition.get("x-kubernetes-group-version-kind", []):  # type: ignore[attr-defined]
        key = (gvk["group"], gvk["version"], gvk["kind"])
        if key in KINDS or (key[2].endswith("List") and (key[0], key[1], key[2][: -len("List")]) in KINDS):
            return True
    return False


def main(source: Path) -> None:
    definitions = json.loads(source.read_text())["definitions"]
    definitions.update(RESTORED)
    todo = [name for name, definition in definitions.items() if _served(definition)]
    todo += OPERATION_DEFINITIONS
    kept: dict[str, object] = {}
    while todo:
        name = todo.pop()
        if name not in kept:
            kept[name] = definitions[name]
            todo += re.findall(r'"#/definitions/([^"]+)"', json.dumps(definitions[name]))
    lines = [f"{json.dumps(name)}: {json.dumps(kept[name], sort_keys=True)}" for name in sorted(kept)]
    OUTPUT.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"{len(kept)} definitions -> {OUTPUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
