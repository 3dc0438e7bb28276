"""The ``nautes-e2e`` option group, and :class:`RunOptions`: the options resolved and checked once, before
anything starts (a bad value is a usage error that names the option)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.plugin.instances import (
    CLUSTER_TYPES as CLUSTER_TYPES,
)
from nautes_e2e.plugin.instances import (
    INSTANCES_DIR,
    Instance,
    InstanceDefaults,
    InstancesError,
    instances_for_cluster_types,
    load_instances,
)
from nautes_e2e.plugin.matrix_file import Rerun, read_rerun
from nautes_e2e.targets import TARGETS, TargetError, target_entry
from nautes_e2e.targets.services import parse_services

DEFAULT_TARGET = "local"
DEFAULT_CLUSTER_TYPE = "physical"
#: The key under which an xdist worker receives the controller's run id (``workerinput``).
RUN_ID_WORKERINPUT = "nautes_e2e_run_id"
_RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: A suffix ends up in Kubernetes namespaces and GitLab paths: lowercase letters, digits and inner dashes
#: (an RFC 1123 label), the characters both accept.
_SUFFIX_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


@dataclass(frozen=True)
class RunOptions:
    """The command-line options of the ``nautes-e2e`` group, resolved to absolute paths."""

    target: str
    target_file: Path | None
    keep_env: bool
    reports_dir: Path
    run_id: str
    suffix: str | None
    scenario_dir: Path
    #: ``--stage-timeout``: every stage's wait, over the stages' and the world's own (None: theirs).
    stage_timeout_s: float | None
    #: ``--service NAME=KIND``: what each swappable service of the target runs as.
    services: Mapping[str, str]
    #: ``--reuse-env NAME``: a world kept by an earlier ``--keep-env`` run, used again.
    reuse_env: str | None
    #: ``--world-config PATH``: images, versions and names of the world a k3d/kind target brings up.
    world_config: Path | None
    #: ``--cluster-type``: ``physical`` (a physical pipeline worker) or ``virtual`` (a host, then a virtual
    #: pipeline worker on it).
    cluster_type: str = DEFAULT_CLUSTER_TYPE
    #: The run's scenario instances (``--instances``, a list of ``--cluster-type``, ``--rerun-failed``);
    #: empty for a run of one (:mod:`~nautes_e2e.plugin.instances`).
    instances: tuple[Instance, ...] = ()
    #: The instance these options are of (see :meth:`for_instance`); ``None`` for the run's own.
    instance: str | None = None
    #: ``--rerun-failed``: the report or matrix file whose failed instances this run runs again.
    rerun_of: Path | None = None

    @property
    def run_root(self) -> Path:
        """The run's folder, ``<reports-dir>/<run-id>``."""
        return self.reports_dir / self.run_id

    @property
    def run_dir(self) -> Path:
        """Where these options' reports and evidence go: the run's folder, or an instance's in it."""
        if self.instance is None:
            return self.run_root
        return self.run_root / INSTANCES_DIR / self.instance

    def for_instance(self, instance: Instance) -> RunOptions:
        """The options one instance of the run runs with: its cluster type, suffix and scenario."""
        return replace(
            self,
            cluster_type=instance.cluster_type,
            suffix=instance.suffix,
            scenario_dir=instance.scenario_dir,
            instances=(),
            instance=instance.name,
        )

    @classmethod
    def from_config(cls, config: pytest.Config) -> RunOptions:
        invocation_dir = config.invocation_params.dir
        target_file = config.getoption("nautes_target_file")
        reports_dir = config.getoption("nautes_reports_dir")
        scenario_dir = config.getoption("nautes_scenario_dir")
        world_config = config.getoption("nautes_world_config")
        options = cls(
            target=config.getoption("nautes_target"),
            target_file=invocation_dir / target_file if target_file else None,
            keep_env=bool(config.getoption("nautes_keep_env")),
            reports_dir=invocation_dir / reports_dir if reports_dir else config.rootpath / "reports",
            run_id=_run_id(config),
            suffix=config.getoption("nautes_suffix"),
            scenario_dir=(
                invocation_dir / scenario_dir
                if scenario_dir
                else config.rootpath / "scenarios" / "quickstart"
            ),
            stage_timeout_s=_optional_float(config.getoption("nautes_stage_timeout")),
            services=_services(config),
            reuse_env=config.getoption("nautes_reuse_env"),
            world_config=invocation_dir / world_config if world_config else None,
        )
        options = _with_instances(config, options)
        entry = target_entry(options.target)
        if options.reuse_env is not None and not entry.keeps_worlds:
            raise pytest.UsageError(f"--reuse-env: the {options.target} target brings up no world to reuse")
        if options.world_config is not None and not entry.reusable:
            raise pytest.UsageError(
                f"--world-config: the {options.target} target brings up no world to configure"
            )
        if entry.needs_target_file and options.target_file is None:
            raise pytest.UsageError(
                f"--target {options.target} needs --target-file PATH (the world's target.yaml)"
            )
        if options.suffix is not None and not _SUFFIX_PATTERN.fullmatch(options.suffix):
            raise pytest.UsageError(
                f"--suffix must be lowercase letters, digits and inner dashes (it ends up in Kubernetes "
                f"namespaces and GitLab paths), not {options.suffix!r}"
            )
        if options.cluster_type not in CLUSTER_TYPES:
            raise pytest.UsageError(
                f"--cluster-type must be {' or '.join(CLUSTER_TYPES)}, not {options.cluster_type!r}"
            )
        if options.stage_timeout_s is not None and options.stage_timeout_s <= 0:
            raise pytest.UsageError(f"--stage-timeout must be positive, not {options.stage_timeout_s:g}")
        if not hasattr(config, "workerinput"):  # an xdist worker writes into its controller's folder
            _refuse_a_used_run_folder(options)
        return options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nautes-e2e", "Nautes end-to-end harness")
    group.addoption(
        "--target",
        dest="nautes_target",
        choices=sorted(TARGETS),
        default=DEFAULT_TARGET,
        help="the world to run against: "
        + "; ".join(f"'{name}' {entry.description}" for name, entry in TARGETS.items())
        + f" (default: {DEFAULT_TARGET}).",
    )
    group.addoption(
        "--target-file",
        dest="nautes_target_file",
        metavar="PATH",
        help="target.yaml of an existing world (secrets come from the environment variables it names).",
    )
    group.addoption(
        "--keep-env",
        dest="nautes_keep_env",
        action="store_true",
        help="keep what the run applied (skip the 'nautes remove' teardown) for debugging.",
    )
    group.addoption(
        "--service",
        dest="nautes_services",
        metavar="NAME=KIND",
        action="append",
        help="run one service of the world as KIND ('container': its real container, 'emulated'), e.g. "
        "--service vault=container; repeatable. Swappable: "
        + "; ".join(
            f"{name}: {', '.join(entry.swappable_services)}"
            for name, entry in TARGETS.items()
            if entry.swappable_services
        )
        + ".",
    )
    group.addoption(
        "--reuse-env",
        dest="nautes_reuse_env",
        metavar="NAME",
        help="use the world NAME that an earlier --keep-env run left up, instead of bringing one up.",
    )
    group.addoption(
        "--from-stage",
        dest="nautes_from_stage",
        metavar="STAGE",
        help="with --reuse-env: resume from STAGE, the earlier stages restored from what the kept run saved "
        "(implies --keep-env; see nautes_e2e.plugin.resume).",
    )
    group.addoption(
        "--world-config",
        dest="nautes_world_config",
        metavar="PATH",
        help="images, versions, ports and names of the world a k3d/kind target brings up (default: "
        "$NAUTES_E2E_WORLD_CONFIG, else the built-in pins; 'nautes-e2e world plan' shows the result).",
    )
    group.addoption(
        "--reports-dir",
        dest="nautes_reports_dir",
        metavar="DIR",
        help="where each run writes <run-id>/ with its reports (default: reports/ under the rootdir).",
    )
    group.addoption(
        "--run-id",
        dest="nautes_run_id",
        metavar="ID",
        help="name of this run's report folder (default: UTC time + random hex); a folder that already holds "
        "an earlier run's reports is refused.",
    )
    group.addoption(
        "--suffix",
        dest="nautes_suffix",
        metavar="SUFFIX",
        help="suffix of every name the scenario creates (default: the scenario's).",
    )
    group.addoption(
        "--scenario-dir",
        dest="nautes_scenario_dir",
        metavar="DIR",
        help="the scenario to run (default: scenarios/quickstart under the rootdir).",
    )
    group.addoption(
        "--cluster-type",
        dest="nautes_cluster_type",
        metavar="TYPE",
        default=DEFAULT_CLUSTER_TYPE,
        help="how the runtime cluster is registered: 'physical' (a physical pipeline worker) or 'virtual' "
        f"(a host cluster, then a virtual pipeline worker on it) (default: {DEFAULT_CLUSTER_TYPE}); a comma "
        "list (physical,virtual) runs one instance per type.",
    )
    group.addoption(
        "--instances",
        dest="nautes_instances",
        metavar="FILE",
        help="a matrix file (instances: [{name, clusterType, suffix, scenarioDir}]): run each instance as "
        "its own stage chain, isolated, reported in instances/<name>/ with a matrix.json.",
    )
    group.addoption(
        "--rerun-failed",
        dest="nautes_rerun_failed",
        metavar="REPORT_OR_DIR",
        help="run again, with the same options, only the instances of an earlier run (its matrix.json, a "
        "report.json, or its report folder) that did not pass; exits 0 at once when all passed.",
    )
    group.addoption(
        "--stage-timeout",
        dest="nautes_stage_timeout",
        metavar="SECONDS",
        type=float,
        help="how long every stage waits for the world to reach a state (default: each stage's own, fit for "
        "a real installation, or what the target file's timeouts.stages say).",
    )


