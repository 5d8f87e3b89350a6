"""`convscope serve | train | inspect IMAGE | import MODEL.onnx | rf ARCH`.

Every mistake is reported in one line on stderr with a documented exit code
(app.cli_errors), never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from app.cli_errors import (
    EXIT_CODES_HELP,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    CliError,
)

Command = Callable[[argparse.Namespace], int]
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: `convscope serve: error: ...`."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def bounded_int(lowest: int, highest: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < lowest or (highest is not None and value > highest):
            bound = f"between {lowest} and {highest}" if highest is not None else (
                f"at least {lowest}")
            raise argparse.ArgumentTypeError(f"{value} must be {bound}")
        return value

    return parse


def _serve(args: argparse.Namespace) -> int:
    from app.server import serve

    return serve(args.host, args.port, args.workers, args.log_level)


def add_serve_command(sub) -> None:
    serve = sub.add_parser(
        "serve", help="serve the web app and REST API",
        description="Serve the web app and the REST API with uvicorn.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    serve.add_argument(
        "--port", type=bounded_int(1, 65535), default=8000, help="port (default: %(default)s)"
    )
    serve.add_argument(
        "--workers", type=bounded_int(1), default=None,
        help="worker processes (default: CONVSCOPE_WORKERS, else the CPUs available)",
    )
    serve.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", help="(default: %(default)s)"
    )
    serve.set_defaults(handler=_serve)


def build_parser() -> argparse.ArgumentParser:
    from app.cli_import import add_import_command
    from app.cli_inspect import add_inspect_command
    from app.cli_rf import add_rf_command
    from app.cli_train import add_train_command

    parser = Parser(
        prog="convscope", description="Open up a CNN: feature maps, pooling masks and deltas.",
        epilog=EXIT_CODES_HELP,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_serve_command(sub)
    add_inspect_command(sub)
    add_import_command(sub)
    add_rf_command(sub)
    add_train_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (argparse's --help and usage errors too)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    handler: Command = args.handler
    try:
        return handler(args)
    except CliError as exc:
        print(f"convscope {args.command}: {exc.message}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"convscope {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last resort: one line, never a traceback
        print(
            f"convscope {args.command}: internal error: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
