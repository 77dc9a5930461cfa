"""A whole class on one machine: ``make classroom`` (``python -m autograder.hub``).

Starts JupyterHub 6 with configurable-http-proxy, one instructor and a few students, nbgrader's
exchange in a local folder, and nbgrader's assignment list (everyone) and formgrader (the
instructor only). Every account logs in with the same password (JupyterHub's dummy
authenticator, restricted to these accounts) and gets JupyterLab.

nbgrader's exchange knows a student by the operating-system user running their server, so each
account needs its own system user: the command creates them (``useradd``), as The Littlest
JupyterHub does, runs the hub as root with JupyterHub's default spawner (each server runs as its
own user), and removes the users it created when the class stops (Ctrl-C). A user that already
existed is never used or removed. Home folders are private (mode 700), so no student can read the
instructor's course (its hidden tests and gradebook) or another student's work.

The servers run as those users, so they cannot use the project's own environment if it sits
under ``/root``. The command makes one under ``ENV`` (default ``/opt/dropout-classroom``) from a
Python everyone can run, with the exact versions of ``requirements.lock`` and this project
installed into it (refreshed on every start, so edits to the course take effect), and the proxy
from npm beside it. The instructor notebooks (solutions and hidden tests) that the package
carries are removed from that copy, since every user can read it; the grader takes them from the
instructor's course.

Layout of ``ROOT`` (default ``/var/lib/dropout-classroom``), made afresh on every start:

- ``exchange/``: nbgrader's exchange (writable by all; nbgrader sets the modes inside);
- ``config/everyone``, ``config/instructor``, ``config/student``: Jupyter configuration given to
  the servers through ``JUPYTER_CONFIG_PATH`` (course id, exchange, which extensions load);
- ``jupyterhub_config.py``, the hub's database and cookie secret, and ``jupyterhub.log``.

The instructor's course is ``~INSTRUCTOR/dropout``: a copy of ``autograder/course`` (its
configuration and the instructor versions of the notebooks), kept if it already exists so that a
restart loses no gradebook.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .grading import COURSE_DIR

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements.lock"
PROXY_PACKAGE = "configurable-http-proxy@4.6.3"
COURSE_ID = "dropout"
COURSE_FOLDER = "dropout"
DEFAULT_ENV = Path("/opt/dropout-classroom")
DEFAULT_ROOT = Path("/var/lib/dropout-classroom")
DEFAULT_STUDENTS = ("ada", "ben")
NBGRADER_SERVER_EXTENSIONS = ("formgrader", "validate_assignment", "assignment_list", "course_list")
# what students do not get: formgrader (the gradebook's pages) and the create-assignment toolbar
INSTRUCTOR_ONLY_SERVER = ("nbgrader.server_extensions.formgrader",)
INSTRUCTOR_ONLY_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment")
CREATED_USERS = "created-users.json"
# what the package holds for the instructor only: notebook sources and instructor versions
INSTRUCTOR_ONLY_FILES = ("course/src", "course/source")


class ClassroomError(RuntimeError):
    """A class that cannot start, with the reason and what to do about it."""


# --- accounts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Classroom:
    """Who is in the class and where its files live."""

    instructor: str
    students: tuple[str, ...]
    password: str
    root: Path = DEFAULT_ROOT
    env: Path = DEFAULT_ENV
    port: int = 8000
    accounts: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        accounts = (self.instructor, *self.students)
        for name in accounts:
            if not valid_username(name):
                raise ClassroomError(
                    f"account name {name!r} is not a valid system user name: use 1-32 lowercase "
                    "letters, digits, '_' or '-', starting with a letter"
                )
        if len(set(accounts)) != len(accounts):
            raise ClassroomError(f"account names repeat: {', '.join(accounts)}")
        if not 1 <= self.port <= 65533:
            raise ClassroomError(
                f"port must be in 1..65533 (the hub uses it and the next two), got {self.port}"
            )
        object.__setattr__(self, "accounts", accounts)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def python(self) -> Path:
        return self.env / "venv" / "bin" / "python"

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    def course(self) -> Path:
        return self.home(self.instructor) / COURSE_FOLDER


def valid_username(name: str) -> bool:
    return (
        0 < len(name) <= 32
        and name[0].isascii()
        and name[0].islower()
        and all(ch.isascii() and (ch.islower() or ch.isdigit() or ch in "_-") for ch in name)
    )


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def create_users(classroom: Classroom) -> list[str]:
    """Create a system user per account; refuse to take over one that exists and is not ours."""
    record = classroom.root / CREATED_USERS
    ours = set(json.loads(record.read_text())) if record.exists() else set()
    taken = [name for name in classroom.accounts if user_exists(name) and name not in ours]
    if taken:
        raise ClassroomError(
            f"system user(s) {', '.join(taken)} already exist and were not created by this "
            "command; choose other names with --instructor/--students"
        )
    created = sorted(ours & set(classroom.accounts))
    for name in classroom.accounts:
        if not user_exists(name):
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
            created.append(name)
            record.write_text(json.dumps(sorted(created)))
        os.chmod(classroom.home(name), 0o700)
    return created


def remove_users(classroom: Classroom) -> list[str]:
    """Remove the users this command created (their processes first), and forget them."""
    record = classroom.root / CREATED_USERS
    if not record.exists():
        return []
    removed = []
    for name in json.loads(record.read_text()):
        if not user_exists(name):
            continue
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        for _ in range(50):  # userdel refuses while the user still has a process
            if subprocess.run(["pgrep", "-u", name], capture_output=True).returncode != 0:
                break
            time.sleep(0.1)
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
        removed.append(name)
    record.unlink()
    return removed


# --- the environment the servers run in -----------------------------------------------------------


def shared_python() -> str:
    """An interpreter every user may run: this one unless it sits in a private folder."""
    for candidate in (getattr(sys, "_base_executable", sys.executable), "/usr/bin/python3"):
        path = Path(candidate).resolve()
        if path.exists() and all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents]):
            return str(path)
    raise ClassroomError(
        "no Python that every user can run: install Debian's python3 and python3-venv "
        "(apt-get install python3-venv)"
    )


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (LOCK, REPO / "pyproject.toml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _run(command: Sequence[str | os.PathLike], what: str, **kwargs) -> None:
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ClassroomError(f"{what} failed (exit {result.returncode}):\n{tail}")


def prepare_env(env: Path, say=print) -> None:
    """The class's environment: a virtual environment with the locked versions and the project,
    and configurable-http-proxy, all readable by every user."""
    venv = env / "venv"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if not (stamp.exists() and stamp.read_text() == _fingerprint()):
        say(f"Installing the class's environment in {venv} (a few minutes, once)...")
        if not python.exists():
            _run([shared_python(), "-m", "venv", venv], "creating the virtual environment")
        _run(
            [python, "-m", "pip", "install", "--quiet", "-r", LOCK], "installing requirements.lock"
        )
        pip_exts = [
            [
                "jupyter",
                "server",
                "extension",
                "enable",
                "--sys-prefix",
                f"nbgrader.server_extensions.{ext}",
            ]
            for ext in NBGRADER_SERVER_EXTENSIONS
        ]
        for command in pip_exts:
            _run([venv / "bin" / command[0], *command[1:]], " ".join(command))
        _run(
            [
                venv / "bin" / "jupyter",
                "labextension",
                "enable",
                "--level=sys_prefix",
                "@jupyter/nbgrader",
            ],
            "enabling nbgrader's JupyterLab extension",
        )
        # no "get notified about Jupyter news?" question in a class
        settings = venv / "share" / "jupyter" / "lab" / "settings"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "overrides.json").write_text(
            json.dumps({"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}})
        )
        stamp.write_text(_fingerprint())
    say("Installing the course into the class's environment...")
    _run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", REPO],
        "installing the course",
        cwd="/",
    )
    # the instructor notebooks (solutions, hidden tests) ship with the package, and every user
    # can read this environment: the class's copy keeps them only in the instructor's course
    found = subprocess.run(
        [python, "-c", "import autograder, os; print(os.path.dirname(autograder.__file__))"],
        capture_output=True, text=True, check=True, cwd="/",
    )  # fmt: skip
    for folder in INSTRUCTOR_ONLY_FILES:
        shutil.rmtree(Path(found.stdout.strip()) / folder, ignore_errors=True)
    proxy = proxy_command(env)
    if not proxy.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise ClassroomError(
                "configurable-http-proxy comes from npm, which is not installed: "
                "apt-get install nodejs npm"
            )
        say(f"Installing {PROXY_PACKAGE} from npm...")
        _run([npm, "install", "--silent", "--prefix", env / "node", PROXY_PACKAGE], "npm install")
    _run(["chmod", "-R", "a+rX", env], "making the environment readable")


def proxy_command(env: Path) -> Path:
    return env / "node" / "node_modules" / ".bin" / "configurable-http-proxy"


# --- the class's files ----------------------------------------------------------------------------


def nbgrader_config(classroom: Classroom, course: Path | None = None) -> str:
    lines = [
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {COURSE_ID!r}",
        f"c.Exchange.root = {str(classroom.exchange)!r}",
    ]
    if course is not None:
        lines.append(f"c.CourseDirectory.root = {str(course)!r}")
    return "\n".join(lines) + "\n"


def write_configs(classroom: Classroom) -> None:
    """Jupyter configuration for everyone, the instructor, and the students."""
    config = classroom.root / "config"
    if config.exists():
        shutil.rmtree(config)
    everyone, instructor, student = (config / n for n in ("everyone", "instructor", "student"))
    for folder in (everyone, instructor, student / "labconfig"):
        folder.mkdir(parents=True)
    (everyone / "nbgrader_config.py").write_text(nbgrader_config(classroom))
    # a plain shell in JupyterLab's terminal: a login shell would read /etc/profile, whose PATH
    # drops the class's environment (and with it `python -m autograder` and `nbgrader`)
    (everyone / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"terminado_settings": {"shell_command": ["/bin/bash"]}}})
    )
    (instructor / "nbgrader_config.py").write_text(nbgrader_config(classroom, classroom.course()))
    (student / "jupyter_server_config.json").write_text(
        json.dumps(
            {"ServerApp": {"jpserver_extensions": dict.fromkeys(INSTRUCTOR_ONLY_SERVER, False)}}
        )
    )
    (student / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": dict.fromkeys(INSTRUCTOR_ONLY_LAB, True)})
    )


def config_path(classroom: Classroom, user: str) -> str:
    config = classroom.root / "config"
    role = "instructor" if user == classroom.instructor else "student"
    return os.pathsep.join([str(config / role), str(config / "everyone")])


def prepare_course(classroom: Classroom, source: Path = COURSE_DIR) -> Path:
    """The instructor's course: nbgrader's configuration and the instructor notebooks."""
    course = classroom.course()
    if not (course / "nbgrader_config.py").exists():
        course.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "nbgrader_config.py", course / "nbgrader_config.py")
        shutil.copytree(source / "source", course / "source")
        user = pwd.getpwnam(classroom.instructor)
        for path in [course, *course.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
    return course


def prepare_exchange(classroom: Classroom) -> None:
    classroom.exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(classroom.exchange, 0o777)


def hub_config(classroom: Classroom) -> str:
    """jupyterhub_config.py for the class."""
    root = classroom.root
    venv_bin = classroom.env / "venv" / "bin"
    paths = {user: config_path(classroom, user) for user in classroom.accounts}
    return f"""# Written by `python -m autograder.hub`; rewritten on every start.
