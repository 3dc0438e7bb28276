"""Save as create-or-update, and the order deletes must follow: what a check creates it removes again, in
the order Nautes accepts, also when the check fails half-way (``finally``). A removal that does not go
leaves a GitLab project in the product, and the session's teardown then fails naming the product.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from nautes_e2e.clients import Document
from nautes_e2e.suite import AppliedDocuments, Observation, StageContext
from suites.api_conformance.conftest import ConformanceNames
from suites.api_conformance.wire import ANY, Answer, Refusal, Wire, expect_refusal, expect_saved

CODEREPO = {"webhook": {"events": ["push_events"]}, "git": {"gitlab": {"visibility": "private"}}}
SAVE_SOURCE = "contract §2.2 (no PUT/PATCH: Save is create-or-update), §2.4 success messages"
#: How long the delete-order check waits on a real installation for GitLab's background deletion of a
#: project (before the product may go) and of the group (before the product is gone) (contract §2.6.2).
GITLAB_DELETION_TIMEOUT_S = 120.0


class Removal:
    """What a check created, removed again: the check deletes through :meth:`delete` (which forgets what
    went), and whatever is left when the block ends is deleted then, the last created first."""

    def __init__(self, wire: Wire, paths: tuple[str, ...]) -> None:
        self._wire = wire
        self.left = list(paths)

    def delete(self, path: str) -> Answer:
        answer = self._wire.send("DELETE", path)
        if answer.status == 200 and path in self.left:
            self.left.remove(path)
        return answer

    def remove_left(self) -> None:
        """Delete what is left; an answer is no error (the check said what was wrong). A CodeRepo whose save
        was refused may have left its GitLab project, which Nautes cannot delete (``NODE_NOT_FOUND``,
        :func:`test_refused_coderepo_keeps_its_gitlab_project`): it is saved validly, then deleted."""
        for path in reversed(self.left):
            answer = self._wire.send("DELETE", path)
            if (
                answer.status == 404
                and isinstance(answer.json, dict)
                and answer.json["reason"] == "NODE_NOT_FOUND"
            ):
                self._wire.send("POST", path, CODEREPO)
                self._wire.send("DELETE", path)


@contextmanager
def removed_afterwards(wire: Wire, *paths: str) -> Iterator[Removal]:
    """``paths`` (in the order created) are deleted when the block ends unless the check deleted them."""
    removal = Removal(wire, paths)
    try:
        yield removal
    finally:
        removal.remove_left()


@pytest.mark.stage("product-save-updates")
def test_product_save_updates_the_product(wire: Wire, product: str) -> None:
    """The ``product`` fixture's save created the product; saving it again updates the GitLab group. Keys
    the request has no field for are dropped, not refused (protojson ``DiscardUnknown``)."""
    path = f"/api/v1/products/{product}"
    gitlab = {"path": product, "visibility": "private", "description": "updated by api_conformance"}
    answer = wire.send("POST", path, {"git": {"gitlab": {**gitlab, "unknown": 1}}, "parent_id": 0})
    source = f"{SAVE_SOURCE}, §2.1 (DiscardUnknown); NAUTES app/api-server/internal/service/product.go"
    expect_saved(answer, "Successfully saved", source)
    reply = wire.send("GET", path)
    expected = {"name": product, "git": {"gitlab": gitlab, "github": None}}
    assert (reply.status, reply.json) == (200, expected), f"[contract §2.4 GetProductReply] {reply.shown()}"


@pytest.mark.stage("product-list-field-selector")
def test_product_list_selects_by_substring(wire: Wire, product: str) -> None:
    """``field_selector=product_name=<v>`` keeps the products whose name *contains* ``v`` (mode In)."""
    part = product[len("api") :]
    answer = wire.send("GET", f"/api/v1/products?field_selector=product_name={part}")
    source = "contract §2.2 list filters; NAUTES app/api-server/pkg/selector/stringselector.go In (Contains)"
    assert answer.status == 200, f"[{source}] {answer.shown()}"
    assert isinstance(answer.json, dict), f"[{source}] {answer.shown()}"
    names = [item["name"] for item in answer.json["items"]]
    assert product in names, f"[{source}] {product} not listed for {part!r}: {names}"
    assert all(part in name for name in names), f"[{source}] a name without {part!r}: {names}"


@pytest.mark.stage("project-save-updates")
def test_project_save_creates_then_updates(wire: Wire, product: str) -> None:
    path = f"/api/v1/products/{product}/projects/upsert"
    source = f"{SAVE_SOURCE}; NAUTES app/api-server/internal/service/project.go"
    with removed_afterwards(wire, path) as removal:
        for language in ("golang", "java"):
            expect_saved(
                wire.send("POST", path, {"language": language}),
                "Successfully saved upsert configuration",
                source,
            )
        reply = wire.send("GET", path)
        assert (reply.status, reply.json) == (
            200,
            {"product": product, "name": "upsert", "language": "java"},
        ), f"[contract §2.4 Project reply] {reply.shown()}"
        expect_saved(removal.delete(path), "Successfully deleted upsert configuration", source)
    expect_refusal(
        wire.send("GET", path),
        Refusal(
            404, "RESOURCE_NOT_FOUND", "the resource is not found", "contract §2.5; NAUTES biz/errors.go"
        ),
    )


@pytest.mark.stage("project-delete-refused-while-referenced")
def test_project_delete_refused_while_a_coderepo_names_it(wire: Wire, product: str) -> None:
    """The global check runs on deletes too: a project a CodeRepo belongs to cannot go before the CodeRepo."""
    project = f"/api/v1/products/{product}/projects/referenced"
    coderepo = f"/api/v1/products/{product}/coderepos/referring"
    with removed_afterwards(wire, project, coderepo) as removal:
        expect_saved(
            wire.send("POST", project, {"language": "golang"}),
            "Successfully saved referenced configuration",
            SAVE_SOURCE,
        )
        expect_saved(
            wire.send("POST", coderepo, {**CODEREPO, "project": "referenced"}),
            "Successfully saved referring configuration",
            SAVE_SOURCE,
        )
        expect_refusal(
            removal.delete(project),
            Refusal(
                500,
                "",
                f"during global validation, it was found that Project 'referenced' does not exist or is "
                f"unavailable. Please check CodeRepo 'referring' in directory 'code-repos/repo-{ANY}'",
                "contract §2.6.8 (global checks on deletes), §2.6.3 (project must exist); "
                "NAUTES app/api-server/internal/biz/coderepo.go CheckReference, biz/errors.go",
            ),
        )
        expect_saved(removal.delete(coderepo), "Successfully deleted referring configuration", SAVE_SOURCE)
        expect_saved(removal.delete(project), "Successfully deleted referenced configuration", SAVE_SOURCE)


@pytest.mark.stage("coderepo-refused-keeps-gitlab-project")
def test_refused_coderepo_keeps_its_gitlab_project(wire: Wire, product: str) -> None:
    """SaveCodeRepo creates the GitLab project before the global check; when the check refuses the save the
    project stays, and DELETE cannot find the resource (``NODE_NOT_FOUND``). Saving it validly adopts the
    project, and then it can be deleted."""
    path = f"/api/v1/products/{product}/coderepos/refused"
    source = (
        "contract §2.6.3 (webhook events, a global check); "
        "NAUTES app/api-server/internal/biz/coderepo.go SaveCodeRepo"
    )
    with removed_afterwards(wire, path) as removal:
        expect_refusal(
            wire.send("POST", path, {**CODEREPO, "webhook": {"events": ["push_events", "wiki_page_events"]}}),
            Refusal(
                500,
                "",
                "invalid webhook wiki_page_events please refer to gitlab api documentation: "
                "https://docs.gitlab.com/ee/api/projects.html#edit-project-hook",
                source,
            ),
        )
        expect_refusal(
            removal.delete(path),
            Refusal(
                404,
                "NODE_NOT_FOUND",
                f"failed to get coderepo of repository repo-{ANY}",
                "contract §2.5 NODE_NOT_FOUND; NAUTES app/api-server/internal/biz/coderepo.go DeleteCodeRepo",
            ),
        )
        expect_saved(
            wire.send("POST", path, CODEREPO), "Successfully saved refused configuration", SAVE_SOURCE
        )
        expect_saved(removal.delete(path), "Successfully deleted refused configuration", SAVE_SOURCE)


@pytest.fixture(scope="module")
def bound_coderepo(wire: Wire, product: str) -> Iterator[str]:
    """A CodeRepo for the binding checks, saved once for them and removed after them."""
    path = f"/api/v1/products/{product}/coderepos/bound"
    with removed_afterwards(wire, path):
        expect_saved(wire.send("POST", path, CODEREPO), "Successfully saved bound configuration", SAVE_SOURCE)
        yield "bound"


@pytest.mark.stage("coderepo-reply")
def test_coderepo_reply_names_the_repository(wire: Wire, product: str, bound_coderepo: str) -> None:
    """A CodeRepo is read back with the product's group name, the repository's path as its name, every
    field present (EmitUnpopulated) and the repository's clone URLs."""
    reply = wire.send("GET", f"/api/v1/products/{product}/coderepos/{bound_coderepo}")
    source = "contract §2.4 CodeRepo reply, §2.1 EmitUnpopulated; NAUTES internal/service/coderepo.go"
    assert reply.status == 200, f"[{source}] {reply.shown()}"
    body = reply.json
    assert isinstance(body, dict), f"[{source}] {reply.shown()}"
    gitlab = body["git"]["gitlab"]
    urls = {key: gitlab.pop(key) for key in ("ssh_url_to_repo", "http_url_to_repo")}
    assert body == {
        "product": product, "name": bound_coderepo, "project": "", "webhook": {"events": ["push_events"]},
        "deployment_runtime": False, "pipeline_runtime": False,
        "git": {"gitlab": {"name": bound_coderepo, "path": bound_coderepo, "visibility": "private",
                           "description": ""}, "github": None},
    }, f"[{source}] {reply.shown()}"  # fmt: skip
    for key, url in urls.items():
        assert str(url).endswith(f"/{product}/{bound_coderepo}.git"), f"[{source}] {key} {url!r}"


