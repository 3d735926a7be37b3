"""The ``payi_emulator`` marker refuses options it does not know; the emulator's help
names the command it was started as."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from payi_async.cli import main as cli_main
from payi_async.emulator import LocalPayiServer
from payi_async.emulator.__main__ import main as emulator_main

TESTS = """
import pytest

@pytest.mark.payi_emulator(shape="hosted")
def test_misspelled(payi_emulator):
    pass

@pytest.mark.payi_emulator("hosted")
def test_positional(payi_emulator):
    pass

@pytest.mark.payi_emulator(shapes="hosted", api_key="k")
def test_valid(payi_emulator):
    assert payi_emulator.server.shapes == "hosted"
    assert payi_emulator.api_key == "k"
"""


def test_the_marker_refuses_unknown_options_naming_the_valid_ones(tmp_path: Path) -> None:
    (tmp_path / "test_marked.py").write_text(TESTS, "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rE", "test_marked.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 1, out
    assert re.search(r"\b1 passed, 2 errors\b", out), out
    assert "TypeError" not in out, out
    misspelled = re.search(
        r"@pytest\.mark\.payi_emulator: unknown option 'shape' \(did you mean 'shapes'\?\); "
        r"valid options: ([a-z_, ]+)",
        out,
    )
    assert misspelled is not None, out
    listed = set(misspelled[1].split(", "))
    accepted = {
        name
        for name, param in inspect.signature(LocalPayiServer).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert listed == accepted
    assert {"shapes", "faults", "api_key", "db", "clock"} <= listed
    assert "@pytest.mark.payi_emulator: takes keyword options only, not 1 positional" in out


def test_emulator_help_named_as_a_module(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        emulator_main(["--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m payi_async.emulator ")


def test_emulator_help_named_as_the_cli_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["emulator", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: payi-resources emulator ")
    assert "python -m payi_async.emulator" not in out


def test_emulator_usage_error_names_the_cli_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["emulator", "--shapes", "round"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: payi-resources emulator ")
    assert "payi-resources emulator: error: argument --shapes" in err


def test_python_m_emulator_help_names_the_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "payi_async.emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.startswith("usage: python -m payi_async.emulator ")
