"""The error model of the Nautes API server (go-kratos v2.6.2 ``errors.Status``; contract §2.5).

Every failure leaves the server as ``{"code", "reason", "message", "metadata"}`` with HTTP status = code.
Plain Go errors (``fmt.Errorf``) become code 500 with an empty reason; typed errors from
``api/api-server/common/v1/error_reason.proto`` keep their code and reason. When the real server wraps a
typed error with ``fmt.Errorf("...%v", err)`` the typed error's kratos ``Error()`` text ends up inside a
plain 500 message, so :func:`kratos_text` reproduces that text exactly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class NautesError(Exception):
    """An error exactly as the API server reports it to the client."""

    code: int
    reason: str
    message: str

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, object]:
        """The JSON error body (protojson with EmitUnpopulated, so ``metadata`` is always present)."""
        return {"code": self.code, "reason": self.reason, "message": self.message, "metadata": {}}

    def kratos_text(self) -> str:
        """What Go prints for this error when it is wrapped with ``%v`` (kratos ``(*Error).Error()``)."""
        if not self.reason and self.code == 500:
            return self.message
        return (
            f"error: code = {self.code} reason = {self.reason} message = {self.message} "
            "metadata = map[] cause = <nil>"
        )


def plain(message: str) -> NautesError:
    """A Go ``fmt.Errorf`` that reaches kratos' error encoder: 500 with an empty reason."""
    return NautesError(500, "", message)


def wrapped(prefix: str, cause: NautesError) -> NautesError:
    """``fmt.Errorf(prefix + "%v", cause)``: the cause's Go error text appended to a plain 500."""
    return plain(prefix + cause.kratos_text())


def bad_request(reason: str, message: str) -> NautesError:
    """kratos ``errors.BadRequest`` (codec and validator failures)."""
    return NautesError(400, reason, message)


def panic() -> NautesError:
    """What kratos' recovery middleware answers when a handler panics (nil dereference in the real server)."""
    return NautesError(500, "UNKNOWN", "unknown request error")


def group_not_found(message: str) -> NautesError:
    return NautesError(404, "GROUP_NOT_FOUND", message)


def project_not_found(message: str) -> NautesError:
    return NautesError(404, "PROJECT_NOT_FOUND", message)


def node_not_found(message: str) -> NautesError:
    return NautesError(404, "NODE_NOT_FOUND", message)


def secret_not_found(message: str) -> NautesError:
    return NautesError(404, "SECRET_NOT_FOUND", message)


def accesstoken_not_found(message: str) -> NautesError:
    return NautesError(404, "ACCESSTOKEN_NOT_FOUND", message)


def refresh_permissions_access_denied(message: str) -> NautesError:
    return NautesError(403, "REFRESH_PERMISSIONS_ACCESS_DENIED", message)


def resource_not_exist(message: str) -> NautesError:
    """``biz.ResourceDoesNotExistOrUnavailable``: a typed 500 used by the DeploymentRuntime checks."""
    return NautesError(500, "RESOURCE_NOT_EXIST", message)


RESOURCE_NOT_FOUND = NautesError(404, "RESOURCE_NOT_FOUND", "the resource is not found")
NOT_ALLOWED_MODIFY = NautesError(
    500,
    "NOT_ALLOWED_MODIFY",
    "It is not allowed to modify the authorized repository. If you want to change the authorized repository, "
    "please delete the authorization",
)
