"""One error for a service that never answered, whichever client asked: :class:`ServiceUnreachable`.

Each client splits what can go wrong in two. A service that answered and refused (a 404, a 500, a 401) is
that client's own error (``GitLabError``, ``KubeError``, ``NautesApiError``, ...), because what the answer
says matters. A service that gave no answer at all (connection refused, a name that does not resolve, a
certificate that is not trusted, no reply in time) is a :class:`ServiceUnreachable`, because then only three
things matter and they are the same for every service: where (the endpoint), what was tried, and why no
answer came — in one line.

The libraries underneath (requests, urllib3, python-gitlab, hvac, the kubernetes client) report "no answer"
as a chain of three or four wrapped exceptions, each with its own traceback: a closed GitLab port printed
720 lines. Clients raise :class:`ServiceUnreachable` ``from None``; :func:`no_reply_reason` has already
taken the one fact the chain held (``connection refused``).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
import urllib3

from nautes_e2e.secrets import redact


class ServiceUnreachable(Exception):
    """``service`` at ``endpoint`` gave no answer to ``action`` (a request line or a command), for
    ``reason``. The text is one line, redacted: ``GitLab at http://127.0.0.1:9 did not answer GET
    /api/v4/user: connection refused``."""

    def __init__(self, service: str, endpoint: str, action: str, reason: str) -> None:
        self.service = service
        self.endpoint = redact(endpoint)
        self.action = redact(action)
        self.reason = redact(" ".join(reason.split()))
        super().__init__(f"{service} at {self.endpoint} did not answer {self.action}: {self.reason}")


#: What the socket said, innermost first: these say more than any wrapper around them. The first match
#: of an exception wins, so a subclass comes before its base.
_SOCKET_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (socket.gaierror, "its host name does not resolve"),
    (ConnectionRefusedError, "connection refused"),
    (http.client.RemoteDisconnected, "the connection closed without a reply"),  # a ConnectionResetError
    (ConnectionResetError, "the connection was reset"),
)
#: Timeouts, outermost first: requests and urllib3 know which phase timed out, the socket does not.
_CONNECT_TIMEOUTS = (requests.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError)
_READ_TIMEOUTS = (requests.Timeout, urllib3.exceptions.ReadTimeoutError, TimeoutError)


def no_reply_reason(error: BaseException, *, timeout_s: float | None = None, tls_hint: str = "") -> str:
    """Why a request got no answer, in a few words, from the most specific exception in ``error``'s chain.

    ``timeout_s`` is the client's timeout, named when it ran out; ``tls_hint`` is added when the
    service's certificate is not trusted or the handshake fails (where to give its CA).
    """
    chain = list(_chain(error))
    for cause in reversed(chain):
        if isinstance(cause, ssl.SSLError):
            return _tls_reason(cause) + (f": {tls_hint}" if tls_hint else "")
        for kind, reason in _SOCKET_REASONS:
            if isinstance(cause, kind):
                return reason
    within = f" within {timeout_s:g}s" if timeout_s is not None else " in time"
    for cause in chain:
        if isinstance(cause, _CONNECT_TIMEOUTS):
            return f"no connection{within}"
        if isinstance(cause, _READ_TIMEOUTS):
            return f"no reply{within}"
    for cause in reversed(chain):
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
    innermost = chain[-1]
    return f"{type(innermost).__name__}: {innermost}" if str(innermost) else type(innermost).__name__


def connection_reset(error: BaseException) -> bool:
    """Whether ``error`` comes of a connection the other end reset or closed without a reply (what a
    server or a gateway that is restarting does), found anywhere in its chain."""
    return any(isinstance(cause, ConnectionResetError) for cause in _chain(error))


def _tls_reason(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"its TLS certificate is not trusted ({error.verify_message})"
    return f"the TLS handshake failed ({error.reason or error})"


def request_line(error: BaseException) -> str | None:
    """``GET /api/v4/user``: the request a requests exception was raised for, if it says."""
    request = getattr(error, "request", None)
    if not isinstance(request, requests.PreparedRequest) or not request.url:
        return None
    path = urlsplit(request.url).path or "/"
    return f"{request.method} {path}"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception it wraps (as a cause, a context, an argument or urllib3's
    ``reason``), outermost first, each once."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [argument for argument in current.args if isinstance(argument, BaseException)]
        reason = getattr(current, "reason", None)
        wrapped += [reason] if isinstance(reason, BaseException) else []
        wrapped += [linked for linked in (current.__cause__, current.__context__) if linked is not None]
        pending += wrapped
