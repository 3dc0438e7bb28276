"""One retry policy for every client: a transient answer is sent again, a permanent one is not.

Why: a healthy installation answers 502/503/504 now and then (GitLab's Workhorse answers 502 while Puma
restarts, ``gitlab-workhorse`` ``internal/badgateway/roundtripper.go``; an ingress answers 503 while a pod
rolls; a proxy 504), and resets a connection it is closing. A release gate that fails on those tells nothing
about Nautes. Everything else is an answer about the request — a 4xx, a 500, a 501 — and is final: sending
it again would only hide a bug.

What is sent again: requests that are safe to repeat (RFC 9110 §9.2.1: GET, HEAD, OPTIONS) at the transport
(:class:`RetryingAdapter`, mounted on each client's ``requests`` session, so that every method a client
gains is covered); a write only where its client knows it is idempotent and has read back whether the first
send landed (the Nautes client's save, which creates or updates: :func:`call_with_retries`' ``read_back``).
A POST that creates is never sent again: a second one could create twice.

How: at most :attr:`RetryPolicy.attempts` sends, exponential pauses from :attr:`RetryPolicy.first_pause_s`,
none started once :attr:`RetryPolicy.within_s` have passed (far below any stage's timeout). Each resend is a
:class:`TransientRetry` told to the :class:`RetryLog` the client was given; the stage layer listens to it
and keeps each in the running stage's progress, notes and evidence (a client cannot import the stages). When
the last send is transient too, its answer is returned (or its error raised) as if nothing had been retried,
so the client's own error says what the server answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from nautes_e2e.clients.errors import connection_reset

R = TypeVar("R")

#: Answers of a gateway or a server that is (re)starting, not about the request (RFC 9110 §15.6.3-15.6.5).
TRANSIENT_STATUSES = frozenset({502, 503, 504})
#: Methods whose repetition changes nothing on the server (RFC 9110 §9.2.1).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how long, a transient answer is waited out."""

    #: Sends of one request at most (the first included).
    attempts: int = 4
    #: The pause before the first resend; each next pause doubles, up to ``max_pause_s``.
    first_pause_s: float = 0.25
    max_pause_s: float = 2.0
    #: No resend starts once this long has passed since the first send (requests included): a service
    #: that still answers 502 after that is down, and the stage should say so.
    within_s: float = 15.0
    #: How to pause (tests pass a recorder instead of waiting).
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class TransientRetry:
    """One send that got a transient answer and was sent again after ``pause_s``. ``attempt`` counts the
    sends of that request (1 = the first); ``read_back`` says, for a write, what reading it back found."""

    service: str
    method: str
    path: str
    answer: str
    attempt: int
    pause_s: float
    read_back: str = ""

    def __str__(self) -> str:
        read_back = f"; read back: {self.read_back}" if self.read_back else ""
        return (
            f"{self.service} answered {self.method} {self.path} with {self.answer} (send {self.attempt})"
            f"{read_back}; sent again after {self.pause_s:.2f} s (a transient answer)"
        )


class RetryLog:
    """Every resend of the clients that share it, in order, and who is told of each as it happens."""

    def __init__(self) -> None:
        self.retries: list[TransientRetry] = []
        self._listeners: list[Callable[[TransientRetry], None]] = []

    def record(self, retry: TransientRetry) -> None:
        self.retries.append(retry)
        for listener in list(self._listeners):
            listener(retry)

    @contextmanager
    def listening(self, listener: Callable[[TransientRetry], None]) -> Iterator[None]:
        """Within the block, ``listener`` is told of each resend (the stage layer's reporter)."""
        self._listeners.append(listener)
        try:
            yield
        finally:
            self._listeners.remove(listener)


def call_with_retries(
    policy: RetryPolicy,
    log: RetryLog,
    send_once: Callable[[], R],
    *,
    status_of: Callable[[R], int],
    release: Callable[[R], None] = lambda _: None,
    service: str,
    method: str,
    path: str,
    read_back: Callable[[], str] | None = None,
) -> R:
    """``send_once()``, sent again under ``policy`` while it answers a :data:`TRANSIENT_STATUSES` status
    (``status_of``) or raises an error caused by a connection reset; every other answer or error is final
    at once. ``release`` frees an answer that is not returned (its connection). ``read_back``, for a write,
    is called before each resend and says whether the send landed; it is kept in the retry's record."""

    def before_pause(state: RetryCallState) -> None:
        outcome = state.outcome
        assert outcome is not None  # tenacity pauses only after an attempt
        if outcome.failed:
            answer = "a connection reset"
        else:
            result: R = outcome.result()
            answer = f"HTTP {status_of(result)}"
            release(result)
        found = read_back() if read_back is not None else ""
        pause = state.next_action.sleep if state.next_action is not None else 0.0
        log.record(TransientRetry(service, method, path, answer, state.attempt_number, pause, found))

    def last_outcome(state: RetryCallState) -> R:
        assert state.outcome is not None
        last: R = state.outcome.result()  # the last answer, or its error raised: as if never retried
        return last

    retrying = Retrying(
        retry=retry_if_result(lambda result: status_of(result) in TRANSIENT_STATUSES)
        | retry_if_exception(connection_reset),
        wait=wait_exponential(multiplier=policy.first_pause_s, max=policy.max_pause_s),
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.within_s),
        before_sleep=before_pause,
        retry_error_callback=last_outcome,
        sleep=policy.sleep,
    )
    answer: R = retrying(send_once)
    return answer


class RetryingAdapter(HTTPAdapter):
    """A ``requests`` transport that sends a safe request (:data:`SAFE_METHODS`) again on a transient
    answer, under ``policy``, each resend told to ``log`` as ``service``'s. Other methods pass through."""

    def __init__(self, service: str, policy: RetryPolicy, log: RetryLog) -> None:
        super().__init__()
        self.service = service
        self.policy = policy
        self.log = log

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        method = (request.method or "GET").upper()
        if method not in SAFE_METHODS:
            return super().send(request, *args, **kwargs)
        return call_with_retries(
            self.policy,
            self.log,
            lambda: super(RetryingAdapter, self).send(request, *args, **kwargs),
            status_of=lambda response: response.status_code,
            release=lambda response: response.close(),
            service=self.service,
            method=method,
            path=urlsplit(request.url or "").path or "/",
        )


def retrying_session(
    service: str, log: RetryLog, policy: RetryPolicy | None = None, session: requests.Session | None = None
) -> requests.Session:
    """``session`` (a new one if None) with :class:`RetryingAdapter` mounted for http and https."""
    session = requests.Session() if session is None else session
    adapter = RetryingAdapter(service, RetryPolicy() if policy is None else policy, log)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
