"""What ``make demo`` and ``make test`` would install on a fresh clone (``make -n``:
nothing is run)."""

from __future__ import annotations

import os
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


def installs(commands: str) -> list[str]:
    return [line for line in commands.splitlines() if " install " in line]


def test_fresh_demo_installs_the_cli_extra_only(tmp_path: Path) -> None:
    commands = dry_run("demo", tmp_path / "venv")
    assert f"-m venv --without-pip {tmp_path / 'venv'}" in commands
    packages = [line for line in installs(commands) if "-e " in line]
    assert packages == [
        f"{tmp_path / 'venv'}/bin/python -m pip install --quiet --no-compile -e '.[cli]'"
    ]
    assert "dev]" not in commands
    assert "examples/demo.py" in commands


def test_fresh_test_installs_the_dev_extra(tmp_path: Path) -> None:
    commands = dry_run("test", tmp_path / "venv")
    assert "-m venv --without-pip" in commands
    packages = [line for line in installs(commands) if "-e " in line]
    assert packages == [f"{tmp_path / 'venv'}/bin/python -m pip install --quiet -e '.[cli,dev]'"]
    assert "-m pytest" in commands


def test_a_set_up_venv_is_not_installed_again(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".pip-stamp").touch()
    (venv / ".demo-stamp").touch()
    demo = dry_run("demo", venv)
    assert installs(demo) == []
    assert "examples/demo_cli.py" in demo
    # After `make demo`, `make test` adds the dev extra to the same venv.
    assert "-e '.[cli,dev]'" in dry_run("test", venv)
    assert "-m venv" not in dry_run("test", venv)
