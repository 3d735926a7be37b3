"""What ``make demo`` and ``make test`` would install on a fresh clone (``make -n``:
nothing is run)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dry_run(target: str, venv: Path) -> str:
    """The commands ``make TARGET`` would run with its venv at ``venv``."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    done = subprocess.run(
        ["make", "-C", str(ROOT), "-n", target, f"VENV={venv}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def package_installs(commands: str) -> list[str]:
    """The pip commands that install this package (``-e .[...]``)."""
    return [line for line in commands.splitlines() if " install " in line and " -e " in line]


def test_fresh_demo_installs_the_cli_extra_only(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    commands = dry_run("demo", venv)
    assert f"-m venv --without-pip {venv}" in commands
    [install] = package_installs(commands)
    # uv when it could be had, else pip, each with only this extra.
    assert f"{venv}/bin/uv pip install " in install
    assert f"{venv}/bin/python -m pip install " in install
    assert install.endswith(" -e '.[cli]'; fi")
    assert install.count("-e '.[cli]'") == 2
    assert "dev]" not in commands
    assert "examples/demo.py" in commands


def test_fresh_test_installs_the_dev_extra(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    commands = dry_run("test", venv)
    assert f"-m venv --without-pip {venv}" in commands
    [install] = package_installs(commands)
    # uv when it could be had, else pip, each with only this extra.
    assert f"{venv}/bin/uv pip install " in install
    assert f"{venv}/bin/python -m pip install " in install
    assert install.endswith(" -e '.[cli,dev]'; fi")
    assert install.count("-e '.[cli,dev]'") == 2
    assert "-m pytest" in commands


def test_a_set_up_venv_is_not_installed_again(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".pip-stamp").touch()
    (venv / ".demo-stamp").touch()
    demo = dry_run("demo", venv)
    assert " install " not in demo
    assert "examples/demo_cli.py" in demo
    # After `make demo`, `make test` adds the dev extra to the same venv.
    test = dry_run("test", venv)
    [install] = package_installs(test)
    assert install.endswith(" -e '.[cli,dev]'; fi")
    assert "-m venv" not in test


def test_the_venv_gets_the_build_requirements_of_pyproject() -> None:
    """Installs skip build isolation, so the venv must hold what pyproject.toml builds with
    (pip's --check-build-dependencies would refuse otherwise)."""
    build = re.search(
        r"^\[build-system\]\nrequires = \[(.*)\]$",
        (ROOT / "pyproject.toml").read_text("utf-8"),
        re.M,
    )
    assert build is not None
    wanted = re.findall(r'"([^"]+)"', build[1])
    makefile = (ROOT / "Makefile").read_text("utf-8")
    given = re.search(r"^BUILD_DEPS := (.*)$", makefile, re.M)
    assert given is not None
    assert re.findall(r"'([^']+)'", given[1]) == wanted
    assert "--no-build-isolation --check-build-dependencies" in makefile
