"""``benchmarks/stability.py`` finds what a run leaves behind, and says so: its leak detection on fake
``/proc`` trees, tables and Docker inventories, its verdicts and statistics, and the whole loop on small
commands standing in for pytest (one that leaves a process and a folder, one that ignores the signal, one
that stops as an interrupted run should).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import leaks, leftovers, stability
from benchmarks.leaks import DockerObject, Findings, Listener
from benchmarks.stability import Interruption, Run, Series, Settings
from nautes_e2e.clients import GitLabNotFound, NautesNotFound, RegistryEndpoint
from nautes_e2e.scenario import Scenario
from nautes_e2e.secrets import Secret
from nautes_e2e.targets.world import ClusterEndpoint, World

ROOT = Path(__file__).resolve().parents[2]
SERIES = "abc123"


# -- fake /proc ------------------------------------------------------------------------------------------


def fake_process(
    proc: Path,
    pid: int,
    ppid: int,
    command: str,
    *,
    state: str = "S",
    comm: str = "python",
    marker: str | None = None,
    sockets: tuple[int, ...] = (),
) -> None:
    entry = proc / str(pid)
    (entry / "fd").mkdir(parents=True)
    (entry / "stat").write_text(f"{pid} ({comm}) {state} {ppid} {pid} {pid} 0 -1 " + "0 " * 13 + "4242 0 0\n")
    (entry / "cmdline").write_bytes(command.replace(" ", "\0").encode() + b"\0")
    environment = [b"PATH=/bin"] + ([f"{leaks.MARKER_VARIABLE}={marker}".encode()] if marker else [])
    (entry / "environ").write_bytes(b"\0".join(environment) + b"\0")
    for number, inode in enumerate(sockets, start=3):
        (entry / "fd" / str(number)).symlink_to(f"socket:[{inode}]")


def test_a_stat_line_is_read_past_a_command_name_with_spaces_and_parentheses() -> None:
    line = "4711 (we (ird) name) S 1 4700 4690 0 -1 " + "0 " * 13 + "987654 0 0"

    assert leaks.parse_stat(line) == (4711, "S", 1, 4700, 4690, 987654)


def test_processes_are_read_with_their_run_marker(tmp_path: Path) -> None:
    fake_process(tmp_path, 10, 1, "python -m nautes_refstack up", marker=f"{SERIES}:3")
    fake_process(tmp_path, 11, 10, "bao server -dev")
    (tmp_path / "self").mkdir()  # not a process

    processes = leaks.read_processes(tmp_path)

    assert sorted(processes) == [10, 11]
    assert processes[10].marker == f"{SERIES}:3"
    assert processes[10].command == "python -m nautes_refstack up"
    assert processes[11].marker is None
    assert processes[10].describe() == (
        "process 10 (python -m nautes_refstack up) [session 10, group 10, from run 3]"
    )


def test_the_series_processes_are_those_below_the_reaper_or_marked_and_alive(tmp_path: Path) -> None:
    reaper = 100
    fake_process(tmp_path, reaper, 1, "python benchmarks/stability.py")
    fake_process(tmp_path, 200, reaper, "python -m nautes_refstack up")  # an orphan the reaper adopted
    fake_process(tmp_path, 201, 200, "bao server -dev")  # its child, environment cleared
    fake_process(tmp_path, 202, reaper, "git", state="Z")  # dead, not reaped yet
    fake_process(tmp_path, 300, 1, "sleep 300", marker=f"{SERIES}:2")  # escaped the tree, still marked
    fake_process(tmp_path, 301, 1, "sleep 300", marker="other:1")  # another series
    fake_process(tmp_path, 400, 1, "bao server -dev")  # another job's

    found = leaks.series_processes(leaks.read_processes(tmp_path), reaper=reaper, series=SERIES)

    assert [process.pid for process in found] == [200, 201, 300]


def test_a_process_whose_pid_was_reused_is_not_killed() -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        real = leaks.read_processes()[sleeper.pid]
        impostor = dataclasses.replace(real, start_ticks=real.start_ticks + 1)

        leaks.kill([impostor])
        assert sleeper.poll() is None

        leaks.kill([real])
        assert sleeper.wait(timeout=30) == -signal.SIGKILL
    finally:
        sleeper.kill()
        sleeper.wait()


# -- ports -----------------------------------------------------------------------------------------------

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0
   1: 0200007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5002 1 0
   2: 0100007F:1F90 0100007F:C000 01 00000000:00000000 00:00000000 00000000     0        0 5003 1 0
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6001 1 0
"""  # noqa: E501  (a /proc/net/tcp6 line as the kernel prints it)