c = get_config()  # noqa: F821

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {classroom.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {classroom.port + 1}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{classroom.port + 2}"
c.ConfigurableHTTPProxy.command = [{str(proxy_command(classroom.env))!r}]
c.JupyterHub.db_url = "sqlite:///{root / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(root / "jupyterhub_cookie_secret")!r}
c.JupyterHub.pid_file = {str(root / "jupyterhub.pid")!r}

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {classroom.password!r}
c.Authenticator.allowed_users = {set(classroom.accounts)!r}
c.Authenticator.admin_users = {{{classroom.instructor!r}}}

# the default spawner: each server runs as its own system user
c.Spawner.cmd = [{str(venv_bin / "jupyterhub-singleuser")!r}]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
_CONFIG_PATH = {paths!r}
c.Spawner.environment = {{
    "PATH": {f"{venv_bin}:/usr/local/bin:/usr/bin:/bin"!r},
    "JUPYTER_CONFIG_PATH": lambda spawner: _CONFIG_PATH[spawner.user.name],
}}
"""


# --- running the hub ------------------------------------------------------------------------------


def wait_until_up(url: str, hub: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise ClassroomError(f"JupyterHub exited with status {hub.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{url}/hub/api", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise ClassroomError(f"JupyterHub did not answer at {url} within {timeout:.0f} s; see {log}")


def stop(hub: subprocess.Popen, timeout: float = 30) -> None:
    """Stop the hub we started; it stops the servers it spawned."""
    if hub.poll() is None:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(timeout)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait()


def banner(classroom: Classroom, course: Path) -> str:
    width = max(len(name) for name in classroom.accounts)
    accounts = [f"    {classroom.instructor:<{width}}  instructor (formgrader, course in {course})"]
    accounts += [f"    {name:<{width}}  student" for name in classroom.students]
    return "\n".join(
        [
            f"The class is open at {classroom.url}",
            f"Password for every account: {classroom.password}",
            "Accounts:",
            *accounts,
            f"Exchange: {classroom.exchange}",
            "Press Ctrl-C to stop the class and remove these system users.",
        ]
    )


_CLAIMS: dict[Path, IO[str]] = {}


def claim_env(env: Path) -> None:
    """Hold the environment for this class until it stops: every start reinstalls the course
    into it, so a second class started meanwhile would swap the code under the first."""
    env.mkdir(parents=True, exist_ok=True)
    handle = open(env / ".in-use", "a+")  # noqa: SIM115 (held open while the class runs)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ClassroomError(
            f"another class runs from the environment {env} ({holder}): stop it first, or "
            "give this one its own with --env"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()}")
    handle.flush()
    _CLAIMS[env] = handle


def release_env(env: Path) -> None:
    handle = _CLAIMS.pop(env, None)
    if handle is not None:
        handle.close()


def open_class(classroom: Classroom, say=print) -> tuple[subprocess.Popen, Path]:
    """Set everything up and start the hub; returns it and its log once it answers."""
    if os.geteuid() != 0:
        raise ClassroomError(
            "a class needs one system user per account and a hub running as root: "
            "run `sudo make classroom`"
        )
    claim_env(classroom.env)
    try:
        return _open(classroom, say)
    except BaseException:
        release_env(classroom.env)
        raise


def _open(classroom: Classroom, say) -> tuple[subprocess.Popen, Path]:
    classroom.root.mkdir(parents=True, exist_ok=True)
    os.chmod(classroom.root, 0o755)
    prepare_env(classroom.env, say)
    create_users(classroom)
    prepare_exchange(classroom)
    course = prepare_course(classroom)
    write_configs(classroom)
    config = classroom.root / "jupyterhub_config.py"
    config.write_text(hub_config(classroom))
    os.chmod(config, 0o600)  # it holds the password
    _run(["chmod", "-R", "a+rX", classroom.root / "config"], "making the configuration readable")
    log = classroom.root / "jupyterhub.log"
    with open(log, "ab") as out:
        hub = subprocess.Popen(
            [str(classroom.env / "venv" / "bin" / "jupyterhub"), "-f", str(config)],
            cwd=classroom.root,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PATH=f"{classroom.env / 'venv' / 'bin'}:{os.environ['PATH']}"),
            start_new_session=True,
        )
    try:
        wait_until_up(classroom.url, hub, log)
    except BaseException:
        stop(hub)
        raise
    say(banner(classroom, course))
    return hub, log


def close_class(classroom: Classroom, hub: subprocess.Popen, keep_users: bool = False, say=print):
    stop(hub)
    release_env(classroom.env)
    if not keep_users:
        removed = remove_users(classroom)
        if removed:
            say(f"Removed the system users {', '.join(removed)}.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.hub",
        description="Run a class on this machine: JupyterHub, an instructor, students, nbgrader.",
    )
    parser.add_argument("--port", type=int, default=8000, help="the hub's port (default 8000)")
    parser.add_argument("--instructor", default="teacher", help="instructor account (teacher)")
    parser.add_argument(
        "--students",
        default=",".join(DEFAULT_STUDENTS),
        help=f"comma-separated student accounts ({','.join(DEFAULT_STUDENTS)})",
    )
    parser.add_argument("--password", help="password of every account (default: a random one)")
    parser.add_argument(
        "--root", type=Path, default=DEFAULT_ROOT, help=f"class files ({DEFAULT_ROOT})"
    )
    parser.add_argument(
        "--env", type=Path, default=DEFAULT_ENV, help=f"environment ({DEFAULT_ENV})"
    )
    parser.add_argument(
        "--keep-users", action="store_true", help="do not remove the system users on exit"
    )
    args = parser.parse_args(argv)
    students = tuple(s.strip() for s in args.students.split(",") if s.strip())
    try:
        if not students:
            raise ClassroomError("--students names no account")
        classroom = Classroom(
            instructor=args.instructor,
            students=students,
            password=args.password or secrets.token_urlsafe(9),
            root=args.root.resolve(),
            env=args.env.resolve(),
            port=args.port,
        )
        hub, _ = open_class(classroom)
    except ClassroomError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stopping = []

    def _stop(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping and hub.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    print("Stopping the class...", flush=True)
    close_class(classroom, hub, keep_users=args.keep_users)
    return 0 if stopping or hub.returncode in (None, 0, -signal.SIGTERM) else 1


if __name__ == "__main__":
    sys.exit(main())
