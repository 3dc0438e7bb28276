"""``benchmarks/run_cost.py`` splits a stack's CPU by process from ``/proc``: tried on a fake one."""

from __future__ import annotations

from pathlib import Path

from benchmarks.run_cost import StackCpu, process_times, stack_cpu

TICKS = 100


def fake_process(proc: Path, pid: int, parent: int, command: str, times: tuple[int, int, int, int]) -> None:
    """A ``/proc/<pid>/stat`` line: fields 4 (ppid) and 14-17 (utime, stime, cutime, cstime)."""
    utime, stime, cutime, cstime = times
    fields = ["S", str(parent), *["0"] * 9, str(utime), str(stime), str(cutime), str(cstime), "20", "0"]
    (proc / str(pid)).mkdir(parents=True)
    (proc / str(pid) / "stat").write_text(f"{pid} ({command}) {' '.join(fields)}\n")


def test_the_stack_its_reaped_children_and_its_openbao_are_told_apart(tmp_path: Path) -> None:
    fake_process(tmp_path, 100, 1, "python3.11", (50, 20, 300, 100))
    fake_process(tmp_path, 101, 100, "bao", (7, 3, 0, 0))
    fake_process(tmp_path, 102, 100, "git", (1, 1, 0, 0))  # still running: counted once it is reaped
    fake_process(tmp_path, 200, 1, "bao", (90, 10, 0, 0))  # another stack's
    (tmp_path / "self").mkdir()

    processes = process_times(tmp_path, TICKS)

    assert processes[100].command == "python3.11"
    assert stack_cpu(processes, 100) == StackCpu(python_s=0.7, children_s=4.0, openbao_s=0.1)


def test_a_command_with_spaces_and_parentheses_is_read_whole(tmp_path: Path) -> None:
    fake_process(tmp_path, 7, 1, "a (b) c", (1, 2, 3, 4))
    assert process_times(tmp_path, TICKS)[7].command == "a (b) c"


def test_the_difference_of_two_readings_is_what_happened_between(tmp_path: Path) -> None:
    later, earlier = StackCpu(2.0, 3.5, 0.5), StackCpu(1.5, 1.0, 0.25)
    assert later.minus(earlier) == StackCpu(0.5, 2.5, 0.25)