def test_listening_sockets_are_read_from_the_kernel_tables_in_host_byte_order() -> None:
    assert leaks.parse_listeners(TCP) == {
        Listener("127.0.0.1", 8080, 5001),
        Listener("127.0.0.2", 80, 5002),
    }  # the ESTABLISHED connection (state 01) is not a listener
    assert leaks.parse_listeners(TCP6) == {Listener("::1", 8081, 6001)}


def test_a_socket_is_traced_to_the_process_holding_it(tmp_path: Path) -> None:
    fake_process(tmp_path, 10, 1, "bao server", sockets=(5001, 7))
    fake_process(tmp_path, 11, 1, "python", sockets=(5002,))

    assert leaks.socket_owners([5001, 5002, 9999], tmp_path) == {5001: 10, 5002: 11}


def test_a_new_listener_is_a_leak_when_it_is_the_series_or_nobodys_and_a_note_otherwise() -> None:
    before = {Listener("127.0.0.1", 22, 1)}
    after = {
        Listener("127.0.0.1", 22, 99),  # listening before (even on a new socket): not the run's
        Listener("127.0.0.1", 8080, 2),  # held by the series' process 10
        Listener("127.0.0.1", 8081, 3),  # held by process 20, another job's
        Listener("::1", 8082, 4),  # held by nobody the scan could see
    }

    findings = leaks.new_listeners(before, after, owners={2: 10, 3: 20}, ours=[10])

    assert findings.leaks == (
        "listening port 127.0.0.1:8080 (held by process 10)",
        "listening port [::1]:8082 (no process found holding it)",
    )
    assert findings.notes == ("port 127.0.0.1:8081 opened meanwhile by process 20, not from this series",)


# -- directories -----------------------------------------------------------------------------------------


def test_new_entries_are_leaks_named_with_the_credentials_they_hold(tmp_path: Path) -> None:
    (tmp_path / "was-there").mkdir()
    before = leaks.entries(tmp_path)
    world = tmp_path / "nautes-e2e-world-x1" / "stack"
    world.mkdir(parents=True)
    (world / "credentials.env").write_text("NAUTES_E2E_GITLAB_TOKEN=glpat-secret-value\n")
    (tmp_path / "tmpab12").write_text("-----BEGIN CERTIFICATE-----\nMIIB...\n")

    findings = leaks.new_entries(tmp_path, before)

    assert findings.leaks == (
        f"directory {tmp_path / 'nautes-e2e-world-x1'} (holds stack/credentials.env)",
        f"file {tmp_path / 'tmpab12'} (-----BEGIN CERTIFICATE-----)",
    )
    assert "glpat-secret-value" not in str(findings)


def test_pytest_base_directory_counts_only_beyond_pytests_retention(tmp_path: Path) -> None:
    user = tmp_path / "pytest-of-ci"
    for number in range(leaks.PYTEST_KEPT_BASETEMPS):
        (user / f"pytest-{number}").mkdir(parents=True)
    (user / "pytest-current").symlink_to(user / "pytest-0")

    assert leaks.new_entries(tmp_path, set()) == Findings()

    (user / "pytest-99").mkdir()
    assert leaks.new_entries(tmp_path, set()).leaks == (
        f"{user} keeps {leaks.PYTEST_KEPT_BASETEMPS + 1} pytest sessions (pytest keeps 3)",
    )


# -- Docker ----------------------------------------------------------------------------------------------


