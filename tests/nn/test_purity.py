"""The numeric core knows nothing of HTTP: importing it loads no web or imaging library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

WEB_LIBRARIES = ("fastapi", "starlette", "pydantic", "uvicorn", "jinja2", "PIL", "multipart")


def test_importing_app_nn_pulls_in_no_web_library():
    code = (
        "import json, sys\n"
        "import app.nn\n"
        f"web = {WEB_LIBRARIES!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in web)))\n"
        "print(json.dumps('numpy' in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    loaded, numpy_loaded = (json.loads(line) for line in result.stdout.splitlines())
    assert loaded == []
    assert numpy_loaded  # the probe really imported the core
