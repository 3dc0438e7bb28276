"""GitLab's REST error bodies, raised as exceptions and rendered by one middleware.

Grape (GitLab's API framework) answers parameter problems with ``{"error": "..."}`` and everything else with
``{"message": ...}``: ``"404 Project Not Found"``, ``"401 Unauthorized"``, ``"403 Forbidden"``, or a dict
of model validation errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

API_PREFIX = "/api/v4"


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, object]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def not_found(what: str = "") -> ApiError:
    return ApiError(404, {"message": f"404 {what} Not Found" if what else "404 Not Found"})


def record_not_found() -> ApiError:
    """What GitLab answers when a record looked up by id is missing (``ActiveRecord::RecordNotFound``)."""
    return ApiError(404, {"message": "404 Not found"})


def unauthorized() -> ApiError:
    return ApiError(401, {"message": "401 Unauthorized"})


def forbidden(reason: str = "") -> ApiError:
    return ApiError(403, {"message": f"403 Forbidden - {reason}" if reason else "403 Forbidden"})


def insufficient_scope(scopes: str) -> ApiError:
    return ApiError(
        403,
        {
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": scopes,
        },
    )


def bad_request(message: object) -> ApiError:
    return ApiError(400, {"message": message})


def validation_failed(errors: dict[str, list[str]]) -> ApiError:
    return ApiError(400, {"message": errors})


def missing(*names: str) -> ApiError:
    return ApiError(400, {"error": ", ".join(f"{name} is missing" for name in names)})


def invalid(*names: str) -> ApiError:
    return ApiError(400, {"error": ", ".join(f"{name} is invalid" for name in names)})


def conflict(message: str) -> ApiError:
    return ApiError(409, {"message": message})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def render_api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``ApiError`` -> its JSON body; unknown API routes -> Grape's ``{"error": "404 Not Found"}``."""
    try:
        return await handler(request)
    except ApiError as error:
        return web.json_response(error.body, status=error.status)
    except web.HTTPNotFound:
        if request.path.startswith(API_PREFIX):
            return web.json_response({"error": "404 Not Found"}, status=404)
        raise
    except web.HTTPMethodNotAllowed:
        if request.path.startswith(API_PREFIX):
            return web.json_response({"error": "405 Not Allowed"}, status=405)
        raise
