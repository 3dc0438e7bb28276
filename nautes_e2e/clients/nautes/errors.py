"""The Nautes API's failures as the client raises them: a reply other than 200, or no reply at all.

A run that must tell "the resource is not there" from "the API is broken" (the teardown asking whether a
cluster registration is gone) catches :class:`NautesNotFound`; everything else the server answers stays a
plain :class:`NautesApiError`, so that an API answering 500 to every request is never taken for "gone".
Error texts are redacted: the server may echo the caller's token (a failed ``git clone`` URL).
"""

from __future__ import annotations

import json
import re

from nautes_e2e.clients.errors import ServiceUnreachable
from nautes_e2e.clients.nautes.results import ApplyResult
from nautes_e2e.secrets import redact

#: How a :class:`~nautes_e2e.clients.errors.ServiceUnreachable` names the Nautes API server.
NAUTES_API = "Nautes API"

# Contract §2.5, "Not-found per operation": the answers, other than a 404, of a GET or DELETE naming a
# resource that does not exist. All are 500s with reason "" (a plain Go error), told apart by the message.
_NOT_FOUND_MESSAGES = (
    # GET and DELETE of a missing cluster (NAUTES internal/biz/cluster.go).
    re.compile(r"the cluster resource \S+ is not found"),
    # GET of a product whose GitLab group is missing.
    re.compile(r"there are no default projects under this product"),
    # DELETE of a missing Project, ProjectPipelineRuntime, CodeRepoBinding or DeploymentRuntime.
    re.compile(
        r"[A-Za-z]+ resource \S+ not found or invalid\. "
        r"Please check whether the resource exists under the default project"
    ),
)


# Contract §2.6.5 (NAUTES internal/biz/errors.go ``_ResourceDoesNotExistOrUnavailable``): a save naming a
# Cluster whose resource Argo CD has not created yet.
_CLUSTER_NOT_SYNCED = re.compile(
    r"during global validation, it was found that Cluster '([^']+)' does not exist or is unavailable",
    re.IGNORECASE,
)


# NAUTES v0.4.2 serialises nothing: every request clones the repository it changes, changes it and pushes,
# and two requests touching one repository at the same moment fail one way or another. In each case below
# the failing request pushed nothing (its clone, commit or merge failed, or its push was refused), so it may
# be sent again as it was; a save creates or updates, a delete of what is still there deletes it. Searched
# for anywhere in the message: the API server puts its own context in front ("failed to get gitlab
# certificate, err: ...").
_CONCURRENT_USE = (
    # app/api-server/internal/data/git.go ``Clone``: every request clones into
    # ``fmt.Sprintf("%s%v", "/tmp/product", time.Now().Unix())``, so two requests cloning a repository of the
    # same name (the tenant repository ``management``; every product's ``default.project``, whichever the
    # product) in the same second clone into one directory, and the later fails: git finds the directory
    # taken (builtin/clone.c "destination path '%s' already exists and is not an empty directory"), or, when
    # both start at the same instant, trips over the other's files in it ("could not create work tree dir
    # '%s': File exists", ".../product<seconds>/<repo>/.git/config: File exists", "cannot copy <template>
    # ...: File exists", "BUG: ... initial ref transaction called with existing refs"; "No such file or
    # directory" once the other request removed its clone). Each seen with git 2.39 racing two clones.
    # The directory is new but for such a clone, so any "File exists" of a clone is one; a clone failing
    # for another reason (authentication, no space left, permission denied) is not matched. ``Clone``
    # wraps git's output as "failed to clone repository: ...".
    re.compile(
        r"failed to clone repository: .*?(?P<what>destination path '[^']*' already exists"
        r"|[^\n]*: File exists"
        r"|[^\n]*/product\d+/[^\n]*: No such file or directory"
        r"|initial ref transaction called with existing refs)",
        re.DOTALL,
    ),
    # internal/data/git.go ``Push`` ("push data: <git output>, err: ..."), from internal/biz/resource.go
    # ``PushToGit`` (``SaveConfig`` pushes once after a fetch that found the remote unmoved) and
    # ``retryAutoMerge``: another request's push landed first. git refuses a push the remote moved under
    # ("[rejected] ... (fetch first)" or "(non-fast-forward)"), and the receiving side one whose ref moved
    # while it was written ("[remote rejected] ... (cannot lock ref ...)"). Other refusals of a push (a
    # protected branch's "pre-receive hook declined") are no race and are not matched.
    re.compile(
        r"push data: .*?(?P<what>\[rejected\][^\n]*\((?:fetch first|non-fast-forward)\)"
        r"|\[remote rejected\][^\n]*\(cannot lock ref[^\n]*)",
        re.DOTALL,
    ),
    # internal/biz/resource.go ``retryAutoMerge``: the remote moved since the clone (another request pushed)
    # and git cannot merge the two changes (two saves adding their line to one kustomization.yaml).
    re.compile(r"(?P<what>when the save configuration cannot be merge automatically)"),
    # ``retryAutoMerge`` after its push lost a race runs ``PushToGit`` again, whose ``retryAutoMerge``
    # commits again (internal/data/git.go ``Commit``: "commit output: ...") on the tree committed the first
    # time: git has nothing to commit. The same when a save that changes nothing finds the remote moved.
    re.compile(r"commit output: .*?(?P<what>nothing to commit)", re.DOTALL),
)

