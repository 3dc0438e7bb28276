"""docs/nightly.md says what the templates and ci/install-tools.sh do: the same cells, node images, action
commits and tool versions, so the page cannot drift from the files it documents."""

from __future__ import annotations

import re

from tests.ci import templates
from tests.ci.templates import PINNED_ACTIONS
from tests.ci.validators import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "nightly.md").read_text()
PINS = dict(re.findall(r"^([A-Z0-9_]+)=(\S+)$", (REPO_ROOT / "ci" / "install-tools.sh").read_text(), re.M))


def test_the_doc_gates_every_cell_and_names_its_node_image() -> None:
    cells = templates.github_cells()
    assert "nautes-e2e gate " + " ".join(f"reports/{cell.id}" for cell in cells) in DOC
    for cell in cells:
        (image,) = templates.load(cell.world_config)["images"].values()
        assert f"| `{cell.id}` | `{image}`" in DOC, cell.id


def test_the_doc_lists_the_commit_of_each_action() -> None:
    for action, (sha, tag) in PINNED_ACTIONS.items():
        assert f"| `{action}` | {tag} | `{sha}` |" in DOC, action


def test_the_doc_names_the_pinned_tool_versions() -> None:
    versions = f"k3d {PINS['K3D_VERSION']}, kind {PINS['KIND_VERSION']}, kubectl {PINS['KUBECTL_VERSION']}"
    assert versions in DOC
