"""The conformance suite's comparisons: an expected message is literal but for ``{any}``, placeholders are
filled with the run's names, and a refusal or a success is judged field by field."""

from __future__ import annotations

import json
import re

import pytest

from suites.api_conformance.cases import fill
from suites.api_conformance.wire import Answer, Refusal, expect_refusal, expect_saved

SOURCE = "contract §2.5"


def kratos(code: int, reason: str, message: str, **extra: object) -> Answer:
    body = {"code": code, "reason": reason, "message": message, "metadata": {}, **extra}
    return Answer(code, json.dumps(body), {"Content-Type": "application/json"})


def test_expected_message_is_literal_except_any() -> None:
    pattern = Refusal(500, "", "rule: ^[0-9]+$ in [host worker] at {any}.", SOURCE).pattern()
    assert pattern.fullmatch("rule: ^[0-9]+$ in [host worker] at http://x:1/api.")
    assert pattern.fullmatch("rule: ^[0-9]+$ in [host worker] at .")  # {any} may be empty
    assert not pattern.fullmatch("rule: 5 in h at x.")  # metacharacters are not a regex


def test_fill_replaces_names_keeps_any_and_braces() -> None:
    template = {"path": "/p/{product}", "items": ["{absent_cluster}", 3], "message": "{any} {{message: 404}}"}
    filled = fill(template, {"product": "apiconf-ci", "absent_cluster": "apiconf-ci-absent"})
    assert filled == {
        "path": "/p/apiconf-ci",
        "items": ["apiconf-ci-absent", 3],
        "message": "{any} {message: 404}",
    }


def test_refusal_matches_field_by_field() -> None:
    expect_refusal(
        kratos(404, "GROUP_NOT_FOUND", "failed: x"), Refusal(404, "GROUP_NOT_FOUND", "failed: {any}", SOURCE)
    )


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(kratos(500, "GROUP_NOT_FOUND", "failed: x"), id="status"),
        pytest.param(kratos(404, "", "failed: x"), id="reason"),
        pytest.param(kratos(404, "GROUP_NOT_FOUND", "other"), id="message"),
        pytest.param(kratos(404, "GROUP_NOT_FOUND", "failed: x", extra=1), id="extra-field"),
        pytest.param(Answer(404, '{"code": 500, "reason": "GROUP_NOT_FOUND", "message": "failed: x", '
                                 '"metadata": {}}', {}), id="code-not-status"),
        pytest.param(Answer(404, "404 page not found\n", {}), id="not-json"),
        pytest.param(Answer(200, '{"message": "Successfully saved"}', {}), id="success"),
    ],
)  # fmt: skip
def test_refusal_mismatch_fails_naming_the_source(answer: Answer) -> None:
    with pytest.raises(AssertionError, match=re.escape(SOURCE)):
        expect_refusal(answer, Refusal(404, "GROUP_NOT_FOUND", "failed: {any}", SOURCE))


def test_success_must_be_the_message_as_json() -> None:
    expect_saved(Answer(200, '{"message": "ok"}', {"Content-Type": "application/json"}), "ok", SOURCE)
    with pytest.raises(AssertionError, match="application/json"):
        expect_saved(Answer(200, '{"message": "ok"}', {"Content-Type": "text/plain"}), "ok", SOURCE)
    with pytest.raises(AssertionError, match=re.escape(SOURCE)):
        expect_saved(
            Answer(200, '{"message": "ok", "x": 1}', {"Content-Type": "application/json"}), "ok", SOURCE
        )
