"""`make loadtest`: a bounded burst of concurrent uploads against a real uvicorn on 127.0.0.1.

Starts the server as a child process and fires bursts of `--requests` inspect uploads (small
photos, large JPEGs, a 16-megapixel PNG at the pixel cap), one burst per `--concurrency` level
(by default one within the server's capacity and one well past it, where the excess must get
503 `busy` quickly), polling /healthz meanwhile. Prints per burst the status counts, latency
p50/p95/max and the slowest /healthz answer; then the hostile cases of bench.hostile (huge
invalid bodies, large bodies with /healthz probed, abandoned uploads, held-open connections);
then the server's peak resident memory over all of it. Stops by itself: every request has a
client timeout and every burst a deadline.

    python -m bench.loadtest [--requests 120] [--concurrency 12,48] [--port 0] [--no-hostile]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from bench.hostile import run_all

ROOT = Path(__file__).resolve().parent.parent
INSPECT = "/api/v1/models/lenet5/inspect"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _encode(pixels: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **options)
    return buffer.getvalue()


def uploads(seed: int = 0) -> list[tuple[str, bytes]]:
    """(label, file bytes): a mix of what users send, from tiny to the limits."""
    rng = np.random.default_rng(seed)

    def photo(height: int, width: int) -> np.ndarray:
        paper = 205 + rng.normal(0, 6, (height, width)) + np.linspace(-20, 20, width)[None, :]
        paper[
            height // 4 : 3 * height // 4, width // 2 - width // 40 : width // 2 + width // 40
        ] = 30
        return np.clip(paper, 0, 255).astype(np.uint8)

    return [
        ("small png 160x120", _encode(photo(120, 160), "PNG")),
        ("phone jpeg 1600x1200", _encode(photo(1200, 1600), "JPEG", quality=85)),
        ("large jpeg 4000x3000", _encode(photo(3000, 4000), "JPEG", quality=90)),
        ("png at the cap 4096x4096", _encode(np.full((4096, 4096), 255, np.uint8), "PNG")),
    ]


def peak_rss_mib(pid: int) -> float | None:
    """The process's high-water resident set (VmHWM), in MiB; None if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen:
    """One uvicorn process with the app's own server options (the header deadline)."""
    code = (
        "import uvicorn; from app.server import uvicorn_options; "
        f"uvicorn.run('app.main:app', host='127.0.0.1', port={port}, log_level='warning', "
        "access_log=False, **uvicorn_options())"
    )
    # One process: its CPU pool gets every CPU unless CONVSCOPE_WORKERS says otherwise.
    env = {"CONVSCOPE_WORKERS": "1", **env}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)


async def wait_ready(base: str, server: subprocess.Popen, deadline: float) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not become ready in time")


async def idle_health(base: str, probes: int = 40) -> list[float]:
    """/healthz latencies with no other traffic: the baseline for the figure under load."""
    seconds = []
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for _ in range(probes):
            started = time.perf_counter()
            await client.get("/healthz")
            seconds.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
    return seconds


async def burst(
    base: str,
    files: list[tuple[str, bytes]],
    total: int,
    concurrency: int,
    request_timeout: float,
    deadline: float,
):
    statuses: collections.Counter[str] = collections.Counter()
    latencies: list[tuple[str, float]] = []
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    health: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=concurrency + 2)

    async with httpx.AsyncClient(base_url=base, timeout=request_timeout, limits=limits) as client:

        async def worker() -> None:
            while time.monotonic() < deadline:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                label, data = files[i % len(files)]
                started = time.perf_counter()
                try:
                    response = await client.post(
                        INSPECT,
                        files={"image": ("upload", data, "application/octet-stream")},
                        data={"include": "activations"},
                    )
                    status = str(response.status_code)
                    if response.status_code >= 400:
                        try:
                            status += " " + response.json()["error"]["code"]
                        except (ValueError, KeyError, TypeError):
                            status += " (not the error envelope)"
                except httpx.TimeoutException:
                    status = "client timeout"
                except httpx.TransportError as exc:
                    status = f"transport error ({type(exc).__name__})"
                latencies.append((status, time.perf_counter() - started))
                statuses[status] += 1
                by_kind[label][status] += 1

        async def poll_health() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=request_timeout) as probe:
                while not done.is_set():
                    started = time.perf_counter()
                    try:
                        await probe.get("/healthz")
                        health.append(time.perf_counter() - started)
                    except httpx.TransportError:
                        health.append(float("inf"))
                    await asyncio.sleep(0.05)

        poller = asyncio.create_task(poll_health())
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        done.set()
        await poller
    return statuses, by_kind, latencies, health, elapsed, queue.qsize()


