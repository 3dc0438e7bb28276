"""Refusals inside an existing product: resources that do not exist, validation of each kind's save
(PGV first, then the service's and the global checks), references to what does not exist.

None of these saves changes anything (each is refused before the push to ``default.project``, and before
GitLab is asked to create a repository), so the product stays as the ``product`` fixture saved it.
"""

from __future__ import annotations

import pytest

from suites.api_conformance.cases import RefusalCase
from suites.api_conformance.conftest import ConformanceNames
from suites.api_conformance.test_refusals import PGV, RUNTIME
from suites.api_conformance.wire import Refusal, Wire, expect_refusal, expect_saved

SCOPED = "/api/v1/products/{product}"
RUNTIMES = SCOPED + "/projectpipelineruntimes/runtime"
RESOURCE_NOT_FOUND = Refusal(
    404, "RESOURCE_NOT_FOUND", "the resource is not found",
    "contract §2.5 not-found per operation (GET of a product-scoped resource); "
    "NAUTES app/api-server/internal/biz/errors.go",
)  # fmt: skip
# The collection path and the kind as the delete's message names it (contract §2.5).
DELETE_REFUSED = {
    "projects": "Project",
    "coderepobindings": "CodeRepoBinding",
    "projectpipelineruntimes": "ProjectPipelineRuntime",
    "deploymentruntimes": "DeploymentRuntime",
}
GET_ABSENT = ("projects", "environments", "coderepobindings", "projectpipelineruntimes", "deploymentruntimes")
ABSENT_REPO = (
    "failed to get project, err: GET {any}/api/v4/projects/{product}/absent-repo: "
    "404 {{message: 404 Project Not Found}}"
)
RUNTIME_PROTO = "NAUTES api/api-server/projectpipelineruntime/v1/projectpipelineruntime.proto"
RUNTIME_SERVICE = "NAUTES app/api-server/internal/service/projectpipelineruntime.go"

