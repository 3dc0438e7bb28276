"""ClusterTask ``git-clone`` (catalog 0.7): fetch one revision of a repository into the ``output`` workspace.

The step follows Tekton's git-init: ``git init``, ``remote add origin``, ``fetch --depth=N origin
--update-head-ok --force <revision>``, ``checkout -f FETCH_HEAD``; results ``commit`` and ``url``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nautes_refstack.tekton.task_api import Step, StepFailed, TaskContext, TaskOutcome
from nautes_refstack.tekton.tasks.git_auth import install_credentials


async def run(ctx: TaskContext) -> TaskOutcome:
    url = ctx.param("url").strip()
    home = ctx.pod_path(ctx.param("userHome"))
    home.mkdir(parents=True, exist_ok=True)
    async with ctx.step("clone") as step:
        environment = _environment(ctx, home)
        checkout = _checkout_directory(ctx)
        if ctx.param("deleteExisting") == "true":
            _clean(checkout)
        checkout.mkdir(parents=True, exist_ok=True)
        commit = await _fetch(step, ctx, url, checkout, environment)
    return TaskOutcome(results={"commit": commit, "url": ctx.param("url")})


def _environment(ctx: TaskContext, home: Path) -> dict[str, str]:
    environment = {
        **install_credentials(ctx, home),
        # git-init's image has a gitconfig; these keep the step log free of first-use hints.
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "init.defaultBranch",
        "GIT_CONFIG_VALUE_0": "master",
        "GIT_CONFIG_KEY_1": "advice.detachedHead",
        "GIT_CONFIG_VALUE_1": "false",
    }
    ca_directory = ctx.workspace("ssl-ca-directory")
    if ca_directory is not None:
        environment["GIT_SSL_CAPATH"] = str(ca_directory)
        if ctx.param("crtFileName"):
            environment["GIT_SSL_CAINFO"] = str(ca_directory / ctx.param("crtFileName"))
    for param, variable in (
        ("httpProxy", "HTTP_PROXY"),
        ("httpsProxy", "HTTPS_PROXY"),
        ("noProxy", "NO_PROXY"),
    ):
        if ctx.param(param):
            environment[variable] = ctx.param(param)
    return environment


def _checkout_directory(ctx: TaskContext) -> Path:
    output = ctx.required_workspace("output")
    checkout = (output / ctx.param("subdirectory")).resolve()
    if checkout != output.resolve() and output.resolve() not in checkout.parents:
        raise StepFailed(1, f"subdirectory {ctx.param('subdirectory')!r} leaves the output workspace")
    return checkout


def _clean(directory: Path) -> None:
    """Empty ``directory`` but keep it (it may be the root of the workspace volume)."""
    if not directory.is_dir():
        return
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


async def _fetch(step: Step, ctx: TaskContext, url: str, checkout: Path, environment: dict[str, str]) -> str:
    echo = ctx.param("verbose") == "true"

    async def git(*args: str) -> str:
        # short-lived: local, or a fetch that ends when its server (the stack's GitLab, or one outside) does
        argv = ["git", *args]
        return (await step.run(argv, cwd=checkout, env=environment, echo=echo, dies_with_stack=False)).output

    await git("init", str(checkout))
    sparse = ctx.param("sparseCheckoutDirectories")
    if sparse:
        await git("config", "core.sparsecheckout", "true")
        (checkout / ".git" / "info").mkdir(parents=True, exist_ok=True)
        (checkout / ".git" / "info" / "sparse-checkout").write_text("\n".join(sparse.split(",")) + "\n")
    await git("remote", "add", "origin", url)
    await git("config", "http.sslVerify", ctx.param("sslVerify"))
    revision = ctx.param("revision")
    if not revision:
        revision = "HEAD"
        await git("symbolic-ref", revision, "refs/remotes/origin/HEAD")
    submodules = ctx.param("submodules") == "true"
    depth = ctx.param("depth")
    fetch = ["fetch"]
    if submodules:
        fetch.append("--recurse-submodules=yes")
    if depth.isdigit() and int(depth) > 0:
        fetch.append(f"--depth={depth}")
    refspec = ctx.param("refspec")
    fetch_what, checkout_what = ([revision], "FETCH_HEAD") if not refspec else (refspec.split(" "), revision)
    await git(*fetch, "origin", "--update-head-ok", "--force", *fetch_what)
    await git("checkout", "-f", checkout_what)
    commit = (await git("show", "-q", "--pretty=format:%H", "HEAD")).strip()
    ref = (await git("show", "-q", "--pretty=format:%D", "HEAD")).strip()
    step.log(f"Successfully cloned {url} @ {commit} ({ref}) in path {_pod_view(ctx, checkout)}")
    if submodules and (checkout / ".gitmodules").is_file():
        update = ["submodule", "update", "--recursive", "--init"]
        if depth.isdigit() and int(depth) > 0:
            update.append(f"--depth={depth}")
        await git(*update)
    return commit


def _pod_view(ctx: TaskContext, path: Path) -> str:
    """How the pod would name ``path``: relative to the workspace mount (``/workspace/output/...``)."""
    output = ctx.required_workspace("output").resolve()
    relative = os.path.relpath(path, output)
    return "/workspace/output" if relative == "." else f"/workspace/output/{relative}"
