"""``python -m autograder.hub``'s checks and the configuration it writes, without starting a hub."""

import argparse
import json
import os
import pwd
import re
from pathlib import Path

import pytest
from traitlets.config import Config

from autograder import hub
from autograder.hub import Classroom, ClassroomError


def _classroom(tmp_path: Path, **changes) -> Classroom:
    arguments = dict(instructor="teach", students=("ann", "bob"), password="pw", root=tmp_path)
    return Classroom(**{**arguments, **changes})


@pytest.mark.parametrize("name", ["ann", "b0b", "t_a-1", "a" * 32])
def test_valid_system_user_names_are_accepted(name):
    assert hub.valid_username(name)


@pytest.mark.parametrize("name", ["", "Ann", "1ann", "-ann", "an n", "ann;rm", "é", "a" * 33])
def test_names_useradd_would_refuse_or_misread_are_refused_with_the_rule(tmp_path, name):
    assert not hub.valid_username(name)
    with pytest.raises(
        ClassroomError, match=r"not a valid system user name.*starting with a letter"
    ):
        _classroom(tmp_path, students=("ann", name))


def test_an_account_named_twice_and_a_port_out_of_range_are_refused(tmp_path):
    with pytest.raises(ClassroomError, match="repeat: teach, ann, ann"):
        _classroom(tmp_path, students=("ann", "ann"))
    with pytest.raises(ClassroomError, match=r"port must be in 1\.\.65533.*got 65534"):
        _classroom(tmp_path, port=65534)


def test_an_existing_user_not_made_by_the_class_is_never_taken_over(tmp_path):
    existing = pwd.getpwuid(os.getuid()).pw_name  # e.g. root: must not become a student
    with pytest.raises(ClassroomError, match=rf"{existing} already exist.*not created by this"):
        hub.create_users(_classroom(tmp_path, students=(existing,)))


def test_removing_users_touches_none_when_the_class_made_none(tmp_path):
    assert hub.remove_users(_classroom(tmp_path)) == []


def _load(path: Path) -> Config:
    config = Config()
    namespace = {"get_config": lambda: config}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return config


def test_the_hub_config_admits_the_class_only_and_runs_each_server_as_its_user(tmp_path):
    classroom = _classroom(tmp_path, port=8100)
    path = tmp_path / "jupyterhub_config.py"
    path.write_text(hub.hub_config(classroom))
    config = _load(path)
    assert config.JupyterHub.port == 8100 and config.JupyterHub.ip == "127.0.0.1"
    assert config.JupyterHub.hub_port == 8101
    assert config.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8102"
    assert config.Authenticator.allowed_users == {"teach", "ann", "bob"}
    assert config.Authenticator.admin_users == {"teach"}
    assert config.DummyAuthenticator.password == "pw"
    assert "spawner_class" not in config.JupyterHub  # LocalProcessSpawner: one OS user each
    assert config.Spawner.cmd == [str(classroom.env / "venv/bin/jupyterhub-singleuser")]
    environment = config.Spawner.environment
    assert environment["PATH"].startswith(str(classroom.env / "venv" / "bin"))

    class Spawner:
        def __init__(self, name):
            self.user = type("User", (), {"name": name})

    config_dir = tmp_path / "config"
    teacher = environment["JUPYTER_CONFIG_PATH"](Spawner("teach")).split(os.pathsep)
    student = environment["JUPYTER_CONFIG_PATH"](Spawner("ann")).split(os.pathsep)
    assert teacher == [str(config_dir / "instructor"), str(config_dir / "everyone")]
    assert student == [str(config_dir / "student"), str(config_dir / "everyone")]


def test_students_get_no_formgrader_and_everyone_gets_the_courses_exchange(tmp_path, monkeypatch):
    classroom = _classroom(tmp_path)
    monkeypatch.setattr(Classroom, "course", lambda self: Path("/home/teach/dropout"))
    hub.write_configs(classroom)
    config = tmp_path / "config"
    everyone = _load(config / "everyone" / "nbgrader_config.py")
    assert everyone.CourseDirectory.course_id == "dropout"
    assert everyone.Exchange.root == str(tmp_path / "exchange")
    assert "root" not in everyone.CourseDirectory
    instructor = _load(config / "instructor" / "nbgrader_config.py")
    assert instructor.CourseDirectory.root == "/home/teach/dropout"
    server = json.loads((config / "student" / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {
        "nbgrader.server_extensions.formgrader": False
    }
    lab = json.loads((config / "student" / "labconfig" / "page_config.json").read_text())
    assert lab["disabledExtensions"] == {
        "@jupyter/nbgrader:formgrader": True,
        "@jupyter/nbgrader:create-assignment": True,
    }
    terminal = json.loads((config / "everyone" / "jupyter_server_config.json").read_text())
    assert terminal["ServerApp"]["terminado_settings"]["shell_command"] == ["/bin/bash"]


def test_the_command_explains_what_it_needs_when_not_root(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert hub.main(["--root", str(tmp_path), "--password", "pw"]) == 2
    assert "sudo make classroom" in capsys.readouterr().err
    assert hub.main(["--students", " , "]) == 2
    assert "--students names no account" in capsys.readouterr().err


def test_the_banner_gives_the_url_the_password_and_every_account(tmp_path):
    text = hub.banner(_classroom(tmp_path, port=8100), Path("/home/teach/dropout"))
    assert "http://127.0.0.1:8100" in text and "Password for every account: pw" in text
    assert "teach  instructor" in text and "ann    student" in text and "bob    student" in text


def test_the_readmes_class_pictures_are_screenshots_the_browser_test_takes():
    root = Path(__file__).resolve().parents[1]
    pictures = re.findall(r"\(docs/classroom/([\w-]+)\.png\)", (root / "README.md").read_text())
    shots = re.findall(r'_shot\(\w+, f?"([^"]+)"\)', (root / "tests" / "test_hub.py").read_text())
    taken = {shot.replace("{who}", who) for shot in shots for who in ("right", "wrong")}
    assert len(pictures) >= 5 and set(pictures) <= taken
    assert all((root / "docs" / "classroom" / f"{name}.png").exists() for name in pictures)


def test_grading_commands_find_the_instructor_notebooks_where_the_install_has_none(
    tmp_path, monkeypatch
):
    from autograder import cli
    from autograder.grading import SOURCE_DIR

    given = argparse.Namespace(source_dir=None, course_dir=str(tmp_path))
    assert cli._source_dir(given) == SOURCE_DIR  # the course's own, while it has them
    assert cli._source_dir(argparse.Namespace(source_dir=None, course_dir=None)) == SOURCE_DIR
    explicit = argparse.Namespace(source_dir="/elsewhere", course_dir=str(tmp_path))
    assert cli._source_dir(explicit) == "/elsewhere"
    # make classroom's environment holds none: the instructor's course has them
    monkeypatch.setattr(cli, "SOURCE_DIR", tmp_path / "removed")
    assert cli._source_dir(given) == tmp_path / "source"


def test_one_class_at_a_time_per_environment(tmp_path):
    hub.claim_env(tmp_path)
    try:
        with pytest.raises(ClassroomError, match=rf"another class runs .*process {os.getpid()}"):
            hub.claim_env(tmp_path)
    finally:
        hub.release_env(tmp_path)
    hub.claim_env(tmp_path)  # free again once released
    hub.release_env(tmp_path)
