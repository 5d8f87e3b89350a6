"""Named conv / pool chains for the receptive-field calculator.

The seed-004 tables (AlexNet, VGG16, ZF-5: (kernel, stride, padding) per layer at 224x224) and
the spatial part of every bundled model (its conv / pool layers; activations do not move a
field, and the dense head sees the whole input anyway).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.models.registry import ARCHITECTURES
from app.nn.receptive import WINDOWED_KINDS, LayerGeometry, geometry, geometry_from_dict

# The classic receptive-field tables (as used to explain SPP-net's pooling): name ->
# [(kernel, stride, padding)], layer names. A "pool" name marks
# max pooling (the papers' choice); everything else is a convolution.
CLASSIC_TABLES: dict[str, tuple[str, list[tuple[int, int, int]], list[str]]] = {
    "alexnet": (
        "AlexNet (Krizhevsky et al. 2012), 224x224 input",
        [(11, 4, 0), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 2, 0)],
        ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"],
    ),
    "vgg16": (
        "VGG16 (Simonyan & Zisserman 2014), 224x224 input",
        [(3, 1, 1), (3, 1, 1), (2, 2, 0), (3, 1, 1), (3, 1, 1), (2, 2, 0), (3, 1, 1), (3, 1, 1),
         (3, 1, 1), (2, 2, 0), (3, 1, 1), (3, 1, 1), (3, 1, 1), (2, 2, 0), (3, 1, 1), (3, 1, 1),
         (3, 1, 1), (2, 2, 0)],
        ["conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1", "conv3_2",
         "conv3_3", "pool3", "conv4_1", "conv4_2", "conv4_3", "pool4", "conv5_1", "conv5_2",
         "conv5_3", "pool5"],
    ),
    "zf5": (
        "ZF-5 (Zeiler & Fergus 2013, as in SPP-net), 224x224 input",
        [(7, 2, 3), (3, 2, 1), (5, 2, 2), (3, 2, 1), (3, 1, 1), (3, 1, 1), (3, 1, 1)],
        ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5"],
    ),
}
CLASSIC_INPUT_SIZE = 224


@dataclass(frozen=True)
class Preset:
    id: str
    description: str
    input_size: tuple[int, int]
    layers: tuple[LayerGeometry, ...]


def _classic_preset(preset_id: str) -> Preset:
    description, table, names = CLASSIC_TABLES[preset_id]
    layers = tuple(
        geometry(name, "maxpool2d" if name.startswith("pool") else "conv2d", k, s, p, index=i)
        for i, ((k, s, p), name) in enumerate(zip(table, names, strict=True))
    )
    return Preset(preset_id, description, (CLASSIC_INPUT_SIZE, CLASSIC_INPUT_SIZE), layers)


def geometry_from_spec(spec: list[dict]) -> tuple[LayerGeometry, ...]:
    """The conv / pool layers of an architecture spec (app.nn.spec), in order."""
    layers = []
    for i, entry in enumerate(spec):
        if entry["kind"] not in WINDOWED_KINDS:
            continue
        layers.append(geometry_from_dict(entry, i))
    return tuple(layers)


def _bundled_presets() -> dict[str, Preset]:
    """The bundled chains with convolution or pooling. A graph (a spec naming "inputs", e.g.
    resnet-mini) is no chain, so it is no preset: the inspect API gives its nodes' fields; a
    model with no convolution or pooling (an MLP) has no receptive-field table."""
    chains = {
        arch.id: (arch, geometry_from_spec(arch.spec)) for arch in ARCHITECTURES.values()
        if not any("inputs" in entry for entry in arch.spec)
    }
    return {
        model_id: Preset(model_id, arch.name, tuple(arch.input_shape[1:]), layers)
        for model_id, (arch, layers) in chains.items() if layers
    }


def presets() -> dict[str, Preset]:
    """Every preset by id: the classic tables first, then the bundled convolutional models."""
    return {**{name: _classic_preset(name) for name in CLASSIC_TABLES}, **_bundled_presets()}


def get_preset(preset_id: str) -> Preset:
    """One preset; KeyError naming the known ids for an unknown one."""
    known = presets()
    if preset_id not in known:
        raise KeyError(f"unknown preset {preset_id!r}; known: {', '.join(known)}")
    return known[preset_id]


def load_chain(target: str, input_size=None) -> tuple[tuple[LayerGeometry, ...], object]:
    """A preset id, or the path of a JSON file holding a list of layers (or {"layers": [...],
    "input_size": n or [h, w]}) -> (layers, input size). The input size (n, [n] or [h, w])
    defaults to the preset's or the file's. Raises KeyError, OSError, ValueError or
    InvalidLayer."""
    if isinstance(input_size, (list, tuple)) and len(input_size) == 1:
        input_size = input_size[0]
    if not target.lower().endswith(".json"):
        preset = get_preset(target)
        return preset.layers, preset.input_size if input_size is None else input_size
    with open(target, encoding="utf-8") as handle:
        data = json.load(handle)
    entries = data.get("layers") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{target}: expected a list of layers or {{\"layers\": [...]}}")
    if input_size is None:
        input_size = data.get("input_size") if isinstance(data, dict) else None
    if input_size is None:
        raise ValueError(f"{target}: no input_size in the file; pass --input-size")
    return tuple(geometry_from_dict(entry, i) for i, entry in enumerate(entries)), input_size
