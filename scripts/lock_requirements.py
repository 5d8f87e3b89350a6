"""Write requirements.lock: the exact versions, as installed in this venv, of the closure of
pyproject.toml's runtime dependencies. The Docker image installs exactly these.

    .venv/bin/python scripts/lock_requirements.py > requirements.lock
"""

from __future__ import annotations

import importlib.metadata as metadata
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def closure(names: list[str]) -> dict[str, str]:
    pinned: dict[str, str] = {}

    def visit(name: str) -> None:
        key = name.lower().replace("_", "-")
        if key in pinned:
            return
        dist = metadata.distribution(name)
        pinned[key] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                visit(req.name)

    for name in names:
        visit(name)
    return pinned


def main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    roots = [Requirement(dep).name for dep in project["dependencies"]]
    print("# Exact runtime versions for the Docker image: the closure of pyproject's dependencies.")
    print("# Regenerate: .venv/bin/python scripts/lock_requirements.py > requirements.lock")
    for name, version in sorted(closure(roots).items()):
        print(f"{name}=={version}")


if __name__ == "__main__":
    main()
