"""Time to grade a class of 30 synthetic students: the course's grader with 1 and 2 workers,
and plain ``nbgrader autograde`` on the same submissions, as ratios measured in one run.

It prints the two ratios the grader is built to (each with its target): one worker against
plain ``nbgrader autograde`` (at least 3x faster per notebook), and two workers against one
(at least 1.8x faster). ``--students N`` grades N of the 30 (spread over every kind of
submission), for a quicker run; ``--copies K`` has each of them handed in K times, for a larger
class, where what a run costs once (starting up, writing the report) weighs less.

Next to the wall-clock times it prints the CPU seconds each way used, in every process it
started (the grader, its workers, the kernels and their sandboxes), and how many cores that kept
busy on average (CPU seconds / wall seconds). One worker starts the next submission's kernel
while it grades the current one, so it can keep more than one core busy; where it keeps both
busy, a second worker cannot make grading much faster on two cores. The cores-busy column shows
whether that is the case, and the ratio of CPU seconds whether a second worker adds work.
To show what that overlap is worth, one worker is also timed launching each kernel only when
its submission comes (``AUTOGRADER_AHEAD=0``, ``--skip-serial`` leaves it out): it keeps one
core busy, so two workers gain more against it, but it is slower than the one worker the
course's grader is.
Between the runs it also times work that needs no coordination at all (fresh Pythons importing
the kernel's modules) one and two at a time: what a second core gives this machine at best,
which on a virtual machine can be well under 2x.

CPU time is read from a ``cpuacct`` control group made for each run where the machine lets the
benchmark make one (exact; the kernels' sandboxes stay inside it), otherwise from sampling
``/proc`` ten times a second (misses at most the last tenth of a second of each process); the
sampling also splits the CPU between the kernels (with the zygote that forks them, see
:mod:`autograder.zygote`), the sandbox's own programs (bubblewrap, setpriv, prlimit) and the
grader's processes. The load
average before and after the run is printed too: other jobs on the machine slow every way.

    python benchmarks/bench_grading.py [--students 30] [--copies 1] [--repeats 3]

The course's grader is timed ``--repeats`` times each way, one worker, two, and one without
kernels started ahead in turn (so that all see the same machine load), and the fastest run of
each is reported, as ``timeit`` does: the others differ by what else the machine did. Plain
``nbgrader autograde`` runs once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import targets  # noqa: E402
from test_classroom import NB, grade_command, make_class  # noqa: E402

TARGETS = {  # ratio name: (faster way, slower way, target speed-up)
    "1 worker vs nbgrader autograde": ("workers 1", "nbgrader", 3.0),
    "2 workers vs 1 worker": ("workers 2", "workers 1", 1.8),
}


def make_submissions(root: Path, students: int, copies: int = 1) -> int:
    """The class of ``tests/test_classroom.py`` in ``root``, thinned out evenly to ``students``
    of its 30 (so that every kind of submission stays), each submission handed in by
    ``copies`` students; returns how many notebooks there are."""
    make_class(root)
    everyone = sorted(root.iterdir())
    keep = {everyone[i * len(everyone) // students] for i in range(min(students, len(everyone)))}
    for student_dir in everyone:
        if student_dir not in keep:
            shutil.rmtree(student_dir)
    for student_dir in sorted(keep):
        for copy in range(1, copies):
            shutil.copytree(student_dir, root / f"{student_dir.name}_{copy}")
    return len(keep) * copies


CPUACCT = Path("/sys/fs/cgroup/cpuacct")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


SANDBOX_PROGRAMS = (b"bwrap", b"sh", b"setpriv", b"prlimit")
KINDS = ("kernel", "sandbox", "grader")


def _kind(command_line: bytes) -> str:
    """kernel (a kernel, or the zygote that forks them: Python running ipykernel), sandbox
    (bubblewrap and the programs that set the sandbox's limits), or grader (the rest: the
    grader and its worker processes)."""
    if b"ipykernel" in command_line:
        return "kernel"
    program = command_line.split(b"\0", 1)[0].rsplit(b"/", 1)[-1]
    return "sandbox" if program in SANDBOX_PROGRAMS else "grader"


def _processes() -> dict[int, tuple[int, float, str]]:
    """{pid: (parent pid, CPU seconds so far, its kind)} of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stream:
                fields = stream.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as stream:
                kind = _kind(stream.read())
        except OSError:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        table[int(entry)] = (int(fields[1]), cpu, kind)
    return table


