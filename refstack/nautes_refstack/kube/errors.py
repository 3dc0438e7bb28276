"""Kubernetes API errors, shaped exactly like the ``Status`` bodies a real kube-apiserver returns.

Clients branch on ``reason`` and ``code`` (the kubernetes Python client raises ``ApiException`` with the
body; kubectl prints ``Error from server (<reason>): <message>``), so the texts below copy the apiserver's
``k8s.io/apimachinery/pkg/api/errors`` constructors word for word.
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]


class KubeError(Exception):
    """An API failure carrying the HTTP code and the ``Status`` body the apiserver would send."""

    def __init__(self, code: int, reason: str, message: str, details: JsonObject | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> JsonObject:
        """The ``v1 Status`` object for this error (``details`` omitted when there are none)."""
        body: JsonObject = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(name: str, group: str, kind: str) -> JsonObject:
    details: JsonObject = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def not_found(group: str, plural: str, name: str) -> KubeError:
    resource = f"{plural}.{group}" if group else plural
    return KubeError(404, "NotFound", f'{resource} "{name}" not found', _details(name, group, plural))


def already_exists(group: str, plural: str, name: str) -> KubeError:
    resource = f"{plural}.{group}" if group else plural
    return KubeError(
        409, "AlreadyExists", f'{resource} "{name}" already exists', _details(name, group, plural)
    )


def conflict(group: str, plural: str, name: str, why: str) -> KubeError:
    resource = f"{plural}.{group}" if group else plural
    message = f'Operation cannot be fulfilled on {resource} "{name}": {why}'
    return KubeError(409, "Conflict", message, _details(name, group, plural))


STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again"


def forbidden(group: str, plural: str, name: str, why: str) -> KubeError:
    resource = f"{plural}.{group}" if group else plural
    return KubeError(
        403, "Forbidden", f'{resource} "{name}" is forbidden: {why}', _details(name, group, plural)
    )


def invalid(group: str, kind: str, name: str, field: str, cause: str, detail: str) -> KubeError:
    """A 422 for one bad field; ``cause`` is e.g. ``Required value`` or ``Invalid value: "x"``."""
    qualified_kind = f"{kind}.{group}" if group else kind
    message = f'{qualified_kind} "{name}" is invalid: {field}: {cause}: {detail}'
    details = _details(name, group, kind)
    reason_by_cause = {"Required value": "FieldValueRequired", "Unsupported value": "FieldValueNotSupported"}
    details["causes"] = [
        {
            "reason": reason_by_cause.get(cause.split(":")[0], "FieldValueInvalid"),
            "message": f"{cause}: {detail}",
            "field": field,
        }
    ]
    return KubeError(422, "Invalid", message, details)


def unprocessable(message: str) -> KubeError:
    """The apiserver's answer to a JSON patch that cannot be applied."""
    return KubeError(422, "Invalid", message, {})


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)


def resource_not_found() -> KubeError:
    """Unknown group, version or resource: the apiserver's generic not-found handler."""
    return KubeError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> KubeError:
    return KubeError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
    )


def unsupported_media_type(accepted: tuple[str, ...]) -> KubeError:
    message = "the body of the request was in an unknown format - accepted media types include: " + ", ".join(
        accepted
    )
    return KubeError(415, "UnsupportedMediaType", message)


def expired(requested: int, oldest_available: int) -> KubeError:
    """A watch asked to resume from a resourceVersion the server no longer remembers."""
    return KubeError(410, "Expired", f"too old resource version: {requested} ({oldest_available})")


def unauthorized() -> KubeError:
    return KubeError(401, "Unauthorized", "Unauthorized")
