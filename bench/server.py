"""The served app, measured from outside: a real uvicorn subprocess on 127.0.0.1.

Cold start (process start to the first 200 on /healthz), inspect latency p50/p95 at
concurrency 1 and 4 over keep-alive connections, throughput, response bytes per encoding
(and with gzip when the server offers it), and where the server says the time went
(the response's own `timings_ms`). Every run is bounded by a request count and a deadline,
and the server is stopped when the measurement ends.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.timing import percentile

ROOT = Path(__file__).resolve().parent.parent
MODEL = "lenet5"
INSPECT_PATH = f"/api/v1/models/{MODEL}/inspect"
STARTUP_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0


class Skipped(Exception):
    """A measurement that cannot run here; its message says why."""


@dataclass
class Latency:
    concurrency: int
    gzip: bool
    requests: int
    seconds: float
    samples: list[float]
    errors: int
    server_timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def p50_ms(self) -> float:
        return percentile(self.samples, 50) * 1e3

    @property
    def p95_ms(self) -> float:
        return percentile(self.samples, 95) * 1e3

    @property
    def throughput(self) -> float:
        return len(self.samples) / self.seconds


@dataclass
class ServerReport:
    cold_start_s: list[float] = field(default_factory=list)
    latency: list[Latency] = field(default_factory=list)
    response_bytes: dict[str, int] = field(default_factory=dict)
    gzip: str = ""
    # What gzip would make of the default body at a few levels: (bytes, ms to compress).
    gzip_estimate: dict[int, tuple[int, float]] = field(default_factory=dict)
    workers: int | None = None  # None: the server's default (one per CPU)
    skipped: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextmanager
def running_server(workers: int | None = None) -> Iterator[tuple[int, float]]:
    """Start `convscope serve` on a free loopback port; yield (port, seconds from process
    start to the first 200 on /healthz); stop it afterwards, whatever happens."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning",
    ] + ([] if workers is None else ["--workers", str(workers)])
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while True:
            if process.poll() is not None:
                raise Skipped(
                    f"server exited with {process.returncode}: "
                    f"{process.stderr.read().decode(errors='replace')[-300:]}"
                )
            if time.perf_counter() - started > STARTUP_TIMEOUT_S:
                raise Skipped(f"no 200 on /healthz within {STARTUP_TIMEOUT_S:.0f} s")
            try:
                status, _ = _get(port, "/healthz", timeout=1.0)
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.005)
        yield port, time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def inspect_body(sample: int, encoding: str = "base64") -> bytes:
    return json.dumps({"sample": sample, "encoding": encoding}).encode()


def _post(conn: http.client.HTTPConnection, body: bytes, accept_gzip: bool = False):
    headers = {"Content-Type": "application/json"}
    if accept_gzip:
        headers["Accept-Encoding"] = "gzip"
    conn.request("POST", INSPECT_PATH, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read(), response.getheader("Content-Encoding", "")


def check_inspect(port: int) -> None:
    """Raise Skipped unless the inspect endpoint answers a gallery digit with 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        status, payload, _ = _post(conn, inspect_body(0))
    finally:
        conn.close()
    if status != 200:
        raise Skipped(f"POST {INSPECT_PATH} answered {status}: {payload[:200]!r}")


def measure_latency(
    port: int, concurrency: int, requests: int, deadline_s: float, accept_gzip: bool = False
) -> Latency:
    """`requests` inspects of gallery digits split over `concurrency` keep-alive clients,
    each client stopping early at the deadline; with accept_gzip they ask for gzip, as a
    browser does. Bodies are decoded and parsed after the clock stops."""
    samples: list[float] = []
    bodies: list[bytes] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + deadline_s

    def client(worker: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        try:
            for i in range(worker, requests, concurrency):
                if time.perf_counter() > stop_at:
                    return
                body = inspect_body(i % 100)
                start = time.perf_counter()
                status, payload, content_encoding = _post(conn, body, accept_gzip)
                elapsed = time.perf_counter() - start
                with lock:
                    if status == 200:
                        samples.append(elapsed)
                        bodies.append(
                            gzip.decompress(payload) if content_encoding == "gzip" else payload
                        )
                    else:
                        errors[0] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(w,)) for w in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if not samples:
        raise Skipped(f"no successful inspect at concurrency {concurrency}")
    server: dict[str, list[float]] = {}
    for payload in bodies:
        for key, value in json.loads(payload).get("timings_ms", {}).items():
            server.setdefault(key, []).append(float(value))
    medians = {key: statistics.median(values) for key, values in server.items()}
    return Latency(concurrency, accept_gzip, len(samples), seconds, samples, errors[0], medians)


def gzip_estimate(body: bytes, levels=(1, 6, 9)) -> dict[int, tuple[int, float]]:
    """level -> (compressed bytes, best-of-5 milliseconds to compress) for a body."""
    result = {}
    for level in levels:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            packed = gzip.compress(body, compresslevel=level)
            times.append(time.perf_counter() - start)
        result[level] = (len(packed), min(times) * 1e3)
    return result


def measure_bytes(port: int) -> tuple[dict[str, int], str, bytes]:
    """Response bytes of one gallery digit per encoding, plain and with gzip requested;
    also returns the default (base64) body itself."""
    sizes: dict[str, int] = {}
    bodies: dict[str, bytes] = {}
    served_gzip = set()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        for encoding in ("base64", "list"):
            for accept_gzip in (False, True):
                status, payload, content_encoding = _post(
                    conn, inspect_body(0, encoding), accept_gzip
                )
                if status != 200:
                    raise Skipped(f"encoding={encoding} answered {status}")
                label = f"{encoding}, gzip requested" if accept_gzip else encoding
                sizes[label] = len(payload)
                bodies[label] = payload
                if content_encoding == "gzip":
                    served_gzip.add(encoding)
    finally:
        conn.close()
    note = (
        f"the server gzips ({', '.join(sorted(served_gzip))})" if served_gzip
        else "the server does not gzip (gzip-requested sizes equal the plain ones)"
    )
    return sizes, note, bodies["base64"]


def run_server(
    requests: int = 200, deadline_s: float = 30.0, cold_starts: int = 3,
    workers: int | None = None,
) -> ServerReport:
    report = ServerReport(workers=workers)
    try:
        for _ in range(cold_starts):
            with running_server(workers) as (_, seconds):
                report.cold_start_s.append(seconds)
        with running_server(workers) as (port, seconds):
            check_inspect(port)
            # Warm-up: first requests import and load the model, fill caches.
            measure_latency(port, 1, 10, deadline_s)
            report.response_bytes, report.gzip, body = measure_bytes(port)
            report.gzip_estimate = gzip_estimate(body)
            for concurrency in (1, 4):
                for accept_gzip in (False, True):
                    report.latency.append(
                        measure_latency(port, concurrency, requests, deadline_s, accept_gzip)
                    )
    except Skipped as exc:
        report.skipped["inspect"] = str(exc)
    return report