class _Sampler(threading.Thread):
    """CPU seconds of a process and its descendants, by sampling ``/proc`` every 0.1 s, by
    kind of process (:func:`_kind`; a process that was a kernel once stays one)."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.done = root, threading.Event()
        self.seen: dict[int, tuple[float, str]] = {}

    def run(self) -> None:
        while not self.done.is_set():
            table = _processes()
            for pid, (_, cpu, kind) in table.items():
                ancestor = pid
                while ancestor in table and ancestor != self.root and ancestor > 1:
                    ancestor = table[ancestor][0]
                if ancestor == self.root or pid in self.seen:
                    was = self.seen.get(pid, (0.0, kind))
                    self.seen[pid] = (
                        max(cpu, was[0]),
                        "kernel" if "kernel" in (kind, was[1]) else kind,
                    )
            self.done.wait(0.1)

    def split(self) -> dict[str, float]:
        """CPU seconds by kind of process."""
        totals: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        for cpu, kind in self.seen.values():
            totals[kind] += cpu
        return totals


def _cpuacct_group() -> Path | None:
    """A new cpuacct control group, where the machine lets this process make one."""
    if not (CPUACCT / "cpuacct.usage").exists() or not os.access(CPUACCT, os.W_OK):
        return None
    group = CPUACCT / f"bench-grading-{os.getpid()}-{time.monotonic_ns()}"
    try:
        group.mkdir()
    except OSError:
        return None
    return group


def measured_run(command: list[str], *, check: bool, cwd: Path, env: dict) -> dict[str, float]:
    """Run ``command`` (its output discarded; raise if it fails and ``check``); its wall-clock
    seconds and the CPU seconds of every process it started: ``cpu`` in all (exact where a
    cpuacct group could be made), and as sampled, ``kernel cpu``, ``sandbox cpu`` and
    ``grader cpu``."""
    group = _cpuacct_group()

    def join_group() -> None:  # in the child, before it runs the command
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=join_group,
    )
    sampler = _Sampler(process.pid)
    sampler.start()
    _, errors = process.communicate()
    wall = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    split = sampler.split()
    cpu = sum(split.values())
    if group is not None:
        cpu = int((group / "cpuacct.usage").read_text()) / 1e9
        for _ in range(50):  # the last processes leave the group a moment after they exit
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)
    if check and process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command, stderr=errors)
    return {"wall": wall, "cpu": cpu, **{f"{kind} cpu": split[kind] for kind in KINDS}}


# work of the kind grading is made of, parallel by construction: a fresh Python importing what a
# kernel of the course imports (reading and unmarshalling modules, allocating objects)
PARALLEL_PROBE = [
    sys.executable,
    "-c",
    "import numpy, matplotlib.pyplot, ipykernel.kernelapp, course_lib",
]


PROBES = 4  # of them each way, in each repeat


def time_parallel_probe(jobs: int) -> tuple[float, float]:
    """Wall seconds to run :data:`PARALLEL_PROBE` ``jobs`` times one at a time, and ``jobs``
    times two at a time: their ratio is what a second core gives this machine for work that
    needs no coordination at all. On a virtual machine whose two cores share a physical one,
    or its caches and memory bandwidth, it is well under 2."""

    def batch(at_once: int) -> float:
        started = time.perf_counter()
        for _ in range(jobs // at_once):
            probes = [
                subprocess.Popen(PARALLEL_PROBE, cwd=ROOT, stdout=subprocess.DEVNULL)
                for _ in range(at_once)
            ]
            for probe in probes:
                if probe.wait():
                    raise subprocess.CalledProcessError(probe.returncode, PARALLEL_PROBE)
        return time.perf_counter() - started

    return batch(1), batch(2)


def _env(course: Path) -> dict:
    return dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(course / ".jupyter"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )


def time_course_grader(
    submissions: Path, workers: int, work: Path, *, ahead: bool = True
) -> dict[str, float]:
    """The course's grader with ``workers``; with ``ahead=False``, launching each kernel only
    when its submission comes (``AUTOGRADER_AHEAD=0``)."""
    course = Path(tempfile.mkdtemp(prefix=f"course-{workers}-", dir=work))
    out = Path(tempfile.mkdtemp(prefix=f"out-{workers}-", dir=work))
    env = _env(course)
    if not ahead:
        env["AUTOGRADER_AHEAD"] = "0"
    return measured_run(
        grade_command(submissions, out, course, "--workers", str(workers), "--quiet"),
        check=True,
        cwd=ROOT,
        env=env,
    )


def time_nbgrader(submissions: Path, work: Path) -> dict[str, float]:
    course = work / "nbgrader-course"
    shutil.copytree(ROOT / "autograder" / "course" / "source" / NB, course / "source" / NB)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'dropout'\n"
    )
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run(
        [*nbgrader, "generate_assignment", NB],
        cwd=course,
        env=_env(course),
        check=True,
        capture_output=True,
    )
    for student_dir in submissions.iterdir():
        shutil.copytree(student_dir, course / "submitted" / student_dir.name / NB)
        subprocess.run(
            [*nbgrader, "db", "student", "add", student_dir.name],
            cwd=course,
            env=_env(course),
            check=True,
            capture_output=True,
        )
    # nbgrader stops at nothing but reports failures in its exit status: ignore it here
    return measured_run([*nbgrader, "autograde", NB], check=False, cwd=course, env=_env(course))


def main(argv=None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--students", type=int, default=30, help="how many of the 30 (1 to 30)")
    parser.add_argument(
        "--copies", type=int, default=1, help="times each submission is handed in (default 1)"
    )
    parser.add_argument(
        "--no-fork",
        action="store_true",
        help="start every kernel from scratch instead of forking it (autograder.zygote)",
    )
    parser.add_argument("--skip-nbgrader", action="store_true", help="time the grader only")
    parser.add_argument(
        "--skip-serial",
        action="store_true",
        help="do not time one worker that launches each kernel only when its submission comes",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of the course's grader each way (the best)"
    )
    args = parser.parse_args(argv)
    if args.no_fork:
        os.environ["AUTOGRADER_FORK"] = "0"
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        students = make_submissions(work / "submitted", max(1, args.students), max(1, args.copies))
        runs: dict[str, list[dict[str, float]]] = {"workers 1": [], "workers 2": []}
        if not args.skip_serial:
            runs["workers 1 serial"] = []
        alone = paired = 0.0
        for _ in range(max(1, args.repeats)):  # in turn, so that all see the same load
            for workers in (1, 2):
                runs[f"workers {workers}"].append(
                    time_course_grader(work / "submitted", workers, work)
                )
            if "workers 1 serial" in runs:
                runs["workers 1 serial"].append(
                    time_course_grader(work / "submitted", 1, work, ahead=False)
                )
            if (os.cpu_count() or 1) >= 2:
                one_at_a_time, two_at_a_time = time_parallel_probe(PROBES)
                alone, paired = alone + one_at_a_time, paired + two_at_a_time
        timings = {way: min(each, key=lambda run: run["wall"]) for way, each in runs.items()}
        for way, each in runs.items():
            walls = ", ".join(f"{run['wall']:.1f}" for run in each)
            print(f"{way}: {walls} s; the fastest is reported")
        if not args.skip_nbgrader:
            timings["nbgrader"] = time_nbgrader(work / "submitted", work)
    load_after = os.getloadavg()
    names = {
        "workers 1": "python -m autograder grade --workers 1",
        "workers 2": "python -m autograder grade --workers 2",
        "nbgrader": "nbgrader autograde (one process)",
        "workers 1 serial": "... --workers 1, no kernel started ahead",
    }
    print(f"{len(timings)} ways to grade the same {students} notebooks of {NB}:")
    print(
        f"  {'':42s} {'wall':>7s}   {'a notebook':>10s}   {'CPU':>7s}   {'CPU a notebook':>14s}"
        f"   {'cores busy':>10s}"
    )
    for way, run in timings.items():
        print(
            f"  {names[way]:42s} {run['wall']:6.1f}s   {run['wall'] / students:9.2f}s"
            f"   {run['cpu']:6.1f}s   {run['cpu'] / students:13.2f}s"
            f"   {run['cpu'] / run['wall']:10.2f}"
        )
    print("CPU seconds a notebook, sampled, by kind of process:")
    print(f"  {'':42s} " + "   ".join(f"{kind:>8s}" for kind in KINDS))
    for way, run in timings.items():
        print(
            f"  {names[way]:42s} "
            + "   ".join(f"{run[f'{kind} cpu'] / students:7.3f}s" for kind in KINDS)
        )
    print("speed-ups (target in brackets), and the same ratio of CPU seconds:")
    for name, (fast, slow, target) in TARGETS.items():
        if slow not in timings:
            continue
        ratio = timings[slow]["wall"] / timings[fast]["wall"]
        cpu_ratio = timings[slow]["cpu"] / timings[fast]["cpu"]
        verdict = "met" if ratio >= target else "not met"
        print(
            f"  {name:32s} {ratio:5.2f}x   [target >= {target:.1f}x: {verdict}]"
            f"   CPU seconds {cpu_ratio:5.2f}x"
        )
        targets.record(
            f"grading {students} notebooks of {NB}: {name}",
            f"{ratio:.2f}x (CPU seconds {cpu_ratio:.2f}x)",
            f">= {target:.1f}x",
            ratio >= target,
        )
    if "workers 2" in timings and (os.cpu_count() or 1) >= 2:
        # what 2 workers could reach with the CPU they used, if both cores were busy throughout:
        # the rest of the gap to 2x is time with a core idle (start, end, waits)
        one, two = timings["workers 1"], timings["workers 2"]
        print(
            f"  2 workers, both cores busy throughout: {two['cpu'] / 2:.1f} s, "
            f"{one['wall'] / (two['cpu'] / 2):.2f}x one worker (they kept "
            f"{two['cpu'] / two['wall']:.2f} cores busy; one worker, "
            f"{one['cpu'] / one['wall']:.2f})"
        )
    if "workers 1 serial" in timings and "workers 2" in timings:
        # the same ratio against a worker that leaves the second core idle: what 2 workers give
        # over a strictly one-core grader, at the price of the one worker's own speed
        one, serial, two = timings["workers 1"], timings["workers 1 serial"], timings["workers 2"]
        print(
            f"  one worker that starts no kernel ahead (AUTOGRADER_AHEAD=0): {serial['wall']:.1f}"
            " s,"
            f" {serial['wall'] / one['wall']:.2f}x the time of one worker that does, keeping"
            f" {serial['cpu'] / serial['wall']:.2f} cores busy; 2 workers are"
            f" {serial['wall'] / two['wall']:.2f}x faster than it"
        )
    if paired:
        print(
            f"  this machine's own ceiling: {alone / paired:.2f}x ({PROBES * max(1, args.repeats)}"
            " fresh Pythons importing NumPy, matplotlib, ipykernel and course_lib, run two at"
            " a time vs one at a time, between the runs above)"
        )
    print(
        "load average (1, 5, 15 min) before: "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + "; after: "
        + ", ".join(f"{x:.2f}" for x in load_after)
        + f" (on {os.cpu_count()} cores)"
    )
    return timings


if __name__ == "__main__":
    main()
