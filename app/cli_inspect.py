"""`convscope inspect IMAGE`: the inspect pipeline (app.services.inspect) from the command
line, printing a per-layer table and optionally the API's JSON. Imports no router."""

from __future__ import annotations

import sys
from typing import Any

from app.api.encoding import DEFAULT_INCLUDE, ENCODINGS, INCLUDE_PARTS, parse_include
from app.services.errors import ApiError
from app.services.inspect import InspectInput, inspect_image, to_json_bytes
from app.settings import Settings


def _include(values) -> tuple[str, ...]:
    try:
        return parse_include(values)
    except ValueError as exc:
        raise ApiError(422, "invalid_include", str(exc), field="include") from None


def _range(tensor: dict | None) -> str:
    return "-" if tensor is None else f"{tensor['min']:>10.4g} {tensor['max']:>10.4g}"


def layer_table(body: dict[str, Any]) -> str:
    """The inspect response as text: the prediction, then per layer its output shape and
    the min/max of its activation and of its delta."""
    classes = body["classes"]
    probs = body["probabilities"]
    lines = [
        f"model {body['model']}: prediction {classes[body['prediction']]} "
        f"(p = {probs[body['prediction']]:.4f}), target {classes[body['target']]}, "
        f"loss {body['loss']:.4f}",
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


def inspect_command(args) -> int:
    """`convscope inspect IMAGE [--model M] [--target T] [--include ...] [--encoding E]
    [--json OUT]`: the same pipeline and the same JSON as POST /inspect."""
    from pathlib import Path

    settings = Settings.from_env()
    try:
        data = Path(args.image).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.image}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        source = InspectInput(
            image=data, target=args.target, encoding=args.encoding,
            include=_include(args.include),
        )
        body = inspect_image(args.model, source, settings)
    except ApiError as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    print(layer_table(body))
    if args.json:
        payload = to_json_bytes(body)
        if args.json == "-":
            sys.stdout.buffer.write(payload + b"\n")
        else:
            Path(args.json).write_bytes(payload)
            print(f"wrote {args.json} ({len(payload)} bytes)")
    return 0


def add_inspect_arguments(parser) -> None:
    """The `convscope inspect` options (the API's names)."""
    parser.add_argument("image", help="an image file: PNG, JPEG, GIF, WebP or BMP")
    parser.add_argument("--model", default="lenet5", help="model id (default: lenet5)")
    parser.add_argument(
        "--target", type=int, default=None,
        help="class whose loss is back-propagated (default: the prediction)",
    )
    parser.add_argument(
        "--include", action="append", default=None,
        help=f"parts of the trace, comma list or repeated: {', '.join(INCLUDE_PARTS)} "
        f"(default: {','.join(DEFAULT_INCLUDE)})",
    )
    parser.add_argument("--encoding", choices=ENCODINGS, default="base64")
    parser.add_argument("--json", metavar="OUT", help="write the API's JSON here ('-': stdout)")
