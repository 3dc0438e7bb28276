"""The redactor: a secret is masked wherever it shows up, whole or in the fragments pytest prints of it;
ordinary text (a kubeconfig's keys and names, PEM armour, the words of a made-up secret) is left alone."""

from __future__ import annotations

import base64
import json
import secrets

from _pytest._io.pprint import PrettyPrinter
from _pytest._io.saferepr import saferepr

from nautes_e2e.secrets import MASK, Secret, redact, register

PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-planted\n-----END OPENSSH PRIVATE KEY-----"
)


def token() -> str:
    """Like the reference stack's kube admin token: 43 url-safe characters. Without ``-`` and ``_``: a
    lower-case word between them, or before them as a vendor prefix, is left readable (see the tests of
    made-up secrets and of ``glpat-``)."""
    return secrets.token_urlsafe(32).replace("-", "A").replace("_", "b")


def leaked(text: str, secret: str) -> set[str]:
    """Every 6-character window of ``secret`` still in ``text``."""
    return {secret[i : i + 6] for i in range(len(secret) - 5)} & {
        text[i : i + 6] for i in range(len(text) - 5)
    }


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


def test_both_ends_of_a_value_cut_by_saferepr_are_masked() -> None:
    value = token()
    register(value)
    body = {"kind": "Cluster", "note": "x" * 30, "token": value, "tail": "y" * 3}
    for maxsize in range(40, 120, 7):  # the cut falls at every place of the token in turn
        printed = saferepr(body, maxsize=maxsize)
        assert "..." in printed
        assert not leaked(redact(printed), value), printed


def test_a_cut_leaves_at_most_three_characters_either_side_of_the_dots() -> None:
    value = token()
    register(value)

    assert redact(f"assert '{value[:4]}...{value[-5:]}' == ''") == f"assert '{MASK}...{MASK}' == ''"
    assert redact(f"assert '{value[:3]}...' == ''") == f"assert '{value[:3]}...' == ''"


def test_a_bytes_repr_split_over_lines_is_masked_on_both_lines() -> None:
    value = token()
    register(value)
    raw = json.dumps({"apiServer": "https://127.0.0.1:6443", "token": value, "note": "x" * 30}).encode()

    printed = PrettyPrinter(width=80).pformat(raw)

    assert printed.count("\n") >= 1
    assert not leaked(redact(printed), value), printed
    for cut in range(1, 6):  # a line break leaving only a few characters on one side
        split = f"(b'token={value[:-cut]}'\n b'{value[-cut:]}&x=1')"
        assert redact(split) == f"(b'token={MASK}'\n b'{MASK}&x=1')"
        split = f"(b'token={value[:cut]}'\n b'{value[cut:]}&x=1')"
        assert redact(split) == f"(b'token={MASK}'\n b'{MASK}&x=1')"


