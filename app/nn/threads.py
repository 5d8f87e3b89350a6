"""The core's thread budget: how many threads one convolution call, or one sharded training
step (app.nn.data_parallel), may use, and when work is big enough to split.

A call whose work (multiply-accumulates) reaches MIN_PARALLEL_MACS cuts its batch into
chunks that, when the machine has an idle CPU, the caller's thread and the pool's threads
take one at a time (NumPy and BLAS release the GIL in copies and matmuls). Results come back
in chunk order, so a weight gradient summed over chunks does not depend on which thread ran
which chunk. Smaller calls (a batch-1 LeNet, every batch of 1: the chunks are batch items)
stay on the caller's thread, where a hand-off would cost more than it saves.

The budget is process-wide and defaults to one thread per available CPU: on a 2-CPU machine
with both CPUs free, TinyVGG's training step at batch 64 took 95 ms on one thread and 66 ms
on two (bench/results.md), and work below the thresholds never splits. A split call shares
its chunks only with CPUs that are idle right now (see idle_cpus); a pair, a band or a
shard that no pool thread has started when the caller is free is done by the caller; so a
busy machine costs split work little. CONVSCOPE_NN_THREADS (a count, or "auto") sets the
budget at import, set_num_threads(n) at run time. A server whose request threads already
fill the CPUs sets 1 (app.api.limits does), so that its request threads and the core's
threads together do not exceed the CPUs; so does the training lab's run process, which
shares the machine with them. A budget of several threads holds BLAS to one thread.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")

# Convolutions run per batch chunk whose im2col matrix fits in one core's L2 cache, so the
# gather and the matmul that reads it stay in cache instead of streaming through memory.
SCRATCH_BYTES = 1 << 20

# A call with fewer multiply-accumulates than this stays on one thread. A hand-off costs
# more than its microseconds: the two threads contend for the GIL between NumPy calls, so on
# LeNet-sized calls the caller waited (same-run A/B at load 1.4, 2 CPUs, float32 b64
# fwd+bwd: lenet5 12.6 ms on 1 thread, 15.2 ms on 2 with a 1 M threshold, 12.6 ms with
# 50 M; tinyvgg 141.7 ms on 1 thread, 123.1 ms with 1 M, 124.6 ms with 50 M).
MIN_PARALLEL_MACS = 50_000_000

# A batch-1 call is cut into bands of output rows or channels from this many
# multiply-accumulates (ResNet-18's 3x3 convolutions at 224x224 are 116 M each): at 58 M (its
# stride-2 ones) two bands took 1.15 ms where one thread took 1.02 ms.
MIN_BAND_MACS = 100_000_000

# A convolution's backward runs its two products side by side (run_pair) from this many
# multiply-accumulates together.
MIN_PAIR_MACS = MIN_PARALLEL_MACS

# Chunks per thread, at least, when a call is shared.
CHUNKS_PER_THREAD = 4


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


_blas_controllers: list | None = None


def _blas() -> list:
    """threadpoolctl's controllers of the BLAS libraries NumPy loaded (none without it)."""
    global _blas_controllers
    if _blas_controllers is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a runtime dependency, never fatal
            _blas_controllers = []
        else:
            _blas_controllers = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas_controllers


def _pool(threads: int) -> tuple[int, ThreadPoolExecutor | None]:
    # The caller's thread computes one part itself: the pool holds the other threads - 1.
    if threads > 1:
        # The budget's threads replace BLAS's own: an OpenBLAS team spins on its CPUs for a
        # while after each product, which starved the core's threads (a ResNet-18 pass at
        # 224x224 took 519 ms with both, 113 ms with the core's threads alone).
        for controller in _blas():
            controller.set_num_threads(1)
    return (threads, ThreadPoolExecutor(threads - 1, "convscope-nn") if threads > 1 else None)


ENV_THREADS = "CONVSCOPE_NN_THREADS"


