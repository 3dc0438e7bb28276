"""What a conformance check sends and what it compares: one request, its answer as the wire carried it,
and the answer the contract says real Nautes v0.4.x gives.

Requests go through the harness's Nautes client (:meth:`NautesClient.http_request`: the CLI's headers,
token and trust, and its resend of a request Nautes refused for a concurrent one on a shared world); a
refusal is read back from the client's error (status and kratos body). Only the checks of the transport
itself (a Content-Type the CLI never sends, a redirect the client would follow) use :meth:`Wire.raw`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from nautes_e2e.suite import NautesApiError, NautesClient, World

#: How long a raw request may take: every raw check is refused before the server touches GitLab.
RAW_TIMEOUT_S = 30.0
#: Stands for any text in an expected message (a GitLab URL as the API server sees GitLab, a repository id).
ANY = "{any}"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, body text, and the body parsed as JSON (None when it is not JSON)."""

    status: int
    text: str
    headers: Mapping[str, str]

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def shown(self) -> str:
        return f"{self.status} {self.text[:600]}"


@dataclass(frozen=True)
class Refusal:
    """A kratos error body as contract §2.5 states it: HTTP status = ``code``, ``reason``, ``message``,
    ``metadata`` always ``{}``. ``message`` is exact, except that :data:`ANY` matches any text. ``source``
    is where the contract says so: its section and the upstream file it cites."""

    code: int
    reason: str
    message: str
    source: str

    def pattern(self) -> re.Pattern[str]:
        return re.compile(".*?".join(re.escape(part) for part in self.message.split(ANY)), re.DOTALL)


class Wire:
    """The Nautes API server as a conformance check reaches it."""

    def __init__(self, nautes: NautesClient, world: World) -> None:
        self._nautes = nautes
        self._world = world

    def send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Answer:
        """``method path`` with ``body`` as JSON (no body at all when None), as the CLI sends it."""
        data = None if body is None else json.dumps(body).encode()
        try:
            response = self._nautes.http_request(method, path, data, kind="conformance", name=path)
        except NautesApiError as refused:
            return Answer(refused.status, refused.body, {})
        return Answer(response.status_code, response.text, dict(response.headers))

    def raw(
        self, method: str, path: str, data: bytes, headers: Mapping[str, str], *, token: bool = True
    ) -> Answer:
        """One request with exactly ``headers`` (plus the caller's token unless ``token`` is False) and no
        redirect followed."""
        with requests.Session() as session:
            session.trust_env = False  # no proxy, no .netrc: the request goes as written
            bundle = self._world.nautes_ca_bundle
            response = session.request(
                method,
                self._world.nautes_url.rstrip("/") + path,
                data=data,
                headers={**self._authorization(token), **headers},
                timeout=RAW_TIMEOUT_S,
                allow_redirects=False,
                verify=str(bundle) if bundle else True,
            )
        return Answer(response.status_code, response.text, dict(response.headers))

    def _authorization(self, token: bool) -> dict[str, str]:
        return {"Authorization": "Bearer " + self._world.gitlab_token.reveal()} if token else {}


def expect_refusal(answer: Answer, expected: Refusal) -> None:
    """The answer is the kratos error body ``expected`` states, field by field."""
    where = f"[{expected.source}]"
    assert answer.status == expected.code, f"{where} expected HTTP {expected.code}: {answer.shown()}"
    body = answer.json
    assert isinstance(body, dict), f"{where} not a kratos error body: {answer.shown()}"
    assert set(body) == {"code", "reason", "message", "metadata"}, f"{where} fields: {answer.shown()}"
    assert body["code"] == answer.status, f"{where} code is the HTTP status: {answer.shown()}"
    assert body["reason"] == expected.reason, f"{where} reason {expected.reason!r}: {answer.shown()}"
    assert expected.pattern().fullmatch(str(body["message"])), (
        f"{where} message {expected.message!r}: {answer.shown()}"
    )
    assert body["metadata"] == {}, f"{where} metadata is always {{}}: {answer.shown()}"


def expect_saved(answer: Answer, message: str, source: str) -> None:
    """A 200 whose body is exactly ``{"message": message}`` (contract §2.4), sent as JSON (§2.1)."""
    assert (answer.status, answer.json) == (200, {"message": message}), (
        f"[{source}] expected 200 {{'message': {message!r}}}: {answer.shown()}"
    )
    content_type = answer.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), (
        f"[contract §2.1: responses are application/json; KRATOS encoding/json] Content-Type {content_type!r}"
    )
