"""A new user's first minutes: the README's two commands, and the built wheel and sdist.

Each test makes a fresh virtualenv from a clean copy of the tracked files, so a
missing install step fails here rather than on a user's machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import venv
import zipfile
from pathlib import Path
from typing import Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[1]
INNER = "VIDEO_API_INSTALL_TEST"  # set in the inner test run, so it does not recurse

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(os.environ.get(INNER)), reason="already inside an install test"),
]


def readme_commands() -> List[str]:
    """The shell commands under the README's "Start in two commands" heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Start in two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


@pytest.fixture
def clean_copy(tmp_path: Path) -> Path:
    """The files git tracks (committed or not), as a fresh clone would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    copy = tmp_path / "repo"
    for name in listed:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    return copy


def fresh_env(tmp_path: Path) -> Dict[str, str]:
    """Environment whose `python` is a new virtualenv's, with nothing of ours on the path."""
    home = tmp_path / "venv"
    venv.create(home, with_pip=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{home / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(home)
    env[INNER] = "1"
    return env


def run(command: str, cwd: Path, env: Dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(
        command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    output = done.stdout + done.stderr
    # pytest's summary ends stdout; pip's warnings end stderr: show the ends of both.
    assert done.returncode == 0, (
        f"{command!r} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
        f"--- stderr:\n{done.stderr[-1000:]}"
    )
    return output


def test_readme_has_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert "video_api demo" in commands[0] and "pytest" in commands[1]


def test_readme_commands_work_on_a_fresh_machine(clean_copy: Path, tmp_path: Path) -> None:
    env = fresh_env(tmp_path)
    demo, tests = readme_commands()
    demo_output = run(demo, clean_copy, env)
    assert "Traceback" not in demo_output
    tests_output = run(tests, clean_copy, env)
    assert re.search(r"\d+ passed", tests_output), tests_output[-2000:]


def test_wheel_and_sdist_ship_the_package_and_nothing_of_the_tests(
    clean_copy: Path, tmp_path: Path
) -> None:
    env = fresh_env(tmp_path)
    dist = tmp_path / "dist"
    run(f"python -m pip install -q build && python -m build -o {dist}", clean_copy, env)
    wheel = next(dist.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "video_api/py.typed" in names
    assert "video_api/testing/emulator.py" in names
    assert "video_api/testing/spec_data.json" in names  # the emulator's answers, as data
    assert not [n for n in names if n.startswith("tools/")], names
    assert not [n for n in names if n.startswith(("test/", "bench/"))], names
    sdist = next(dist.glob("*.tar.gz"))
    listing = subprocess.run(
        ["tar", "tzf", str(sdist)], capture_output=True, text=True, check=True
    ).stdout
    assert "video_api/py.typed" in listing and "/test/" not in listing

    elsewhere = tmp_path / "elsewhere"  # not the source tree, so the installed copy is used
    elsewhere.mkdir()
    run(f"python -m pip install -q {wheel}", elsewhere, env)
    output = run("python -m video_api demo", elsewhere, env, timeout=120)
    assert "Traceback" not in output
    located = run('python -c "import video_api; print(video_api.__file__)"', elsewhere, env)
    assert str(clean_copy) not in located and "site-packages" in located


USER_SCRIPT = """\
from video_api.model.video_creation_payload import VideoCreationPayload

VideoCreationPayload(titel="Maths")
"""


def test_editable_install_is_visible_to_type_checkers(clean_copy: Path, tmp_path: Path) -> None:
    """After `pip install -e .`, mypy in another project finds video_api and checks calls
    against it (an editable install through an import hook would leave it "missing"); and
    `mypy --strict video_api` passes where pytest is not installed."""
    env = fresh_env(tmp_path)
    run("python -m pip install -q -e . mypy==2.4.1", clean_copy, env)
    run(
        "python -c \"import importlib.util as u; assert not u.find_spec('pytest')\"",
        clean_copy,
        env,
    )
    run("python -m mypy --strict video_api", clean_copy, env)
    project = tmp_path / "project"
    project.mkdir()
    (project / "user.py").write_text(USER_SCRIPT)
    checked = subprocess.run(
        "python -m mypy --strict user.py",
        shell=True,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    error = 'user.py:3: error: Unexpected keyword argument "titel" for "VideoCreationPayload"'
    assert checked.returncode == 1 and error in checked.stdout, checked.stdout + checked.stderr
