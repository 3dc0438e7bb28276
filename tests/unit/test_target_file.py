"""The target file (``schema: 1``): strict validation with file- and field-named errors, secrets from the
environment, relative paths, and the ``existing`` target that only reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from nautes_e2e.secrets import redact
from nautes_e2e.targets import ExistingTarget, TargetError, TargetFileError, World, load_target_file

ENVIRON = {
    "NAUTES_E2E_GITLAB_TOKEN": "glpat-target-file-token",
    "NAUTES_E2E_VAULT_TOKEN": "vault-root-token-for-tests",
    "NAUTES_E2E_REGISTRY_USERNAME": "pusher",
    "NAUTES_E2E_REGISTRY_PASSWORD": "registry-password-for-tests",
}


def target_document() -> dict[str, Any]:
    return {
        "schema": 1,
        "simulated": True,
        "nautes": {"url": "http://127.0.0.1:8000/"},
        "gitlab": {
            "url": "http://127.0.0.1:8001",
            "sshUrl": "ssh://git@127.0.0.1:2222",
            "tokenEnv": "NAUTES_E2E_GITLAB_TOKEN",
        },
        "vault": {"url": "http://127.0.0.1:8200", "tokenEnv": "NAUTES_E2E_VAULT_TOKEN"},
        "registry": {
            "url": "127.0.0.1:5000",
            "scheme": "http",
            "usernameEnv": "NAUTES_E2E_REGISTRY_USERNAME",
            "passwordEnv": "NAUTES_E2E_REGISTRY_PASSWORD",
        },
        "clusters": [
            {
                "name": "runtime",
                "kubeconfig": "kubeconfig-runtime.yaml",
                "apiServer": "http://127.0.0.1:6443",
                "ip": "127.0.0.1",
            },
            {
                "name": "second",
                "kubeconfig": "sub/kc.yaml",
                "apiServer": "https://10.0.0.2:6443",
                "ip": "10.0.0.2",
            },
        ],
        "caBundle": None,
    }


def write_target(directory: Path, document: dict[str, Any]) -> Path:
    (directory / "sub").mkdir(exist_ok=True)
    (directory / "kubeconfig-runtime.yaml").write_text("apiVersion: v1\nkind: Config\n")
    (directory / "sub" / "kc.yaml").write_text("apiVersion: v1\nkind: Config\n")
    path = directory / "target.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_valid_target_file(tmp_path: Path) -> None:
    world = load_target_file(write_target(tmp_path, target_document()), ENVIRON)
    assert isinstance(world, World)
    assert (world.target, world.simulated) == ("existing", True)
    assert world.nautes_url == "http://127.0.0.1:8000"
    assert world.gitlab_ssh_url == "ssh://git@127.0.0.1:2222"
    assert world.gitlab_token.reveal() == ENVIRON["NAUTES_E2E_GITLAB_TOKEN"]
    assert world.vault_token.reveal() == ENVIRON["NAUTES_E2E_VAULT_TOKEN"]
    assert (world.registry.host, world.registry.scheme) == ("127.0.0.1:5000", "http")
    assert world.registry.password is not None
    assert world.registry.password.reveal() == ENVIRON["NAUTES_E2E_REGISTRY_PASSWORD"]
    assert list(world.clusters) == ["runtime", "second"]
    assert world.clusters["runtime"].kubeconfig == tmp_path / "kubeconfig-runtime.yaml"
    assert world.clusters["second"].kubeconfig == tmp_path / "sub" / "kc.yaml"
    assert world.clusters["second"].api_server == "https://10.0.0.2:6443"
    assert (world.nautes_ca_bundle, world.gitlab_ca_bundle, world.vault_ca_bundle) == (None, None, None)
    assert (world.registry.path, world.registry.insecure, world.registry.ca_pems) == ("", False, ())
    assert (dict(world.stage_timeouts), world.nautes_request_timeout_s, world.timeout_scale) == (
        {},
        None,
        1.0,
    )
    assert ENVIRON["NAUTES_E2E_GITLAB_TOKEN"] not in repr(world)


def test_a_world_says_how_long_its_steps_take(tmp_path: Path) -> None:
    document = target_document()
    document["timeouts"] = {
        "scale": 0.01,
        "stages": {"initialise_product": 30, "teardown": 2.5},
        "nautesRequest": 45,
    }

    world = load_target_file(write_target(tmp_path, document), ENVIRON)

    assert world.timeout_scale == 0.01
    assert dict(world.stage_timeouts) == {"initialise_product": 30.0, "teardown": 2.5}
    assert world.nautes_request_timeout_s == 45.0


def test_the_credentials_of_a_cluster_kubeconfig_are_masked_even_in_a_cut_repr(tmp_path: Path) -> None:
    token, key_data = "kube-admin-token-planted-3f9a1c", "LS0tLS1CRUdJTi-planted-key-data"
    path = write_target(tmp_path, target_document())
    padding = "\n".join(f"# comment line {number} that makes the file long" for number in range(20))
    (tmp_path / "kubeconfig-runtime.yaml").write_text(
        f"apiVersion: v1\nkind: Config\n{padding}\nusers:\n"
        f"- name: admin\n  user:\n    token: {token}\n"
        f"- name: cert\n  user:\n    client-key-data: {key_data}\n"
    )

    world = load_target_file(path, ENVIRON)

    text = world.clusters["runtime"].kubeconfig.read_text()
    cut_repr = "'" + repr(text)[-150:]  # what pytest's --showlocals prints of a long string: its two ends
    assert token in cut_repr
    assert redact(text) == "***\n"
    assert token not in redact(cut_repr)
    assert key_data not in redact(cut_repr)
    assert redact(cut_repr).count("***") == 2


def test_registry_credentials_are_optional_together(tmp_path: Path) -> None:
    document = target_document()
    document["registry"] = {"url": "registry.example"}
    world = load_target_file(write_target(tmp_path, document), ENVIRON)
    assert (world.registry.scheme, world.registry.username, world.registry.password) == ("https", None, None)


def mutate(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or with value ... delete) a dotted path such as ``clusters.0.ip``."""
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("schema", 2, "schema: must be 1"),
        ("schema", True, "schema: must be an integer"),  # no coercion: true is no 1
        ("schema", "1", "schema: must be an integer"),
        ("schema", ..., "schema: is required"),
        ("colour", "blue", "colour: unknown key"),
        ("gitlab.sshURL", "x", "gitlab.sshURL: unknown key"),
        ("gitlab.sshUrl", ..., "gitlab.sshUrl: is required"),
        ("nautes.url", "127.0.0.1:8000", "nautes.url: must be a http or https URL"),
        ("nautes", "http://127.0.0.1:8000", "nautes: must be a mapping"),
        ("gitlab.tokenEnv", 5, "gitlab.tokenEnv: must be a non-empty string"),
        ("vault", ..., "vault: is required"),
        (
            "vault.tokenEnv",
            "NOT_SET_ANYWHERE",
            "vault.tokenEnv: environment variable NOT_SET_ANYWHERE is not set",
        ),
        ("registry.url", "http://127.0.0.1:5000", "registry.url: must be host[:port][/path]"),
        ("registry.url", "https://ghcr.io/org", "registry.url: must be host[:port][/path]"),
        ("registry.url", "ghcr.io/org//team", "registry.url: the path has an empty segment"),
        ("registry.url", "ghcr.io/org/", "registry.url: the path has an empty segment"),
        (
            "registry.url",
            "ghcr.io/Nautes-Labs",
            "registry.url: path segment 'Nautes-Labs' must be lower-case",
        ),
        ("registry.url", "ghcr.io:port/org", "registry.url: 'ghcr.io:port' is not a registry host[:port]"),
        ("registry.insecure", "yes", "registry.insecure: must be true or false"),
        ("registry.caBundle", "no-such-ca.pem", "registry.caBundle: file "),
        ("gitlab.caBundle", "kubeconfig-runtime.yaml", "gitlab.caBundle: file "),
        ("vault.caBundle", "kubeconfig-runtime.yaml", "vault.caBundle: file "),
        ("nautes.caBundle", "kubeconfig-runtime.yaml", "nautes.caBundle: file "),
        ("registry.scheme", "ftp", "registry.scheme: must be 'http' or 'https'"),
        ("registry.passwordEnv", ..., "registry.passwordEnv: give both usernameEnv and passwordEnv"),
        ("registry.usernameEnv", ..., "registry.usernameEnv: give both usernameEnv and passwordEnv"),
        ("clusters", [], "clusters: must be a non-empty list"),
        ("clusters", {"name": "runtime"}, "clusters: must be a list"),
        ("clusters.0.name", " ", "clusters[0].name: must be a non-empty string"),
        ("clusters.0.ip", "localhost", "clusters[0].ip: 'localhost' is not an IP address"),
        ("clusters.1.kubeconfig", "missing.yaml", "clusters[1].kubeconfig: file "),
        ("clusters.1.name", "runtime", "clusters[1].name: duplicate cluster name runtime"),
        ("clusters.0.apiServer", ..., "clusters[0].apiServer: is required"),
        ("caBundle", "no-such-ca.pem", "caBundle: file "),
        ("simulated", "yes", "simulated: must be true or false"),
        ("timeouts", {"stages": {"preflight": 0}}, "timeouts.stages.preflight: must be a positive number"),
        ("timeouts", {"stages": {"preflight": "5"}}, "timeouts.stages.preflight: Input should be a valid"),
        ("timeouts", {"nautesRequest": -1}, "timeouts.nautesRequest: must be a positive number"),
        ("timeouts", {"scale": 0}, "timeouts.scale: must be a positive number"),
        ("timeouts", {"stage": {}}, "timeouts.stage: unknown key"),
    ],
)
def test_invalid_target_files_name_the_file_and_field(
    tmp_path: Path, path: str, value: Any, message: str
) -> None:
    target = write_target(tmp_path, mutate(target_document(), path, value))
    with pytest.raises(TargetFileError) as caught:
        load_target_file(target, ENVIRON)
    assert str(caught.value).startswith(f"{target}: {message}")
    assert "\n" not in str(caught.value)  # that one problem only
    assert all(secret not in str(caught.value) for secret in ENVIRON.values())
    assert isinstance(caught.value, TargetError)
    assert isinstance(caught.value, ValueError)


