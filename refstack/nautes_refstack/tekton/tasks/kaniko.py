"""ClusterTask ``kaniko`` (catalog 0.6): build the Dockerfile and push the image to the registry in ``IMAGE``.

Steps as in the catalog: ``build-and-push`` (kaniko: check push permission, build, push; the digest is the
``IMAGE_DIGEST`` result) and ``write-url`` (echoes ``IMAGE`` into the ``IMAGE_URL`` result). What can be
built is described in :mod:`.image_build`; the push speaks the OCI API to the registry, with the
credentials of the ``dockerconfig`` workspace's ``config.json``, over the transport kaniko's flags choose
(``--insecure``, ``--skip-tls-verify``, ``--registry-certificate``: see :mod:`.oci_push`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import aiohttp

from nautes_refstack.tekton.task_api import Step, StepFailed, TaskContext, TaskOutcome
from nautes_refstack.tekton.tasks.dockerfile import DockerfileError, parse
from nautes_refstack.tekton.tasks.image_build import BuiltImage, ImageBuilder, sha256
from nautes_refstack.tekton.tasks.oci_push import (
    ImageReference,
    PushError,
    RegistryPusher,
    Transport,
    credentials_for,
)

stack_log = logging.getLogger(__name__)

_SOURCE_MOUNT = "/workspace/source"
#: Where the catalog task mounts the ``dockerconfig`` workspace (task/kaniko/0.6/kaniko.yaml).
_DOCKERCONFIG_MOUNT = PurePosixPath("/kaniko/.docker")
#: The tag pushed under fault wrong-image-tag (a stale, floating tag instead of the commit's).
WRONG_TAG = "0.0.1-latest"


async def run(ctx: TaskContext) -> TaskOutcome:
    image = ctx.param("IMAGE")
    if ctx.faults.active("wrong-image-tag", about=ctx.namespace):
        image = _retagged(image, WRONG_TAG)  # fault: pushed and reported under the wrong tag
    async with ctx.step("build-and-push") as step:
        log = _kaniko_logger(step)
        flags = _extra_args(ctx.array_param("EXTRA_ARGS"))
        build_args, labels, push = flags.build_args, flags.labels, flags.push
        try:
            reference = ImageReference.parse(image)
        except PushError as error:
            raise StepFailed(1, f"error parsing destination {image!r}: {error}") from None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as http:
            try:
                pusher = RegistryPusher(
                    reference,
                    credentials_for(_docker_config(ctx), reference.registry),
                    _transport(ctx, flags, reference.registry, log),
                )
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
    if ctx.faults.active("image-digest-mismatch", about=ctx.namespace):
        digest = sha256(built.config)  # fault: the image ID (config digest), not the manifest's digest
    async with ctx.step("write-url") as step:
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


@dataclass
class _Flags:
    """What kaniko's flags in EXTRA_ARGS change here; the others are logged as having no effect."""

    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    push: bool = True
    insecure: bool = False
    skip_tls_verify: bool = False
    registry_certificates: dict[str, str] = field(default_factory=dict)  # registry -> file in the pod


def _extra_args(arguments: list[str]) -> _Flags:
    """``--build-arg``, ``--label``, ``--no-push``, ``--insecure``, ``--skip-tls-verify`` and
    ``--registry-certificate <registry>=<file>`` take effect (kaniko README "Additional Flags"); any other
    flag is noted in the stack's log, never in the step's, which holds only what kaniko prints."""
    flags = _Flags()
    items = iter(arguments)
    for argument in items:
        flag, has_value, value = argument.partition("=")
        if flag in ("--build-arg", "--label", "--registry-certificate"):
            if not has_value:
                value = next(items, "")
            key, _, assigned = value.partition("=")
            targets = {"--build-arg": flags.build_args, "--label": flags.labels}
            targets.get(flag, flags.registry_certificates)[key] = assigned
        elif flag == "--no-push":
            flags.push = False
        elif flag == "--insecure":
            flags.insecure = True
        elif flag == "--skip-tls-verify":
            flags.skip_tls_verify = True
        else:
            stack_log.info("kaniko flag %s has no effect in the reference stack", flag)
    return flags


def _transport(ctx: TaskContext, flags: _Flags, registry: str, log: Callable[[str], None]) -> Transport:
    """The registry's transport; a certificate file kaniko cannot read is a warning, as in kaniko, and the
    system CAs alone are used (pkg/util/transport_util.go: "Failed to load certificate %s for %s")."""
    in_pod = flags.registry_certificates.get(registry)
    certificate = _dockerconfig_file(ctx, in_pod) if in_pod else None
    if in_pod and certificate is None:
        log(f"Failed to load certificate {in_pod} for {registry}")
    return Transport(flags.insecure, flags.skip_tls_verify, certificate)


def _dockerconfig_file(ctx: TaskContext, in_pod: str) -> Path | None:
    """The file at ``in_pod`` when it lies in the mounted ``dockerconfig`` workspace (the only volume with
    files of the user's in the kaniko container); None when there is no such file."""
    workspace = ctx.workspace("dockerconfig")
    path = PurePosixPath(in_pod)
    if workspace is None or not path.is_relative_to(_DOCKERCONFIG_MOUNT):
        return None
    local = workspace.joinpath(*path.relative_to(_DOCKERCONFIG_MOUNT).parts)
    return local if local.is_file() else None


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
