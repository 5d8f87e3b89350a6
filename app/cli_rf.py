"""`convscope rf ARCH [--input-size N [N]]`: the receptive-field table of a preset or of a
JSON file of layers.

The file is a list of layers, or an object {"input_size": n or [h, w], "layers": [...]}.
A layer is {"name"?, "kind"?, "kernel_size", "stride"?, "padding"?, "dilation"?,
"ceil_mode"?}: `kind` is conv2d (the default), maxpool2d or avgpool2d; sizes are an int or
an [h, w] pair; stride defaults to 1 for conv2d and to the kernel size for pooling.
Anything else in the file is refused with a message naming the file and the layer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.cli_errors import CliError

LAYER_KEYS = ("name", "kind", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
FILE_KEYS = ("input_size", "layers")


def _layer_label(index: int, entry: dict[str, Any]) -> str:
    name = entry.get("name")
    return f"layer {index}" + (f" ({name})" if isinstance(name, str) and name else "")


def read_layer_file(path: str) -> tuple[list[dict[str, Any]], Any]:
    """The file's layers (dicts, checked for unknown keys and kinds) and its input size (or
    None). Raises CliError naming the file."""
    from app.nn.receptive import WINDOWED_KINDS

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"cannot read {path}: {problem}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    input_size = None
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(FILE_KEYS))
        if unknown:
            raise CliError(
                f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; a layer file is a "
                f"list of layers or an object with {', '.join(FILE_KEYS)}"
            )
        input_size, data = data.get("input_size"), data.get("layers")
    if not isinstance(data, list):
        raise CliError(f"{path}: expected a list of layers or {{\"layers\": [...]}}")
    if not data:
        raise CliError(f"{path}: the layer list is empty; give at least one layer")
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise CliError(f"{path}: layer {index} is not an object: {json.dumps(entry)[:40]}")
        where = f"{path}: {_layer_label(index, entry)}"
        unknown = sorted(set(entry) - set(LAYER_KEYS))
        if unknown:
            raise CliError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(LAYER_KEYS)}"
            )
        kind = entry.get("kind", "conv2d")
        if kind not in WINDOWED_KINDS:
            raise CliError(
                f"{where}: kind {kind!r} is not supported here; receptive fields are computed "
                f"for {', '.join(WINDOWED_KINDS)} (a flatten or linear layer sees the whole "
                "input)"
            )
    return data, input_size


def rf_command(args) -> int:
    """Print the table; raise CliError for anything wrong with the arguments or the file."""
    from app.models.presets import load_chain
    from app.nn.receptive import InvalidLayer, format_table, geometry_from_dict, receptive_fields

    size = args.input_size
    if size is not None and len(size) == 1:
        size = size[0]
    try:
        if args.arch.lower().endswith(".json") or Path(args.arch).is_file():
            entries, file_size = read_layer_file(args.arch)
            layers = [geometry_from_dict(entry, i) for i, entry in enumerate(entries)]
            size = file_size if size is None else size
            if size is None:
                raise CliError(f"{args.arch}: no input_size in the file; pass --input-size")
        else:
            layers, size = load_chain(args.arch, size)
        print(format_table(layers, receptive_fields(layers, size)))
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    except InvalidLayer as exc:
        raise CliError(f"{args.arch}: {exc}") from None
    return 0


def add_rf_command(sub) -> None:
    rf = sub.add_parser(
        "rf", help="receptive-field table of a preset (alexnet, vgg16, zf5, lenet5, ...) "
        "or a JSON file of layers",
        description=__doc__.split("\n\n", 1)[1],
    )
    rf.add_argument("arch", help="a preset id or a .json file of layers")
    rf.add_argument(
        "--input-size", type=_side, nargs="+", metavar="N",
        help="n or h w (default: the preset's or the file's input_size)",
    )
    rf.set_defaults(handler=rf_command)


def _side(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value