@pytest.mark.stage("binding-absent-project")
def test_binding_to_an_absent_project_is_refused(wire: Wire, product: str, bound_coderepo: str) -> None:
    expect_refusal(
        wire.send(
            "POST",
            f"/api/v1/products/{product}/coderepobindings/binding",
            {"projects": ["absent-project"], "permissions": "readonly", "coderepo": bound_coderepo},
        ),
        Refusal(500, "", "project resource absent-project does not exist or is invalid",
                "contract §2.6.4; NAUTES app/api-server/internal/biz/coderepobinding.go CheckReference"),
    )  # fmt: skip


@pytest.mark.stage("binding-repository-not-modifiable")
def test_binding_keeps_its_repository(wire: Wire, product: str, bound_coderepo: str) -> None:
    """A binding's repository cannot change (typed ``NOT_ALLOWED_MODIFY``, code 500); the binding stays."""
    path = f"/api/v1/products/{product}/coderepobindings/kept"
    body = {"projects": [], "permissions": "readonly", "coderepo": bound_coderepo}
    with removed_afterwards(wire, path) as removal:
        expect_saved(wire.send("POST", path, body), "Successfully saved kept configuration", SAVE_SOURCE)
        expect_refusal(
            wire.send("POST", path, {**body, "coderepo": "default.project"}),
            Refusal(500, "NOT_ALLOWED_MODIFY", "It is not allowed to modify the authorized repository. If "
                    "you want to change the authorized repository, please delete the authorization",
                    "contract §2.5 typed errors, §2.6.4; NAUTES app/api-server/internal/biz/"
                    "coderepobinding.go"),
        )  # fmt: skip
        reply = wire.send("GET", path)
        expected = {"product": product, "name": "kept", **body}
        assert (reply.status, reply.json) == (200, expected), (
            f"[contract §2.4 CodeRepoBinding] {reply.shown()}"
        )
        expect_saved(removal.delete(path), "Successfully deleted kept configuration", SAVE_SOURCE)


