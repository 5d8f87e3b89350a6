"""`convscope inspect IMAGE`: the same pipeline and the same JSON as POST /inspect, with a
per-layer table. `--json -` writes pure JSON to stdout (the table then goes to stderr)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from app.cli_errors import EXIT_OUTPUT, CliError

BLANK_NOTE = (
    "no digit found: the image has no ink after preprocessing (blank input), so the "
    "prediction below means nothing"
)


def number(value: float) -> str:
    """4 significant digits; a tiny value stays visible (2e-07) and zero is never -0."""
    return "0" if value == 0 else f"{value:.4g}"


def _range(tensor: dict | None) -> str:
    return "-" if tensor is None else f"{tensor['min']:>10.4g} {tensor['max']:>10.4g}"


def is_blank(body: dict[str, Any]) -> bool:
    """The response's `blank` flag (or, from an older server, a last step named `blank`)."""
    steps = body.get("preprocessing") or [{}]
    return bool(body.get("blank")) or steps[-1].get("step") == "blank"


def layer_table(body: dict[str, Any]) -> str:
    """The inspect response as text: the prediction, then per layer its output shape and
    the min/max of its activation and of its delta."""
    classes, probs = body["classes"], body["probabilities"]
    lines = [BLANK_NOTE] if is_blank(body) else []
    lines += [
        f"model {body['model']}: prediction {classes[body['prediction']]} "
        f"(p = {probs[body['prediction']]:.4f}), target {classes[body['target']]}, "
        f"loss {number(body['loss'])}",
        f"{'#':>2} {'layer':<10} {'kind':<16} {'output shape':<14} "
        f"{'act min':>10} {'act max':>10} {'delta min':>10} {'delta max':>10}",
    ]
    for layer in body["layers"]:
        shape = "x".join(map(str, layer["output_shape"]))
        lines.append(
            f"{layer['index']:>2} {layer['name']:<10} {layer['kind']:<16} {shape:<14} "
            f"{_range(layer.get('output')):>21} {_range(layer.get('grad_output')):>21}"
        )
    if "input_grad" in body:
        lines.append(f"input gradient: {_range(body['input_grad'])}")
    return "\n".join(lines)


def check_writable(path: str) -> None:
    """Fail now, before any computing, if `path` cannot be written."""
    target = Path(path)
    if target.is_dir():
        raise CliError(f"cannot write {path}: it is a directory", EXIT_OUTPUT)
    parent = target.parent
    if not parent.is_dir():
        raise CliError(f"cannot write {path}: no directory {parent}", EXIT_OUTPUT)
    existed = target.exists()
    try:
        with open(target, "ab"):
            pass
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}", EXIT_OUTPUT) from None
    if not existed:
        target.unlink(missing_ok=True)


def inspect_command(args, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the pipeline on one image file; print the table; write the JSON if asked."""
    from app.services.encoding import parse_include
    from app.services.errors import ApiError
    from app.services.inspect import InspectInput, inspect_image
    from app.settings import Settings

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    to_stdout = args.json == "-"
    if args.json and not to_stdout:
        check_writable(args.json)
    try:
        include = parse_include(args.include)
    except ValueError as exc:
        raise CliError(f"--include: {exc}") from None
    try:
        data = Path(args.image).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.image}: {exc.strerror or exc}") from None
    source = InspectInput(image=data, target=args.target, encoding=args.encoding, include=include)
    try:
        body = inspect_image(args.model, source, Settings.from_env())
    except ApiError as exc:
        raise CliError(f"{args.image}: {exc.message} ({exc.code})") from None
    print(layer_table(body), file=stderr if to_stdout else stdout)
    if args.json:
        payload = json.dumps(body, separators=(",", ":"), allow_nan=False)
        if to_stdout:
            stdout.write(payload + "\n")
            stdout.flush()
        else:
            try:
                Path(args.json).write_text(payload, encoding="utf-8")
            except OSError as exc:
                raise CliError(f"cannot write {args.json}: {exc.strerror}", EXIT_OUTPUT) from None
            print(f"wrote {args.json} ({len(payload)} bytes)", file=stderr)
    return 0


def add_inspect_command(sub) -> None:
    """The `convscope inspect` options (the API's names)."""
    from app.services.encoding import DEFAULT_INCLUDE, ENCODINGS, INCLUDE_PARTS

    parser = sub.add_parser(
        "inspect", help="run one image through a model: prediction and per-layer table",
        description=__doc__,
    )
    parser.add_argument("image", help="an image file: PNG, JPEG, GIF, WebP or BMP")
    parser.add_argument("--model", default="lenet5", help="model id (default: %(default)s)")
    parser.add_argument(
        "--target", type=_class_index, default=None,
        help="class whose loss is back-propagated (default: the prediction)",
    )
    parser.add_argument(
        "--include", action="append", default=None,
        help=f"parts of the trace, comma list or repeated: {', '.join(INCLUDE_PARTS)} "
        f"(default: {','.join(DEFAULT_INCLUDE)})",
    )
    parser.add_argument(
        "--encoding", choices=ENCODINGS, default="base64", help="(default: %(default)s)"
    )
    parser.add_argument(
        "--json", metavar="OUT",
        help="write the API's JSON to OUT ('-': stdout, and the table to stderr)",
    )
    parser.set_defaults(handler=inspect_command)


def _class_index(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; classes start at 0")
    return value