def _with_instances(config: pytest.Config, options: RunOptions) -> RunOptions:
    """The run's instances from ``--instances``, a comma list of ``--cluster-type`` or ``--rerun-failed``
    (one of them at most), checked before anything starts; without them the options are a run of one."""
    cluster_types = str(config.getoption("nautes_cluster_type"))
    instances_file = config.getoption("nautes_instances")
    rerun_from = config.getoption("nautes_rerun_failed")
    given = [
        name
        for name, value in (
            ("--instances", instances_file),
            ("a list of --cluster-type", "," in cluster_types),
            ("--rerun-failed", rerun_from),
        )
        if value
    ]
    if len(given) > 1:
        raise pytest.UsageError(
            f"give one of {' and '.join(given)}, not both: each decides the run's instances"
        )
    if not given:
        return replace(options, cluster_type=cluster_types)
    invocation_dir = config.invocation_params.dir
    single_type = cluster_types if "," not in cluster_types else DEFAULT_CLUSTER_TYPE
    defaults = InstanceDefaults(single_type, options.suffix, options.scenario_dir)
    try:
        if instances_file:
            instances = load_instances(invocation_dir / instances_file, defaults)
        elif "," in cluster_types:
            instances = instances_for_cluster_types(cluster_types, defaults)
        else:
            return _rerun_options(
                options, read_rerun(invocation_dir / rerun_from, invocation_dir), single_type
            )
    except InstancesError as error:
        raise pytest.UsageError(str(error)) from None
    return replace(options, cluster_type=single_type, instances=instances)


