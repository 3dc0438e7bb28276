"""The redactor: a secret is masked wherever it shows up, also escaped inside a repr() or a JSON body."""

from __future__ import annotations

import json

from nautes_e2e.secrets import MASK, Secret, redact

PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-planted\n-----END OPENSSH PRIVATE KEY-----"
)


def test_a_secret_prints_masked() -> None:
    secret = Secret("glpat-planted-str-repr")

    assert str(secret) == MASK
    assert repr(secret) == f"Secret({MASK})"
    assert f"{secret}" == MASK
    assert secret.reveal() == "glpat-planted-str-repr"


def test_a_multi_line_secret_is_masked_in_its_text_its_repr_and_json() -> None:
    key = Secret(PRIVATE_KEY).reveal()

    assert redact(f"key:\n{key}\n") == f"key:\n{MASK}\n"
    assert redact(repr({"deploykey": key})) == f"{{'deploykey': '{MASK}'}}"
    assert redact(json.dumps({"deploykey": key})) == f'{{"deploykey": "{MASK}"}}'


def test_short_values_are_not_scrubbed_from_free_text() -> None:
    Secret("abc")

    assert redact("abc def") == "abc def"
