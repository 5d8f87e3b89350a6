"""The minimum versions past known CVEs are declared in pyproject.toml and installed."""

from __future__ import annotations

import tomllib
from importlib.metadata import version

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from app.settings import ROOT

MINIMUMS = {"pillow": "12.3", "starlette": "1.6", "python-multipart": "0.0.32", "h11": "0.16"}


def declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = (Requirement(line) for line in project["dependencies"])
    return {req.name.lower(): req for req in requirements}


@pytest.mark.parametrize("name, minimum", sorted(MINIMUMS.items()))
def test_runtime_dependency_requires_at_least_the_patched_version(name, minimum):
    lower_bounds = [
        Version(spec.version)
        for spec in declared()[name].specifier
        if spec.operator in (">=", ">", "==", "~=")
    ]
    assert any(bound >= Version(minimum) for bound in lower_bounds)


@pytest.mark.parametrize("name, minimum", sorted(MINIMUMS.items()))
def test_installed_version_is_patched(name, minimum):
    assert Version(version(name)) >= Version(minimum)
