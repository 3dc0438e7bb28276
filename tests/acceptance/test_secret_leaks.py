"""No fragment of a secret reaches anything pytest prints or writes about a run (issue 9, item 6).

A planted test module registers secrets the way the harness does (the runtime cluster's admin token, a Vault
root token, a registry password, a PEM key, and a kubeconfig holding the token and the key) and then fails in
every way pytest can print them: an assert on an API response body, on a bytes body and on the kubeconfig
(pretty-printed, cut by ``...``, split over lines with ``-vv``), a chained exception, captured stdout, stderr
and logs, a user property, a fixture error, a warning, an exception in ``__del__``
(``PytestUnraisableExceptionWarning``), an xfail and a skip reason, and a module that fails to import. Each
run plants fresh random secrets and looks for every 6-character window of them in its stdout, its stderr and
every file it wrote (``--junitxml``, ``--log-file``, the harness's own reports), for each output option that
prints locals or reprs, on pytest-xdist workers, and in process. Without the redaction plugin the same check
finds the secrets, so it can fail. On xdist, the reports are also checked as each worker serialises them
for the controller, before they travel.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PLANTED_MODULE = '''
import base64
import gc
import json
import logging
import os
import sys
import warnings

import pytest

from nautes_e2e.secrets import Secret

TOKEN = os.environ["PLANTED_TOKEN"]
VAULT_TOKEN = os.environ["PLANTED_VAULT_TOKEN"]
PASSWORD = os.environ["PLANTED_PASSWORD"]
KEY = os.environ["PLANTED_KEY"]
KEY_DATA = base64.b64encode(KEY.encode()).decode()
KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://127.0.0.1:6443
  name: runtime
users:
- name: admin
  user:
    token: {TOKEN}
    client-key-data: {KEY_DATA}
"""
for value in (KUBECONFIG, TOKEN, KEY_DATA, VAULT_TOKEN, PASSWORD, KEY):
    Secret(value)


@pytest.fixture
def vault_login():
    raise RuntimeError(f"vault login failed with {VAULT_TOKEN}")


def test_response_body():
    spec = {"apiServer": "https://127.0.0.1:6443", "token": TOKEN, "note": "x" * 30}
    body = {"kind": "Cluster", "spec": spec}
    raw = json.dumps(body).encode()
    assert body == {"kind": "Cluster", "spec": {}}, raw


def test_bytes_body():
    raw = ("password=" + PASSWORD + "&token=" + TOKEN + "&pad=" + "y" * 300).encode()
    assert raw == b"nope"


def test_kubeconfig():
    kube = KUBECONFIG
    config = {"users": [{"name": "admin", "user": {"token": TOKEN, "client-key-data": KEY_DATA}}]}
    assert kube == "x" and config


def test_key():
    key = KEY
    assert key.splitlines() == []


def test_chained_exception():
    try:
        raise ValueError(TOKEN)
    except ValueError as error:
        raise RuntimeError(repr(KEY)) from error


def test_captured_output(record_property):
    print(f"token {TOKEN}")
    print(KEY, file=sys.stderr)
    logging.getLogger("planted").warning("vault token %s", VAULT_TOKEN)
    record_property("password", PASSWORD)
    assert False


def test_passes_with_output(record_testsuite_property):
    record_testsuite_property("vault", VAULT_TOKEN)
    print(f"password {PASSWORD}")
    logging.getLogger("planted").warning("token %s", TOKEN)


def test_fixture_error(vault_login):
    pass


def test_warning():
    warnings.warn(f"token {TOKEN} expires soon")


def test_unraisable():
    class Leaky:
        def __del__(self):
            raise RuntimeError(f"cleanup with {PASSWORD} failed")

    Leaky()
    gc.collect()


def test_xfail():
    pytest.xfail(f"known: {VAULT_TOKEN}")


def test_skip():
    pytest.skip(f"skipped: {PASSWORD}")
