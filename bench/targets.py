"""The speed targets, each with its same-run ratio against an external reference.

Forward+backward of LeNet-5, TinyVGG and a ResNet-18-shaped graph at batch 1 and 64, the
ResNet's inspect end to end, and lenet5's training throughput, timed with the process using
every CPU it may run on (the core's thread budget -- its own threads, each with one BLAS
thread -- and freed memory kept, as `convscope train` runs). The reference is a command
the user names (`--reference CMD` or CONVSCOPE_BENCH_REFERENCE) that speaks the protocol
of bench/reference.md; rounds alternate the reference and ours, and a ratio is
median(ours) / median(reference).

    python -m bench.targets                              # no reference: ours only
    python -m bench.targets --reference "python ref.py"  # with ratios
    python -m bench.targets --quick                      # tiny sizes and budgets: a smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from bench.reference import (
    DEFAULT_TIMEOUT_S,
    ENV_REFERENCE,
    ReferenceFailed,
    ReferenceReply,
    Workload,
    build_request,
    call_reference,
)
from bench.timing import measure

NO_REFERENCE = "no reference (see bench/reference.md)"
TRAINING_TARGET = 4000.0  # digits/s, lenet5 at batch 64
INSPECT_TARGET = 1.5  # inspect end to end / the reference's ResNet batch-1 forward+backward
BUDGET_S, MIN_REPEATS, ROUNDS = 1.5, 3, 3
QUICK_BUDGET_S, QUICK_MIN_REPEATS, QUICK_ROUNDS = 0.02, 2, 2
TITLES = {"lenet5": "LeNet-5", "tinyvgg": "TinyVGG", "resnet18": "ResNet-18 shape"}


@dataclass
class Passes:
    """Our timings of one workload over the rounds: each round's median, min and median
    CPU time (the process's, all threads) per pass, in ms."""

    median_ms: list[float] = field(default_factory=list)
    min_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def add(self, median: float, minimum: float, cpu: float) -> None:
        self.median_ms.append(median)
        self.min_ms.append(minimum)
        self.cpu_ms.append(cpu)

    @property
    def median(self) -> float:
        """The median of the rounds' medians."""
        return statistics.median(self.median_ms)


@dataclass
class TargetRow:
    """One ratio target: ours against the reference's median for `reference_id`."""

    target: str
    workload: str
    limit: float  # the ratio must be at most this
    reference_id: str
    ours: Passes = field(default_factory=Passes)
    flops: int = 0  # per pass: 2 FLOPs per MAC, backward 2x forward; 0: not quoted
    reference_ms: float | None = None
    note: str = NO_REFERENCE  # the ratio cell when there is no reference figure

    @property
    def ratio(self) -> float | None:
        return None if self.reference_ms is None else self.ours.median / self.reference_ms

    @property
    def met(self) -> bool | None:
        return None if self.ratio is None else self.ratio <= self.limit


@dataclass
class TargetsReport:
    rows: list[TargetRow]
    cpus: int
    threads: int
    quick: bool
    rounds: int
    peaks_gflops: list[float] = field(default_factory=list)  # start and end of the section
    load: list[float] = field(default_factory=list)  # 1-min load average, start and end
    training_images_per_s: float | None = None
    training_images_per_cpu_s: float | None = None
    reference: str | None = None  # the command
    framework: str | None = None
    reference_threads: int | None = None
    failure: str | None = None

    @property
    def peak(self) -> float:
        return max(self.peaks_gflops, default=0.0)


def _ms_measure(fn, budget_s: float, min_repeats: int, warmup: int) -> tuple[float, float, float]:
    """(median ms, min ms, median CPU ms) of fn's timed calls (bench.timing.measure)."""
    cpu: list[float] = []

    def timed():
        start = time.process_time()
        fn()
        cpu.append(time.process_time() - start)

    timing = measure(timed, budget_s, warmup=warmup, min_repeats=min_repeats)
    return timing.median_ms, timing.min_ms, statistics.median(cpu[warmup:]) * 1e3


def build_workloads(quick: bool) -> tuple[list[Workload], list[TargetRow]]:
    """The forward+backward workloads and their rows: each network at batch 1 and 64
    (--quick: batch 2, the ResNet at 32x32), the ResNet at its big batch with a smaller
    budget (one warm-up, two repeats: a pass is ~64 batch-1 passes)."""
    from app.nn.cost import forward_macs_per_item
    from bench.core import build
    from bench.traces import resnet18

    budget, repeats = (QUICK_BUDGET_S, QUICK_MIN_REPEATS) if quick else (BUDGET_S, MIN_REPEATS)
    big = 2 if quick else 64
    size = 32 if quick else 224
    networks = [(name, *build(name, "float32"), 10) for name in ("lenet5", "tinyvgg")]
    networks.append(("resnet18", resnet18().eval(), (3, size, size), 1000))
    workloads, rows = [], []
    for name, network, shape, classes in networks:
        for batch in (1, big):
            heavy = name == "resnet18" and batch > 1
            wid = f"{name}-{size}px-b{batch}" if name == "resnet18" and quick else (
                f"{name}-b{batch}")
            workloads.append(Workload(wid, network, (batch, *shape), classes,
                                      0.0 if heavy else budget, 2 if heavy else repeats,
                                      1 if heavy else 2))
            macs = forward_macs_per_item(network, tuple(shape)) * batch
            size_note = "x".join(map(str, shape))
            rows.append(TargetRow(
                f"{TITLES[name]} forward+backward, batch {batch} ({size_note})",
                wid, 1.0 if batch == 1 else 1.2, wid, flops=2 * macs * 3,
            ))
    return workloads, rows


def _time_ours(workloads, rows, inspect_fn, inspect_row, quick: bool) -> None:
    from app.nn.data_parallel import loss_and_gradients

    rng = np.random.default_rng(0)
    for workload, row in zip(workloads, rows, strict=True):
        x = rng.random(workload.input_shape, dtype=np.float32)
        targets = rng.integers(0, workload.classes, workload.batch)
        print(f"bench: targets: {workload.id}", file=sys.stderr)
        row.ours.add(*_ms_measure(lambda network=workload.network, x=x, t=targets:
                                  loss_and_gradients(network, x, t),
                                  workload.budget_s, workload.min_repeats, workload.warmup))
    print("bench: targets: inspect", file=sys.stderr)
    inspect_row.ours.add(*_ms_measure(inspect_fn, QUICK_BUDGET_S if quick else 0.0,
                                      QUICK_MIN_REPEATS if quick else 3, 1))


def _time_reference(report, request, timeout_s, replies: list[ReferenceReply]) -> None:
    if report.reference is None or report.failure is not None:
        return
    print("bench: targets: reference", file=sys.stderr)
    try:
        replies.append(call_reference(report.reference, request, timeout_s))
    except ReferenceFailed as exc:
        report.failure = str(exc)


def _apply_replies(report: TargetsReport, replies: list[ReferenceReply]) -> None:
    if report.reference is None:
        return
    if report.failure is not None and not replies:
        for row in report.rows:
            row.note = f"reference failed: {report.failure}"
        return
    report.framework = replies[0].framework
    report.reference_threads = replies[0].threads
    for row in report.rows:
        got = [r.results[row.reference_id].median_ms for r in replies
               if row.reference_id in r.results]
        if got:
            row.reference_ms = statistics.median(got)
        else:
            row.note = f"reference failed: no result for {row.reference_id}"


def run_targets(reference_cmd: str | None, quick: bool, rounds: int | None = None,
                timeout_s: float = DEFAULT_TIMEOUT_S, training: bool = True) -> TargetsReport:
    """Time every target; with reference_cmd, call it once per round, alternating which of
    the two goes first. Leaves the process keeping freed memory (app.nn.memory); restores
    the core's thread budget."""
    from app.nn import get_num_threads, set_num_threads
    from app.nn.memory import keep_freed_memory
    from app.nn.threads import available_cpus
    from app.services.models import register_model, unregister_model
    from app.services.traces import TraceStore
    from app.settings import Settings
    from bench.core import matmul_peak
    from bench.traces import MODEL_ID, bench_model, first_response

    cpus = available_cpus()
    rounds = rounds or (QUICK_ROUNDS if quick else ROUNDS)
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    workloads, rows = build_workloads(quick)
    resnet_b1 = next(w for w in workloads if w.id.startswith("resnet18") and w.batch == 1)
    inspect_row = TargetRow(
        f"inspect, ResNet-18 shape end to end ({'x'.join(map(str, resnet_b1.input_shape[1:]))})"
        " vs the reference's batch-1 forward+backward",
        "inspect", INSPECT_TARGET, resnet_b1.id)
    report = TargetsReport(rows + [inspect_row], cpus, cpus, quick, rounds,
                           reference=reference_cmd or None)
    report.load.append(os.getloadavg()[0])
    budget, repeats = (QUICK_BUDGET_S, QUICK_MIN_REPEATS) if quick else (BUDGET_S, MIN_REPEATS)
    request = build_request(workloads, cpus, budget, repeats)
    model = bench_model(resnet_b1.input_shape[2])
    x = np.random.default_rng(1).random(resnet_b1.input_shape[1:], dtype=np.float32)
    settings = Settings()
    store = TraceStore.from_settings(settings)
    replies: list[ReferenceReply] = []
    previous = get_num_threads()
    peak_size, peak_budget = (256, 0.05) if quick else (1024, 1.0)
    register_model(model)
    try:
        keep_freed_memory()
        # The core's threads, with BLAS on one thread each: a budget of several threads
        # holds BLAS to one (app.nn.threads), and the peak is taken with BLAS's own team.
        set_num_threads(cpus)
        with threadpool_limits(limits=cpus, user_api="blas"):
            report.peaks_gflops.append(matmul_peak("float32", peak_size, peak_budget))
        for round_ in range(rounds):
            # Every other round the reference goes second, so neither always follows
            # the other (a machine's load drifts).
            sides = ["ref", "ours"] if round_ % 2 == 0 else ["ours", "ref"]
            for side in sides:
                if side == "ref":
                    _time_reference(report, request, timeout_s, replies)
                else:
                    _time_ours(workloads, rows, lambda: first_response(
                        model, x, settings, store), inspect_row, quick)
        if training:
            _time_training(report, quick)
        with threadpool_limits(limits=cpus, user_api="blas"):
            report.peaks_gflops.append(matmul_peak("float32", peak_size, peak_budget))
    finally:
        set_num_threads(previous)
        unregister_model(MODEL_ID)
    _apply_replies(report, replies)
    report.load.append(os.getloadavg()[0])
    return report


def _time_training(report: TargetsReport, quick: bool) -> None:
    from bench.training import run_training

    print("bench: targets: training", file=sys.stderr)
    result = run_training(epochs=1 if quick else 2, limit=256 if quick else None)
    report.training_images_per_s = result.images_per_s
    report.training_images_per_cpu_s = result.images_per_cpu_s


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "/").split())


