"""Throughput of :func:`nautes_e2e.secrets.redact` on evidence-sized text, against whole-value matching only.

Evidence files can be megabytes (pod logs, the installer's log, API dumps), and every byte the harness writes
goes through the redactor. Masking fragments (``nautes_e2e.secrets.fragments``) scans the text run by run
where whole-value matching only searched it once per form; this prints what that costs, on 5 MB with 20
registered secrets (10 url-safe tokens, 4 Vault-style hex tokens, 4 GitLab tokens, a PEM key and a
kubeconfig), in three shapes: a mixed log (log lines, JSON, URLs, hex digests, some base64) with each token
planted whole, cut by ``...`` and split over two lines (54 times in all); the same log with no secret in it
(the usual evidence file); a base64-heavy dump (Kubernetes Secrets). ``whole values`` is the redactor before
fragments (each value, its JSON and its repr() form, replaced with ``str.replace``). Also: one terminal
line, what every write of pytest's terminal costs.

    python benchmarks/redaction.py [--megabytes 5] [--repeat 5]

Measured on the shared 2-core machine (best of 5, 5 MB), at load average 3 and, in brackets, at 5:

    text               whole values            with fragments
    log, 54 planted    23 ms (210 MB/s) [33-40]   127-130 ms (39 MB/s) [257-374]   18 vs 90 masks
    log, none in it    10 ms (510 MB/s) [11-18]   100 ms (50 MB/s) [132-215]
    base64 dump         9 ms (560 MB/s) [10-12]    40-42 ms (120 MB/s) [71-90]
    one 80-character terminal line: 4.5 us [6]

The 72 masks whole values miss are the cut and split fragments. A 5 MB evidence file costs 0.1-0.4 s.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import time
import timeit
from collections.abc import Callable

from nautes_e2e.secrets import MASK, Secret, redact

WORDS = [
    *("the", "stage", "applied", "product", "cluster", "runtime", "deploy", "pipeline", "waiting", "synced"),
    *("healthy", "namespace", "project", "group", "token", "vault", "secret", "kubeconfig", "argocd"),
    *("tekton", "commit", "push", "repository", "environment", "coderepo", "status", "ready", "failed"),
    *("retry", "response", "request", "certificate-authority-data", "apiVersion"),
]
URLSAFE = string.ascii_letters + string.digits + "-_"


def make_secrets(rng: random.Random) -> list[str]:
    def token(length: int, alphabet: str = URLSAFE) -> str:
        return "".join(rng.choices(alphabet, k=length))

    key_body = base64.b64encode(rng.randbytes(1200)).decode()
    body = [key_body[i : i + 64] for i in range(0, len(key_body), 64)]
    key = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *body, "-----END RSA PRIVATE KEY-----", ""])
    kubeconfig = (
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
        f"    certificate-authority-data: {base64.b64encode(rng.randbytes(800)).decode()}\n"
        "    server: https://127.0.0.1:6443\n  name: runtime\nusers:\n- name: admin\n  user:\n"
        f"    token: {token(43)}\n"
    )
    return [
        *(token(43) for _ in range(10)),
        *("dev-" + token(32, "0123456789abcdef") for _ in range(4)),
        *("glpat-" + token(20) for _ in range(4)),
        key,
        kubeconfig,
    ]


def mixed_log(rng: random.Random, size: int, planted: list[str]) -> str:
    lines: list[str] = []
    length = 0
    while length < size:
        kind = rng.random()
        stamp = f"2024-05-0{rng.randint(1, 9)}T12:{rng.randint(10, 59)}:{rng.randint(10, 59)}Z"
        if kind < 0.5:
            words = " ".join(rng.choices(WORDS, k=rng.randint(5, 14)))
            line = (
                f"{stamp} INFO [{rng.choice(WORDS)}] {words} path=/api/v1/namespaces/ns-{rng.randint(1, 99)}"
            )
        elif kind < 0.8:
            line = json.dumps(
                {"time": stamp, "msg": " ".join(rng.choices(WORDS, k=8)), "digest": rng.randbytes(32).hex()}
            )
        elif kind < 0.9:
            line = base64.b64encode(rng.randbytes(48)).decode()
        else:
            project = f"projects/{rng.randint(1, 999)}?sha={rng.randbytes(20).hex()}"
            line = f"{stamp} WARN https://gitlab.local/api/v4/{project}"
        lines.append(line)
        length += len(line) + 1
    for value in planted:  # whole, cut by saferepr, split over two lines
        lines.insert(rng.randrange(len(lines)), f"token={value}")
        lines.insert(rng.randrange(len(lines)), f"assert '{value[:11]}...{value[-9:]}' == ''")
        lines.insert(rng.randrange(len(lines)), f"raw = (b'{value[:20]}'\n b'{value[20:]}')")
    return "\n".join(lines)


def base64_dump(rng: random.Random, size: int) -> str:
    blobs: list[str] = []
    length = 0
    while length < size:
        blob = (
            f'{{"kind": "Secret", "data": {{"tls.crt": "{base64.b64encode(rng.randbytes(1500)).decode()}"}}}}'
        )
        blobs.append(blob)
        length += len(blob) + 1
    return "\n".join(blobs)


def whole_values_only(values: list[str]) -> Callable[[str], str]:
    """The redactor before fragments: each value, its JSON and its repr() form, replaced whole."""
    forms = sorted(
        {form for value in values for form in (value, json.dumps(value)[1:-1], repr(value)[1:-1])},
        key=len,
        reverse=True,
    )

    def scrub(text: str) -> str:
        for form in forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    return scrub


def best_seconds(function: Callable[[str], str], text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function(text)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    rng = random.Random(9)
    values = make_secrets(rng)
    for value in values:
        Secret(value)
    size = int(arguments.megabytes * 1_000_000)
    tokens = [value for value in values if "\n" not in value]
    texts = {
        "log, 54 planted": mixed_log(rng, size, tokens),
        "log, none in it": mixed_log(rng, size, []),
        "base64 dump": base64_dump(rng, size),
    }
    print(f"{len(values)} registered secrets, best of {arguments.repeat}")
    line = "test_planted.py::test_response_body PASSED" + " " * 31 + "[  8%]\n"
    runs = 20_000
    seconds = min(timeit.repeat(lambda: redact(line), number=runs, repeat=arguments.repeat)) / runs
    print(f"one {len(line)}-character terminal line: {seconds * 1e6:.1f} us")
    for name, text in texts.items():
        megabytes = len(text) / 1e6
        for label, function in (("whole values", whole_values_only(values)), ("with fragments", redact)):
            seconds = best_seconds(function, text, arguments.repeat)
            masked = function(text).count(MASK) - text.count(MASK)
            print(
                f"{name:15} {megabytes:4.1f} MB  {label:15} {seconds * 1000:7.1f} ms"
                f"  {megabytes / seconds:6.1f} MB/s  {masked:5} masks"
            )


if __name__ == "__main__":
    main()
