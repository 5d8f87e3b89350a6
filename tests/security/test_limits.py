"""app.api.limits: the bounded CPU pool (503 busy / processing_timeout with Retry-After), the
body cap, and the settings that drive them."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
import threadpoolctl

from app.api.errors import ApiError
from app.api.limits import CpuLimiter, run_cpu_bound
from app.main import create_app
from app.settings import Settings

SAMPLE = {"sample": 0, "include": []}


def run(coro):
    """Run a coroutine to completion on a fresh event loop in its own thread: Playwright's
    sync API (the browser tests, same session) keeps a loop running on the main thread."""
    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised on the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_work_runs_on_a_worker_thread_and_returns_its_value():
    limiter = CpuLimiter(workers=2, queue_size=0, timeout=5)
    name = run(limiter.run(lambda: threading.current_thread().name))
    assert name.startswith("convscope-cpu")
    assert limiter.admitted == 0
    limiter.shutdown()


def test_exceptions_of_the_work_propagate_unchanged():
    limiter = CpuLimiter(workers=1, queue_size=0, timeout=5)

    def fail():
        raise ApiError(422, "corrupt_image", "broken")

    with pytest.raises(ApiError) as caught:
        run(limiter.run(fail))
    assert caught.value.code == "corrupt_image"
    assert limiter.admitted == 0
    limiter.shutdown()


def test_full_queue_answers_503_busy_with_retry_after():
    limiter = CpuLimiter(workers=1, queue_size=1, timeout=5, retry_after=3)
    gate = threading.Event()

    async def scenario():
        running = asyncio.ensure_future(limiter.run(gate.wait))
        waiting = asyncio.ensure_future(limiter.run(gate.wait))
        await asyncio.sleep(0.05)
        assert limiter.admitted == 2
        with pytest.raises(ApiError) as caught:
            await limiter.run(time.sleep, 0)
        gate.set()
        await asyncio.gather(running, waiting)
        return caught.value

    error = run(scenario())
    assert (error.status, error.code) == (503, "busy")
    assert error.headers == {"Retry-After": "3"}
    assert limiter.admitted == 0
    limiter.shutdown()


def test_timeout_answers_503_and_keeps_the_slot_until_the_thread_really_ends():
    # 1 s: long enough for the worker thread to have started the job even on a loaded
    # machine (a job still queued at its timeout is dropped, which frees its slot at once).
    limiter = CpuLimiter(workers=1, queue_size=0, timeout=1.0)
    gate = threading.Event()

    async def scenario():
        with pytest.raises(ApiError) as caught:
            await limiter.run(gate.wait)
        # The worker is still busy: its slot is not handed to anyone else.
        assert limiter.admitted == 1
        with pytest.raises(ApiError) as busy:
            await limiter.run(time.sleep, 0)
        gate.set()
        for _ in range(100):
            if limiter.admitted == 0:
                break
            await asyncio.sleep(0.01)
        return caught.value, busy.value

    timeout, busy = run(scenario())
    assert (timeout.status, timeout.code) == (503, "processing_timeout")
    assert "Retry-After" in timeout.headers
    assert busy.code == "busy"
    assert limiter.admitted == 0
    limiter.shutdown()


def test_a_timed_out_request_still_waiting_in_the_queue_is_dropped():
    limiter = CpuLimiter(workers=1, queue_size=1, timeout=0.1)
    gate = threading.Event()
    ran = []

    async def scenario():
        blocker = asyncio.ensure_future(limiter.run(gate.wait))
        await asyncio.sleep(0.02)
        with pytest.raises(ApiError):
            await limiter.run(ran.append, "queued")
        gate.set()
        with pytest.raises(ApiError):  # the blocker's own wait timed out too
            await blocker

    run(scenario())
    time.sleep(0.05)
    assert ran == [] and limiter.admitted == 0
    limiter.shutdown()


# ----------------------------------------------------------------------------- through the app


async def _saturated_app_requests(settings: Settings, hold: float):
    app = create_app(settings)
    limiter = app.state.cpu_limiter
    gate = threading.Event()
    blockers = [asyncio.ensure_future(limiter.run(gate.wait, hold)) for _ in range(2)]
    await asyncio.sleep(0.05)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        started = time.perf_counter()
        health = await client.get("/healthz")
        health_seconds = time.perf_counter() - started
        inspect = await client.post("/api/v1/models/lenet5/inspect", json=SAMPLE)
    gate.set()
    await asyncio.gather(*blockers, return_exceptions=True)
    limiter.shutdown()
    return health, health_seconds, inspect


def test_inspect_gets_503_busy_when_the_pool_and_queue_are_full_while_healthz_answers():
    settings = Settings(threads=1, queue_size=1, processing_timeout=5)
    health, _, inspect = run(_saturated_app_requests(settings, hold=5))
    assert health.status_code == 200
    assert inspect.status_code == 503
    assert inspect.json()["error"]["code"] == "busy"
    assert inspect.headers["retry-after"] == str(settings.retry_after)


def test_inspect_gets_503_processing_timeout_when_it_waits_too_long():
    settings = Settings(threads=1, queue_size=4, processing_timeout=0.2)
    _, _, inspect = run(_saturated_app_requests(settings, hold=5))
    assert inspect.status_code == 503
    assert inspect.json()["error"]["code"] == "processing_timeout"


def test_run_cpu_bound_outside_a_request_uses_a_process_wide_pool():
    assert run(run_cpu_bound(sum, [1, 2, 3])) == 6


def test_body_cap_comes_from_settings():
    app = create_app(Settings(max_body_bytes=100))
    transport = httpx.ASGITransport(app=app)

    async def post(body: bytes):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/api/v1/models/lenet5/inspect", content=body,
                headers={"content-type": "application/json"},
            )

    small, large = run(post(b'{"sample": 0, "include": []}')), run(post(b" " * 101))
    assert small.status_code == 200
    assert large.status_code == 413
    assert large.json()["error"] == {
        "code": "payload_too_large",
        "message": "the request body is 101 bytes; the limit is 100 bytes",
        "max_bytes": 100,
    }


@pytest.mark.parametrize(
    "name, raw, value",
    [
        ("max_body_bytes", "2048", 2048),
        ("max_image_pixels", "1000000", 1_000_000),
        ("max_canvas_side", "512", 512),
        ("max_aspect_ratio", "8.5", 8.5),
        ("max_multipart_files", "1", 1),
        ("max_multipart_fields", "3", 3),
        ("max_multipart_field_bytes", "4096", 4096),
        ("workers", "3", 3),
        ("queue_size", "0", 0),
        ("processing_timeout", "2.5", 2.5),
        ("retry_after", "7", 7),
        ("threads", "3", 3),
        ("header_timeout", "2.5", 2.5),
        ("body_timeout", "12", 12.0),
        ("keep_alive_timeout", "1.5", 1.5),
    ],
)
def test_every_limit_is_overridable_by_its_environment_variable(name, raw, value):
    settings = Settings.from_env({f"CONVSCOPE_{name.upper()}": raw})
    assert getattr(settings, name) == value


def test_blas_is_pinned_to_one_thread_per_worker():
    create_app(Settings())
    blas = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


# ----------------------------------------------------------------------------- one CPU budget


@pytest.mark.parametrize(
    "workers, cpus, threads", [(1, 8, 8), (2, 8, 4), (3, 8, 2), (8, 8, 1), (16, 8, 1), (4, 2, 1)]
)
def test_all_worker_processes_together_run_about_one_job_per_cpu(workers, cpus, threads):
    from app.settings import pool_threads

    assert pool_threads(workers, cpus) == threads
    assert workers * pool_threads(workers, cpus) <= max(cpus, workers)


def test_the_pool_size_follows_the_worker_count_unless_threads_is_set(monkeypatch):
    import app.settings as settings_module

    monkeypatch.setattr(settings_module, "available_cpus", lambda: 8)
    assert Settings.from_env({"CONVSCOPE_WORKERS": "4"}).pool_threads == 2
    assert Settings.from_env({"CONVSCOPE_WORKERS": "4", "CONVSCOPE_THREADS": "3"}).pool_threads == 3
    limiter = CpuLimiter.from_settings(Settings.from_env({"CONVSCOPE_WORKERS": "2"}))
    assert limiter.workers == 4


def test_a_queued_job_that_reaches_a_worker_after_its_deadline_never_runs():
    from app.api.limits import JobExpired

    ran = []
    with pytest.raises(JobExpired):
        CpuLimiter._call(time.monotonic() - 1, __import__("contextvars").copy_context(),
                         ran.append, ("late",), {})
    assert ran == []


def test_a_client_that_disconnects_drops_its_queued_job():
    from app.api.limits import ClientDisconnected

    limiter = CpuLimiter(workers=1, queue_size=2, timeout=5)
    gate = threading.Event()
    ran = []

    async def scenario():
        blocker = asyncio.ensure_future(limiter.run(gate.wait, 5))
        await asyncio.sleep(0.02)
        gone = asyncio.Event()
        waiting = asyncio.ensure_future(limiter.run(ran.append, "queued", disconnected=gone.wait))
        await asyncio.sleep(0.02)
        assert limiter.admitted == 2
        gone.set()
        with pytest.raises(ClientDisconnected):
            await waiting
        assert limiter.admitted == 1  # the queued slot is free at once
        gate.set()
        await blocker

    run(scenario())
    time.sleep(0.05)
    assert ran == [] and limiter.dropped == 1 and limiter.admitted == 0
    limiter.shutdown()
