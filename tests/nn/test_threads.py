"""app.nn.threads: a convolution big enough to pay splits its batch over the core's threads
(one per CPU unless CONVSCOPE_NN_THREADS or set_num_threads says otherwise) and gives the
single-thread results up to rounding; small calls (batch 1, LeNet-sized) stay on the
caller's thread; bad thread counts are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.nn import Conv2d, MaxPool2d, ReLU, Sequential
from app.nn import functional as F
from app.nn import threads as T
from tests.floats import assert_equal_up_to_rounding

REAL_MIN_PARALLEL_MACS = T.MIN_PARALLEL_MACS


@pytest.fixture
def two_threads(monkeypatch):
    """A budget of 2 threads, used whatever the machine's load (idle_cpus says 2), by every
    call however small (these tests' shapes are far below the real threshold)."""
    monkeypatch.setattr(T, "idle_cpus", lambda: 2)
    monkeypatch.setattr(T, "MIN_PARALLEL_MACS", 0)
    F.set_num_threads(2)
    yield
    F.set_num_threads(T.default_threads())


def net() -> Sequential:
    rng = np.random.default_rng(0)
    return Sequential([
        Conv2d(3, 8, 3, rng=rng, dtype=np.float64), ReLU(), MaxPool2d(2),
        Conv2d(8, 4, 3, padding=1, rng=rng, dtype=np.float64),  # gather input gradient
        Conv2d(4, 6, 3, stride=2, rng=rng, dtype=np.float64),  # scatter input gradient
    ])


def test_two_threads_give_the_one_thread_trace(two_threads):
    network = net()
    # 40 items of 3x34x34: many more than one cache-sized chunk, so the pool splits them.
    x = np.random.default_rng(1).standard_normal((40, 3, 34, 34))
    assert len(F.batch_chunks(40, 27 * 32 * 32 * 8)) > 2
    y2, caches2 = network.forward(x)
    dx2, grads2 = network.backward(np.ones_like(y2), caches2)
    F.set_num_threads(1)
    y1, caches1 = network.forward(x)
    dx1, grads1 = network.backward(np.ones_like(y1), caches1)
    # Each chunk makes its own BLAS calls: equal up to float64 rounding on any CPU's kernel.
    assert_equal_up_to_rounding(y2, y1)
    assert_equal_up_to_rounding(dx2, dx1)
    for g2, g1 in zip(grads2, grads1, strict=True):
        for key in g1:
            assert_equal_up_to_rounding(g2[key], g1[key])


def test_thread_count_is_reported_and_bad_counts_are_refused(two_threads):
    assert F.get_num_threads() == 2
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="threads"):
            F.set_num_threads(bad)
    assert F.get_num_threads() == 2


@pytest.mark.parametrize("groups", [2, 8])
def test_grouped_conv_on_two_threads_gives_the_one_thread_result(two_threads, groups):
    layer = Conv2d(8, 8, 3, padding=1, groups=groups, rng=0, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((40, 8, 20, 20))
    y2, cache2 = layer.forward(x)
    dx2, grads2 = layer.backward(y2, cache2)
    F.set_num_threads(1)
    y1, cache1 = layer.forward(x)
    dx1, grads1 = layer.backward(y1, cache1)
    np.testing.assert_allclose(y2, y1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx2, dx1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads2["weight"], grads1["weight"], rtol=1e-10)


@pytest.mark.parametrize(("env", "expected"), [(None, "cpus"), ("", "cpus"), ("1", "1"),
                                                 ("2", "2"), ("auto", "cpus"),
                                                 (" AUTO ", "cpus")])
def test_the_default_budget_is_one_thread_per_cpu_unless_the_environment_says_otherwise(
    env, expected
):
    # In a fresh process: the budget is read once, at import.
    code = (
        "from app.nn import get_num_threads; from app.nn.threads import available_cpus; "
        "print(get_num_threads(), available_cpus())"
    )
    environ = {k: v for k, v in os.environ.items() if k != T.ENV_THREADS}
    if env is not None:
        environ[T.ENV_THREADS] = env
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2], env=environ)
    threads, cpus = map(int, out.stdout.split())
    assert threads == (cpus if expected == "cpus" else int(expected))


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_a_thread_count_in_the_environment_that_is_not_a_count_is_refused(bad):
    with pytest.raises(ValueError, match="CONVSCOPE_NN_THREADS"):
        T.default_threads({T.ENV_THREADS: bad})


