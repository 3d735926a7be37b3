"""What a newcomer following the README met, kept fixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from payi_async.cli import main as cli_main
from payi_async.emulator import ThreadedPayiServer
from payi_sync import NotFoundError, Payi

CLI = "import sys; from payi_async.cli import main; sys.exit(main())"


def test_a_blocking_error_does_not_carry_no_running_event_loop(
    payi_emulator: ThreadedPayiServer,
) -> None:
    """An error from a blocking call is printed without an unrelated
    ``RuntimeError: no running event loop`` before it ("During handling of the above
    exception, another exception occurred")."""
    client = Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url)
    with client, pytest.raises(NotFoundError) as caught:
        client.categories.list_resources(category="custom.nothing-here")
    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert [e for e in chain if "no running event loop" in str(e)] == []
    printed = "".join(traceback.format_exception(caught.value))
    assert "no running event loop" not in printed


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        ([], "Exported 1 resource (latest version) of 1 category to stdout (1 jsonl row)."),
        (["--all-versions"], "Exported 1 version of 1 category to stdout (1 jsonl row)."),
    ],
)
def test_export_of_one_row_says_so_in_the_singular(
    payi_emulator: ThreadedPayiServer,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    said: str,
) -> None:
    """``export`` of a category holding one resource does not say "1 resources"."""
    with Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as client:
        client.categories.resources.create(
            resource="only", category="custom.one", units={"text": {"input_price": 1.0}}
        )
    connect = ["--base-url", payi_emulator.base_url, "--api-key", payi_emulator.api_key]
    assert cli_main([*connect, "export", "custom.one", *flags]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert said in err


def test_one_row_files_are_counted_in_the_singular(
    payi_emulator: ThreadedPayiServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``import``, ``plan`` and ``apply`` of a one-row file say "1 item"/"1 row"."""
    source = tmp_path / "one.jsonl"
    row = {"category": "custom.one", "resource": "only", "units": {"text": {"input_price": 1.0}}}
    source.write_text(json.dumps(row) + "\n", "utf-8")
    connect = ["--base-url", payi_emulator.base_url, "--api-key", payi_emulator.api_key]
    said = []
    for command in (["import", "--dry-run"], ["import"], ["plan"], ["apply"]):
        assert cli_main([*connect, *command, str(source)]) == 0
        said.append(" ".join(capsys.readouterr().err.split()))
    assert f"The 1 item in {source} is valid (jsonl); nothing was sent." in said[0]
    assert f"Created 1 of 1 item from {source}; 0 failed." in said[1]
    assert f"No changes: the catalogue matches {source} (1 row)." in said[2]
    assert f"Nothing to do: the catalogue matches {source} (1 row)." in said[3]


def test_force_color_does_not_wrap_piped_output(payi_emulator: ThreadedPayiServer) -> None:
    """With ``FORCE_COLOR`` set (as many CI configurations do) piped output keeps its
    colour but is not wrapped at a width: the README promises no wrapping out of a
    terminal, whatever ``COLUMNS`` says."""
    env = {
        **os.environ,
        "FORCE_COLOR": "1",
        "COLUMNS": "40",
        "PAYI_BASE_URL": payi_emulator.base_url,
        "PAYI_API_KEY": payi_emulator.api_key,
    }
    env.pop("NO_COLOR", None)
    done = subprocess.run(
        [sys.executable, "-c", CLI, "resources", "custom.nothing-here"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "404 category 'custom.nothing-here' not found" in lines[0]
    assert lines[0].rstrip().endswith("/api/v1/categories/custom.nothing-here/resources]")
