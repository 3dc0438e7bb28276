"""ClusterTask ``kaniko`` (catalog 0.6): build the Dockerfile and push the image to the registry in ``IMAGE``.

Steps as in the catalog: ``build-and-push`` (kaniko: check push permission, build, push; the digest is the
``IMAGE_DIGEST`` result) and ``write-url`` (echoes ``IMAGE`` into the ``IMAGE_URL`` result). What can be
built is described in :mod:`.image_build`; the push speaks the OCI API to the registry, with the
credentials of the ``dockerconfig`` workspace's ``config.json``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from nautes_refstack.tekton.task_api import Step, StepFailed, TaskContext, TaskOutcome
from nautes_refstack.tekton.tasks.dockerfile import DockerfileError, parse
from nautes_refstack.tekton.tasks.image_build import BuiltImage, ImageBuilder
from nautes_refstack.tekton.tasks.oci_push import (
    ImageReference,
    PushError,
    RegistryPusher,
    credentials_for,
)

_SOURCE_MOUNT = "/workspace/source"
#: The tag pushed under fault wrong-image-tag (a stale, floating tag instead of the commit's).
WRONG_TAG = "0.0.1-latest"


async def run(ctx: TaskContext) -> TaskOutcome:
    image = ctx.param("IMAGE")
    if ctx.faults.active("wrong-image-tag"):
        image = _retagged(image, WRONG_TAG)  # fault: pushed and reported under the wrong tag
    with ctx.step("build-and-push") as step:
        log = _kaniko_logger(step)
        build_args, labels, push = _extra_args(ctx.array_param("EXTRA_ARGS"), log)
        try:
            reference = ImageReference.parse(image)
        except PushError as error:
            raise StepFailed(1, f"error parsing destination {image!r}: {error}") from None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as http:
            try:
                pusher = RegistryPusher(reference, credentials_for(_docker_config(ctx), reference.registry))
                if push:
                    await pusher.check_push_permission(http)
            except PushError as error:
                raise StepFailed(
                    1,
                    "error checking push permissions -- make sure you entered the correct tag name, "
                    "and that you are authenticated correctly, and try again: "
                    f"checking push permission for {image!r}: {error}",
                ) from None
            built = await _build(ctx, build_args, labels, log)
            if not push:
                log("Skipping push to container registry due to --no-push flag")
                digest = built.digest
            else:
                log(f"Pushing image to {image}")
                try:
                    digest = await pusher.push(http, built)
                except PushError as error:
                    raise StepFailed(
                        1, f"error pushing image: failed to push to destination {image}: {error}"
                    ) from None
                log(f"Pushed {reference.registry}/{reference.repository}@{digest}")
    with ctx.step("write-url") as step:
        step.log(image)
    return TaskOutcome(results={"IMAGE_DIGEST": digest, "IMAGE_URL": image})


def _retagged(image: str, tag: str) -> str:
    """``image`` with its tag replaced (or added); a ``:port`` of the registry is not a tag."""
    name, colon, current = image.rpartition(":")
    return f"{name}:{tag}" if colon and "/" not in current else f"{image}:{tag}"


def _kaniko_logger(step: Step) -> Callable[[str], None]:
    started = time.monotonic()

    def log(message: str) -> None:
        step.log(f"INFO[{int(time.monotonic() - started):04d}] {message}")

    return log


def _extra_args(
    arguments: list[str], log: Callable[[str], None]
) -> tuple[dict[str, str], dict[str, str], bool]:
    """``--build-arg``, ``--label`` and ``--no-push`` take effect; other flags are logged as having none."""
    build_args: dict[str, str] = {}
    labels: dict[str, str] = {}
    push = True
    items = iter(arguments)
    for argument in items:
        flag, has_value, value = argument.partition("=")
        if flag in ("--build-arg", "--label"):
            if not has_value:
                value = next(items, "")
            key, _, assigned = value.partition("=")
            (build_args if flag == "--build-arg" else labels)[key] = assigned
        elif flag == "--no-push":
            push = False
        else:
            log(f"flag {flag} has no effect in the reference stack")
    return build_args, labels, push


def _docker_config(ctx: TaskContext) -> dict[str, Any] | None:
    workspace = ctx.workspace("dockerconfig")
    if workspace is None or not (workspace / "config.json").is_file():
        return None
    try:
        parsed = json.loads((workspace / "config.json").read_text())
    except (OSError, ValueError):
        raise StepFailed(1, "error reading /kaniko/.docker/config.json: not valid JSON") from None
    return parsed if isinstance(parsed, dict) else None


async def _build(
    ctx: TaskContext, build_args: dict[str, str], labels: dict[str, str], log: Callable[[str], None]
) -> BuiltImage:
    """Build in a worker thread (tar + gzip of a big context must not stall the stack's event loop)."""
    source = ctx.required_workspace("source")
    context_param = ctx.param("CONTEXT")
    context = source / context_param
    dockerfile = _dockerfile(source, context, ctx.param("DOCKERFILE"))
    loop = asyncio.get_running_loop()

    def log_from_thread(message: str) -> None:
        loop.call_soon_threadsafe(log, message)

    builder = ImageBuilder(context, f"{_SOURCE_MOUNT}/{context_param}", build_args, log_from_thread)
    try:
        instructions = parse(dockerfile.read_text())
        return await asyncio.to_thread(builder.build, instructions, labels)
    except DockerfileError as error:
        raise StepFailed(1, f"error building image: {error}") from None


def _dockerfile(source: Path, context: Path, dockerfile: str) -> Path:
    """kaniko: ``--dockerfile`` as given (relative to the working directory), else inside the context."""
    for candidate in (source / dockerfile, context / dockerfile):
        if candidate.is_file():
            return candidate
    raise StepFailed(
        1,
        "error resolving dockerfile path: "
        "please provide a valid path to a Dockerfile within the build context with --dockerfile",
    )
