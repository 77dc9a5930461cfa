"""Grading kernels started ahead of time: while one submission is graded, the next one's kernel
is already starting.

Where a submission's grading time goes (notebook 03, the sandbox, measured on 2 cores): about
0.6 s to start a kernel, 1.2 s for the imports of its first cell (NumPy, matplotlib, the course
library and the notebook's lesson module, most of it matplotlib.pyplot and the SciPy statistics
that ``course_lib.analysis`` and the probes' checks imported), 0.2 s for the probes, a few
milliseconds for the student's other cells. In CPU seconds, a kernel of notebook 03 had used
1.6 s when it was ready; 0.2 s less since matplotlib's font list is built once
(:func:`autograder.sandbox.matplotlib_fontlist`) and ipykernel starts without debugpy and
without a history database (:data:`autograder.runner.LAUNCHER`), and 0.7 s less again since
``scipy.stats`` is imported on first use only (:mod:`course_lib._lazy`): 0.66 s.
A cold kernel puts all of it on the path of every submission. A :class:`KernelPool` takes the
first two off it: when a submission's kernel is taken, the pool launches the kernel of the next
submission of the same notebook, which starts and imports those modules on the other core while
this one is graded. Sandboxed kernels are not started from scratch but forked, each in
namespaces of its own, from a :class:`autograder.zygote.Zygote` that imported those modules
once for the notebook (one per pool, or one for all the workers of a class): that cut the CPU
of a kernel of notebook 03 from 0.69 s to 0.16 s a submission (``benchmarks/bench_grading.py``,
1 worker, 30 notebooks).

The guarantees of a cold kernel hold, because a warm kernel *is* a cold kernel, only started
earlier:

* one kernel serves exactly one submission and is killed after it; a kernel that ran student
  code is never reused;
* each has its own sandbox (:mod:`autograder.sandbox`; a forked kernel, the namespaces, empty
  ``/tmp`` and hidden neighbours :mod:`autograder.zygote` lists, inside its zygote's sandbox),
  its own empty scratch folder, and the grading copy of its notebook
  (:mod:`autograder.grading_copy`): warm kernels are kept by that copy, and a kernel for another
  notebook is never handed out;
* before student code, it has imported only modules of that grading copy and of the Python
  environment (:func:`preload_modules`), what the notebook's own first cell imports anyway and
  any student could import first; nothing of the submission or the grader's secrets: the
  submission's files and its seed reach the kernel only when it is taken (:meth:`begin
  <autograder.runner.KernelSession.begin>`);
* a warm kernel that died while it waited is replaced by a new one;
* time and memory limits, replay after a crash and the verdict outside the kernel are those of
  :class:`autograder.runner.KernelSession`, which the pool hands out.

Where a class is graded by several worker processes on this machine, their pools share one
zygote per notebook (:func:`share_zygotes`): the grader starts them before it forks the workers,
and ends each once its notebook is graded.

One pool lives in each grading process (:func:`process_pool`: the grader itself, each worker of
a process pool or of a Dask cluster). It is closed when grading ends, when its process exits
(normally, on an exception or on Ctrl-C), and every kernel it started is then killed; a sandboxed
kernel also dies with its grader (bubblewrap's ``--die-with-parent``), an unsandboxed one through
its parent-death signal.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from . import sandbox as sandboxing
from .runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT, KernelSession
from .zygote import Zygote, ZygoteUnavailable

# the imports of every notebook's first cell, and of the probes, that a kernel can make before
# its submission is known
COMMON_MODULES = (
    "numpy",
    "numpy.random",  # imported on first use only; every probe draws with it
    "matplotlib",
    "matplotlib.pyplot",
    "ipywidgets",
    "course_lib",
    "course_lib.lessons.widgets",
    "autograder.exercises",
    "autograder.harness",
    "autograder.wire",
)


# the notebooks whose grading imports scipy.stats (their probes, or their lesson code, call
# course_lib.stats or SciPy's laws): the course library imports it only on first use
# (course_lib._lazy), so other notebooks' kernels go without its 0.6 s of CPU, and these ones
# import it while they wait instead of while they grade (measured by grading each instructor
# solution in the sandbox and reading sys.modules afterwards)
SCIPY_STATS_NOTEBOOKS = ("02_bernoulli_binomial", "07_capstone")


def preload_modules(copy: Path) -> tuple[str, ...]:
    """The modules a kernel for the grading copy ``copy`` imports before student code: the
    common ones, the lesson module of its notebook (``course_lib/lessons/nb<notebook>.py``)
    where the copy has one, the copy's exercise modules, and ``scipy.stats`` where grading the
    notebook needs it."""
    notebook = Path(copy).name
    modules = COMMON_MODULES
    if (Path(copy) / "course_lib" / "lessons" / f"nb{notebook}.py").exists():
        modules = (*modules, f"course_lib.lessons.nb{notebook}")
    # the probes' exercise modules: the first probe of a kernel imports all of them (finding
    # an exercise by name loads every notebook's), 15 ms of CPU in each kernel with numpy.random
    exercises = sorted((Path(copy) / "autograder" / "exercises").glob("nb[0-9][0-9]_*.py"))
    modules = (*modules, *(f"autograder.exercises.{path.stem}" for path in exercises))
    if notebook in SCIPY_STATS_NOTEBOOKS:
        modules = (*modules, "scipy.stats")
    return modules


def forking() -> bool:
    """Whether sandboxed kernels are forked from a zygote (``AUTOGRADER_FORK=0`` starts every
    kernel from scratch: ``benchmarks/bench_grading.py`` compares both ways)."""
    return os.environ.get("AUTOGRADER_FORK", "1") != "0"


def starting_ahead() -> bool:
    """Whether a grading process launches the next submission's kernel while it grades the
    current one (``AUTOGRADER_AHEAD=0`` launches each when its submission comes:
    ``benchmarks/bench_grading.py`` times one worker both ways, to show what the second core
    gives one worker)."""
    return os.environ.get("AUTOGRADER_AHEAD", "1") != "0"


# the zygotes the grader started for its workers, by pool key (see share_zygotes)
_shared: dict[tuple, Zygote] = {}


def share_zygotes(keys, *, workers: int, load: tuple | None = None) -> None:
    """In the grader, before it forks its ``workers``: one zygote for each key (grading copy,
    sandboxed, memory limit) of the class, which the pools of the workers use instead of
    starting one each (sandboxed keys only). A zygote imports its modules only when a worker
    first needs it, or now for the key ``load`` (the first notebook). Where one cannot start,
    the workers start their own, as without this; so they do where kernels cannot have a
    process limit of their own (:func:`autograder.sandbox.process_groups_available`), which
    keeps a fork bomb in one worker's kernel from starving the other worker's kernels."""
    if not (forking() and sandboxing.process_groups_available()):
        return
    for key in keys:
        copy, sandboxed, memory_bytes = key
        if not sandboxed or key in _shared:
            continue
        try:
            _shared[key] = Zygote(
                copy=copy,
                memory_bytes=memory_bytes,
                preload=preload_modules(copy),
                shared=True,
                workers=workers,
            )
        except (ZygoteUnavailable, OSError):
            continue
    if load is not None:
        load_shared_zygote(load)


def load_shared_zygote(key: tuple) -> None:
    """Have the shared zygote for ``key`` import its modules now, if it has not (the grader
    does so for the next notebook while its workers finish the last one)."""
    zygote = _shared.get(key)
    if zygote is not None:
        with contextlib.suppress(ZygoteUnavailable):
            zygote.load()


def close_shared_zygote(key: tuple) -> None:
    """End the shared zygote for ``key`` (its notebook is graded) and its kernels."""
    zygote = _shared.pop(key, None)
    if zygote is not None:
        zygote.close()


def close_shared_zygotes() -> None:
    for key in list(_shared):
        close_shared_zygote(key)


class KernelPool:
    """Kernels started ahead of time, kept by (grading copy, sandboxed, memory limit).

    :meth:`session` hands out a kernel for one submission and kills it afterwards; the kernel
    for the next submission is launched when one is taken. At most one kernel waits at a time:
    graders take submissions one after another, sorted by notebook, so one is always enough and
    a kernel for another notebook is killed rather than kept. With ``ahead=False`` none is
    launched before its submission comes.
    """

    def __init__(self, *, preload: bool = True, fork: bool = True, ahead: bool = True):
        self.preload = preload
        self.fork = fork and preload
        self.ahead = ahead
        self._zygotes: dict[tuple, Zygote] = {}  # its own
        self._unshared: set[tuple] = set()  # keys whose shared zygote failed here
        self._owner = os.getpid()
        self._lock = threading.Lock()
        self._waiting: dict[tuple, KernelSession] = {}
        self._live: set[KernelSession] = set()
        self.closed = False
        self.started = 0  # kernels launched, for tests and benchmarks
        self.replaced = 0  # waiting kernels found dead and replaced

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _zygote(self, key: tuple, *, wait: bool = True) -> Zygote | None:
        """The zygote that forks the kernels for ``key`` (sandboxed ones only), started on
        first use and again if it ended, and ready (or, without ``wait``, importing its
        modules); None where none can start (kernels then start from scratch)."""
        copy, sandboxed, memory_bytes = key
        if not (sandboxed and self.fork):
            return None
        shared = _shared.get(key)
        if shared is not None and key not in self._unshared:
            try:
                shared.wait_ready()
                if shared.alive():
                    return shared
            except ZygoteUnavailable:
                pass
            self._unshared.add(key)  # from here on, a zygote of its own
        with self._lock:
            zygote = self._zygotes.get(key)
        if zygote is not None and zygote.alive():
            try:
                if wait:
                    zygote.wait_ready()  # one started ahead (start_zygote) may still import
                return zygote
            except ZygoteUnavailable:  # it could not load: as if it could not start
                self.fork = False
                return None
        with self._lock:
            others, self._zygotes = list(self._zygotes.values()), {}
        for other in others:  # one notebook at a time (see the class docstring)
            other.close()
        try:
            zygote = Zygote(
                copy=copy, memory_bytes=memory_bytes, preload=preload_modules(copy), wait=wait
            )
        except ZygoteUnavailable:
            self.fork = False
            return None
        with self._lock:
            self._zygotes[key] = zygote
        return zygote

    def start_zygote(
        self, *, copy: Path, sandboxed: bool = True, memory_bytes: int = DEFAULT_MEMORY
    ) -> bool:
        """Start the zygote for the grading copy ``copy`` now, without waiting while it imports
        its modules (the grader's own start-up goes on meanwhile, on the other core); False
        where kernels are not forked."""
        return self._zygote((Path(copy), sandboxed, memory_bytes), wait=False) is not None

    def _launch(self, key: tuple) -> KernelSession:
        copy, sandboxed, memory_bytes = key
        zygote = self._zygote(key)
        session = KernelSession(
            copy=copy,
            sandboxed=sandboxed,
            memory_bytes=memory_bytes,
            preload=preload_modules(copy) if self.preload and zygote is None else (),
            zygote=zygote,
        )
        with self._lock:
            self._live.add(session)
            self.started += 1
        try:
            session.launch()
        except ZygoteUnavailable:
            self._discard(session)
            if zygote is None or not zygote.shared or key in self._unshared:
                raise
            self._unshared.add(key)  # it ended under this worker: one of its own
            return self._launch(key)
        except BaseException:
            self._discard(session)
            raise
        return session

    def _discard(self, session: KernelSession) -> None:
        with self._lock:
            self._live.discard(session)
        session.close()

    def _take(self, key: tuple, **begin) -> KernelSession:
        """The waiting kernel for ``key``, begun with ``begin`` (launched now if there is none,
        replaced if it died while it waited); kernels waiting for other keys are killed."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        session = waiting.pop(key, None)
        for other in waiting.values():
            self._discard(other)
        if session is not None and not session.alive():
            self._discard(session)
            self.replaced += 1
            session = None
        if session is None:
            session = self._launch(key)
        try:
            session.begin(**begin)
        except RuntimeError:  # it died while starting: one more try with a new kernel
            self._discard(session)
            self.replaced += 1
            session = self._launch(key)
            try:
                session.begin(**begin)
            except BaseException:
                self._discard(session)
                raise
        except BaseException:
            self._discard(session)
            raise
        return session

    def prepare(self, *, copy: Path, sandboxed: bool = True, memory_bytes: int = DEFAULT_MEMORY):
        """Launch a kernel for the grading copy ``copy`` now, unless one waits already, for a
        submission that comes later (the first one of a class, say)."""
        key = (Path(copy), sandboxed, memory_bytes)
        with self._lock:
            if key in self._waiting:
                return
        session = self._launch(key)
        with self._lock:
            # another thread (a Dask worker's) may have launched one meanwhile: keep one
            spare = self._waiting.get(key)
            if spare is None:
                self._waiting[key] = session
        if spare is not None:
            self._discard(session)

    @contextlib.contextmanager
    def session(
        self,
        *,
        copy: Path,
        sandboxed: bool = True,
        timeout: int = DEFAULT_TIMEOUT,
        memory_bytes: int = DEFAULT_MEMORY,
        env: dict[str, str] | None = None,
        files: dict[str, bytes] | None = None,
    ) -> Iterator[KernelSession]:
        """A started kernel for one submission, as :class:`KernelSession` gives one, with
        ``files`` in its working directory and ``env`` in its environment; killed on exit."""
        if self.closed:
            raise RuntimeError("the kernel pool is closed")
        key = (Path(copy), sandboxed, memory_bytes)
        session = self._take(key, files=files, env=env, timeout=timeout)
        try:
            # the next submission's kernel starts while this one is graded (after this one is
            # ready, so that it does not compete with it for the CPU while it starts)
            if self.ahead:
                self.prepare(copy=key[0], sandboxed=sandboxed, memory_bytes=memory_bytes)
            yield session
        finally:
            self._discard(session)

    def live(self) -> int:
        """How many kernels of this pool are running or waiting."""
        with self._lock:
            return len(self._live)

    def close(self) -> None:
        """Kill every kernel of the pool, waiting or in use (only in the process that made it:
        a forked child holds a copy of the parent's pool and must not touch its kernels)."""
        self.closed = True
        if os.getpid() != self._owner:
            return
        with self._lock:
            sessions, self._live, self._waiting = list(self._live), set(), {}
            zygotes, self._zygotes = list(self._zygotes.values()), {}
        for session in sessions:
            session.close()
        for zygote in zygotes:
            zygote.close()
        for zygote in list(_shared.values()):  # kernels a fork was interrupted before handing
            zygote.shutdown_kernels()
        sandboxing.remove_leaving_cgroups()  # of the kernels killed without waiting for it


_process_pool: KernelPool | None = None


def process_pool() -> KernelPool:
    """The kernel pool of this process, made on first use and closed when the process exits
    (``atexit``, and multiprocessing's finalizers, which run where atexit does not: in the
    workers of a process pool)."""
    global _process_pool
    if _process_pool is None or _process_pool.closed or _process_pool._owner != os.getpid():
        _process_pool = KernelPool(fork=forking(), ahead=starting_ahead())
        atexit.register(_process_pool.close)
        multiprocessing.util.Finalize(None, _process_pool.close, exitpriority=100)
    return _process_pool


def close_process_pool() -> None:
    """Close this process's kernel pool, if it has one; the next :func:`process_pool` makes a
    new one."""
    global _process_pool
    if _process_pool is not None and _process_pool._owner == os.getpid():
        _process_pool.close()
    _process_pool = None