def describe(ms: np.ndarray) -> str:
    if not ms.size:
        return "none"
    p50, p95 = np.percentile(ms, [50, 95])
    return f"p50 {p50:.0f}, p95 {p95:.0f}, max {ms.max():.0f} ({ms.size} requests)"


def report(concurrency: int, result, idle: list[float]) -> int:
    """Print one burst's figures; returns how many answers were server errors (5xx but 503)."""
    statuses, by_kind, latencies, health, elapsed, left = result
    every = np.array([seconds for _, seconds in latencies]) * 1000
    answered = np.array([seconds for status, seconds in latencies if status == "200"]) * 1000
    print(f"burst: {len(latencies)} uploads, {concurrency} in flight, {elapsed:.1f} s")
    print("  status counts: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    for label, counts in by_kind.items():
        print(f"    {label}: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    print(f"  latency ms, all: {describe(every)}")
    print(f"  latency ms, 200 only: {describe(answered)}")
    if health:
        print(
            f"  /healthz during the burst: {len(health)} probes, slowest "
            f"{max(health) * 1000:.1f} ms, median {np.median(health) * 1000:.1f} ms "
            f"(idle: slowest {max(idle) * 1000:.1f} ms, median {np.median(idle) * 1000:.1f} ms)"
        )
    if left:
        print(f"  requests never sent (deadline): {left}")
    return sum(v for k, v in statuses.items() if k.startswith("5") and k[:3] != "503") + left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=120, help="uploads per burst")
    parser.add_argument(
        "--concurrency",
        default="12,48",
        help="comma-separated: one burst per value (default: within the server's capacity of "
        "workers + queue_size, then well past it); 0: no burst",
    )
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--deadline", type=float, default=240.0, help="seconds per burst")
    parser.add_argument(
        "--no-hostile", action="store_true",
        help="skip the hostile cases (huge invalid bodies, abandoned uploads, held-open "
        "connections)",
    )
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.concurrency.split(",") if int(level) > 0]

    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    files = uploads()
    server = start_server(port, {**os.environ, "PYTHONUNBUFFERED": "1"})
    failures = 0
    try:
        asyncio.run(wait_ready(base, server, time.monotonic() + 60))
        idle_rss = peak_rss_mib(server.pid)
        idle = asyncio.run(idle_health(base))
        print(
            f"loadtest against uvicorn on {base} (CONVSCOPE_WORKERS="
            f"{os.environ.get('CONVSCOPE_WORKERS', 'default')}, CONVSCOPE_QUEUE_SIZE="
            f"{os.environ.get('CONVSCOPE_QUEUE_SIZE', 'default')}); machine load "
            f"{os.getloadavg()[0]:.1f}"
        )
        print(
            "  files: " + ", ".join(f"{name} ({len(data) / 1024:.0f} KiB)" for name, data in files)
        )
        for concurrency in levels:
            result = asyncio.run(
                burst(
                    base,
                    files,
                    args.requests,
                    concurrency,
                    args.request_timeout,
                    time.monotonic() + args.deadline,
                )
            )
            failures += report(concurrency, result, idle)
        if not args.no_hostile:
            run_all(base, server.pid, files[2][1])
        peak = peak_rss_mib(server.pid)
        alive = server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    rss = "unknown" if peak is None else f"{peak:.0f} MiB"
    print(
        f"server peak RSS: {rss} (after startup: {idle_rss or 0:.0f} MiB); "
        f"alive at the end: {alive}"
    )
    return 0 if alive and not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
