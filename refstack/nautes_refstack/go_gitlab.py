"""How go-gitlab sends a request: again on a 429 or any 5xx (the GitLab client of Nautes and of Argo Events).

Both GitLab clients of the stack's real counterparts are go-gitlab: the Nautes API server's (NAUTES v0.4.2
``app/api-server/pkg/gitlab/gitlab.go`` ``gitlab.NewOAuthClient(token, WithBaseURL, WithHTTPClient)``,
go-gitlab v0.89.0) and Argo Events' gitlab event source's hook registration (v1.7.1
``eventsources/sources/gitlab/start.go`` ``gitlab.NewClient(accessToken, WithBaseURL)``, go-gitlab v0.68.0).
Neither disables retries (``WithHTTPClient`` replaces only the transport), so every request goes through
go-retryablehttp with go-gitlab's policy, the same in both versions (``gitlab.go``):

- ``retryHTTPCheck``: send again when the answer is 429 or ``>= 500`` (a 500 too), whatever the method (a
  POST is resent with its body rewound); a transport error (refused, reset) is returned at once;
- ``RetryMax: 5`` (six sends at most), ``ErrorHandler: PassthroughErrorHandler``: after the last send its
  answer is returned as if nothing had been retried, and go-gitlab's ``CheckResponse`` makes it the error;
- ``retryHTTPBackoff``: before resend ``i`` (0-based) of a 5xx, ``LinearJitterBackoff(700 ms, 900 ms, i)``
  = a uniform pause in [700, 900) ms times ``i + 1`` (go-retryablehttp v0.7.1/v0.7.4 ``client.go``); before
  that of a 429, ``rateLimitBackoff``: ``RetryWaitMin`` 100 ms plus a jitter below 300 ms (the emulated
  GitLab sends no ``RateLimit-Reset`` header to wait for).

The loop below is go-retryablehttp's ``Client.Do`` as those settings make it, so it is written as that loop
rather than with tenacity; each pause lasts as the stack's pace makes a real pause last.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nautes_refstack.pace import Pace

log = logging.getLogger(__name__)

#: go-gitlab ``RetryMax``: resends after the first send.
RETRY_MAX = 5
_SERVER_ERROR_PAUSE_S = (0.7, 0.9)  # go-gitlab retryHTTPBackoff's min and max for a 5xx
_RATE_LIMIT_PAUSE_S = (0.1, 0.4)  # RetryWaitMin, RetryWaitMax (rateLimitBackoff's jitter bounds)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read whole (go-retryablehttp drains a body it does not return)."""

    status: int
    body: bytes


def resent(status: int) -> bool:
    """go-gitlab ``retryHTTPCheck``: a rate limit or any server error is sent again."""
    return status == 429 or status >= 500


def pause_s(status: int, resend: int) -> float:
    """The real pause before resend ``resend`` (0-based) after an answer ``status``."""
    if status == 429:
        low, high = _RATE_LIMIT_PAUSE_S
        return low + random.random() * (high - low)
    low, high = _SERVER_ERROR_PAUSE_S
    return (low + random.random() * (high - low)) * (resend + 1)


async def send(send_once: Callable[[], Awaitable[Answer]], pace: Pace, what: str) -> Answer:
    """``send_once()`` sent as go-gitlab sends it; its errors (a transport failure) are raised at once.
    ``what`` (``METHOD url``, no credentials) names the request in the log, as retryablehttp's debug line
    (``[DEBUG] GET url (status: 502): retrying in 812ms (5 left)``)."""
    answer = await send_once()
    for resend in range(RETRY_MAX):
        if not resent(answer.status):
            return answer
        wait = pause_s(answer.status, resend)
        shown = (what, answer.status, wait, pace.seconds(wait), RETRY_MAX - resend)
        log.info("%s (status: %d): retrying in %.3fs (%.3fs at this pace) (%d left)", *shown)
        await pace.wait(wait)
        answer = await send_once()
    return answer
