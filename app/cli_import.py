"""`convscope import MODEL.onnx`: import an ONNX file into the model store (the directory
CONVSCOPE_MODEL_DIR names, the one the server reads) and print its card: id, input, classes,
totals and the layer table. The same checks and caps as POST /api/v1/models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from app.cli_errors import CliError

MAX_LABELS_BYTES = 1024 * 1024


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or a comma list of "
                                         "numbers") from None
    if not values:
        raise argparse.ArgumentTypeError("give a number, or one per channel (comma list)")
    return values


def read_labels(path: str) -> list[str]:
    """One label a line (blank lines skipped), or a JSON list of strings."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_LABELS_BYTES + 1)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_LABELS_BYTES:
        raise CliError(f"{path}: more than {MAX_LABELS_BYTES:,} bytes of labels")
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8 text") from None
    if text.startswith("["):
        try:
            labels = json.loads(text)
        except ValueError:
            labels = None
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise CliError(f"{path}: starts with '[' but is not a JSON list of strings")
        return labels
    return [line.strip() for line in text.splitlines() if line.strip()]


def card_text(card: dict[str, Any], created: bool) -> str:
    spec = card["input"]
    lines = [
        f"{'stored' if created else 'already stored'}: {card['id']}  {card['name']}",
        f"sha256 {card['sha256']}",
        f"input {'x'.join(map(str, spec['shape']))} float32"
        + (f", mean {spec['mean']}, std {spec['std']}, {spec['colour_order']}"
           if "mean" in spec else ""),
        f"classes ({len(card['classes'])}): {', '.join(card['classes'][:12])}"
        + (" ..." if len(card["classes"]) > 12 else ""),
        f"{card['nodes']} layers, {card['parameters']:,} parameters, "
        f"{card['macs']:,} multiply-accumulates per image",
        f"{'layer':<24} {'kind':<18} {'output shape':<16} {'parameters':>12} {'MACs':>14}",
    ]
    for layer in card["layers"]:
        shape = "x".join(map(str, layer["output_shape"]))
        lines.append(f"{layer['name'][:24]:<24} {layer['kind']:<18} {shape:<16} "
                     f"{layer['parameters']:>12,} {layer['macs']:>14,}")
    lines.append(f"inspect it: convscope inspect IMAGE --model {card['id']}")
    return "\n".join(lines)


def import_command(args, stdout: TextIO | None = None) -> int:
    from app.services.errors import ApiError
    from app.services.models import store_onnx

    stdout = stdout or sys.stdout
    try:
        data = Path(args.model).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.model}: {exc.strerror or exc}") from None
    classes = read_labels(args.classes) if args.classes else None
    spec: dict[str, Any] = {}
    if args.mean is not None:
        spec["mean"] = args.mean
    if args.std is not None:
        spec["std"] = args.std
    if args.colour_order is not None:
        spec["colour_order"] = args.colour_order
    try:
        card, created = store_onnx(data, name=args.name, classes=classes,
                                   input_spec=spec or None)
    except ApiError as exc:
        raise CliError(f"{args.model}: {exc.message} ({exc.code})") from None
    print(json.dumps(card) if args.json else card_text(card, created), file=stdout)
    return 0


def add_import_command(sub) -> None:
    parser = sub.add_parser(
        "import", help="import an ONNX model into the model store and print its card",
        description=__doc__,
    )
    parser.add_argument("model", help="an .onnx file (weights inside it)")
    parser.add_argument("--classes", metavar="LABELS",
                        help="a text file with one class label a line (or a JSON list)")
    parser.add_argument("--name", help="a display name")
    parser.add_argument("--mean", type=_floats, default=None,
                        help="input mean: one number or one per channel (comma list); the "
                        "network sees (pixel in [0, 1] - mean) / std")
    parser.add_argument("--std", type=_floats, default=None,
                        help="input standard deviation: one number or one per channel")
    parser.add_argument("--colour-order", choices=("rgb", "bgr"), default=None,
                        help="channel order of 3-channel inputs (default: rgb)")
    parser.add_argument("--json", action="store_true", help="print the card as JSON")
    parser.set_defaults(handler=import_command)