def default_threads(environ=os.environ) -> int:
    """The budget at import: CONVSCOPE_NN_THREADS as a count >= 1, or "auto" (also when
    unset or empty) for one thread per available CPU; anything else is refused with a
    message naming the variable."""
    text = environ.get(ENV_THREADS, "").strip().lower()
    if not text or text == "auto":
        return available_cpus()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ValueError(f"{ENV_THREADS} must be a count >= 1 or 'auto', got {text!r}")


# (threads, pool): replaced whole by set_num_threads, so a call sees one consistent pair.
_executor: tuple[int, ThreadPoolExecutor | None] = _pool(default_threads())


def set_num_threads(threads: int) -> None:
    """Let one convolution call use up to `threads` threads (process-wide; the default is
    one per available CPU, or CONVSCOPE_NN_THREADS). Outputs and input gradients equal the
    single-thread ones up to float rounding (each part makes its own BLAS calls); weight
    gradients are summed over the parts in another order. A budget of several threads also
    holds BLAS to one thread (the core's threads do the splitting); it stays so if the
    budget later drops to 1. Servers whose request threads already fill the CPUs set 1."""
    global _executor
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an int >= 1, got {threads!r}")
    # A replaced pool is not shut down: calls still using it finish, then it is collected.
    _executor = _pool(threads)


def get_num_threads() -> int:
    """The current per-call thread budget (see set_num_threads)."""
    return _executor[0]


