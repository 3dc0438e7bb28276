"""Named faults the reference stack can be started with, each standing for one real-world breakage.

The standard they serve: a stage check that cannot detect the breakage it names is a bug, so every stage is
proven against an injected fault. A fault is the smallest realistic change to one component (a token
GitLab rejects, a Vault write that never lands, a webhook GitLab does not deliver, ...); the component
holds the hook and asks ``faults.active("webhook-not-delivered")``. No fault is active unless selected,
and a component with no active fault behaves exactly as without this module.

Faults are selected with ``refstack up --fault NAME[=ARG]`` (repeatable) or the environment variable
:data:`FAULTS_ENV` (``NAME[=ARG],NAME[=ARG]``, what the ``local`` target passes through). A name that is
not in :data:`FAULTS` or a missing or bad argument is a :class:`FaultError` at start-up, before anything
listens. The stack arms the faults once its own bootstrap is done: they break the installation the
harness meets, not the installer's setup of it (which would otherwise fail to start at all).

Faults selected at start-up act on everything. Faults can also be armed while the stack runs, for one run
(:mod:`.fault_control`): such a fault acts only where the component's ``about`` carries that run's names,
so runs that share a warm stack never see each other's faults. A hook that acts before anything names the
run (``about=None``, as GitLab's token check at preflight) is reached by start-up faults only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

FAULTS_ENV = "NAUTES_E2E_REFSTACK_FAULTS"
#: The kinds ``nautes apply`` saves (the YAML ``kind:``), for ``nautes-api-500=<Kind>``.
NAUTES_KINDS = (
    "Product",
    "Project",
    "Environment",
    "Cluster",
    "CodeRepo",
    "CodeRepoBinding",
    "DeploymentRuntime",
    "ProjectPipelineRuntime",
)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class FaultError(ValueError):
    """A fault selection the stack cannot start with (unknown name, missing or bad argument)."""


@dataclass(frozen=True)
class Argument:
    """What ``NAME=ARG`` accepts: one of ``choices``, or a Kubernetes-style name when there are none."""

    metavar: str
    choices: tuple[str, ...] = ()

    def problem(self, value: str) -> str | None:
        if self.choices and value not in self.choices:
            return f"{value!r} is not one of {', '.join(self.choices)}"
        if not self.choices and not _DNS_LABEL.match(value):
            return f"{value!r} is not a valid {self.metavar} (lower case letters, digits and '-')"
        return None


@dataclass(frozen=True)
class Fault:
    """One named fault: where it acts is the component's business, what it stands for is stated here."""

    name: str
    breakage: str
    argument: Argument | None = None

    @property
    def usage(self) -> str:
        return self.name if self.argument is None else f"{self.name}=<{self.argument.metavar}>"


