"""Request parameters as Grape sees them: the query string merged with a JSON or form-encoded body.

python-gitlab and go-gitlab send JSON bodies; curl users send forms (``scopes[]=api``). Type errors are
Grape's ``{"error": "<name> is invalid"}``; absent required parameters ``{"error": "<name> is missing"}``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aiohttp import web

from nautes_refstack.gitlab.rest import errors

_TRUE = ("true", "1", "yes", "t")
_FALSE = ("false", "0", "no", "f")


class Params:
    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    @classmethod
    async def of(cls, request: web.Request) -> Params:
        values: dict[str, Any] = {}
        for key in request.query:
            _merge(values, key, request.query.getall(key))
        if request.can_read_body:
            if request.content_type == "application/json":
                raw = await request.read()
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except json.JSONDecodeError as error:
                    raise errors.ApiError(400, {"error": f"{error.msg}"}) from error
                if isinstance(body, dict):
                    values.update(body)
            else:
                form = await request.post()
                for key in form:
                    _merge(values, key, [str(v) for v in form.getall(key)])
        return cls(values)

    def has(self, name: str) -> bool:
        return self._values.get(name) is not None

    def require(self, *names: str) -> None:
        absent = [name for name in names if not self.has(name) or self._values[name] == ""]
        if absent:
            raise errors.missing(*absent)

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, (dict, list)):
            raise errors.invalid(name)
        return str(value)

    def text(self, name: str) -> str:
        """A required string parameter."""
        self.require(name)
        return str(self.get_str(name))

    def get_bool(self, name: str, default: bool | None = None) -> bool | None:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        lowered = str(value).lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise errors.invalid(name)

    def flag(self, name: str, default: bool) -> bool:
        return bool(self.get_bool(name, default))

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise errors.invalid(name)
        try:
            return int(value)
        except (TypeError, ValueError) as error:
            raise errors.invalid(name) from error

    def get_date(self, name: str) -> dt.date | None:
        value = self.get_str(name)
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError as error:
            raise errors.invalid(name) from error

    def get_strings(self, name: str) -> list[str] | None:
        """A list parameter: a JSON array, repeated ``name[]`` form fields, or one comma-separated string."""
        value = self._values.get(name)
        if value is None:
            return None
        if isinstance(value, list):
            return [str(item) for item in value]
        return [item for item in str(value).split(",") if item]

    def get_objects(self, name: str) -> list[dict[str, Any]]:
        value = self._values.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise errors.invalid(name)
        return value


def _merge(values: dict[str, Any], key: str, items: list[str]) -> None:
    if key.endswith("[]"):
        values.setdefault(key[:-2], []).extend(items)
    else:
        values[key] = items[-1]
