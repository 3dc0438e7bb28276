"""GitLab's offset pagination: ``page``/``per_page`` in, ``x-*`` headers and a ``Link`` header out.

python-gitlab follows the ``Link: <...>; rel="next"`` URL for ``list(get_all=True)`` and iterators and checks
that it points at the configured GitLab URL, so links are built from the instance URL, never the request.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web

from nautes_refstack.gitlab.rest import errors
from nautes_refstack.gitlab.rest.context import context

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100

T = TypeVar("T")


def _positive(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise errors.invalid(name) from error
    return value if value > 0 else default


def paginate(request: web.Request, items: Sequence[T], render: Callable[[T], dict[str, Any]]) -> web.Response:
    page = _positive(request, "page", 1)
    per_page = min(_positive(request, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    total_pages = max(math.ceil(len(items) / per_page), 1)
    window = items[(page - 1) * per_page : page * per_page]
    next_page = page + 1 if page < total_pages else None
    prev_page = page - 1 if 1 < page <= total_pages + 1 else None
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(len(items)),
        "X-Total-Pages": str(total_pages),
        "X-Next-Page": str(next_page or ""),
        "X-Prev-Page": str(prev_page or ""),
        "Link": _links(request, per_page, prev_page, next_page, total_pages),
    }
    return web.json_response([render(item) for item in window], headers=headers)


def _links(
    request: web.Request, per_page: int, prev_page: int | None, next_page: int | None, last: int
) -> str:
    base = context(request).urls.base

    def link(page: int, rel: str) -> str:
        url = request.rel_url.update_query(page=page, per_page=per_page)
        return f'<{base}{url}>; rel="{rel}"'

    links = [link(prev_page, "prev")] if prev_page else []
    links += [link(next_page, "next")] if next_page else []
    links += [link(1, "first"), link(last, "last")]
    return ", ".join(links)
