"""The numeric core stands alone: every module under app/nn imports only the standard
library, NumPy (threadpoolctl too, which computes nothing: it holds BLAS's thread count
while the core's own threads split a call) and other app.nn modules. Parsed from the
source (ast), so an import hidden inside a function is seen too."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

NN = Path(__file__).resolve().parents[2] / "app" / "nn"
MODULES = sorted(NN.rglob("*.py"))
ALLOWED_THIRD_PARTY = {"numpy", "threadpoolctl"}


def violations(source: str, package: list[str]) -> list[str]:
    """Imports of `source` (a module of `package`, e.g. ["app", "nn"]) that leave the core:
    "line N: module" for each import of the app outside app.nn, or of a third-party
    library other than NumPy. Relative imports are resolved against the package."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            if node.module:
                names = [".".join([*base, node.module])]
            else:  # from . import x: x is a module of the package
                names = [".".join([*base, alias.name]) for alias in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if name == "app.nn" or name.startswith("app.nn."):
                continue
            if top == "app" or (
                top not in sys.stdlib_module_names and top not in ALLOWED_THIRD_PARTY
            ):
                bad.append((node.lineno, name))
    return [f"line {line}: {name}" for line, name in sorted(bad)]


def test_the_sweep_sees_every_module():
    names = {p.name for p in MODULES}
    assert {"__init__.py", "graph.py", "layers.py", "losses.py", "receptive.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(NN)))
def test_module_imports_only_the_stdlib_numpy_and_app_nn(path):
    package = ["app", "nn", *path.relative_to(NN).parts[:-1]]
    assert violations(path.read_text(), package) == []


def test_the_check_catches_imports_that_leave_the_core():
    source = (
        "import numpy as np\nimport json\nfrom app.nn.base import Layer\nfrom . import graph\n"
        "def f():\n    from app.models import ARCHITECTURES\n    import fastapi\n"
        "from .. import settings\n"
    )
    assert violations(source, ["app", "nn"]) == [
        "line 6: app.models", "line 7: fastapi", "line 8: app.settings",
    ]
