"""The strict ``$variable`` renderer: what is replaced, what is left alone, and what is refused."""

from __future__ import annotations

import pytest

from nautes_e2e.scenario import ScenarioError, check, render

DECLARED = {"suffix", "cluster-ip", "kubeconfig", "x", "sc-repo-id"}


def test_variables_are_replaced_where_the_quickstart_writes_them() -> None:
    text = 'name: demo-$suffix\nhost: "devops-sample.$cluster-ip.nip.io"\npath: repo-$sc-repo-id/default\n'
    values = {"suffix": "qs", "cluster-ip": "10.0.0.7", "sc-repo-id": "57"}
    assert render(text, values, source="t.yaml", declared=DECLARED) == (
        'name: demo-qs\nhost: "devops-sample.10.0.0.7.nip.io"\npath: repo-57/default\n'
    )


def test_one_letter_variable_and_name_ending_before_punctuation() -> None:
    assert render("$x-$suffix.", {"x": "a", "suffix": "b"}, source="t", declared=DECLARED) == "a-b."


def test_unknown_variable_names_the_file_line_and_variable() -> None:
    with pytest.raises(ScenarioError) as error:
        render("a: 1\nb: $sufix\n", {"suffix": "qs"}, source="product.yaml", declared=DECLARED)
    assert str(error.value) == "product.yaml:2: $sufix is not a declared variable"


def test_a_declared_variable_without_a_value_is_an_error() -> None:
    with pytest.raises(ScenarioError, match=r"^pipeline.yaml:1: \$sc-repo-id has no value$"):
        render("id: $sc-repo-id", {}, source="pipeline.yaml", declared=DECLARED)


def test_unused_variables_need_no_value() -> None:
    assert render("plain: text\n", {}, source="t", declared=DECLARED) == "plain: text\n"


def test_double_dollar_is_a_literal_dollar() -> None:
    assert render("price: $$5 and $$suffix", {"suffix": "qs"}, source="t", declared=DECLARED) == (
        "price: $5 and $suffix"
    )


def test_tekton_expressions_are_left_untouched() -> None:
    text = "value: $(tasks.git-clone-sourcecode.results.commit)-$suffix $(params.REVISION)\n"
    assert render(text, {"suffix": "qs"}, source="t", declared=DECLARED) == (
        "value: $(tasks.git-clone-sourcecode.results.commit)-qs $(params.REVISION)\n"
    )


@pytest.mark.parametrize("text", ["cost: 5$", "a: ${suffix}", "a: $Suffix", "a: $1"])
def test_any_other_dollar_is_refused(text: str) -> None:
    with pytest.raises(ScenarioError, match=r"^t:1: stray '\$'"):
        render(text, {"suffix": "qs"}, source="t", declared=DECLARED)


def test_multi_line_value_standing_alone_keeps_the_line_indentation() -> None:
    kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://1.2.3.4:6443\n\nkind: Config\n"
    text = "spec:\n  kubeconfig: |\n    $kubeconfig\n  name: x\n"
    assert render(text, {"kubeconfig": kubeconfig}, source="t", declared=DECLARED) == (
        "spec:\n  kubeconfig: |\n"
        "    apiVersion: v1\n    clusters:\n    - cluster:\n        server: https://1.2.3.4:6443\n"
        "\n    kind: Config\n"
        "  name: x\n"
    )


def test_multi_line_value_inside_a_line_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"^c.yaml:1: \$kubeconfig has several lines"):
        render("kubeconfig: $kubeconfig\n", {"kubeconfig": "a\nb"}, source="c.yaml", declared=DECLARED)


def test_errors_never_quote_values() -> None:
    secret_value = "token: s3cr3t-do-not-print\nmore"
    with pytest.raises(ScenarioError) as error:
        render("k: $kubeconfig", {"kubeconfig": secret_value}, source="c", declared=DECLARED)
    assert "s3cr3t" not in str(error.value)


def test_check_reports_the_variables_used() -> None:
    assert check("$suffix $x $$cluster-ip $(params.A)", source="t", declared=DECLARED) == {"suffix", "x"}