def test_new_labelled_docker_objects_are_the_series_when_their_world_is_one_of_its_runs() -> None:
    before = {DockerObject("network", "old", "nautes-e2e-world-old")}
    after = before | {
        DockerObject("container", "vault-1", "nautes-e2e-world-ours"),
        DockerObject("network", "nautes-e2e-k3d", "nautes-e2e-k3d"),  # a named (k3d/kind) world
        DockerObject("container", "vault-2", "nautes-e2e-world-theirs"),  # another local run's
    }

    findings = leaks.new_docker_objects(before, after, worlds_seen={"nautes-e2e-world-ours"})

    assert findings.leaks == (
        "Docker container vault-1 (world nautes-e2e-world-ours)",
        "Docker network nautes-e2e-k3d (world nautes-e2e-k3d)",
    )
    assert findings.notes == (
        "Docker container vault-2 (world nautes-e2e-world-theirs) appeared meanwhile, not from this series",
    )


# -- an existing world -----------------------------------------------------------------------------------


class FakeNautes:
    def __init__(self, present: set[tuple[str, str]]) -> None:
        self.present = present

    def get(self, kind: str, name: str, product: str | None = None) -> dict[str, str]:
        if (kind, name) not in self.present:
            raise NautesNotFound(status=404, body="{}", kind=kind, name=name, method="GET", url="http://n")
        return {"name": name}


class FakeGitLab:
    def __init__(self, groups: set[str]) -> None:
        self.groups = groups

    def group_projects(self, group: str) -> list[dict[str, str]]:
        if group not in self.groups:
            raise GitLabNotFound(f"group {group}", 404)
        return []


class FakeVault:
    def __init__(self, secrets: set[tuple[str, str]]) -> None:
        self.secrets = secrets

    def kv_keys(self, mount: str, path: str) -> set[str] | None:
        return {"value"} if (mount, path) in self.secrets else None


class FakeKube:
    def __init__(self, namespaces: set[str], broken: bool = False) -> None:
        self.namespaces = namespaces
        self.broken = broken

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, str] | None:
        if self.broken:
            raise ConnectionError("API server unreachable")
        return {"name": name} if name in self.namespaces else None


def world() -> World:
    cluster = ClusterEndpoint("runtime", Path("/nonexistent"), "https://127.0.0.1:6443", "127.0.0.1")
    return World(
        target="existing",
        simulated=True,
        nautes_url="http://127.0.0.1:1",
        gitlab_url="http://127.0.0.1:2",
        gitlab_ssh_url="ssh://git@127.0.0.1:3",
        gitlab_token=Secret("stability-test-gitlab-token"),
        vault_url="http://127.0.0.1:4",
        vault_token=Secret("stability-test-vault-token"),
        registry=RegistryEndpoint("127.0.0.1:5", "http", None, None),
        clusters={"runtime": cluster},
    )


def test_a_runs_names_come_from_the_scenario_with_its_suffix() -> None:
    names = leftovers.run_names(Scenario.load(ROOT / "scenarios" / "quickstart"), world(), "st1-4")

    assert (names.product, names.cluster, names.runtime_namespace) == (
        "demo-st1-4",
        "physical-worker-st1-4",
        "pr-demo-st1-4",
    )


def test_everything_a_run_left_in_the_world_is_named_and_an_unanswered_probe_counts() -> None:
    names = leftovers.run_names(Scenario.load(ROOT / "scenarios" / "quickstart"), world(), "s1")
    clean = leftovers.WorldClients(
        nautes=FakeNautes(set()),  # type: ignore[arg-type]
        gitlab=FakeGitLab(set()),  # type: ignore[arg-type]
        vault=FakeVault(set()),  # type: ignore[arg-type]
        kube=FakeKube(set()),  # type: ignore[arg-type]
        auth_mounts=lambda: ["token/", "kubernetes/"],
    )
    dirty = leftovers.WorldClients(
        nautes=FakeNautes({("Cluster", "physical-worker-s1"), ("Product", "demo-s1")}),  # type: ignore[arg-type]
        gitlab=FakeGitLab({"demo-s1"}),  # type: ignore[arg-type]
        vault=FakeVault({("cluster", "kubernetes/physical-worker-s1/default/admin")}),  # type: ignore[arg-type]
        kube=FakeKube(set(), broken=True),  # type: ignore[arg-type]
        auth_mounts=lambda: ["token/", "physical-worker-s1/"],
    )

    assert leftovers.leftovers(leftovers.probes_for(clean, names, [7])) == []
    found = leftovers.leftovers(leftovers.probes_for(dirty, names, []))
    assert found == [
        "cluster registration physical-worker-s1",
        "Nautes product demo-s1",
        "GitLab group demo-s1",
        "namespace pr-demo-s1: could not check (ConnectionError: API server unreachable)",
        "Vault secret cluster/data/kubernetes/physical-worker-s1/default/admin",
        "Vault auth mount auth/physical-worker-s1",
    ]