@pytest.mark.stage("product-delete-order", timeout_s=GITLAB_DELETION_TIMEOUT_S)
def test_product_delete_waits_for_its_repositories(
    stage: StageContext, wire: Wire, names: ConformanceNames, applied: AppliedDocuments
) -> None:
    """A product goes only once its group holds nothing but ``default.project``: remove its CodeRepos
    first. GitLab removes a project in a background job, so the product delete is refused until it has.
    Both are saved through ``applied``: if the check fails half-way, the session's teardown removes them."""
    second = names.second_product
    product = f"/api/v1/products/{second}"
    not_empty = Refusal(
        500,
        "",
        f"here are multiple project in {second}, unable to delete",
        "contract §2.6.2; NAUTES app/api-server/internal/biz/product.go DeleteProduct",
    )
    gone = Refusal(
        500,
        "",
        "there are no default projects under this product",
        "contract §2.5 not-found per operation; NAUTES app/api-server/internal/biz/product.go",
    )
    documents = [
        Document(
            "Product", {"name": second, "git": {"gitlab": {"path": second, "visibility": "private"}}}, "order"
        ),
        Document("CodeRepo", {"name": "kept", "product": second, **CODEREPO}, "order"),
    ]
    saved = [result.message for result in applied.apply(stage, documents)]
    assert saved == ["Successfully saved", "Successfully saved kept configuration"], (
        f"[{SAVE_SOURCE}] {saved}"
    )
    expect_refusal(wire.send("DELETE", product), not_empty)
    expect_saved(
        wire.send("DELETE", f"{product}/coderepos/kept"),
        "Successfully deleted kept configuration",
        SAVE_SOURCE,
    )

    def deleted() -> Observation:
        answer = wire.send("DELETE", product)
        if answer.status == 200:
            expect_saved(answer, "Successfully deleted", SAVE_SOURCE)
            return Observation(True, "deleted")
        expect_refusal(answer, not_empty)  # anything else is no state to wait out but a wrong answer
        return Observation(False, "refused: GitLab has not removed the CodeRepo's project yet")

    stage.wait_for(f"product {second} to be deleted", deleted)

    def group_gone() -> Observation:
        answer = wire.send("GET", product)
        if answer.status == 200:
            return Observation(False, "GitLab has not removed the group yet")
        expect_refusal(answer, gone)
        return Observation(True, "gone")

    stage.wait_for(f"product {second} to be gone", group_gone)
