"""``python -m nautes_refstack up --dir DIR [--fault NAME[=ARG] ...] [--pace instant|real]
[--time-scale FACTOR] [--registry-tls ca|insecure] [--registry-path PATH] [--external-vault URL]
[--external-registry URL] [--clusters N] [--exit-with-parent[=PID]]``: run the reference stack until
SIGINT/SIGTERM/SIGHUP (or, with ``--exit-with-parent``, until its parent is gone). DIR is locked for this
stack and tidied when it stops (:mod:`.world_dir`); a second ``up`` into it refuses (exit status 2) without
touching it. Faults come from ``--fault`` and ``NAUTES_E2E_REFSTACK_FAULTS``, the pace from
``--pace``/``--time-scale`` or ``NAUTES_E2E_REFSTACK_PACE``/``NAUTES_E2E_REFSTACK_TIME_SCALE``, an external
service's credentials from the variables :mod:`.external` names; a bad one stops the start before anything
listens (exit status 2). ``arm --dir DIR --run SUFFIX NAME[=ARG] ...`` and ``disarm --dir DIR --run SUFFIX``
arm faults on the stack running in DIR for one run (:mod:`.fault_control`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nautes_refstack.collector  # first of the stack's modules: it pauses the collector
from nautes_refstack import fault_control, routes
from nautes_refstack.children import watch_children_with_pidfds
from nautes_refstack.clusters import MAX_CLUSTERS
from nautes_refstack.external import (
    REGISTRY_PASSWORD_ENV,
    REGISTRY_USERNAME_ENV,
    VAULT_TOKEN_ENV,
    ExternalServiceError,
    ExternalServices,
    external_services_from,
)
from nautes_refstack.faults import FAULTS, FAULTS_ENV, FaultError, Faults, faults_from
from nautes_refstack.pace import (
    DEFAULT_TIME_SCALE,
    PACE_ENV,
    PACES,
    TIME_SCALE_ENV,
    Pace,
    PaceError,
    pace_from,
)
from nautes_refstack.stack import REGISTRY_TLS_MODES, ReferenceStack, RegistryOptions
from nautes_refstack.stop_deadline import StopDeadline, kill_children
from nautes_refstack.world_dir import WorldDirectory, WorldInUse

USAGE_ERROR = 2
# An image reference's path: lower-case components joined by '/' (distribution/reference).
_REGISTRY_PATH = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)


def _registry_path(value: str) -> str:
    if not _REGISTRY_PATH.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is no image path: lower-case letters and digits, joined by '.', '_', '-' and '/'"
        )
    return value


def _cluster_count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_CLUSTERS:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of clusters from 1 to {MAX_CLUSTERS}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nautes-e2e refstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "faults",
        help="list the faults the stack can inject, one per line: NAME[=<ARG>], a tab, what it breaks",
    )
    for command, text in (
        (
            "arm",
            "arm faults for one run on the stack running in DIR: arm --dir DIR --run SUFFIX NAME[=ARG] ...",
        ),
        ("disarm", "disarm the faults of one run: disarm --dir DIR --run SUFFIX"),
        ("routes", "list every route the emulations serve, its handler and the source it follows [--json]"),
    ):
        commands.add_parser(command, help=text)  # listed here, parsed by fault_control/routes (see main)
    up = commands.add_parser(
        "up",
        help="start the embedded reference stack and keep it running until interrupted",
        description="Writes DIR/target.yaml, DIR/credentials.env and the kubeconfigs (0600, in a 0700 DIR "
        "when it creates DIR), then DIR/ready; removes them again when it stops, keeping DIR/logs. One "
        "stack per DIR (DIR/stack.lock).",
    )
    up.add_argument(
        "--dir",
        type=Path,
        required=True,
        help="directory for the target files, data and logs (one stack each)",
    )
    up.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[=ARG]",
        help=f"inject a fault (repeatable; also {FAULTS_ENV}=NAME[=ARG],...): "
        + "; ".join(fault.usage for fault in FAULTS.values()),
    )
    up.add_argument(
        "--pace",
        metavar="|".join(PACES),
        help=f"real (default: a real installation's delays and order, scaled) or instant (no delays); "
        f"also {PACE_ENV}",
    )
    up.add_argument(
        "--time-scale",
        metavar="FACTOR",
        help=f"multiply every real delay by FACTOR (default {DEFAULT_TIME_SCALE}; 0.01: 180 s take 1.8 s; 1: "
        f"as slow as a real installation); or {TIME_SCALE_ENV}",
    )
    up.add_argument(
        "--registry-tls",
        choices=REGISTRY_TLS_MODES,
        help="serve the registry over HTTPS with a private CA on 127.0.0.2 (a host kaniko speaks HTTPS to); "
        "target.yaml gives the CA as registry.caBundle (ca) or sets registry.insecure (insecure)",
    )
    up.add_argument(
        "--exit-with-parent",
        nargs="?",
        const=0,
        type=int,
        metavar="PID",
        help="stop (cleanly) when the process that started the stack is gone, even if it was killed: for a "
        "test run that starts the stack for itself; a DIR the stack created is then removed, logs and all. "
        "Give the parent's PID (--exit-with-parent=PID) and a parent killed before the stack got going is "
        "noticed too",
    )
    up.add_argument(
        "--clusters",
        type=_cluster_count,
        default=1,
        metavar="N",
        help=f"run N runtime clusters (runtime, runtime-2, ...; at most {MAX_CLUSTERS}), all in target.yaml: "
        "one per run that shares this stack, since Nautes lets one Kubernetes cluster carry one registration",
    )
    up.add_argument(
        "--registry-path",
        type=_registry_path,
        metavar="PATH",
        help="push under host/PATH (as ghcr.io/<org> or a Harbor project): target.yaml's registry.url",
    )
    up.add_argument(
        "--external-vault",
        metavar="http://HOST:PORT",
        help=f"use this (unsealed) Vault instead of starting OpenBao; its token in {VAULT_TOKEN_ENV}",
    )
    up.add_argument(
        "--external-registry",
        metavar="http://HOST:PORT",
        help=f"use this registry instead of the embedded one; its user in {REGISTRY_USERNAME_ENV} and "
        f"{REGISTRY_PASSWORD_ENV}",
    )
    return parser


#: How often a stack started ``--exit-with-parent`` looks whether its parent is still there.
PARENT_CHECK_SECONDS = 0.5
#: Who becomes the parent of an orphan (unless a subreaper does): a stack whose parent is init is orphaned.
INIT_PID = 1


async def run_until_signalled(
    world: WorldDirectory,
    faults: Faults,
    pace: Pace,
    registry: RegistryOptions,
    *,
    external: ExternalServices | None = None,
    parent: int | None = None,
    clusters: int = 1,
    deadline: StopDeadline | None = None,
) -> None:
    """Start the stack, announce it, and stop it cleanly on SIGINT, SIGTERM or SIGHUP (or on a failed
    start), and given the pid of its ``parent`` also once that process is gone (then ``world.orphaned`` is
    set). The stop is bounded by ``deadline``, armed as it begins; a second signal fires it at once."""
    directory = world.path
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    watch_children_with_pidfds(loop)

    def on_signal() -> None:
        if stopping.is_set() and deadline is not None:
            deadline.fire()
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, on_signal)
    watcher = None if parent is None else asyncio.create_task(_stop_when_orphaned(parent, world, stopping))
    stack = ReferenceStack(directory, faults, pace, registry, external, clusters)
    started = time.monotonic()
    try:
        await stack.start()
        print(
            f"reference stack ready in {time.monotonic() - started:.2f}s: "
            f"{directory / 'target.yaml'} (secrets in {directory / 'credentials.env'}); Ctrl-C stops it",
            flush=True,
        )
        nautes_refstack.collector.resume()
        await stopping.wait()
    finally:
        stopping.set()  # a failed start stops too: a signal from now on means "stop now"
        if deadline is not None:
            deadline.arm()
        if watcher is not None:
            watcher.cancel()
        await stack.stop()


async def _stop_when_orphaned(parent: int, world: WorldDirectory, stopping: asyncio.Event) -> None:
    """Set ``stopping`` (and ``world.orphaned``) once ``parent`` is gone. A killed parent cannot stop its
    children (a SIGKILL runs no finalizer), and the stack runs in a session of its own: its parent changes
    (to init or a subreaper) when the parent dies, which is what this watches. A parent that died before
    the stack got here is noticed the same way (the stack's parent is already another one, or init)."""
    while os.getppid() == parent != INIT_PID:
        await asyncio.sleep(PARENT_CHECK_SECONDS)
    logging.getLogger(__name__).warning(
        "the process that started the stack (pid %d) is gone: stopping", parent
    )
    world.orphaned = True
    stopping.set()


def main(argv: Sequence[str] | None = None) -> int:
    started_by = os.getppid()  # first thing: the later, the likelier a killed parent has been replaced
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] in (["arm"], ["disarm"]):
        return fault_control.main(arguments)
    if arguments[:1] == ["routes"]:
        return routes.main(arguments[1:])
    args = build_parser().parse_args(arguments)
    if args.command == "faults":
        print("\n".join(f"{fault.usage}\t{fault.breakage}" for fault in FAULTS.values()))
        return 0
    parent = None if args.exit_with_parent is None else args.exit_with_parent or started_by
    try:
        faults = faults_from(args.fault, os.environ)
        pace = pace_from(args.pace, args.time_scale, os.environ)
        external = external_services_from(args.external_vault, args.external_registry, os.environ)
        if external.registry is not None and args.registry_tls:
            raise ExternalServiceError("--registry-tls is for the embedded registry, not --external-registry")
    except (FaultError, PaceError, ExternalServiceError) as error:
        print(f"reference stack not started: {error}", file=sys.stderr)
        return USAGE_ERROR
    directory: Path = args.dir.resolve()
    try:
        world = WorldDirectory.claim(directory)
    except WorldInUse as busy:
        print(f"reference stack not started: {busy}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as error:
        print(f"reference stack not started: cannot use {directory}: {error.strerror}", file=sys.stderr)
        return USAGE_ERROR
    with world:
        logging.basicConfig(
            filename=world.logs / "refstack.log",
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        # Bounds the stop, asyncio.run's own shutdown included (it joins the default executor's threads).
        deadline = StopDeadline(world, world.logs / "refstack.log")
        try:
            registry = RegistryOptions(args.registry_tls, args.registry_path or "")
            asyncio.run(
                run_until_signalled(
                    world,
                    faults,
                    pace,
                    registry,
                    external=external,
                    parent=parent,
                    clusters=args.clusters,
                    deadline=deadline,
                )
            )
            deadline.disarm()
        except Exception as exc:
            deadline.disarm()
            logging.getLogger(__name__).exception("reference stack failed")
            print(f"reference stack failed: {exc}", file=sys.stderr)
            return 1
        finally:
            logging.shutdown()  # the log file is closed before a directory the stack created may go
    return 0


if __name__ == "__main__":
    exit_code = main()
    # By now everything is stopped, logged and removed: the interpreter's own teardown (freeing what a
    # whole world left in memory) would only make whoever waits for the stack's exit wait longer. What it
    # would also do, kill the git processes of a start cut short (their transports' finalizers), is done
    # here, so that nothing writes in the world's directory once the stack is gone.
    kill_children()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
