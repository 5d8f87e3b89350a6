"""The Docker demo image, proven without a Docker engine: the Dockerfile lints clean, its own
CMD and HEALTHCHECK run here (host and port swapped to loopback), its pins cover the project's
dependencies, and nothing the app serves points off the machine."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.request import urlopen

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def exec_form(instruction: str) -> list[str]:
    (args,) = [rest for word, rest in instructions() if word == instruction]
    if instruction == "HEALTHCHECK":
        args = args[args.index("CMD") + 3 :].strip()
    return json.loads(args)


def test_dockerfile_passes_hadolint_with_no_warnings():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def build_args() -> dict[str, str]:
    """The defaults of the ARGs declared before the first FROM (those a FROM line may use)."""
    defaults = {}
    for word, rest in instructions():
        if word == "FROM":
            break
        if word == "ARG":
            name, _, default = rest.partition("=")
            defaults[name] = default
    return defaults


def base_images(**overrides: str) -> list[str]:
    """Each stage's base image, with the ARG defaults (or `--build-arg` overrides) filled in."""
    values = build_args() | overrides
    bases = [rest.split()[0] for word, rest in instructions() if word == "FROM"]
    return [re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m[1] or m[2]], b) for b in bases]


def test_dockerfile_is_multistage_pinned_and_runs_as_non_root():
    pairs = instructions()
    bases = base_images()
    assert len(bases) >= 2, "build and runtime stages"
    for base in bases:
        assert re.fullmatch(r"python:3\.\d+\.\d+-slim(-\w+)?", base), base
    (user,) = [rest for word, rest in pairs if word == "USER"]
    assert user.split(":")[0] not in {"0", "root"}
    assert ("EXPOSE", "8000") in pairs
    assert any(word == "HEALTHCHECK" for word, _ in pairs)


def test_every_stage_takes_its_base_from_the_python_image_build_arg():
    # `make docker-test` builds on a local stand-in: `--build-arg PYTHON_IMAGE=...` must swap
    # the base of every stage, and the default must stay the official image.
    assert build_args()["PYTHON_IMAGE"].startswith("python:3.11.")
    assert set(base_images(PYTHON_IMAGE="convscope-base:bookworm")) == {"convscope-base:bookworm"}


def test_lock_pins_every_runtime_dependency_within_pyproject_ranges():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = Version(version)
    for dep in project["dependencies"]:
        req = Requirement(dep)
        key = req.name.lower().replace("_", "-")
        assert key in pins, f"{req.name} is not pinned in requirements.lock"
        assert req.specifier.contains(pins[key]), f"{key}=={pins[key]} violates {req}"


def test_dockerignore_keeps_repo_clutter_out_of_the_build_context():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "tests", "**/__pycache__"} <= ignored


@pytest.fixture(scope="module")
def image_cmd_server():
    """The Dockerfile's CMD, run from a copy of what the image holds, on loopback."""
    cmd = exec_form("CMD")
    port = free_port()
    cmd = [sys.executable if part == "python" else part for part in cmd]
    cmd = [{"0.0.0.0": "127.0.0.1", "8000": str(port)}.get(part, part) for part in cmd]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "CONVSCOPE_WORKERS": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urlopen(f"{base}/healthz", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the image's CMD did not serve: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield base, port
    proc.terminate()
    proc.wait(timeout=15)


def test_image_cmd_serves_healthz_and_the_page(image_cmd_server):
    base, _ = image_cmd_server
    with urlopen(f"{base}/healthz", timeout=5) as r:
        assert r.status == 200 and json.load(r) == {"status": "ok"}
    with urlopen(f"{base}/", timeout=5) as r:
        assert r.status == 200 and b"ConvScope" in r.read()


def test_image_healthcheck_command_succeeds_against_the_running_app(image_cmd_server):
    _, port = image_cmd_server
    cmd = [sys.executable if part == "python" else part for part in exec_form("HEALTHCHECK")]
    cmd = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in cmd]
    assert subprocess.run(cmd, timeout=30).returncode == 0