# Contract §2.6.2 (NAUTES internal/biz/product.go): the group still holds other projects.
_PRODUCT_NOT_EMPTY = re.compile(r"here are multiple project in \S+, unable to delete")


class NautesApiError(Exception):
    """A non-200 reply. ``str()`` is the CLI's text, ``failed to operate <Kind>:\\n<body>``, redacted.

    ``code``/``reason``/``message`` come from the kratos error body (contract §2.5); a body that is not
    that JSON is kept whole as ``message`` with ``code`` = the HTTP status and ``reason`` empty.
    ``completed`` lists what an ``apply``/``remove`` run had already done before this failure.
    """

    def __init__(self, *, status: int, body: str, kind: str, name: str, method: str, url: str) -> None:
        self.status = status
        self.body = redact(body)
        self.kind = kind
        self.name = name
        self.method = method
        self.url = redact(url)
        self.code, self.reason, self.message = _parse_error_body(status, self.body)
        self.completed: tuple[ApplyResult, ...] = ()
        super().__init__(f"failed to operate {kind}:\n{self.body}")


class NautesNotFound(NautesApiError):
    """The API server's answer that the resource the request names does not exist (contract §2.5).

    That is every ``404`` (the typed ``GROUP_NOT_FOUND``, ``PROJECT_NOT_FOUND``, ``RESOURCE_NOT_FOUND``,
    ``NODE_NOT_FOUND`` … errors, and the router's ``404 page not found``), and the ``500`` bodies §2.5
    lists under "Not-found per operation"::

        GET/DELETE cluster missing       500 the cluster resource <n> is not found
        GET product, group missing       500 there are no default projects under this product
        DELETE project/ppr/crb/dr        500 <Kind> resource <name> not found or invalid. Please check
                                             whether the resource exists under the default project

    Not included, though they speak of absence: ``DELETE`` of a missing environment (``500 UNKNOWN
    unknown request error``, the answer to any panic, so indistinguishable from a crash), and a save
    refused because a resource it *refers to* is missing (``RESOURCE_NOT_EXIST``, ``... does not exist or
    is unavailable``, ``... does not exist or is invalid``, §2.6): there the named resource is not the
    missing one, and the request failed validation.
    """


