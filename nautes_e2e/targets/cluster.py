"""The ``k3d`` and ``kind`` targets: a real cluster, GitLab CE, Vault and a registry in Docker, Nautes
installed by its own installer, brought up for the run (design §3).

The target executes the world's :class:`~nautes_e2e.worlds.plan.Plan`, the same one ``nautes-e2e world plan``
prints, with :class:`~nautes_e2e.worlds.builder.WorldBuilder`; each step is a ``world-<step>`` stage of the
run. It starts with preflight: a missing binary or image stops the run there with a :class:`PreflightError`
that lists what is missing and how to get it, before anything is created; never a fall-back to the
reference stack.

When the world is up, its target file (in the world's directory beside its state file) is loaded exactly as
``--target existing`` would load it, and a copy with absolute paths goes into the run's directory.
``--keep-env`` leaves the world up, its state file saying what it is made of; ``--reuse-env NAME`` uses a
kept world again after checking that everything its state file lists still exists, and writes nothing.
Otherwise :meth:`ClusterWorldTarget.stop` removes everything in reverse order (after a failed or interrupted
start too), then sweeps Docker for anything else labelled with the world; the teardown is a stage as well.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from nautes_e2e.targets.base import Target
from nautes_e2e.targets.bringup import BringUp
from nautes_e2e.targets.local import read_credentials
from nautes_e2e.targets.target_file import TargetError, load_target_file
from nautes_e2e.targets.world import World
from nautes_e2e.worlds import plan, preflight, prune, reuse
from nautes_e2e.worlds.builder import PreflightFailed, WorldBuilder, say, teardown
from nautes_e2e.worlds.commands import CancellableRunner, CommandRunner, SubprocessRunner
from nautes_e2e.worlds.host import LocalHost
from nautes_e2e.worlds.installation import Installation, InstallerModule
from nautes_e2e.worlds.services import ContainerServices, ServiceFactory
from nautes_e2e.worlds.settings import Provider, WorldConfigError, WorldSettings, load_world_settings
from nautes_e2e.worlds.state import StateError, StateFile, state_root
from nautes_e2e.worlds.world_file import absolute_target_file

#: The run's copy of the world's target file (absolute paths into the world's directory).
RUN_TARGET_FILE = "target.yaml"
KEEP_STEP = "keep"
TEARDOWN_STEP = "teardown"
REUSE_STEP = "reuse"


class PreflightError(TargetError):
    """Preflight of a real world failed: the text lists every failing check and how to fix it."""


class BringUpError(TargetError):
    """A step of the bring-up failed (its stage holds the details); everything created was taken down."""


class ReuseError(TargetError):
    """``--reuse-env NAME`` names no kept world, or one that is no longer all there."""


def world_plan(
    settings: WorldSettings,
    environ: Mapping[str, str],
    installation: Installation,
    cluster_cli_version: str | None = None,
) -> plan.Plan:
    """The plan of ``settings``' world, its files in the world's directory."""
    return plan.build_plan(
        settings,
        plan.world_dir(settings, environ),
        installation,
        cluster_cli_version=cluster_cli_version,
    )


@dataclass(frozen=True)
class Machinery:
    """What a world is brought up with: how commands run (given the log file and environment), the machine
    preflight looks at, the service containers and the installer. Tests substitute fakes."""

    runner: Callable[[Path, Mapping[str, str]], CancellableRunner] = SubprocessRunner
    host: Callable[[CommandRunner, Mapping[str, str]], preflight.Host] = LocalHost
    services: Callable[[], ServiceFactory] = ContainerServices
    installation: Callable[[], Installation] = InstallerModule


class ClusterWorldTarget(Target):
    """``--target k3d`` / ``--target kind``."""

    def __init__(
        self,
        provider: Provider,
        work_dir: Path,
        environ: Mapping[str, str],
        *,
        bringup: BringUp,
        keep_env: bool = False,
        reuse_env: str | None = None,
        world_config: Path | None = None,
        machinery: Machinery | None = None,
    ) -> None:
        self.machinery = machinery or Machinery()
        self.provider = provider
        self.work_dir = work_dir
        self.environ = dict(environ)
        self.bringup = bringup
        self.keep_env = keep_env
        self.reuse_env = reuse_env
        self.world_config = world_config
        self.root = state_root(self.environ)
        self._builder: WorldBuilder | None = None

    def _start(self) -> World:
        if self.reuse_env is not None:
            return self._reuse(self.reuse_env)
        try:
            settings = load_world_settings(self.provider, self.world_config, environ=self.environ)
        except WorldConfigError as error:
            raise TargetError(str(error)) from None
        machinery = self.machinery
        installation = machinery.installation()
        runner = machinery.runner(self.work_dir / "commands.log", self.environ)
        self._builder = WorldBuilder(
            world_plan(settings, self.environ, installation),
            runner=runner,
            cleanup=machinery.runner(self.work_dir / "teardown.log", self.environ),
            host=machinery.host(runner, self.environ),
            services=machinery.services(),
            installation=installation,
            state=StateFile(self.root, settings.name),
            reporter=self.bringup,
            logs_dir=self.work_dir,
            keep=self.keep_env,
            images_for=lambda version: world_plan(settings, self.environ, installation, version).images(),
        )
        try:
            target_file = self._builder.build()
        except PreflightFailed as failed:
            raise PreflightError(str(failed)) from None
        except Exception as error:
            raise BringUpError(
                f"the bring-up of the {self.provider} world {settings.name} failed: {error}"
            ) from error
        self._builder.state.update(kept=self.keep_env)
        return self._load(target_file)

    def _load(self, target_file: Path) -> World:
        credentials = read_credentials(target_file.parent / "credentials.env")
        world = load_target_file(target_file, {**self.environ, **credentials}, target_name=self.provider)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / RUN_TARGET_FILE).write_text(absolute_target_file(target_file))
        return world

    def _reuse(self, name: str) -> World:
        with self.bringup.step(REUSE_STEP) as step:
            try:
                state = StateFile(self.root, name).load()
            except StateError as error:
                raise ReuseError(f"--reuse-env {name}: {error}") from None
            missing = reuse.missing_pieces(state, self.provider)
            if missing or state.target_file is None:
                raise ReuseError(
                    f"--reuse-env {name}: the kept world is not all there ({'; '.join(missing)}); remove it "
                    f"with 'nautes-e2e world prune --world {name}'"
                )
            step.fact("world", name)
            step.fact("target_file", state.target_file)
        self.kept_state = StateFile(self.root, name).directory
        return self._load(Path(state.target_file))

    def stop(self) -> None:
        """Take the world down unless it is kept (or was reused: then there is no builder); idempotent.
        Never raises: what could not be removed is said, with the prune command that removes it."""
        builder, self._builder = self._builder, None
        if builder is None:
            return
        builder.abort()
        builder.keep_logs()
        state = builder.state
        if state.state is None:  # stopped at preflight: nothing was created
            return
        name = state.directory.name
        if self.keep_env:
            state.update(kept=True)
            self.kept_state = state.directory
            with self.bringup.step(KEEP_STEP) as step:
                say(
                    step,
                    f"the {self.provider} world {name} is kept ({state.path}): reuse it with --reuse-env "
                    f"{name}, or with --target existing --target-file {builder.paths.target_file} after "
                    f"exporting {builder.paths.credentials}; remove it with 'nautes-e2e world prune --world "
                    f"{name}'",
                    remark=True,
                )
            return
        with self.bringup.step(TEARDOWN_STEP) as step:
            problems = teardown(state, builder.cleanup, lambda line: say(step, line))
            problems += prune.sweep(self.root, name)
            if problems:
                remedy = f"run 'nautes-e2e world prune --world {name}'"
                say(step, f"not removed: {'; '.join(problems)}; {remedy}", remark=True)
                step.fact("not_removed", problems)
            else:
                shutil.rmtree(state.directory, ignore_errors=True)