def test_small_calls_stay_on_one_thread_and_big_ones_share_their_chunks(two_threads,
                                                                          monkeypatch):
    monkeypatch.setattr(T, "MIN_PARALLEL_MACS", REAL_MIN_PARALLEL_MACS)
    # Batch-1 LeNet conv2: 240,000 MACs; batch-64 LeNet conv2: 15.4 M -> one thread.
    assert T.split_batch(1, 150 * 100 * 4, 240_000)[1] == 1
    assert T.split_batch(64, 150 * 100 * 4, 64 * 16 * 150 * 100)[1] == 1
    assert T.split_batch(64, 150 * 100 * 4, T.MIN_PARALLEL_MACS - 1)[1] == 1
    # A batch of one item never splits, however big.
    assert T.split_batch(1, 1 << 22, 10**9) == ([slice(0, 1)], 1)
    # Batch-64 TinyVGG conv2 (10 -> 10 channels, 3x3, 62x62 out): 221 M -> two threads.
    chunks, threads = T.split_batch(64, 90 * 3844 * 4, 64 * 10 * 90 * 3844)
    assert threads == 2 and len(chunks) >= 2 * T.CHUNKS_PER_THREAD
    covered = [i for c in chunks for i in range(c.start, c.stop)]
    assert covered == list(range(64))


def test_chunk_results_come_back_in_chunk_order_from_both_threads(two_threads):
    import threading
    import time

    ran_on = {}

    def work(chunk):
        ran_on[chunk] = threading.current_thread()
        time.sleep(0.002)
        return chunk * 10

    assert T.run_chunks(work, list(range(12)), 2) == [i * 10 for i in range(12)]
    assert threading.current_thread() in ran_on.values()
    assert len(set(ran_on.values())) == 2


def test_a_busy_machine_runs_the_same_chunks_on_one_thread(two_threads, monkeypatch):
    idle = T.split_batch(64, 25 * 576 * 4, 64 * 6 * 576 * 25)
    monkeypatch.setattr(T, "idle_cpus", lambda: 0)
    busy = T.split_batch(64, 25 * 576 * 4, 64 * 6 * 576 * 25)
    assert idle[1] == 2 and busy[1] == 1 and busy[0] == idle[0]


def test_idle_cpus_is_a_count_between_zero_and_the_machine_s_cpus():
    assert 0 <= T.idle_cpus() <= max(T.get_num_threads(), os.cpu_count() or 1)


@pytest.mark.parametrize("threads", [2, 3])
def test_depthwise_conv_on_several_threads_gives_the_one_thread_result(threads, monkeypatch):
    monkeypatch.setattr(T, "idle_cpus", lambda: 3)
    monkeypatch.setattr(T, "MIN_PARALLEL_MACS", 0)
    layer = Conv2d(6, 6, 3, stride=2, padding=1, groups=6, rng=0, dtype=np.float64)
    x = np.random.default_rng(4).standard_normal((40, 6, 30, 30))
    try:
        F.set_num_threads(threads)
        y2, cache2 = layer.forward(x)
        dx2, grads2 = layer.backward(y2, cache2)
        F.set_num_threads(1)
        y1, cache1 = layer.forward(x)
        dx1, grads1 = layer.backward(y1, cache1)
    finally:
        F.set_num_threads(T.default_threads())
    np.testing.assert_allclose(y2, y1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx2, dx1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads2["weight"], grads1["weight"], rtol=1e-10)


