"""Whether a pushed image can be pulled, and whether it is the image the pipeline said it pushed.

A manifest that exists proves little: a pull fetches the manifest, checks that its bytes hash to the digest
it asked for, then fetches every blob it references (config and layers, or each child manifest of an
index), each of which must be there with the digest and size the manifest gives (distribution spec,
"Pulling an image"; image-spec descriptor.md: a blob whose size or digest differs must be rejected). A
HEAD of each blob is that check without the download. The digest the pipeline reports is kaniko's
``IMAGE_DIGEST`` result, the digest of the manifest it pushed (tekton catalog task/kaniko/0.6:
``--digest-file=$(results.IMAGE_DIGEST.path)``; kaniko pkg/executor/push.go writes the image's digest).
"""

from __future__ import annotations

from dataclasses import dataclass

from nautes_e2e.clients.registry import Manifest
from nautes_e2e.suite import RegistryClient

DIGEST_RESULT = "IMAGE_DIGEST"
URL_RESULT = "IMAGE_URL"


@dataclass(frozen=True)
class ReportedImage:
    """What the image-build task reported: which pipeline task, the image URL and its digest."""

    task: str
    url: str
    digest: str


def reported_image(task_results: dict[str, dict[str, str]]) -> ReportedImage | None:
    """The task of the run that reported an ``IMAGE_DIGEST`` (the kaniko task), else None."""
    for task, values in sorted(task_results.items()):
        if DIGEST_RESULT in values:
            return ReportedImage(task, values.get(URL_RESULT, ""), values[DIGEST_RESULT])
    return None


def unpullable(registry: RegistryClient, repository: str, manifest: Manifest) -> list[str]:
    """Why a pull of ``manifest`` would fail: the served bytes do not hash to its digest, a child manifest
    is missing, or a blob is missing or differs in digest or size from what the manifest says."""
    problems = []
    if manifest.computed_digest != manifest.digest:
        problems.append(
            f"the registry names the manifest {manifest.digest}, but the bytes it serves hash to "
            f"{manifest.computed_digest}"
        )
    for child in manifest.manifests:
        content = registry.manifest(repository, child.digest)
        if content is None:
            problems.append(f"the index names manifest {child.digest}, which the registry does not have")
        else:
            problems.extend(unpullable(registry, repository, content))
    for blob in manifest.blobs:
        role = "config" if blob == manifest.config else "layer"
        presence = registry.blob_presence(repository, blob.digest)
        request = f"HEAD /v2/{repository}/blobs/{blob.digest}"
        if presence.status != 200:
            problems.append(
                f"its {role} {blob.digest} ({blob.size} bytes) is missing: {request} "
                f"answered {presence.status}"
            )
        elif presence.size is not None and presence.size != blob.size:
            problems.append(
                f"its {role} {blob.digest} is {presence.size} bytes, the manifest says {blob.size}"
            )
        elif presence.digest is not None and presence.digest != blob.digest:
            problems.append(f"{request} answered for digest {presence.digest}")
    return problems