def _met(met: bool | None) -> str:
    return "unknown" if met is None else ("met" if met else "**not met**")


def targets_section(report: TargetsReport) -> str:
    """The targets table (markdown) with its notes."""
    from bench.report import table

    body = []
    for row in report.rows:
        ours = row.ours
        speed = ""
        if row.flops:
            gflops = row.flops / (ours.median / 1e3) / 1e9
            speed = f"{gflops:.1f}" + (f" ({gflops / report.peak:.0%})" if report.peak else "")
        body.append([
            row.target, row.workload,
            f"{ours.median:.1f} (min {min(ours.min_ms):.1f}, CPU "
            f"{statistics.median(ours.cpu_ms):.1f})", speed,
            "" if row.reference_ms is None else f"{row.reference_ms:.1f}",
            _cell(row.note) if row.ratio is None else f"{row.ratio:.2f}x",
            f"<= {row.limit:.1f}x", _met(row.met),
        ])
    if report.training_images_per_s is not None:
        rate = report.training_images_per_s
        body.append([
            "training throughput, lenet5, batch 64, augmentation on",
            "train-lenet5-b64" + (" (256 digits, quick)" if report.quick else ""),
            f"{rate:,.0f} digits/s (best epoch; {report.training_images_per_cpu_s:,.0f} per "
            "CPU second)", "", "", "no reference needed", f">= {TRAINING_TARGET:,.0f} digits/s",
            _met(rate >= TRAINING_TARGET),
        ])
    header = ["target", "workload", "ours: median ms (min, CPU ms)", "GFLOP/s (of peak)",
              "reference: median ms", "ratio (ours / reference)", "target", "met"]
    peaks = " and ".join(f"{p:.1f}" for p in report.peaks_gflops)
    if report.reference is None:
        reference = (f"none given (`--reference CMD` or {ENV_REFERENCE}; the protocol is in "
                     "bench/reference.md)")
    elif report.framework is None:
        reference = f"`{_cell(report.reference)}` failed: {_cell(report.failure or '')}"
    else:
        reference = f"`{_cell(report.reference)}`: {_cell(report.framework)}, " \
                    f"{report.reference_threads} thread(s)"
        if report.failure:
            reference += f"; a later round failed ({_cell(report.failure)}), its figures left out"
    notes = [
        f"Reference: {reference}. {report.rounds} rounds, the reference and ours alternating "
        "which goes first; each figure is the median of the rounds' medians, and a ratio is "
        "median(ours) / median(reference), both from this run.",
        f"Ours: all {report.threads} CPUs -- `app.nn.set_num_threads({report.threads})` "
        "(app.nn.data_parallel.loss_and_gradients shards a batch where it pays; a batch-1 "
        "convolution splits its output rows or channels and runs its two gradients as a "
        "pair), one BLAS thread per core thread, and freed memory kept for reuse "
        "(app.nn.memory.keep_freed_memory, as `convscope train` does). Float32, BatchNorm in "
        "inference mode, random weights and inputs; a pass is forward, mean softmax "
        "cross-entropy and backward with the input gradient.",
        "GFLOP/s = 2 x forward MACs x 3 (backward counted as 2x forward) / median; "
        f"peak = float32 {256 if report.quick else 1024}-square matmul at {report.threads} "
        f"BLAS threads, measured at the start and end of this section: {peaks} GFLOP/s "
        "(the higher is used).",
        "Inspect: one request's work apart from HTTP (forward+backward recorded, the body "
        "within the default budgets, the trace stored, JSON bytes), as bench/traces.py times "
        "it, compared with the reference's batch-1 forward+backward of the same graph.",
        f"Machine: {report.cpus} CPUs available, {os.cpu_count()} logical; load average "
        "(1 min) at the start and end of this section: "
        + " and ".join(f"{v:.2f}" for v in report.load) + ".",
    ]
    if report.quick:
        notes.insert(0, "**Quick run**: batch 2 in place of 64, the ResNet at 32x32, tiny "
                     "budgets: these rows are not the targets' sizes, and their figures are "
                     "rough.")
    return table(header, body) + "\n\n" + "\n".join(f"- {n}" for n in notes)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.targets",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--reference", default=os.environ.get(ENV_REFERENCE),
                        help="the reference command (protocol: bench/reference.md); "
                        f"default: ${ENV_REFERENCE}")
    parser.add_argument("--reference-timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="seconds the reference may take per round")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and budgets")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3, quick 2)")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    report = run_targets(args.reference, args.quick, args.rounds, args.reference_timeout)
    print(targets_section(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
