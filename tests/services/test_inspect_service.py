"""The inspect pipeline is a service apart from HTTP: `convscope inspect` and the router call
the same function, and the CLI loads no router, no FastAPI and no Starlette."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.services.inspect import InspectInput, inspect_image, to_json_bytes
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_cli_imports_no_router_and_no_web_framework():
    code = (
        "import sys, app.cli; app.cli.build_parser(); import app.cli_inspect; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'uvicorn') or m.startswith('app.api')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    loaded = json.loads(result.stdout.replace("'", '"'))
    assert not [m for m in loaded if m.split(".")[0] in ("fastapi", "starlette", "uvicorn")]
    # The wire encoder (tensor encoding) is shared; no router, error handler or limiter is.
    assert set(loaded) <= {"app.api", "app.services.encoding"}


def test_the_service_gives_the_routers_json(client):
    body = inspect_image("lenet5", InspectInput(sample=3), Settings())
    served = client.post("/api/v1/models/lenet5/inspect", json={"sample": 3})
    assert served.status_code == 200
    a, b = json.loads(to_json_bytes(body)), served.json()
    a.pop("timings_ms"), b.pop("timings_ms")
    assert a == b


def test_routers_import_no_other_router():
    import ast

    api = ROOT / "app" / "api"
    routers = {
        f"app.api.{path.stem}" for path in api.glob("*.py")
        if "APIRouter(" in path.read_text()
    }
    assert {"app.api.inspect", "app.api.models", "app.api.samples"} <= routers
    for name in sorted(routers):
        tree = ast.parse((api / f"{name.rsplit('.', 1)[1]}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {
            f"app.api.{alias.name}" for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "app.api"
            for alias in node.names
        }
        assert not (imported & routers) - {name}, (name, imported & routers)
