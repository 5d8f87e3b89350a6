"""`python -m bench` (`make bench`): time the core, the served app and training, print the
tables and write them into bench/results.md.

    python -m bench                    # everything, a few minutes
    python -m bench --quick            # tiny budgets: checks the suite runs, figures rough
    python -m bench --skip server training
    python -m bench --blas-threads 2   # BLAS threads for the core timings (default 1)
    python -m bench --reference CMD    # the targets' same-run ratios (bench/reference.md)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.md"
SECTIONS = ("core", "layers", "baseline", "server", "training", "traces", "onnx", "training_lab",
            "targets")


def parse_args(argv=None) -> argparse.Namespace:
    from bench.reference import DEFAULT_TIMEOUT_S, ENV_REFERENCE

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=0.5,
                        help="seconds per timed network pass (layers get a quarter)")
    parser.add_argument("--quick", action="store_true",
                        help="minimal budgets and request counts (a smoke run)")
    parser.add_argument("--skip", nargs="*", default=[], choices=SECTIONS,
                        help="sections to leave out")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads for the core and training timings (default 1, as "
                        "each server worker runs; the matmul peak is measured at 1 and all)")
    parser.add_argument("--reference", default=os.environ.get(ENV_REFERENCE),
                        help="the command that times the targets' workloads in a reference "
                        f"framework (protocol: bench/reference.md); default: ${ENV_REFERENCE}; "
                        "without it the ratios say so")
    parser.add_argument("--reference-timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="seconds the reference command may take per round")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="markdown file whose generated section is rewritten")
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser.parse_args(argv)


def machine_info(peaks: dict[tuple[str, int], float], blas_threads: int) -> dict[str, str]:
    import platform

    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return {
        "cpu": f"{cpu}, {os.cpu_count()} logical CPUs",
        "python / numpy": f"{platform.python_version()} / {np.__version__}",
        "blas": f"{blas.get('name')} {blas.get('version')}",
        "blas threads for core timings": str(blas_threads),
        "load average (1 min) at start": f"{os.getloadavg()[0]:.2f}",
        **{
            f"{dtype} matmul peak, {threads} BLAS thread(s)": f"{value:.1f} GFLOP/s"
            for (dtype, threads), value in peaks.items()
        },
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    from threadpoolctl import threadpool_limits

    from bench import core, report

    skip = set(args.skip)
    budget = 0.02 if args.quick else args.budget
    print(f"bench: budget {budget} s per pass; skipping {sorted(skip) or 'nothing'}",
          file=sys.stderr)
    size = 256 if args.quick else 1024
    peaks = {}
    for threads in sorted({1, args.blas_threads, os.cpu_count() or 1}):
        with threadpool_limits(limits=threads, user_api="blas"):
            for dtype in ("float32", "float64"):
                peaks[dtype, threads] = core.matmul_peak(dtype, size, budget * 2)
    machine = machine_info(peaks, args.blas_threads)
    pinned = threadpool_limits(limits=args.blas_threads, user_api="blas")

    rows: list[core.CoreRow] = []
    if "core" not in skip:
        impls = ("current",) if "baseline" in skip or args.quick else ("current", "baseline")
        for name in core.NETWORKS:
            for batch in core.BATCHES:
                for dtype in core.DTYPES:
                    threads = ("threads",) if batch > 1 and (os.cpu_count() or 1) > 1 else ()
                    if name in core.RECURRENT_NETWORKS:
                        threads, impls_here = (), ("current",)
                    else:
                        impls_here = impls
                    for impl in impls_here + threads:
                        print(f"bench: {name} batch {batch} {dtype} {impl}", file=sys.stderr)
                        rows += core.bench_network(
                            name, batch, dtype, budget, impl,
                            per_layer=impl == "current" and "layers" not in skip,
                            min_repeats=1 if args.quick else 3,
                        )

    server = None
    if "server" not in skip:
        from bench.server import run_server

        print("bench: server", file=sys.stderr)
        server = run_server(
            requests=20 if args.quick else 200, cold_starts=1 if args.quick else 3,
            deadline_s=10 if args.quick else 30,
        )

    traces = None
    if "traces" not in skip:
        from bench.traces import run_traces

        print("bench: traces (ResNet-18 shape)", file=sys.stderr)
        with threadpool_limits(limits=1, user_api="blas"):
            traces = run_traces(64 if args.quick else 224, 1 if args.quick else 2)

    lab = None
    if "training_lab" not in skip:
        from bench.training_lab import run_lab

        print("bench: training lab (events overhead, inspect while a run trains)",
              file=sys.stderr)
        lab = run_lab(args.quick)

    onnx = None
    if "onnx" not in skip:
        from bench.onnx_models import run_onnx

        print("bench: ONNX models (ResNet-18 shape, through the API)", file=sys.stderr)
        with threadpool_limits(limits=1, user_api="blas"):
            onnx = run_onnx(64 if args.quick else 224, 1 if args.quick else 2)

    # Training, then the targets, last: both make the process keep freed memory
    # (app.nn.memory), as `convscope train` does, which would change the other sections'
    # figures; the targets also run the core on every CPU.
    training, training_skipped = None, ""
    if "training" not in skip:
        print("bench: training", file=sys.stderr)
        try:
            from bench.training import run_training
        except ImportError as exc:
            training_skipped = f"app.nn.train unavailable ({exc})"
        else:
            training = run_training(epochs=1 if args.quick else 2,
                                    limit=256 if args.quick else None)

    targets = None
    if "targets" not in skip:
        from bench.targets import run_targets

        print("bench: targets (same-run ratios against the reference)", file=sys.stderr)
        targets = run_targets(args.reference, args.quick, timeout_s=args.reference_timeout)

    pinned.restore_original_limits()
    machine["load average (1 min) at end"] = f"{os.getloadavg()[0]:.2f}"
    # The networks' GFLOP/s are compared with the peak at the threads they ran with.
    text = report.render(
        machine, peaks["float32", args.blas_threads], rows, server, training,
        training_skipped, traces,
    )
    if lab is not None:
        from bench.training_lab import lab_section

        text += "\n\n### Training lab\n\n" + lab_section(lab)
    if onnx is not None:
        from bench.onnx_models import onnx_section

        text += "\n\n### ONNX models\n\n" + onnx_section(onnx)
    if targets is not None:
        from bench.targets import targets_section

        text += "\n\n### Targets\n\n" + targets_section(targets)
    print(text)
    if not args.no_write:
        report.write_results(args.out, text)
        print(f"bench: wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
