"""A real uvicorn on 127.0.0.1 in a subprocess, for the tests that need real connections
(keep-alive, disconnects, held-open sockets), optionally with a fault injected into the
inspect pipeline:

- `raise`: every inspection raises RuntimeError (an unexpected bug);
- `sleep:S`: every inspection first sleeps S seconds on its worker thread (a slow job that
  costs no CPU, so the tests stay cheap on a shared machine).

    python -m tests.security.live --port 8123 [--fault raise]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    port: int
    process: subprocess.Popen
    log_path: Path

    def connection(self, timeout: float = 10.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def socket(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def live_server(
    env: dict[str, str] | None = None, fault: str | None = None
) -> Iterator[LiveServer]:
    """Start the server, wait for /healthz, yield it, and always stop it."""
    port = free_port()
    command = [sys.executable, "-m", "tests.security.live", "--port", str(port)]
    if fault:
        command += ["--fault", fault]
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                stdout=log, stderr=subprocess.STDOUT,
            )
        server = LiveServer(port, process, log_path)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited: {server.log()[-2000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not answer /healthz in time")
                try:
                    conn = server.connection(timeout=1)
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        conn.close()
                        break
                except OSError:
                    time.sleep(0.1)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _inject(fault: str) -> None:
    import app.api.inspect as inspect_router

    original = inspect_router.inspect_image

    if fault == "raise":
        def broken(*args, **kwargs):
            raise RuntimeError("injected failure")

        inspect_router.inspect_image = broken
    elif fault.startswith("sleep:"):
        seconds = float(fault.split(":", 1)[1])

        def slow(*args, **kwargs):
            time.sleep(seconds)
            return original(*args, **kwargs)

        inspect_router.inspect_image = slow
    else:
        raise SystemExit(f"unknown fault {fault!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fault", default=None)
    args = parser.parse_args()
    import uvicorn

    from app.main import create_app
    from app.server import uvicorn_options

    if args.fault:
        _inject(args.fault)
    uvicorn.run(
        create_app(), host="127.0.0.1", port=args.port, log_level="warning",
        **uvicorn_options(),
    )


if __name__ == "__main__":
    main()
