"""Every README code block marked runnable runs, against a fresh emulator.

A block is marked by an HTML comment on the line before its fence:

* ``<!-- runnable -->`` before a ``python`` block: run as a script, with
  ``PAYI_BASE_URL``/``PAYI_API_KEY`` pointing at the emulator;
* ``<!-- runnable -->`` before a ``sh`` block: run by ``bash -e`` with the same
  environment, this venv's scripts first on ``PATH``, in a scratch folder that sees the
  repository's ``examples/``;
* ``<!-- runnable: pytest -->`` before a ``python`` block: run as a test file by pytest
  (the emulator plugin is installed with the package).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from payi_async.emulator import ThreadedPayiServer

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKER = re.compile(r"^<!--\s*runnable(?::\s*(?P<kind>[\w-]+))?\s*-->\s*$")
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")
RUNS = {("python", None): "script", ("sh", None): "shell", ("python", "pytest"): "pytest"}


@attrs.frozen
class Block:
    """One marked block: where it starts, how it runs, its text."""

    line: int
    how: str
    code: str


def marked_blocks(text: str) -> list[Block]:
    """The marked blocks of a Markdown text; a marker not followed by a fence it can run
    raises ``ValueError`` naming its line."""
    lines = text.splitlines()
    blocks = []
    for number, line in enumerate(lines, start=1):
        marker = MARKER.match(line)
        if marker is None:
            continue
        fence = FENCE.match(lines[number]) if number < len(lines) else None
        how = RUNS.get((fence["lang"], marker["kind"])) if fence else None
        if how is None:
            raise ValueError(f"README.md:{number}: the marker is not followed by a block it runs")
        end = next((i for i in range(number + 1, len(lines)) if lines[i].rstrip() == "```"), None)
        if end is None:
            raise ValueError(f"README.md:{number}: the block is never closed")
        blocks.append(Block(number + 2, how, "\n".join(lines[number + 1 : end]) + "\n"))
    return blocks


BLOCKS = marked_blocks(README.read_text("utf-8"))


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("block", BLOCKS, ids=[f"line{b.line}-{b.how}" for b in BLOCKS])
def test_readme_block_runs(block: Block, payi_emulator: ThreadedPayiServer, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PAYI_BASE_URL": payi_emulator.base_url,
        "PAYI_API_KEY": payi_emulator.api_key,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if block.how == "script":
        (tmp_path / "block.py").write_text(block.code, "utf-8")
        done = run([sys.executable, "block.py"], tmp_path, env)
    elif block.how == "shell":
        (tmp_path / "examples").symlink_to(ROOT / "examples")
        done = run(["bash", "-euo", "pipefail", "-c", block.code], tmp_path, env)
    else:
        (tmp_path / "test_block.py").write_text(block.code, "utf-8")
        done = run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_block.py"],
            tmp_path,
            env,
        )
        assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout
        assert not re.search(r"\b(failed|error|errors|skipped)\b", done.stdout), done.stdout
    assert done.returncode == 0, f"README.md:{block.line}\n{done.stdout}\n{done.stderr}"


def test_every_kind_of_block_is_marked() -> None:
    """The runner finds blocks of each kind (a marker lost in an edit shows here)."""
    assert {block.how for block in BLOCKS} == {"script", "shell", "pytest"}


def test_a_marker_must_precede_a_block_it_can_run() -> None:
    assert [b.how for b in marked_blocks("<!-- runnable -->\n```sh\ntrue\n```\n")] == ["shell"]
    with pytest.raises(ValueError, match=r"README\.md:1: the marker is not followed"):
        marked_blocks("<!-- runnable -->\n```toml\nx = 1\n```\n")
    with pytest.raises(ValueError, match=r"README\.md:1: the marker is not followed"):
        marked_blocks("<!-- runnable -->\n\n```python\npass\n```\n")
    with pytest.raises(ValueError, match="never closed"):
        marked_blocks("<!-- runnable: pytest -->\n```python\npass\n")