# -- verdicts and statistics -----------------------------------------------------------------------------


def a_run(
    exit_code: int | None,
    *,
    signal_at: float | None = None,
    signalled: bool = True,
    report: Path | None = None,
) -> Run:
    plan = Interruption(signal.SIGTERM, True, signal_at) if signal_at is not None else None
    run = Run(1, "stability-x-1", "stx-1", plan, Path("run.log"), report=report, exit_code=exit_code)
    run.signalled = plan is not None and signalled
    return run


def written_report(tmp_path: Path, result: str) -> Path:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"run": {"result": result}}))
    return report


def test_each_way_a_run_can_end_gets_its_verdict(tmp_path: Path) -> None:
    interrupted = written_report(tmp_path, "interrupted")

    assert stability.verdict(a_run(0)) == ("passed", None)
    assert stability.verdict(a_run(1, report=interrupted)) == (
        "failed",
        f"exit 1 (a stage failed), report {interrupted} (result interrupted)",
    )
    assert stability.verdict(a_run(2, signal_at=3.0, report=interrupted)) == ("interrupted as expected", None)
    assert stability.verdict(a_run(0, signal_at=30.0, signalled=False)) == (
        "finished before the signal",
        None,
    )
    assert stability.verdict(a_run(0, signal_at=3.0, report=written_report(tmp_path, "passed")))[0] == (
        "finished before the signal"
    )
    assert stability.verdict(a_run(2, signal_at=3.0)) == (
        "failed",
        "exit 2 (interrupted) after SIGTERM to its process group at 3.0s, no report.json "
        "(expected exit 2 and a report.json)",
    )
    assert stability.verdict(a_run(-15, signal_at=3.0))[1] == (
        "exit -15 (killed by SIGTERM) after SIGTERM to its process group at 3.0s, no report.json "
        "(expected exit 2 and a report.json)"
    )
    stuck = a_run(-9, signal_at=3.0)
    stuck.killed = True
    assert stability.verdict(stuck) == (
        "failed",
        "did not stop within the grace period after SIGTERM to its process group at 3.0s: SIGKILLed "
        "(no report.json)",
    )


@pytest.mark.parametrize(
    ("values", "p50", "p95"),
    [([4.0], 4.0, 4.0), ([3.0, 1.0, 2.0], 2.0, 3.0), ([float(n) for n in range(1, 21)], 10.0, 19.0)],
)
def test_percentiles_are_nearest_rank(values: list[float], p50: float, p95: float) -> None:
    assert (stability.percentile(values, 50), stability.percentile(values, 95)) == (p50, p95)


def test_a_percentile_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        stability.percentile([], 50)


def test_the_summary_is_clean_only_without_leaks_and_unexpected_failures(tmp_path: Path) -> None:
    passed = a_run(0)
    passed.duration_s = 12.0
    passed.findings = Findings(
        notes=("port 127.0.0.1:9 opened meanwhile by process 5, not from this series",)
    )
    leaked = a_run(2, signal_at=3.0, report=written_report(tmp_path, "interrupted"))
    leaked.signal_to_exit_s = 1.5
    leaked.findings = Findings(leaks=("process 7 (bao server -dev) [session 7, group 7]",))

    lines, clean = stability.summarise([passed])
    assert clean
    assert "passes: 1 of 1 uninterrupted run(s)" in lines
    assert "run durations: p50 12.0s, p95 12.0s (n=1, max 12.0s)" in lines

    lines, clean = stability.summarise([passed, leaked])
    assert not clean
    assert "interrupted as expected: 1 of 1 interrupted run(s) (0 finished before the signal)" in lines
    assert "leaks: 1" in lines
    assert "  run 1 (stability-x-1): process 7 (bao server -dev) [session 7, group 7]" in lines
    assert "signal -> exit: p50 1.5s, p95 1.5s (n=1, max 1.5s)" in lines


