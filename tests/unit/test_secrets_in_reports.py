"""The redaction plugin on pytest's own objects: a report keeps pytest's structure (coloured traceback,
one-line ``-r`` summary) with its texts masked; what it cannot walk into is replaced by its masked text."""

from __future__ import annotations

import secrets
import warnings

import pytest
from _pytest._code.code import ExceptionRepr, TerminalRepr
from _pytest._io import TerminalWriter

from nautes_e2e.plugin.redaction import pytest_warning_recorded, redact_report
from nautes_e2e.secrets import MASK, register


def planted_token() -> str:
    value = "tok" + secrets.token_urlsafe(32)  # starting with no vendor-like prefix: masked from its first
    register(value)
    return value


def failing_report(token: str) -> pytest.TestReport:
    """A report of a failure whose traceback quotes ``token`` in its locals and message."""
    body = {"kind": "Cluster", "spec": {"token": token, "note": "x" * 30}}
    raw = repr(body).encode()
    try:
        assert body == {}, raw
    except AssertionError as error:
        info = pytest.ExceptionInfo.from_exception(error)
    return pytest.TestReport(
        nodeid="test_x.py::test_x",
        location=("test_x.py", 1, "test_x"),
        keywords={"test_x": 1},
        outcome="failed",
        longrepr=info.getrepr(showlocals=True, style="long", truncate_locals=False),
        when="call",
        sections=[("Captured stdout call", f"token {token}\n")],
        user_properties=[("token", token), ("attempts", 3)],
    )


def test_a_failure_is_masked_and_keeps_its_structure() -> None:
    token = planted_token()
    report = failing_report(token)
    assert token[:20] in str(report.longrepr)

    redact_report(report)

    assert isinstance(report.longrepr, ExceptionRepr)
    text = str(report.longrepr)
    assert MASK in text
    assert token[:6] not in text
    assert token[-6:] not in text
    assert report.longrepr.reprcrash is not None
    assert token[:6] not in report.longrepr.reprcrash.message
    assert report.sections == [("Captured stdout call", f"token {MASK}\n")]
    assert report.user_properties == [("token", MASK), ("attempts", 3)]
    assert report.nodeid == "test_x.py::test_x"


def test_what_a_plugin_attached_is_masked_as_data() -> None:
    token = planted_token()
    report = failing_report(token)
    attached = vars(report)  # reports take any attribute: pytest's xfail reason, the xdist plugin's export
    attached["wasxfail"] = f"known: {token}"
    attached["nautes_e2e_recorder"] = {"stages": [{"diagnosis": f"401 for {token}", "tries": [1, 2]}]}

    redact_report(report)

    assert attached["wasxfail"] == f"known: {MASK}"
    assert attached["nautes_e2e_recorder"] == {"stages": [{"diagnosis": f"401 for {MASK}", "tries": [1, 2]}]}


def test_a_skip_reason_is_masked() -> None:
    token = planted_token()
    report = pytest.TestReport(
        nodeid="test_x.py::test_x",
        location=("test_x.py", 1, "test_x"),
        keywords={},
        outcome="skipped",
        longrepr=("test_x.py", 3, f"Skipped: no access with {token}"),
        when="call",
    )

    redact_report(report)

    assert report.longrepr == ("test_x.py", 3, f"Skipped: no access with {MASK}")


class _OpaqueRepr(TerminalRepr):
    """A plugin's representation keeping its text where the walk does not look (a set)."""

    def __init__(self, text: str) -> None:
        self.held = frozenset([text])

    def toterminal(self, tw: TerminalWriter) -> None:
        for text in self.held:
            tw.line(text)


def test_a_representation_the_walk_cannot_reach_into_becomes_its_masked_text() -> None:
    token = planted_token()
    report = pytest.CollectReport("test_x.py", "failed", _OpaqueRepr(f"cannot import: {token}"), [])

    redact_report(report)

    assert report.longrepr == f"cannot import: {MASK}"


def test_a_warning_is_masked_before_anyone_shows_or_sends_it() -> None:
    token = planted_token()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(f"token {token} expires soon", UserWarning, stacklevel=1)
    message = caught[0]

    pytest_warning_recorded(message)

    assert str(message.message) == f"token {MASK} expires soon"
    assert isinstance(message.message, UserWarning)
