"""`convscope train`: train a bundled model from scratch and write its weights and card.

With no option but --model, it runs the shipped recipe (app.models.training.RECIPES), so
`make train` reproduces the bundled weights exactly.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from app.cli_errors import EXIT_OUTPUT, CliError

BAR_WIDTH = 30


def add_train_command(sub) -> None:
    """Register the `train` sub-command on an argparse sub-parsers object."""
    from app.cli import bounded_int
    from app.models import ARCHITECTURES

    train = sub.add_parser(
        "train", help="train a bundled model on the bundled MNIST digits",
        description="Train a bundled model from scratch with ConvScope's NumPy core. Options "
                    "left out take the values of the shipped weights' recipe.",
    )
    train.add_argument("--model", required=True, choices=list(ARCHITECTURES))
    train.add_argument("--epochs", type=bounded_int(1), default=None,
                       help="at least 1 (default: the recipe's)")
    train.add_argument("--seed", type=bounded_int(0), default=None,
                       help="(default: the recipe's)")
    train.add_argument("--batch-size", type=bounded_int(1), default=None,
                       help="at least 1 (default: the recipe's)")
    train.add_argument("--lr", type=positive_float, default=None,
                       help="peak learning rate, > 0 (default: the recipe's)")
    train.add_argument("--no-augment", action="store_true", help="train without augmentation")
    train.add_argument("--out", default="app/models",
                       help="directory for {id}.npz/{id}.json, checked before training "
                       "(default: %(default)s)")
    train.set_defaults(handler=run_train)


def _loss(value: float) -> str:
    """A loss with 4 decimals, or 4 significant digits when smaller (never -0.0000)."""
    return "0" if value == 0 else f"{value:.4f}" if abs(value) >= 1e-3 else f"{value:.3g}"


class ProgressBar:
    """A one-line text progress bar per epoch on a stream (stderr)."""

    def __init__(self, epochs: int, stream: TextIO | None = None):
        # Looked up per call, not bound at import: sys.stderr may be replaced (pytest, tools).
        stream = sys.stderr if stream is None else stream
        self.epochs, self.stream = epochs, stream
        self.is_tty = stream.isatty()

    def batch(self, progress) -> None:
        # Redrawing with \r only makes sense on a terminal; logs get the epoch lines only.
        if not self.is_tty:
            return
        filled = round(BAR_WIDTH * progress.batch / progress.batches)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stream.write(
            f"\repoch {progress.epoch:>3}/{self.epochs} [{bar}]"
            f" {progress.batch}/{progress.batches} loss {_loss(progress.running_loss)}"
        )
        self.stream.flush()

    def epoch(self, report) -> None:
        held = report.heldout
        prefix = "\r" if self.is_tty else ""
        self.stream.write(
            f"{prefix}epoch {report.epoch:>3}/{self.epochs} [{'#' * BAR_WIDTH}] "
            f"loss {_loss(report.train_loss)} acc {report.train_accuracy:.4f} | held-out "
            f"loss {_loss(held.loss)} acc {held.accuracy:.4f} ({held.correct}/{held.total}) | "
            f"lr {report.learning_rate:.4f} | {report.seconds:.1f}s\n"
        )
        self.stream.flush()


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number above 0")
    return value


def check_out_dir(out: str) -> Path:
    """Create `out` if needed and prove a file can be written there, before any training."""
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".convscope-write-check-"):
            pass
    except OSError as exc:
        raise CliError(f"cannot write to {out}: {exc.strerror or exc}", EXIT_OUTPUT) from None
    return path


def run_train(args: argparse.Namespace) -> int:
    from app.models.training import recipe, reproduce_command, save_model, train_model
    from app.nn.memory import keep_freed_memory

    out = check_out_dir(args.out)
    keep_freed_memory()  # batch after batch reuses freed blocks (no page faults): 8-17 % CPU

    config = recipe(
        args.model, epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
        learning_rate=args.lr,
    )
    if args.no_augment:
        config = replace(config, augment=None)
    bar = ProgressBar(config.epochs)
    print(f"training {args.model}: {config.as_dict()}", file=sys.stderr)
    started = time.perf_counter()
    network, card, _ = train_model(args.model, config, on_epoch=bar.epoch, on_batch=bar.batch)
    card["reproduce"] = reproduce_command(args.model, config, args.out)
    try:
        npz, js = save_model(network, card, out)
    except OSError as exc:
        raise CliError(f"cannot write to {args.out}: {exc.strerror or exc}", EXIT_OUTPUT) from None
    held = card["heldout"]
    print(
        f"{args.model}: held-out accuracy {held['accuracy']:.4f} ({held['correct']}/"
        f"{held['total']}), loss {_loss(held['loss'])}, {time.perf_counter() - started:.0f}s; "
        f"wrote {npz} and {js}",
        file=sys.stderr,
    )
    return 0
