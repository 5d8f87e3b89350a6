"""`convscope serve | train | inspect IMAGE | rf ARCH`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def _serve(args: argparse.Namespace) -> int:
    from app.server import serve

    return serve(args.host, args.port, args.workers, args.log_level)


def _inspect(args: argparse.Namespace) -> int:
    from app.cli_inspect import inspect_command

    return inspect_command(args)


def _rf(args: argparse.Namespace) -> int:
    from app.nn.presets import load_chain
    from app.nn.receptive import InvalidLayer, format_table, receptive_fields

    try:
        layers, size = load_chain(args.arch, args.input_size)
        print(format_table(layers, receptive_fields(layers, size)))
    except (InvalidLayer, KeyError, OSError, ValueError) as exc:
        print(f"convscope rf: {exc.args[0] if isinstance(exc, KeyError) else exc}",
              file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope", description="Open up a CNN: feature maps, pooling masks and deltas."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app and REST API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=None,
        help="worker processes (default: CONVSCOPE_WORKERS, else the CPUs available)",
    )
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(handler=_serve)

    from app.cli_inspect import add_inspect_arguments

    inspect = sub.add_parser(
        "inspect", help="run one image through a model: prediction and per-layer table"
    )
    add_inspect_arguments(inspect)
    inspect.set_defaults(handler=_inspect)

    rf = sub.add_parser(
        "rf", help="receptive-field table of a preset (alexnet, vgg16, zf5, lenet5, ...) "
        "or a JSON file of layers"
    )
    rf.add_argument("arch", help="a preset id or a .json file: [{kind, kernel_size, ...}]")
    rf.add_argument("--input-size", type=int, nargs="+", metavar="N",
                    help="n or h w (default: the preset's or the file's)")
    rf.set_defaults(handler=_rf)

    from app.cli_train import add_train_command

    add_train_command(sub)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