FAULTS: Mapping[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault("gitlab-token-rejected", "GitLab answers every token 401 Unauthorized (expired or revoked)"),
        Fault(
            "nautes-api-500",
            "the Nautes API server answers a plain 500 to every save of that kind (push to Git failed)",
            Argument("Kind", NAUTES_KINDS),
        ),
        Fault(
            "cluster-kubeconfig-not-stored",
            "a cluster save succeeds but its kubeconfig never reaches Vault (vault-proxy down)",
        ),
        Fault(
            "deploykey-not-stored",
            "a CodeRepo save never writes its readwrite deploy key to Vault (vault-proxy write lost)",
        ),
        Fault(
            "namespace-never-created",
            "the runtime operator is stuck: runtime namespaces and service accounts are never created",
        ),
        Fault(
            "configmap-data-dropped",
            "ConfigMaps created in pr-* namespaces are stored without their data (a mutating policy)",
        ),
        Fault(
            "force-push-setting-ignored",
            "GitLab accepts allow_force_push on a protected branch but keeps it false",
        ),
        Fault(
            "webhook-not-delivered",
            "GitLab never delivers project webhooks (outbound requests to the cluster are blocked)",
        ),
        Fault(
            "argo-events-crashloop",
            "Argo Events event-source pods crash-loop with 'too many open files' (fs.inotify limits)",
        ),
        Fault(
            "hooks-run-fails",
            "the Nautes init (hooks-) run's pipeline-run step fails: the pipeline file path is broken",
        ),
        Fault(
            "task-fails",
            "that pipeline task of the user's PipelineRun fails: its first step exits 1",
            Argument("pipeline task name"),
        ),
        Fault(
            "wrong-image-tag",
            "kaniko pushes (and reports in IMAGE_URL) the tag 0.0.1-latest instead of the one asked",
        ),
        Fault(
            "tag-not-rewritten",
            "the git-cli task succeeds without running its script: the deploy repo is never updated",
        ),
        Fault(
            "tenant-repo-never-syncs",
            "Argo CD never syncs the tenant repository again: a saved Cluster never becomes a resource",
        ),
        Fault(
            "sensors-never-ready",
            "Argo Events sensor pods never run: Sensors stay not Deployed and every event is lost",
        ),
        Fault(
            "ca-secret-missing",
            "the runtime operator never writes Secret ca: vault-agent pods with tls-secret ca stay Pending",
        ),
        Fault(
            "runtime-not-cleaned-up",
            "the runtime operator forgets a removed pipeline runtime's namespace: it outlives the runtime",
        ),
        # -- issue 8, side effects of register/initialise/push (helper "promises-setup") --
        Fault(
            "nautes-save-not-persisted",
            "the Nautes API server answers a save of that kind 200 'Successfully saved' but never pushes it",
            Argument("Kind", NAUTES_KINDS),
        ),
        Fault(
            "binding-permissions-stored-readonly",
            "the Nautes API server stores every CodeRepoBinding with permissions readonly, whatever was sent",
        ),
        Fault(
            "deploykey-mismatch",
            "the deploy keys Nautes writes to Vault are not the ones it registered in GitLab (a lost update)",
        ),
        Fault(
            "readonly-deploykey-can-push",
            "GitLab creates every deploy key with write access (can_push true), whatever the request asked",
        ),
        Fault(
            "webhook-push-events-off",
            "GitLab saves new project hooks with push events off, whatever the request asked",
        ),
        Fault(
            "main-put-back-after-force-push",
            "a pull mirror puts a repository's main back where it was right after a forced push to it",
        ),
        Fault(
            "cluster-kubeconfig-credentials-dropped",
            "a cluster save stores its kubeconfig in Vault without the user's credentials (token dropped)",
        ),
        # -- issue 8, side effects of the pipeline, image and tag rewrite (helper "promises-pipeline") --
        Fault(
            "pipelinerun-succeeds-despite-failed-task",
            "that task of the user's PipelineRun fails, and the Tekton controller loses the failure: the "
            "TaskRun is Failed, the PipelineRun Succeeded",
            Argument("pipeline task name"),
        ),
        Fault(
            "push-starts-two-runs",
            "the event source publishes each push event twice (a publish retried after its ack was lost): "
            "one push starts two init runs, hence two user PipelineRuns",
        ),
        Fault(
            "image-blob-missing",
            "the registry's garbage collection, run during a push, deletes the new image's layers: its "
            "manifest is served, its layer blobs answer 404 BLOB_UNKNOWN",
        ),
        Fault(
            "image-digest-mismatch",
            "kaniko reports the image's config digest (its image ID) as IMAGE_DIGEST instead of the digest "
            "of the manifest it pushed",
        ),
        Fault(
            "bot-commit-deletes-file",
            "the git-cli task's checkouts lost a tracked file (a workspace cleaned meanwhile), so the bot's "
            "`git commit -a` deletes it along with the image change",
        ),
        Fault(
            "pipelinerun-created-elsewhere",
            "the init run's pipeline-run script creates the user's PipelineRun in the product namespace, "
            "not in the runtime's destination namespace",
        ),
        # -- issue 8, objects remove forgets (helper "inventory") --
        Fault(
            "remove-forgets-vault-secret",
            "a CodeRepo delete never removes its project access token from Vault (git/.../accesstoken-api)",
        ),
        Fault(
            "remove-forgets-product-namespace",
            "the runtime operator deletes a removed runtime's namespace, never its product's (product-<id>)",
        ),
        # -- issue 8, transient and slow answers the run must absorb (helper "transient") --
        Fault(
            "gitlab-502-first-request",
            "GitLab's Puma restarts: Workhorse answers 502 'GitLab is not responding' to the first request "
            "of every REST API method and path (git over HTTP/SSH and the internal API are not touched)",
        ),
        Fault(
            "nautes-api-slow",
            "the Nautes API server answers every request 0.25 s late (a busy server), within the timeouts",
        ),
        Fault(
            "webhook-delivered-late",
            "GitLab delivers push webhooks 2 s late (a busy Sidekiq queue), within the stage's timeout",
        ),
        # -- issue 11, virtual cluster (helper "virtual-cluster") --
        Fault(
            "vcluster-never-installed",
            "the host never installs a virtual cluster registered on it (the vcluster chart never comes up): "
            "nothing serves its API at the node port, and the cluster-operator never stores its kubeconfig",
        ),
    )
}


class ArmedFaults(Protocol):
    """What is armed for single runs on the running stack (:class:`.fault_control.FaultControl`)."""

    def arms(self) -> Mapping[str, Mapping[str, frozenset[str]]]: ...


def carries(about: str, suffix: str) -> bool:
    """Whether ``about`` (a name, path or URL path) carries the run's names: ``suffix`` is one or more whole
    dash-separated words of one of its ``/``, ``.`` or ``:`` separated parts (``pr-demo-s1``,
    ``demo-s1/coderepo-sc-demo-s1``, ``12-pr-demo-s1-0``; not ``pr-demo-s10``)."""
    needle = f"-{suffix}-"
    return any(needle in f"-{part}-" for part in re.split(r"[/.:]", about))