'''

UNCOLLECTABLE_MODULE = """
import os
from nautes_e2e.secrets import Secret

TOKEN = Secret(os.environ["PLANTED_TOKEN"]).reveal()
raise ImportError(f"cannot load the cluster with {TOKEN!r}")
"""

#: On an xdist worker, every report as it is serialised for the controller (the controller never imports the
#: planted module, so it cannot mask what a worker registered: the worker must have).
SERIALISED_CONFTEST = """
import json

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config, report):
    data = yield
    if hasattr(config, "workerinput"):
        with open(f"serialised-{config.workerinput['workerid']}.jsonl", "a") as file:
            file.write(json.dumps(data, default=str) + "\\n")
    return data
"""

EXPECTED_OUTCOMES = {"failed": 6, "passed": 3, "errors": 2, "skipped": 1, "xfailed": 1}
#: What every run is given on top of its options: a module that fails to import must not end the session.
BASE_OPTIONS = ("--continue-on-collection-errors", "-p", "no:cacheprovider")
WINDOW = 6


@dataclass
class Planted:
    """The planted secrets' random material, as the 6-character windows a leak would show."""

    windows: set[str]

    def leaks(self, outputs: dict[str, str]) -> dict[str, list[str]]:
        """Each output holding a window, with a little context around the first few."""
        found = {}
        for name, text in outputs.items():
            hits = sorted(window for window in self.windows if window in text)
            if hits:
                found[name] = [text[max(0, text.find(hit) - 40) : text.find(hit) + 40] for hit in hits[:3]]
        return found


def url_safe_token(size: int) -> str:
    """A token that does not start like a vendor prefix (``abc_``), which the redactor leaves readable."""
    while True:
        value = secrets.token_urlsafe(size)
        if not re.match(r"[a-z]{1,6}[-_]", value):
            return value


def pem_key() -> str:
    body = base64.b64encode(secrets.token_bytes(400)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join(["-----BEGIN OPENSSH PRIVATE KEY-----", *lines, "-----END OPENSSH PRIVATE KEY-----", ""])


def windows(value: str) -> set[str]:
    return {value[i : i + WINDOW] for i in range(len(value) - WINDOW + 1)}


@pytest.fixture
def planted(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Planted:
    token, password, vault_hex, key = url_safe_token(32), url_safe_token(24), secrets.token_hex(16), pem_key()
    for name, value in {
        "PLANTED_TOKEN": token,
        "PLANTED_VAULT_TOKEN": "dev-" + vault_hex,
        "PLANTED_PASSWORD": password,
        "PLANTED_KEY": key,
    }.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(test_planted=PLANTED_MODULE, test_uncollectable=UNCOLLECTABLE_MODULE)
    pytester.makeconftest(SERIALISED_CONFTEST)
    key_data = base64.b64encode(key.encode()).decode()
    # Windows another key shares with this one are PEM armour, public; so is the vault token's "dev-".
    armour = windows(base64.b64encode(pem_key().encode()).decode())
    body_lines = [line for line in key.splitlines() if "-----" not in line]
    random = windows(token) | windows(password) | windows(vault_hex) | (windows(key_data) - armour)
    return Planted(random.union(*map(windows, body_lines)))


def outputs_of(result: pytest.RunResult, directory: Path) -> dict[str, str]:
    """stdout, stderr and every file the run wrote (its own test modules aside)."""
    outputs = {"stdout": str(result.stdout), "stderr": str(result.stderr)}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            outputs[str(path.relative_to(directory))] = path.read_text(errors="replace")
    return outputs


def assert_planted_outcomes(result: pytest.RunResult) -> None:
    """Every planted failure happened (a run that stopped early would leak nothing), the warnings too."""
    outcomes = result.parseoutcomes()
    assert {name: outcomes.get(name) for name in EXPECTED_OUTCOMES} == EXPECTED_OUTCOMES, str(result.stdout)
    assert outcomes.get("warnings", 0) >= 2


OUTPUT_OPTIONS = [
    pytest.param(("-l", "-vv", "--junitxml=junit.xml", "-rA"), id="locals-vv-junitxml"),
    pytest.param(("--tb=long", "--showlocals", "--full-trace", "-rA"), id="long-showlocals-full-trace"),
    pytest.param(("--tb=short", "-l", "-vv", "-rA"), id="short"),
    pytest.param(("--tb=native", "-l", "-rA"), id="native"),
    pytest.param(("--tb=line", "-rA"), id="line"),
    pytest.param(("-vvv", "-l", "--junitxml=junit.xml", "-o", "junit_logging=all"), id="junit-logging-all"),
    pytest.param(("--color=yes", "-l", "-vv", "-rA"), id="colour"),
    pytest.param(
        ("-vv", "--log-cli-level=INFO", "--log-file=run.log", "--log-file-level=DEBUG", "-rA"), id="live-logs"
    ),
    pytest.param(("-n", "2", "-l", "-vv", "--junitxml=junit.xml", "-rA"), id="xdist-workers"),
]


@pytest.mark.parametrize("options", OUTPUT_OPTIONS)
def test_no_output_of_a_failing_run_holds_a_fragment_of_a_secret(
    pytester: pytest.Pytester, planted: Planted, options: tuple[str, ...]
) -> None:
    result = pytester.runpytest_subprocess(*BASE_OPTIONS, *options)

    assert_planted_outcomes(result)
    outputs = outputs_of(result, pytester.path)
    assert "***" in outputs["stdout"]
    if "-n" in options:
        assert any(name.startswith("serialised-") for name in outputs)
    assert planted.leaks(outputs) == {}


def test_an_in_process_run_holds_no_fragment_of_a_secret(pytester: pytest.Pytester, planted: Planted) -> None:
    result = pytester.runpytest_inprocess(*BASE_OPTIONS, "-l", "-vv", "--junitxml=junit.xml", "-rA")

    assert_planted_outcomes(result)
    assert planted.leaks(outputs_of(result, pytester.path)) == {}


def test_without_the_redaction_plugin_the_same_check_finds_the_secrets(
    pytester: pytest.Pytester, planted: Planted
) -> None:
    options = ("-p", "no:nautes_e2e.plugin.redaction", "-n", "2", "-l", "-vv", "--junitxml=junit.xml")
    result = pytester.runpytest_subprocess(*BASE_OPTIONS, *options)

    leaks = planted.leaks(outputs_of(result, pytester.path))
    assert {"stdout", "junit.xml"} <= set(leaks)
    assert any(name.startswith("serialised-") for name in leaks)