_local = threading.local()


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Within this block, this thread's convolution calls never split (split_batch answers
    1 thread): for work that is already spread over the CPUs at a coarser grain."""
    saved = getattr(_local, "single", False)
    _local.single = True
    try:
        yield
    finally:
        _local.single = saved


def batch_chunks(n: int, bytes_per_item: int, budget: int = SCRATCH_BYTES) -> list[slice]:
    """Slices covering range(n) with as many items each as fit in `budget` bytes (>= 1)."""
    step = max(1, min(n, budget // max(1, bytes_per_item)))
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


def split_batch(n: int, bytes_per_item: int, macs: int) -> tuple[list[slice], int]:
    """range(n) cut into cache-sized chunks, and how many threads should share them: one
    when the call is small (`macs` below MIN_PARALLEL_MACS), the budget has one thread, or
    there is one item; otherwise the budget, less the CPUs other tasks keep busy right now
    (see idle_cpus). With a budget of several threads the chunks are cut to at least
    CHUNKS_PER_THREAD per thread, whatever the load: the chunks (and so the bits of every
    result) depend on the budget only, never on how many threads happened to run them."""
    budget = 1 if getattr(_local, "single", False) else _executor[0]
    budget = 1 if macs < MIN_PARALLEL_MACS else max(1, min(budget, n))
    step = max(1, min(n, SCRATCH_BYTES // max(1, bytes_per_item)))
    if budget == 1:
        return [slice(start, min(n, start + step)) for start in range(0, n, step)], 1
    step = min(step, -(-n // (budget * CHUNKS_PER_THREAD)))
    chunks = [slice(start, min(n, start + step)) for start in range(0, n, step)]
    return chunks, max(1, min(budget, idle_cpus() + 1))


# When the machine already has a runnable task per CPU, a helper thread finds no free core:
# it waits for a time slice while the caller waits for its chunks (on a 2-CPU machine at
# load 8-15, TinyVGG batch 64 took 0.7-0.9x as long on 1 thread as on 2 in same-run A/Bs).
# A call therefore asks, at most every BUSY_RECHECK_S, how many CPUs are idle.
BUSY_RECHECK_S = 0.05
_idle: list[float] = [-1.0, 0.0]  # [monotonic time of the reading, idle CPUs]


def idle_cpus() -> int:
    """CPUs no other task wants right now: the machine's CPUs less the runnable tasks other
    than this thread (Linux /proc/loadavg's instantaneous count); where that count cannot be
    read, every CPU of the budget is taken as idle."""
    now = time.monotonic()
    if now - _idle[0] >= BUSY_RECHECK_S:
        try:
            with open("/proc/loadavg", encoding="ascii") as f:
                runnable = int(f.read().split()[3].split("/")[0])
            idle = max(0, (os.cpu_count() or 1) - max(0, runnable - 1))
        except (OSError, ValueError, IndexError):
            idle = _executor[0]
        _idle[0], _idle[1] = now, idle
    return int(_idle[1])


def row_parts(n: int, rows: int, macs: int) -> list[slice]:
    """Bands of an output's rows for the budget's threads to compute side by side, when a
    call's batch is too small to split (fewer items than threads: a batch of 1) and its
    work reaches MIN_BAND_MACS; otherwise one band (the whole). The bands depend on the
    budget only, never on the load."""
    threads = 1 if getattr(_local, "single", False) else _executor[0]
    if threads < 2 or n >= threads or macs < MIN_BAND_MACS or rows < 2 * threads:
        return [slice(0, rows)]
    bounds = [rows * k // threads for k in range(threads + 1)]
    return [slice(bounds[k], bounds[k + 1]) for k in range(threads)]


def run_pair(first: Callable[[], T], second: Callable[[], U], macs: int) -> tuple[T, U]:
    """(first(), second()) for two independent pieces of work of `macs` multiply-accumulates
    together: side by side when that pays (the budget has a thread to spare, the caller is
    not already one of several threads, and macs >= MIN_PAIR_MACS), each on one thread
    with one BLAS thread; otherwise one after the other on the caller's thread. The caller
    computes `first` and hands `second` to a pool thread; if that thread has not started it
    by then (no CPU was free), the caller takes it back. Each piece runs on one thread
    either way, so the results' bits never depend on the load. Made for a convolution's
    backward pass, whose weight gradient and input gradient are separate products of about
    the same size: at batch 1, where there is no batch to split, they are the only way to
    two threads."""
    pool = _executor[1]
    if pool is None or getattr(_local, "single", False) or macs < MIN_PAIR_MACS:
        return first(), second()

    def alone(work: Callable[[], V]) -> V:
        with single_threaded():
            return work()

    with blas_threads(1):
        pending = pool.submit(alone, second)
        result = alone(first)
        if pending.cancel():  # the helper has not started it (a busy machine): do it here
            return result, alone(second)
        return result, pending.result()


def run_chunks(work: Callable[[slice], T], chunks: list[slice], threads: int) -> list[T]:
    """[work(chunk) for chunk in chunks], in chunk order whichever thread ran each: the
    caller's thread and up to threads - 1 pool threads take the next chunk until none is
    left. The caller waits only for chunks a pool thread has taken: a helper the OS has not
    started yet (a loaded machine) finds nothing left and costs the call nothing."""
    pool = _executor[1]
    if pool is None or threads == 1 or len(chunks) == 1:
        return [work(chunk) for chunk in chunks]
    with blas_threads(1):  # each thread's products on one BLAS thread: no oversubscription
        return _run_shared(work, chunks, threads, pool)


def _run_shared(work, chunks, threads, pool) -> list:
    results: list = [None] * len(chunks)
    errors: list[BaseException] = []
    order = itertools.count()  # next() on a count is atomic under the GIL
    lock = threading.Lock()
    pending = [len(chunks)]
    done = threading.Event()

    def drain() -> None:
        for index in iter(order.__next__, None):
            if index >= len(chunks):
                return
            try:
                results[index] = work(chunks[index])
            except BaseException as exc:  # re-raised on the caller's thread
                errors.append(exc)
            with lock:
                pending[0] -= 1
                if pending[0] == 0:
                    done.set()

    for _ in range(min(threads, len(chunks)) - 1):
        pool.submit(drain)
    drain()
    done.wait()
    if errors:
        raise errors[0]
    return results


@contextlib.contextmanager
def blas_threads(limit: int) -> Iterator[None]:
    """Hold BLAS to at most `limit` threads within the block (a microsecond to set), then
    restore it: threads that each run BLAS products must not each start a BLAS team too.
    BLAS's thread count is process-wide, so this is for blocks that own the process's
    CPUs, as the split calls and shards above do."""
    saved = [(c, c.get_num_threads()) for c in _blas()]
    for controller, threads in saved:
        if threads > limit:
            controller.set_num_threads(limit)
    try:
        yield
    finally:
        for controller, threads in saved:
            if threads > limit:
                controller.set_num_threads(threads)