CASES = [
    *(
        RefusalCase(f"get-absent-{collection}", "GET", f"{SCOPED}/{collection}/absent", None,
                    RESOURCE_NOT_FOUND)
        for collection in GET_ABSENT
    ),
    *(
        RefusalCase(
            f"delete-absent-{collection}", "DELETE", f"{SCOPED}/{collection}/absent", None,
            Refusal(500, "", f"{kind} resource absent not found or invalid. Please check whether the "
                    "resource exists under the default project",
                    "contract §2.5 not-found per operation (DELETE of a missing project/ppr/crb/dr); "
                    "NAUTES app/api-server/internal/biz/resource.go, biz/coderepobinding.go"),
        )
        for collection, kind in DELETE_REFUSED.items()
    ),
    RefusalCase(
        "delete-absent-environment", "DELETE", f"{SCOPED}/environments/absent", None,
        Refusal(500, "UNKNOWN", "unknown request error",
                "contract §2.5 not-found per operation (DELETE of a missing environment: nil "
                "dereference, inferred); KRATOS middleware/recovery"),
    ),
    RefusalCase(
        "get-absent-coderepo", "GET", f"{SCOPED}/coderepos/absent-repo", None,
        Refusal(404, "PROJECT_NOT_FOUND", ABSENT_REPO,
                "contract §2.5 not-found per operation (GET coderepo missing); "
                "NAUTES app/api-server/internal/biz/coderepo.go"),
    ),
    # --- Environment (contract §2.6.5) ----------------------------------------------------------------
    RefusalCase(
        "pgv-environment-cluster", "POST", f"{SCOPED}/environments/env", {"cluster": "", "env_type": "dev"},
        Refusal(400, "VALIDATOR",
                PGV + "invalid SaveRequest_Body.Cluster: value length must be at least 1 runes",
                "contract §2.6.5 PGV; NAUTES api/api-server/environment/v1/environment.proto"),
    ),
    RefusalCase(
        "environment-absent-cluster", "POST", f"{SCOPED}/environments/env",
        {"cluster": "{absent_cluster}", "env_type": "dev"},
        Refusal(500, "", "during global validation, it was found that Cluster '{absent_cluster}' does not "
                "exist or is unavailable. Please check Environment 'env' in directory 'envs'err: {any}",
                "contract §2.6.5; NAUTES app/api-server/internal/biz/environment.go, biz/errors.go"),
    ),
    # --- CodeRepo (contract §2.6.3) -------------------------------------------------------------------
    RefusalCase(
        "pgv-coderepo-git-required", "POST", f"{SCOPED}/coderepos/repo",
        {"webhook": {"events": ["push_events"]}},
        Refusal(400, "VALIDATOR", PGV + "invalid SaveRequest_Body.Git: value is required",
                "contract §2.6.3 PGV; NAUTES api/api-server/coderepo/v1/coderepo.proto"),
    ),
    RefusalCase(
        "pgv-coderepo-visibility", "POST", f"{SCOPED}/coderepos/repo", {"git": {"gitlab": {}}},
        Refusal(400, "VALIDATOR", PGV + "invalid SaveRequest_Body.Git: embedded message failed validation | "
                "caused by: invalid Git.Gitlab: embedded message failed validation | caused by: "
                "invalid Gitlab.Visibility: value must be in list [public private]",
                "contract §2.6.3 PGV (visibility in {public, private}); "
                "NAUTES api/api-server/coderepo/v1/coderepo.proto"),
    ),
    RefusalCase(
        "coderepo-path-must-be-name", "POST", f"{SCOPED}/coderepos/repo",
        {"git": {"gitlab": {"path": "other-path", "visibility": "private"}}},
        Refusal(500, "", "the name of the codeRepo resource must be the same as the repository path",
                "contract §2.6.3; NAUTES app/api-server/internal/service/coderepo.go"),
    ),
    # --- CodeRepoBinding (contract §2.6.4) ------------------------------------------------------------
    RefusalCase(
        "pgv-binding-permissions", "POST", f"{SCOPED}/coderepobindings/binding",
        {"projects": [], "permissions": "admin", "coderepo": "absent-repo"},
        Refusal(400, "VALIDATOR",
                PGV + "invalid SaveRequest_Body.Permissions: value must be in list [readonly readwrite]",
                "contract §2.6.4 PGV; NAUTES api/api-server/coderepobinding/v1/coderepobinding.proto"),
    ),
    RefusalCase(
        "binding-absent-repo", "POST", f"{SCOPED}/coderepobindings/binding",
        {"projects": [], "permissions": "readonly", "coderepo": "absent-repo"},
        Refusal(500, "", "{any}absent-repo{any}reason = PROJECT_NOT_FOUND message = " + ABSENT_REPO + "{any}",
                "contract §2.6.4 (coderepo must be a GitLab project of the product), §2.5 wrapping rule; "
                "NAUTES app/api-server/internal/biz/coderepobinding.go, biz/common.go"),
    ),
    RefusalCase(
        "binding-repo-is-no-coderepo", "POST", f"{SCOPED}/coderepobindings/binding",
        {"projects": [], "permissions": "readonly", "coderepo": "default.project"},
        Refusal(500, "", "the authorization repository repo-{any} does not exist when checking "
                "CodeRepoBinding binding",
                "contract §2.6.8 (per-kind reference checks), §2.6.4; "
                "NAUTES app/api-server/internal/biz/coderepobinding.go CheckReference"),
    ),
    # --- ProjectPipelineRuntime (contract §2.6.6) -----------------------------------------------------
    RefusalCase(
        "pgv-runtime-pipelines", "POST", RUNTIMES, {**RUNTIME, "pipelines": []},
        Refusal(400, "VALIDATOR",
                PGV + "invalid SaveRequest_Body.Pipelines: value must contain at least 1 item(s)",
                f"contract §2.5 PGV shapes, §2.6.6 step 1; {RUNTIME_PROTO}"),
    ),
    RefusalCase(
        "pgv-runtime-pipeline-path", "POST", RUNTIMES,
        {**RUNTIME, "pipelines": [{"name": "pipeline", "path": ""}]},
        Refusal(400, "VALIDATOR", PGV + "invalid SaveRequest_Body.Pipelines[0]: embedded message failed "
                "validation | caused by: invalid Pipeline.Path: value length must be at least 1 runes",
                f"contract §2.5 PGV shapes (nested), §2.6.6 step 1; {RUNTIME_PROTO}"),
    ),
    RefusalCase(
        "pgv-runtime-isolation", "POST", RUNTIMES, {**RUNTIME, "isolation": ""},
        Refusal(400, "VALIDATOR",
                PGV + "invalid SaveRequest_Body.Isolation: value must be in list [shared exclusive]",
                f"contract §2.5 PGV shapes, §2.6.6 step 1 (empty isolation fails); {RUNTIME_PROTO}"),
    ),
    RefusalCase(
        "runtime-trigger-absent-event-source", "POST", RUNTIMES,
        {**RUNTIME, "pipeline_triggers": [{"event_source": "nowhere", "pipeline": "pipeline"}]},
        Refusal(500, "", "the event source nowhere in the trigger does not exist",
                f"contract §2.6.6 step 2; {RUNTIME_SERVICE}"),
    ),
    RefusalCase(
        "runtime-destination-required", "POST", RUNTIMES,
        {key: value for key, value in RUNTIME.items() if key != "destination"},
        Refusal(500, "", "pipeline deployment target configuration not submitted, please checked "
                "'.Destination' field ", f"contract §2.6.6 step 2; {RUNTIME_SERVICE}"),
    ),
    RefusalCase(
        "runtime-absent-repo", "POST", RUNTIMES, RUNTIME,
        Refusal(500, "", "failed to get codeRepo name when converting pipeline repository name, err: "
                "failed to convert repository name absent-repo to codeRepo name, err: error: code = 404 "
                "reason = PROJECT_NOT_FOUND message = " + ABSENT_REPO + " metadata = map[] cause = <nil>",
                "contract §2.6.6 step 3, §2.5 wrapping rule; "
                "NAUTES app/api-server/internal/biz/common.go, biz/projectpipelineruntime.go"),
    ),
    # --- DeploymentRuntime (contract §2.6.7) ----------------------------------------------------------
    RefusalCase(
        "pgv-deployment-manifest-source", "POST", f"{SCOPED}/deploymentruntimes/deployment",
        {"projects_ref": [], "destination": {"environment": "absent-env"}},
        Refusal(400, "VALIDATOR", PGV + "invalid SaveRequest_Body.ManifestSource: value is required",
                "contract §2.6.7 PGV; NAUTES api/api-server/deploymentruntime/v1/deploymentruntime.proto"),
    ),
    RefusalCase(
        "deployment-destination-required", "POST", f"{SCOPED}/deploymentruntimes/deployment",
        {"projects_ref": [], "manifest_source": {"code_repo": "absent-repo", "target_revision": "main",
                                                 "path": "deploy"}},
        Refusal(500, "UNKNOWN", "unknown request error",
                "contract §2.6.7 (a missing destination: nil dereference, inferred); "
                "KRATOS middleware/recovery"),
    ),
    RefusalCase(
        "deployment-absent-repo", "POST", f"{SCOPED}/deploymentruntimes/deployment",
        {"projects_ref": [], "destination": {"environment": "absent-env"},
         "manifest_source": {"code_repo": "absent-repo", "target_revision": "main", "path": "deploy"}},
        Refusal(500, "", "failed to get repository absent-repo, err: error: code = 404 reason = "
                "PROJECT_NOT_FOUND message = " + ABSENT_REPO + " metadata = map[] cause = <nil>",
                "contract §2.6.7, §2.5 wrapping rule; "
                "NAUTES app/api-server/internal/biz/deploymentruntime.go"),
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", [case.param() for case in CASES])
def test_refused_in_product(case: RefusalCase, wire: Wire, names: ConformanceNames, product: str) -> None:
    filled = case.filled(names.values())
    expect_refusal(wire.send(filled.method, filled.path, filled.body), filled.refusal)


@pytest.mark.stage("delete-absent-coderepo")
def test_deleting_an_absent_coderepo_succeeds(wire: Wire, product: str) -> None:
    """The one idempotent delete: no GitLab project, nothing to do, ``200`` (biz/coderepo.go DeleteCodeRepo
    returns nil on PROJECT_NOT_FOUND)."""
    answer = wire.send("DELETE", f"/api/v1/products/{product}/coderepos/absent-repo")
    expect_saved(
        answer,
        "Successfully deleted absent-repo configuration",
        "contract §2.5 not-found per operation (DELETE missing coderepo: 200), §2.4 success messages; "
        "NAUTES app/api-server/internal/biz/coderepo.go DeleteCodeRepo",
    )