def test_the_window_starts_when_the_calibration_runs_world_appeared() -> None:
    calibration = a_run(0)
    calibration.duration_s = 14.0
    assert stability.calibrated_window(calibration) == (stability.EARLIEST_SIGNAL_S, 14.0)

    calibration.world_at_s = 1.8
    assert stability.calibrated_window(calibration) == (1.8, 14.0)


# -- the loop, on commands that stand in for pytest ------------------------------------------------------


@pytest.fixture
def series(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Series]:
    """A series whose runs are the commands a test gives; no subreaper (it would change the test process
    for good) and no Docker, so only the run marker finds a process."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    monkeypatch.setattr(leaks, "become_subreaper", lambda: False)
    monkeypatch.setattr(leaks, "docker_inventory", lambda: (None, "Docker not checked in this test"))
    settings = Settings("local", None, (), grace_s=1.0, timeout_s=60.0, settle_s=0.3)
    made = Series(settings)
    yield made
    made.clean_up(made.snapshot())
    for signum, handler in handlers.items():  # the series may have replaced an ignored signal's handler
        signal.signal(signum, handler)


def standing_in(monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    monkeypatch.setattr(Series, "command", lambda self, run: [*command, str(self.reports / run.run_id)])


LEAVES_A_PROCESS_AND_A_WORLD = """
import subprocess, sys, tempfile
subprocess.Popen(["sleep", "60"], start_new_session=True)
tempfile.mkdtemp(prefix="nautes-e2e-world-")
"""


def test_a_run_that_leaves_a_process_and_a_folder_is_reported_and_cleaned_up(
    series: Series, monkeypatch: pytest.MonkeyPatch
) -> None:
    standing_in(monkeypatch, [sys.executable, "-c", LEAVES_A_PROCESS_AND_A_WORLD])
    run = series.new_run(1, None)

    series.execute(run)

    assert stability.verdict(run) == ("passed", None)
    leaked_process, leaked_world = run.findings.leaks
    pid = leaked_process.split()[1]
    assert leaked_process == f"process {pid} (sleep 60) [session {pid}, group {pid}, from run 1]"
    assert leaked_world.startswith(f"directory {series.tmp / 'nautes-e2e-world-'}")
    assert series.processes() == []
    assert leaks.entries(series.tmp) == set()
    _, clean = stability.summarise([run])
    assert not clean


def test_a_run_that_ignores_the_signal_is_killed_and_counted_as_not_stopping(
    series: Series, monkeypatch: pytest.MonkeyPatch
) -> None:
    standing_in(monkeypatch, ["sh", "-c", "trap '' INT TERM; sleep 30", "stand-in"])
    run = series.new_run(1, Interruption(signal.SIGTERM, True, 0.2))

    series.execute(run)

    assert run.killed
    assert stability.verdict(run)[1] == (
        "did not stop within the grace period after SIGTERM to its process group at 0.2s: SIGKILLed "
        "(no report.json)"
    )
    assert run.findings.leaks == ()  # notes: other jobs on this machine may open ports meanwhile


STOPS_AS_INTERRUPTED = """
trap 'kill $sleeper; mkdir -p "$1" && echo "{\\"run\\": {\\"result\\": \\"interrupted\\"}}" > "$1/report.json"; exit 2' INT TERM
sleep 30 & sleeper=$!
wait
"""  # noqa: E501


@pytest.mark.parametrize("to_group", [True, False], ids=["process group", "pytest alone"])
def test_a_run_that_stops_on_the_signal_with_exit_2_and_a_report_is_interrupted_as_expected(
    series: Series, monkeypatch: pytest.MonkeyPatch, to_group: bool
) -> None:
    standing_in(monkeypatch, ["sh", "-c", STOPS_AS_INTERRUPTED, "stand-in"])
    run = series.new_run(1, Interruption(signal.SIGINT, to_group, 0.3))

    series.execute(run)

    assert stability.verdict(run) == ("interrupted as expected", None), run.log.read_text()
    assert run.signal_to_exit_s is not None
    assert run.findings.leaks == ()  # notes: other jobs on this machine may open ports meanwhile
    assert os.path.isfile(series.reports / run.run_id / "report.json")