class NautesClusterNotSynced(NautesApiError):
    """The save refers to a Cluster the API server does not see yet (contract §2.6.5).

    The API server checks the Cluster *resource* in the tenant management cluster, which exists only once
    Argo CD has synced the tenant repository after the cluster was registered (automated sync, no webhook:
    the default reconciliation every 3 minutes, contract §3.5). Until then a save that names the cluster
    (an Environment) answers 500 ``during global validation, it was found that Cluster '<c>' does not
    exist or is unavailable. ...``: not a failure of the save but a state to wait out. ``cluster`` names it.
    """

    @property
    def cluster(self) -> str:
        match = _CLUSTER_NOT_SYNCED.search(self.message)
        return match.group(1) if match else "?"


class NautesProductNotEmpty(NautesApiError):
    """A product delete refused because its GitLab group holds more than ``default.project`` (contract
    §2.6.2: ``here are multiple project in <path>, unable to delete``). Right after its repositories were
    removed this is a state to wait out: GitLab deletes projects in a background job."""


class NautesConcurrentUse(NautesApiError):
    """Nautes refused the request because another request used the same repository at the same moment
    (NAUTES v0.4.2 serialises nothing: see ``_CONCURRENT_USE``). Nothing was pushed, so the client sends it
    again (:mod:`.resend`); raised only when it was refused every time. ``collision`` quotes what collided
    ("destination path 'management' already exists", "[rejected] main -> main (fetch first)", ...)."""

    @property
    def collision(self) -> str:
        found = _concurrent_use(self.message)
        return " ".join(found.split()) if found else "?"


class NautesConnectionError(ServiceUnreachable):
    """The request never got an HTTP reply (connection refused, no connection in time, TLS, too many
    redirects): ``Nautes API at <endpoint> did not answer <METHOD path>: <reason>``."""

    def __init__(self, endpoint: str, action: str, reason: str) -> None:
        super().__init__(NAUTES_API, endpoint, action, reason)


class NautesRequestCut(NautesConnectionError):
    """No reply within the client's timeout: the server may still be at work, and a save may yet land.

    The CLI itself never gives up (contract §1.2), so a cut save is not a failed one: whoever retries it
    reads it back first. ``kind``/``name`` name the document whose request was cut (set by ``apply`` and
    ``remove``), ``completed`` what the run had done before it.
    """

    def __init__(self, endpoint: str, action: str, reason: str) -> None:
        super().__init__(endpoint, action, reason)
        self.kind = ""
        self.name = ""
        self.completed: tuple[ApplyResult, ...] = ()


def reply_error(*, status: int, body: str, kind: str, name: str, method: str, url: str) -> NautesApiError:
    """The error for a non-200 reply: :class:`NautesNotFound` if it means "no such resource",
    :class:`NautesClusterNotSynced` if the cluster it refers to is not synced yet,
    :class:`NautesConcurrentUse` if another request used the same repository at the same moment."""
    _, _, message = _parse_error_body(status, body)
    error_class = NautesApiError
    if status == 404 or (
        status == 500 and any(pattern.fullmatch(message) for pattern in _NOT_FOUND_MESSAGES)
    ):
        error_class = NautesNotFound
    elif status == 500 and method == "POST" and _CLUSTER_NOT_SYNCED.match(message):
        error_class = NautesClusterNotSynced
    elif status == 500 and method == "DELETE" and kind == "Product" and _PRODUCT_NOT_EMPTY.fullmatch(message):
        error_class = NautesProductNotEmpty
    elif status == 500 and _concurrent_use(message) is not None:
        error_class = NautesConcurrentUse
    return error_class(status=status, body=body, kind=kind, name=name, method=method, url=url)


def _concurrent_use(message: str) -> str | None:
    """What collided, quoted from ``message`` (a ``_CONCURRENT_USE`` pattern's ``what``), or None."""
    for pattern in _CONCURRENT_USE:
        match = pattern.search(message)
        if match is not None:
            return match.group("what")
    return None


def _parse_error_body(status: int, body: str) -> tuple[int, str, str]:
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        code = parsed.get("code")
        return (code if isinstance(code, int) else status, str(parsed.get("reason") or ""), parsed["message"])
    return status, "", body
