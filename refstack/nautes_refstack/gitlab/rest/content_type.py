"""The REST API's JSON replies say ``Content-Type: application/json``, without a charset, as GitLab's do.

aiohttp's ``json_response`` appends ``; charset=utf-8``; Grape does not: GitLab's API declares
``content_type :json, 'application/json'`` (gitlab ``lib/api/api.rb``) and every JSON reply carries exactly
that, which clients compare verbatim (python-gitlab's own functional test ``test_project_head`` does).
"""

from __future__ import annotations

from aiohttp import web

JSON = "application/json"


async def plain_json_content_type(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: drop the charset aiohttp adds to a JSON reply."""
    if response.headers.get("Content-Type", "").startswith(JSON + ";"):
        response.headers["Content-Type"] = JSON