def _rerun_options(options: RunOptions, rerun: Rerun, cluster_type: str) -> RunOptions:
    """``--rerun-failed``: the instances that did not pass, or the run of one with the options it ran with;
    nothing to do (exit 0, said in a line) when everything passed."""
    if rerun.nothing_failed:
        pytest.exit(f"nautes-e2e: nothing to rerun: everything {rerun.source} reports passed", 0)
    if rerun.single is None:
        return replace(options, cluster_type=cluster_type, instances=rerun.instances, rerun_of=rerun.source)
    scenario_dir = rerun.single.scenario_dir
    if scenario_dir is not None and not scenario_dir.is_dir():
        raise InstancesError(
            f"--rerun-failed {rerun.source}: its --scenario-dir {scenario_dir} is no directory"
        )
    return replace(
        options,
        cluster_type=rerun.single.cluster_type or cluster_type,
        suffix=rerun.single.suffix or options.suffix,
        scenario_dir=scenario_dir or options.scenario_dir,
        rerun_of=rerun.source,
    )


def _services(config: pytest.Config) -> Mapping[str, str]:
    target = config.getoption("nautes_target")
    try:
        return parse_services(
            config.getoption("nautes_services") or (), target_entry(target).swappable_services
        )
    except TargetError as error:
        raise pytest.UsageError(f"{error} (--target {target})") from None


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _run_id(config: pytest.Config) -> str:
    """The worker's controller decides the run id; otherwise ``--run-id`` or UTC time + random hex."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and RUN_ID_WORKERINPUT in workerinput:
        return str(workerinput[RUN_ID_WORKERINPUT])
    run_id = config.getoption("nautes_run_id") or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.urandom(3).hex()}"
    if not _RUN_ID_PATTERN.fullmatch(run_id):
        raise pytest.UsageError(f"--run-id must be one folder name (letters, digits, . _ -), not {run_id!r}")
    return str(run_id)


def _refuse_a_used_run_folder(options: RunOptions) -> None:
    """A run's folder holds that run's evidence only: a ``--run-id`` whose folder already holds anything (an
    earlier run's reports) is refused, rather than mixing two runs' evidence or deleting the earlier one.
    An empty folder (one a CI job made for the artifacts) is used."""
    folder = options.run_root
    if folder.is_dir() and any(folder.iterdir()):
        raise pytest.UsageError(
            f"--run-id {options.run_id}: {folder} already holds the reports of an earlier run; give this run "
            "another --run-id, or move that folder away"
        )
