"""The hostile cases of `make loadtest`, against the same real uvicorn: huge invalid JSON bodies
(the 422's latency and size), 16 clients posting large receptive-field bodies while /healthz is
probed, 40 abandoned uploads (the server CPU they cost and a real user's wait), and held-open
half-sent requests (how long until the server closes them). Every case is bounded in requests
and seconds; the caller prints the server's peak RSS afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path

import httpx

INSPECT = "/api/v1/models/lenet5/inspect"
RECEPTIVE = "/api/v1/receptive-field"
MB = 1024 * 1024


def _items(item: bytes, total: int) -> bytes:
    return b"[" + b",".join([item] * (total // (len(item) + 1))) + b"]"


def invalid_pixels_body() -> bytes:
    return b'{"pixels": [' + _items(b'""', 10 * MB - 64) + b"]}"


def invalid_layers_body() -> bytes:
    return b'{"input_size": 9, "layers": ' + _items(b'""', 10 * MB - 64) + b"}"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _timed_post(client: httpx.AsyncClient, path: str, body: bytes):
    started = time.perf_counter()
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    return response, (time.perf_counter() - started) * 1000


async def huge_invalid_bodies(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for label, path, body in (
            ("10 MB of invalid pixels", INSPECT, invalid_pixels_body()),
            ("10 MB of invalid layers", RECEPTIVE, invalid_layers_body()),
        ):
            timings = []
            for _ in range(3):
                response, ms = await _timed_post(client, path, body)
                timings.append(ms)
            print(f"  {label}: {response.status_code} {response.json()['error']['code']}, "
                  f"{len(response.content)} response bytes; ms (3 runs, upload included): "
                  + ", ".join(f"{ms:.0f}" for ms in timings))


async def large_bodies_with_health(base: str, clients: int = 16) -> None:
    body = json.dumps({"input_size": 16384, "unit": {"layer": 199, "y": 0, "x": 0}, "layers": [
        {"kind": "conv2d", "kernel_size": 3, "padding": 1, "name": f"conv{i:03d}" + "x" * 56}
        for i in range(200)]}).encode()
    health: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            while not done.is_set():
                started = time.perf_counter()
                await client.get("/healthz")
                health.append(time.perf_counter() - started)
                await asyncio.sleep(0.02)

    async with httpx.AsyncClient(base_url=base, timeout=60,
                                 limits=httpx.Limits(max_connections=clients)) as client:
        poller = asyncio.create_task(probe())
        results = await asyncio.gather(*(
            _timed_post(client, RECEPTIVE, body) for _ in range(clients * 4)
        ))
        done.set()
        await poller
    codes = sorted({r.status_code for r, _ in results})
    print(f"  {clients} clients x 4 receptive-field bodies of {len(body) // 1024} KiB: status "
          f"{codes}; /healthz slowest {max(health) * 1000:.1f} ms over {len(health)} probes")


async def abandoned_uploads(base: str, pid: int, upload: bytes, bombs: int = 40) -> None:
    host, port = base.removeprefix("http://").split(":")
    head = (
        f"POST {INSPECT} HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; "
        f"boundary=b\r\nContent-Length: "
    ).encode()
    part = (b'--b\r\nContent-Disposition: form-data; name="image"; filename="x"\r\n\r\n'
            + upload + b"\r\n--b--\r\n")
    request = head + str(len(part)).encode() + b"\r\n\r\n" + part
    before = cpu_seconds(pid)
    sockets = []
    for _ in range(bombs):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.sendall(request)
        sockets.append(sock)
    await asyncio.sleep(0.5)
    for sock in sockets:
        sock.close()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        response = await client.post(INSPECT, json={"sample": 0, "include": []})
        waited = time.perf_counter() - started
    await asyncio.sleep(1.0)
    print(f"  {bombs} abandoned uploads of {len(upload) // 1024} KiB: server CPU "
          f"{cpu_seconds(pid) - before:.1f} s; then a real user's inspect: "
          f"{response.status_code} in {waited * 1000:.0f} ms")


def held_open(base: str, connections: int = 30, limit: float = 30.0) -> None:
    host, port = base.removeprefix("http://").split(":")
    sockets = []
    for i in range(connections):
        sock = socket.create_connection((host, int(port)), timeout=limit)
        sock.sendall(f"POST {INSPECT} HTTP/1.1\r\nHost: {host}\r\n".encode()
                     if i % 2 else b"")
        sockets.append(sock)
    started = time.perf_counter()
    closed_after = []
    for sock in sockets:
        try:
            while sock.recv(4096):
                pass
            closed_after.append(time.perf_counter() - started)
        except TimeoutError:
            pass
        finally:
            sock.close()
    slowest = f"{max(closed_after):.1f} s" if closed_after else "-"
    print(f"  {connections} held-open connections (half of them sent half a request): "
          f"{len(closed_after)} closed by the server, the last after {slowest}")


def run_all(base: str, pid: int, upload: bytes) -> None:
    print("hostile cases:")
    asyncio.run(huge_invalid_bodies(base))
    asyncio.run(large_bodies_with_health(base))
    asyncio.run(abandoned_uploads(base, pid, upload))
    held_open(base)
