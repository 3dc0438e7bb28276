"""ClusterTask ``git-cli`` (catalog 0.4): run ``GIT_SCRIPT`` with git configured, in the ``source`` workspace.

As in the catalog step, one shell (``set -eu``, ``set -x`` when ``VERBOSE``) sets ``user.email`` and
``user.name`` globally, evaluates the script, and writes ``git rev-parse HEAD`` of the directory the script
ended in as the ``commit`` result. ``$HOME`` is ``USER_HOME`` inside the pod, so the vault-agent key at
``/root/.ssh`` is the one git pushes with.
"""

from __future__ import annotations

from pathlib import Path

from nautes_refstack.tekton.task_api import TaskContext, TaskOutcome
from nautes_refstack.tekton.tasks.git_auth import install_credentials

# The catalog script, minus the copying done in Python; the script itself arrives in $GIT_SCRIPT.
_SHELL = """set -eu
if [ "${PARAM_VERBOSE}" = "true" ] ; then
  set -x
fi
git config --global user.email "${GIT_USER_EMAIL}"
git config --global user.name "${GIT_USER_NAME}"
eval "${GIT_SCRIPT}"
RESULT_SHA="$(git rev-parse HEAD | tr -d '\\n')"
printf "%s" "${RESULT_SHA}" > "${RESULT_COMMIT_PATH}"
"""


async def run(ctx: TaskContext) -> TaskOutcome:
    source = ctx.required_workspace("source")
    home = ctx.pod_path(ctx.param("USER_HOME"))
    home.mkdir(parents=True, exist_ok=True)
    results = ctx.pod_path("/tekton/results")
    results.mkdir(parents=True, exist_ok=True)
    async with ctx.step("git") as step:
        credentials = install_credentials(ctx, home)
        if ctx.faults.active("tag-not-rewritten", about=ctx.namespace):
            return TaskOutcome()  # fault: the step exits 0 without running GIT_SCRIPT; nothing is pushed
        if ctx.faults.active("bot-commit-deletes-file", about=ctx.namespace):
            _lose_a_tracked_file(source, ctx.param("GIT_SCRIPT"))
        environment = {
            **credentials,
            "PARAM_VERBOSE": ctx.param("VERBOSE"),
            "GIT_USER_EMAIL": ctx.param("GIT_USER_EMAIL"),
            "GIT_USER_NAME": ctx.param("GIT_USER_NAME"),
            "GIT_SCRIPT": ctx.param("GIT_SCRIPT"),
            "RESULT_COMMIT_PATH": str(results / "commit"),
        }
        await step.run(["bash", "-c", _SHELL], cwd=source, env=environment, echo=False)
    return TaskOutcome(results={"commit": (results / "commit").read_text()})


def _lose_a_tracked_file(source: Path, script: str) -> None:
    """Fault ``bot-commit-deletes-file``: in every checkout of the workspace, the first file the script
    does not name is gone (a workspace another task cleaned), so ``git commit -a`` records its deletion."""
    for checkout in sorted(git_dir.parent for git_dir in source.glob("*/.git")):
        files = sorted(
            path
            for path in checkout.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(checkout).parts and path.name not in script
        )
        if files:
            files[0].unlink()