def test_every_problem_is_reported_at_once_one_line_each(tmp_path: Path) -> None:
    document = mutate(mutate(target_document(), "colour", "blue"), "clusters.1.ip", "ten")
    target = write_target(tmp_path, mutate(document, "vault.tokenEnv", "NOT_SET_ANYWHERE"))
    with pytest.raises(TargetFileError) as caught:
        load_target_file(target, ENVIRON)
    assert str(caught.value).splitlines() == [
        f"{target}: vault.tokenEnv: environment variable NOT_SET_ANYWHERE is not set (or empty)",
        f"{target}: clusters[1].ip: 'ten' is not an IP address",
        f"{target}: colour: unknown key",
    ]


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    target.write_text("- schema: 1\n")
    with pytest.raises(TargetFileError, match=r"target\.yaml: \(top level\): must be a mapping$"):
        load_target_file(target, ENVIRON)


def test_an_invalid_file_registers_no_kubeconfig_credential(tmp_path: Path) -> None:
    token = "kube-token-of-an-invalid-target-7d2e"
    target = write_target(tmp_path, mutate(target_document(), "vault.tokenEnv", "NOT_SET_ANYWHERE"))
    (tmp_path / "kubeconfig-runtime.yaml").write_text(f"users:\n- name: a\n  user:\n    token: {token}\n")
    with pytest.raises(TargetFileError):
        load_target_file(target, ENVIRON)
    assert redact(token) == token  # nothing is registered before the whole file is valid


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    target = write_target(tmp_path, target_document())
    with pytest.raises(
        TargetFileError, match=r"gitlab\.tokenEnv: environment variable NAUTES_E2E_GITLAB_TOKEN is not set"
    ):
        load_target_file(target, {**ENVIRON, "NAUTES_E2E_GITLAB_TOKEN": ""})