def test_the_lines_of_a_key_are_masked_in_a_cut_repr_of_it() -> None:
    body = base64.b64encode(secrets.token_bytes(100)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    key = "\n".join(["-----BEGIN OPENSSH PRIVATE KEY-----", *lines, "-----END OPENSSH PRIVATE KEY-----", ""])
    register(key)

    for maxsize in range(60, 200, 9):
        printed = redact(saferepr({"key": key}, maxsize=maxsize))
        for line in lines:
            assert not leaked(printed, line.rstrip("=")), printed
    assert "-----BEGIN OPENSSH PRIVATE KEY-----\\n" in redact(saferepr(key, maxsize=100))


def test_a_secret_is_masked_base64_encoded_even_inside_a_longer_blob() -> None:
    value = token()
    register(value)
    for prefix in ("", "t", "to", "token: "):  # each of the three alignments
        blob = base64.b64encode(f"{prefix}{value}\nmore: data\n".encode()).decode()
        assert not leaked(redact(blob), base64.b64encode(value.encode()).decode()[4:-4])


def test_a_kubeconfig_keeps_its_keys_names_and_hosts() -> None:
    admin, key_data = token(), base64.b64encode(secrets.token_bytes(300)).decode()
    kubeconfig = (
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
        "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n"
        "    server: https://nautes-e2e-runtime.local:6443\n  name: k3d-nautes-e2e-abc1\n"
        f"users:\n- name: cluster-admin\n  user:\n    token: {admin}\n    client-key-data: {key_data}\n"
    )
    other = kubeconfig.replace(admin, "not-registered").replace("k3d-nautes-e2e-abc1", "k3d-nautes-e2e-def2")
    before = redact(repr(other))  # as whatever other tests registered leaves it
    register(kubeconfig)
    register(admin)  # as the target file registers each credential of a kubeconfig on its own

    printed = redact(repr(other))

    assert printed == before.replace(key_data.rstrip("="), MASK)  # its keys, names and hosts untouched
    assert not leaked(printed, key_data)
    assert redact(f"client-key-data: {key_data[:30]}...") == f"client-key-data: {MASK}..."
    assert redact(f"token: {admin[:20]}") == f"token: {MASK}"


def test_pem_armour_and_base64_certificates_are_left_alone() -> None:
    body = base64.b64encode(secrets.token_bytes(48)).decode()
    key = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", body, "-----END RSA PRIVATE KEY-----", ""])
    register(key)
    register(base64.b64encode(key.encode()).decode())
    certificate = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQD\n"
    encoded = base64.b64encode(certificate.encode()).decode()

    assert redact(certificate) == certificate
    assert redact(encoded) == encoded
    assert redact("-----BEGIN RSA PRIVATE KEY-----") == "-----BEGIN RSA PRIVATE KEY-----"


def test_the_words_of_a_made_up_secret_stay_readable_elsewhere() -> None:
    register("registry-password-1")
    register("glpat-unreachable-test-token-9d2e")

    text = "ServiceUnreachable: give the registry's CA as registry.caBundle, or a test-token"
    assert redact(text) == text
    assert redact("password registry-password-1 sent") == f"password {MASK} sent"
    cut = redact("'glpat-unreachable-test-token-9d2...'")
    assert "glpat-unreachable-test" in cut
    assert "9d2" not in cut


def test_ordinary_log_text_is_untouched_and_redacting_twice_changes_nothing() -> None:
    values = [token(), "dev-" + secrets.token_hex(16), "pusher-" + secrets.token_hex(4)]
    for value in values:
        register(value)
    log = (
        "2024-05-01T12:00:00Z INFO [stage] applied product demo-quickstart in pr-demo-quickstart...\n"
        "Waiting for push... digest=sha256:" + "ab12" * 16 + " id=3f2a9c1e-77b0-4c1d-9e1f-2b3c4d5e6f70\n"
    )
    leaky = f"{log}{values[0][:30]}...{values[1][-9:]} pushed by {values[2]}"

    assert redact(log) == log
    assert redact(redact(leaky)) == redact(leaky)
    assert all(not leaked(redact(leaky), value) for value in values)


def test_a_multi_line_secret_in_an_xml_attribute_is_masked() -> None:
    register(PRIVATE_KEY)
    attribute = PRIVATE_KEY.replace("\n", "&#10;")

    assert redact(f'<failure message="{attribute}"/>') == f'<failure message="{MASK}"/>'


def test_a_vendor_prefix_stays_readable_and_the_rest_is_masked() -> None:
    gitlab, vault = "glpat-" + token()[:20], "dev-" + secrets.token_hex(16)
    register(gitlab)
    register(vault)

    assert redact("a GitLab token looks like glpat-..., Vault's dev root token like dev-...") == (
        "a GitLab token looks like glpat-..., Vault's dev root token like dev-..."
    )
    cut = redact(f"'{gitlab[:12]}...{vault[-7:]}'")
    assert not leaked(cut, gitlab[6:])
    assert not leaked(cut, vault[4:])


def test_a_random_token_that_starts_like_a_vendor_prefix_is_masked_where_pytest_cuts_it() -> None:
    lookalike = "abcde-" + token()[:37]
    register(lookalike)

    assert redact(f"'{lookalike[:8]}...'") == f"'{MASK}...'"
    assert redact(f"(b'x={lookalike[:8]}'\n b'{lookalike[8:]}')") == f"(b'x={MASK}'\n b'{MASK}')"
    assert redact("'abcde-...'") == "'abcde-...'"
