"""The shell script of the hooks PipelineRun's ``pipeline-run`` task: rendered like Nautes, read back here.

Nautes renders a Go template (NAUTES ``internal/data/pipeline/tekton/tekton.go`` ``scriptTemplate``) into
the ``script`` param of the ``kubernetes-actions`` ClusterTask: write a kustomization around the user's
pipeline file (name suffix and ``branch`` label when the pipeline has a label, JSON patches that put the
event's ref into the PipelineRun), then ``kubectl kustomize . | kubectl -n NS create -f -``. The label
and namespace are baked into the text, the ref arrives through Tekton's ``$(params.…)`` substitution.

:func:`render` prints exactly what the Go template prints; :func:`parse` is what the emulated task runs
instead of bash: it accepts only scripts of that shape, so a changed template fails loudly.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

SUFFIX_VARIABLE = "${SUFFIX}"

_HEAD = '\nSUFFIX="`openssl rand -hex 2`"\ncat > ./kustomization.yaml << EOF\n'
_KUSTOMIZATION_HEAD = (
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- $(params.PipelineFile)\n"
)
_TAIL = "\nEOF\ncat ./kustomization.yaml\nkubectl kustomize . | kubectl -n {namespace} create -f -"
_SCRIPT_RE = re.compile(
    re.escape(_HEAD)
    + r"(?P<kustomization>.*)"
    + re.escape(_TAIL.split("{namespace}")[0])
    + r"(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
    + re.escape(_TAIL.split("{namespace}")[1])
    + r"\Z",
    re.DOTALL,
)
_LEFTOVER_EXPANSION_RE = re.compile(r"\$\(|\$\{|`")


@dataclass(frozen=True)
class UserParam:
    """A hooks PipelineRun param the script patches into the user's PipelineRun at ``destination``."""

    name: str
    destination: str


class UnsupportedScript(ValueError):
    """The ``script`` param is not a Nautes pipeline-run script (or still holds unexpanded variables)."""


def render(pipeline_label: str, namespace: str, user_params: Sequence[UserParam]) -> str:
    """The script Nautes renders for a pipeline with ``pipeline_label`` running in ``namespace``."""
    text = _HEAD + _KUSTOMIZATION_HEAD
    if pipeline_label:
        text += f"nameSuffix: -n{SUFFIX_VARIABLE}\ncommonLabels:\n  branch: {pipeline_label}"
    text += "\n"
    if user_params:
        text += "patches:\n- patch: |-\n    "
        for param in user_params:
            text += (
                f"- op: replace\n      path: {param.destination}\n      value: |-\n"
                f"        $(params.{param.name})\n    "
            )
        text += "\n  target:\n    kind: PipelineRun"
    return text + _TAIL.format(namespace=namespace)


@dataclass(frozen=True)
class RunPipelineScript:
    """The script once Tekton substituted its params: build the kustomization, create in ``namespace``."""

    kustomization_text: str
    namespace: str

    def kustomization_file(self, suffix: str | None = None) -> str:
        """The text the heredoc writes to ``kustomization.yaml``: ``${SUFFIX}`` is ``openssl rand -hex 2``."""
        text = self.kustomization_text.replace(SUFFIX_VARIABLE, suffix or secrets.token_hex(2))
        leftover = _LEFTOVER_EXPANSION_RE.search(text)
        if leftover is not None:
            raise UnsupportedScript(
                f"the kustomization heredoc still holds a shell expansion at {leftover.start()}"
            )
        return text + "\n"


def parse(script: str) -> RunPipelineScript:
    """Read a rendered, param-substituted script; :class:`UnsupportedScript` for any other shell text."""
    match = _SCRIPT_RE.match(script)
    if match is None:
        raise UnsupportedScript("the pipeline-run script is not the one Nautes renders")
    return RunPipelineScript(kustomization_text=match["kustomization"], namespace=match["namespace"])