def test_unreadable_or_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(TargetFileError, match=r"absent\.yaml: cannot read the file \(No such file"):
        load_target_file(tmp_path / "absent.yaml", ENVIRON)
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema: 1\nnautes: {url: [\n")
    with pytest.raises(TargetFileError, match=r"broken\.yaml: not valid YAML at line 3, column 1: "):
        load_target_file(broken, ENVIRON)
    # libyaml parses, but a refused file is told in PyYAML's words ("... in this context" in libyaml's)
    broken.write_text("schema: 1\nnautes: url: x\n")
    with pytest.raises(TargetFileError, match=r"line 2, column 12: mapping values are not allowed here$"):
        load_target_file(broken, ENVIRON)


def test_existing_target_reads_the_file_and_stops_nothing(tmp_path: Path) -> None:
    target = ExistingTarget(write_target(tmp_path, target_document()), ENVIRON)
    assert target.start().target == "existing"
    target.stop()
    target.stop()


def test_a_registry_url_may_carry_a_path(tmp_path: Path) -> None:
    document = mutate(target_document(), "registry.url", "Registry.Example:5000/nautes-labs/team_a")
    registry = load_target_file(write_target(tmp_path, document), ENVIRON).registry
    assert (registry.host, registry.path) == ("Registry.Example:5000", "nautes-labs/team_a")
    assert registry.image_prefix == "Registry.Example:5000/nautes-labs/team_a"
    assert registry.repository("devops-sample") == "nautes-labs/team_a/devops-sample"
    assert registry.url == "http://Registry.Example:5000", "the API is at the host, whatever the path"


def write_pem(path: Path) -> Path:
    """A real CA certificate (what OpenSSL must be able to load), from certifi's bundle."""
    import certifi

    bundle = Path(certifi.where()).read_text()
    end = "-----END CERTIFICATE-----"
    path.write_text(bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end) + len(end)] + "\n")
    return path


def test_ca_bundles_are_per_service_added_to_the_system_cas(tmp_path: Path) -> None:
    import certifi

    every, gitlab_only, registry_only = (
        write_pem(tmp_path / name) for name in ("all.pem", "gl.pem", "r.pem")
    )
    document = target_document()
    document["caBundle"] = "all.pem"
    document["gitlab"]["caBundle"] = str(gitlab_only)  # absolute paths are kept
    document["registry"]["caBundle"] = "r.pem"
    document["registry"]["insecure"] = True

    world = load_target_file(write_target(tmp_path, document), ENVIRON)

    system = Path(certifi.where()).read_text().rstrip("\n") + "\n"
    assert world.vault_ca_bundle == world.nautes_ca_bundle  # the same content: one shared file
    assert world.vault_ca_bundle is not None
    assert world.gitlab_ca_bundle is not None
    assert world.vault_ca_bundle.read_text() == system + every.read_text()
    assert world.gitlab_ca_bundle.read_text() == system + every.read_text() + gitlab_only.read_text()
    assert world.registry.ca_pems == (every, registry_only)
    assert world.registry.insecure is True