class Faults:
    """The faults one stack runs with; inactive until :meth:`arm` is called."""

    def __init__(self, selected: Mapping[str, Iterable[str]] | None = None) -> None:
        """``selected`` maps fault names to their arguments (empty for faults that take none)."""
        self._selected = {name: frozenset(arguments) for name, arguments in (selected or {}).items()}
        unknown = sorted(set(self._selected) - set(FAULTS))
        if unknown:
            raise FaultError(_unknown_message(unknown[0]))
        self._armed = False
        self._fired: set[tuple[str, str | None, str | None]] = set()
        self._per_run: ArmedFaults | None = None

    def arm(self) -> None:
        """From now on the selected faults act (the stack calls this when its bootstrap is done)."""
        self._armed = True

    def arm_per_run(self, armed: ArmedFaults) -> None:
        """From now on also the faults ``armed`` holds for a run act, on what :func:`carries` its names."""
        self._per_run = armed

    def active(self, name: str, argument: str | None = None, *, about: str | None = None) -> bool:
        """Whether fault ``name`` acts now (with ``argument``, when the fault takes one).

        ``about`` names what the fault would act on, as the run named it (a product or GitLab group, a
        repository path, a namespace, a cluster, a PipelineRun): a fault armed for one run only (its
        suffix) acts only on what carries that run's names.

        The first time a fault acts it is logged (for a run's fault: once per run, naming it), so
        ``logs/refstack.log`` tells which faults fired.
        """
        if name not in FAULTS:
            raise FaultError(_unknown_message(name))  # a typo in a hook must not pass silently
        if not self._armed:
            return False
        arguments = self._selected.get(name)
        if arguments is not None and (argument is None or argument in arguments):
            self._fire(name, argument, None)
            return True
        run = self._run_armed(name, argument, about)
        if run is None:
            return False
        self._fire(name, argument, run)
        return True

    def _run_armed(self, name: str, argument: str | None, about: str | None) -> str | None:
        """The run (suffix) that armed ``name`` for what ``about`` names, if any."""
        if self._per_run is None or about is None:
            return None
        for suffix, faults in self._per_run.arms().items():
            arguments = faults.get(name)
            if arguments is None or (argument is not None and argument not in arguments):
                continue
            if carries(about, suffix):
                return suffix
        return None

    def _fire(self, name: str, argument: str | None, run: str | None) -> None:
        if (name, argument, run) in self._fired:
            return
        self._fired.add((name, argument, run))
        log.warning(
            "fault %s%s acts%s: %s",
            name,
            f"={argument}" if argument else "",
            f" for run {run}" if run else "",
            FAULTS[name].breakage,
        )

    def describe(self) -> list[str]:
        """``NAME[=ARG]: breakage`` for every selected fault, in name order (what the stack logs)."""
        lines = []
        for name in sorted(self._selected):
            shown = [f"{name}={argument}" for argument in sorted(self._selected[name])] or [name]
            lines += [f"{selection}: {FAULTS[name].breakage}" for selection in shown]
        return lines


#: Components default to this; it selects nothing, so it never acts, armed or not.
NO_FAULTS = Faults()


def parse_faults(items: Iterable[str]) -> Faults:
    """Faults from ``NAME`` / ``NAME=ARG`` items; :class:`FaultError` names the first bad one."""
    return Faults(parse_selection(items))


def parse_selection(items: Iterable[str]) -> dict[str, set[str]]:
    """Fault names and their arguments from ``NAME`` / ``NAME=ARG`` items; :class:`FaultError` names the
    first bad one."""
    selected: dict[str, set[str]] = {}
    for item in items:
        name, has_argument, argument = item.strip().partition("=")
        fault = FAULTS.get(name)
        if fault is None:
            raise FaultError(_unknown_message(name))
        if fault.argument is None:
            if has_argument:
                raise FaultError(f"fault {name} takes no argument (got {item.strip()!r})")
            selected.setdefault(name, set())
            continue
        if not argument:
            raise FaultError(f"fault {name} needs an argument: {fault.usage}")
        problem = fault.argument.problem(argument)
        if problem is not None:
            raise FaultError(f"fault {fault.usage}: {problem}")
        selected.setdefault(name, set()).add(argument)
    return selected


def faults_from(options: Sequence[str], environ: Mapping[str, str]) -> Faults:
    """The ``--fault`` options plus the comma-separated items of :data:`FAULTS_ENV`."""
    from_environment = [item for item in environ.get(FAULTS_ENV, "").split(",") if item.strip()]
    return parse_faults([*options, *from_environment])


def _unknown_message(name: str) -> str:
    known = "\n".join(f"  {fault.usage}: {fault.breakage}" for fault in FAULTS.values())
    return f"unknown fault {name!r}; the reference stack knows:\n{known}"
