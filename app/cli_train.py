"""`convscope train`: train a bundled model from scratch and write its weights and card.

With no option but --model, it runs the shipped recipe (app.models.training.RECIPES), so
`make train` reproduces the bundled weights exactly.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TextIO

BAR_WIDTH = 30


def add_train_command(sub) -> None:
    """Register the `train` sub-command on an argparse sub-parsers object."""
    from app.models import ARCHITECTURES

    train = sub.add_parser(
        "train", help="train a bundled model on the bundled MNIST digits",
        description="Train a bundled model from scratch with ConvScope's NumPy core. Options "
                    "left out take the values of the shipped weights' recipe.",
    )
    train.add_argument("--model", required=True, choices=list(ARCHITECTURES))
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--lr", type=float, default=None, help="peak learning rate")
    train.add_argument("--no-augment", action="store_true", help="train without augmentation")
    train.add_argument("--out", default="app/models", help="directory for {id}.npz/{id}.json")
    train.set_defaults(handler=run_train)


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
            f" {progress.batch}/{progress.batches} loss {progress.running_loss:.4f}"
        )
        self.stream.flush()

    def epoch(self, report) -> None:
        held = report.heldout
        prefix = "\r" if self.is_tty else ""
        self.stream.write(
            f"{prefix}epoch {report.epoch:>3}/{self.epochs} [{'#' * BAR_WIDTH}] "
            f"loss {report.train_loss:.4f} acc {report.train_accuracy:.4f} | held-out "
            f"loss {held.loss:.4f} acc {held.accuracy:.4f} ({held.correct}/{held.total}) | "
            f"lr {report.learning_rate:.4f} | {report.seconds:.1f}s\n"
        )
        self.stream.flush()


def run_train(args: argparse.Namespace) -> int:
    from app.models.training import recipe, reproduce_command, save_model, train_model

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
    npz, js = save_model(network, card, Path(args.out))
    held = card["heldout"]
    print(
        f"{args.model}: held-out accuracy {held['accuracy']:.4f} ({held['correct']}/"
        f"{held['total']}), loss {held['loss']:.4f}, {time.perf_counter() - started:.0f}s; "
        f"wrote {npz} and {js}",
        file=sys.stderr,
    )
    return 0