def test_an_error_in_a_shared_chunk_reaches_the_caller(two_threads):
    def work(chunk):
        if chunk == 7:
            raise ValueError("chunk 7 failed")
        return chunk

    with pytest.raises(ValueError, match="chunk 7"):
        T.run_chunks(work, list(range(10)), 2)



@pytest.fixture
def bands(monkeypatch):
    """A budget of 2 threads that cuts every batch-1 call into bands and runs every
    backward's two products as a pair, however small (the real thresholds are far above
    these shapes)."""
    monkeypatch.setattr(T, "MIN_BAND_MACS", 0)
    monkeypatch.setattr(T, "MIN_PARALLEL_MACS", 0)
    yield
    F.set_num_threads(T.default_threads())


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # thresholds only
@given(
    c_in=st.integers(1, 4), c_out=st.sampled_from([2, 64]), size=st.integers(4, 40),
    kernel=st.integers(1, 3), stride=st.integers(1, 2), padding=st.integers(0, 1),
    dilation=st.integers(1, 2), depthwise=st.booleans(), seed=st.integers(0, 99),
)
def test_a_batch_of_one_cut_into_bands_gives_the_one_thread_conv(
    bands, c_in, c_out, size, kernel, stride, padding, dilation, depthwise, seed
):
    """Row bands (large planes), channel blocks (small planes, many channels) and the
    weight-gradient / input-gradient pair give the one-thread layer up to float64 rounding."""
    groups = c_in if depthwise else 1
    layer = Conv2d(c_in, c_out if not depthwise else c_in * 2, kernel, stride=stride,
                   padding=padding, dilation=dilation, groups=groups, rng=seed,
                   dtype=np.float64)
    if size + 2 * padding < dilation * (kernel - 1) + 1:
        return
    x = np.random.default_rng(seed).standard_normal((1, c_in, size, size))
    F.set_num_threads(2)
    y2, cache2 = layer.forward(x)
    dy = np.random.default_rng(seed + 1).standard_normal(y2.shape)
    dx2, grads2 = layer.backward(dy, cache2)
    F.set_num_threads(1)
    y1, cache1 = layer.forward(x)
    dx1, grads1 = layer.backward(dy, cache1)
    assert_equal_up_to_rounding(y2, y1)
    assert_equal_up_to_rounding(dx2, dx1)
    for key in grads1:
        assert_equal_up_to_rounding(grads2[key], grads1[key])


def test_bands_follow_the_budget_and_the_batch():
    try:
        F.set_num_threads(2)
        assert T.row_parts(1, 56, T.MIN_BAND_MACS) == [slice(0, 28), slice(28, 56)]
        assert T.row_parts(1, 56, T.MIN_BAND_MACS - 1) == [slice(0, 56)]  # too small
        assert T.row_parts(2, 56, 10 * T.MIN_BAND_MACS) == [slice(0, 56)]  # batch splits
        assert T.row_parts(1, 3, 10 * T.MIN_BAND_MACS) == [slice(0, 3)]  # too few rows
        with T.single_threaded():
            assert T.row_parts(1, 56, 10 * T.MIN_BAND_MACS) == [slice(0, 56)]
        F.set_num_threads(1)
        assert T.row_parts(1, 56, 10 * T.MIN_BAND_MACS) == [slice(0, 56)]
    finally:
        F.set_num_threads(T.default_threads())


def test_a_pair_whose_second_piece_no_thread_started_is_finished_by_the_caller():
    """With the pool's thread busy elsewhere, the caller takes the second piece back."""
    import threading

    release = threading.Event()
    try:
        F.set_num_threads(2)
        blocker = T._executor[1].submit(release.wait)  # occupy the pool's only thread
        first, second = T.run_pair(lambda: "a", lambda: threading.current_thread().name,
                                   T.MIN_PARALLEL_MACS)
        assert (first, second) == ("a", threading.current_thread().name)
    finally:
        release.set()
        blocker.result()
        F.set_num_threads(T.default_threads())
