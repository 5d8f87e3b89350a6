"""Every code block of README.md runs as written, in order, from a fresh directory with the
venv on PATH.

A block is run unless the line before it says otherwise:
- `<!-- docs-test: server -->`: it talks to `make run`'s server at http://127.0.0.1:8000; it
  runs against a real uvicorn on 127.0.0.1 that this test starts, with that address replaced
  by the test server's (the only transformation made).
- `<!-- docs-test: skip (reason) -->`: it starts a server, trains or benchmarks for minutes;
  its `make` targets are dry-run (`make -n`) and its `convscope` commands parsed, not run.
Blocks of the Docker section are tested by tests/deploy.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import serve

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
SERVER = "http://127.0.0.1:8000"
MARKER = re.compile(r"<!-- docs-test: (skip|server)\b(.*?)-->")
TESTED_ELSEWHERE = ("Docker",)  # section titles whose blocks tests/deploy runs
MODEL_DIR = tempfile.mkdtemp(prefix="convscope-readme-models-")


@dataclass
class Block:
    line: int
    section: str
    lang: str
    code: str
    mode: str  # "run", "server" or "skip"
    reason: str = ""


def readme_blocks() -> list[Block]:
    blocks, section, previous = [], "", ""
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line[3:].strip()
        if line.startswith("```") and len(line) > 3:
            start, lang = i + 1, line[3:].strip()
            end = next(j for j in range(start, len(lines)) if lines[j].startswith("```"))
            marker = MARKER.search(previous)
            mode = marker.group(1) if marker else "run"
            if section in TESTED_ELSEWHERE:
                mode = "elsewhere"
            blocks.append(Block(start, section, lang, "\n".join(lines[start:end]) + "\n", mode,
                                marker.group(2).strip() if marker else ""))
            i, previous = end + 1, ""
            continue
        if line.strip():
            previous = line
        i += 1
    return blocks


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVSCOPE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["CONVSCOPE_MODEL_DIR"] = MODEL_DIR  # the README's uploads land in a store of its own
    env["CONVSCOPE_TRAINING_DIR"] = os.environ["CONVSCOPE_TRAINING_DIR"]  # tests' temporary runs
    return env


@pytest.fixture(scope="module")
def server():
    with serve(env=_env()) as base:
        yield base


def test_every_readme_block_is_runnable_or_marked_with_a_reason():
    blocks = readme_blocks()
    assert len(blocks) >= 8
    for block in blocks:
        assert block.lang in {"sh", "python"}, (block.line, block.lang)
        if block.mode == "skip":
            assert block.reason.startswith("(") and len(block.reason) > 10, block.line


def test_every_readme_block_runs_as_written(tmp_path, server):
    """In document order, in one fresh directory (a block may use a file an earlier one
    wrote, as a reader following the README would)."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    ran = 0
    for block in readme_blocks():
        if block.mode not in {"run", "server"}:
            continue
        code = block.code.replace(SERVER, server) if block.mode == "server" else block.code
        argv = ([sys.executable, "-c", code] if block.lang == "python"
                else ["bash", "-euo", "pipefail", "-c", code])
        result = subprocess.run(argv, cwd=tmp_path, env=_env(), capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, (
            f"README.md line {block.line} ({block.section}) failed:\n{block.code}\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
        ran += 1
    assert ran >= 6
    assert (tmp_path / "trace.json").exists() and (tmp_path / "upload.json").exists()


def test_skipped_readme_blocks_name_real_make_targets_and_valid_commands():
    from app.cli import build_parser

    for block in readme_blocks():
        if block.mode != "skip" or block.lang != "sh":
            continue
        for line in block.code.splitlines():
            command = line.split("#", 1)[0].strip()
            if command.startswith("make "):
                target = command.split()[1]
                result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True,
                                        text=True, timeout=30)
                assert result.returncode == 0, (block.line, target, result.stderr)
            elif command.startswith("convscope "):
                build_parser().parse_args(shlex.split(command)[1:])
