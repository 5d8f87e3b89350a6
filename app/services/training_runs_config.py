"""A training run's config: the architecture resolved to a layer spec and checked against the
dataset, with a clear 422 for anything that cannot train."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.services.errors import ApiError

MAX_SPEC_LAYERS = 64
MAX_PARAMETERS = 2_000_000
MAX_LAYER_SIZE = 50_000_000
MAX_ACTIVATION_VALUES = 400_000  # per image, summed over layers: bounds a step's memory


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    input_shape: tuple[int, int, int]
    classes: tuple[str, ...]
    train_size: int


def dataset_info(name: str) -> DatasetInfo:
    if name == "digits":
        from app.data import split_indices

        return DatasetInfo("digits", (1, 28, 28), tuple(str(d) for d in range(10)),
                           len(split_indices()[0]))
    if name == "colour-shapes":
        from app.data.colour_shapes import CLASSES, colour_split

        return DatasetInfo("colour-shapes", (3, 20, 20), tuple(CLASSES), len(colour_split()[0]))
    raise ApiError(422, "invalid_input", f"unknown dataset {name!r}; known: digits, colour-shapes",
                   field="dataset")


def load_dataset(name: str):
    """(train images, train labels, held-out images, held-out labels) as float32 NCHW in
    [0, 1] and int labels."""
    if name == "digits":
        from app.data import split_indices
        from app.models.training import prepared_digits

        images, labels = prepared_digits()
        train_idx, heldout_idx = split_indices()
    else:
        from app.data.colour_shapes import colour_split
        from app.models.colour_training import prepared

        images, labels = prepared()
        train_idx, heldout_idx = colour_split()
    return images[train_idx], labels[train_idx], images[heldout_idx], labels[heldout_idx]


def bundled_architectures() -> dict[str, tuple[list[dict], str]]:
    """Bundled model id -> (layer spec, dataset it fits)."""
    from app.models.colour_training import MODEL_ID, SPEC
    from app.models.registry import ARCHITECTURES

    out = {arch_id: (arch.spec, "digits") for arch_id, arch in ARCHITECTURES.items()}
    out[MODEL_ID] = (SPEC, "colour-shapes")
    return out


def _size_bound(layer: dict) -> int:
    """The product of a layer's integer arguments: a bound of its parameter count, checked
    before anything is allocated."""
    product = 1
    for value in layer.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int) and not isinstance(item, bool) and item > 1:
                product *= item
                if product > MAX_LAYER_SIZE:
                    return product
    return product


def bundled_spec(architecture: str, dataset: DatasetInfo) -> list[dict]:
    """The layer spec of a bundled model, if it fits the dataset; else 422."""
    bundled = bundled_architectures()
    if architecture not in bundled:
        raise _invalid(f"unknown architecture {architecture[:40]!r}; bundled: "
                       f"{', '.join(bundled)}", known=list(bundled))
    spec, fits = bundled[architecture]
    if fits != dataset.name:
        raise _invalid(f"{architecture} is built for the {fits} dataset, not {dataset.name}")
    return spec


def _invalid(message: str, field: str = "architecture", **details: Any) -> ApiError:
    return ApiError(422, "invalid_architecture" if field == "architecture" else "invalid_input",
                    message, field=field, **details)


def build_network(spec: list[dict], dataset: DatasetInfo, seed: int = 0):
    """The spec's network, seeded, after checking that it maps the dataset's images to one
    score per class. Returns (network, [(name, kind, output shape, parameters)])."""
    from app.nn import from_spec

    if not isinstance(spec, list) or not spec:
        raise _invalid("the layer spec must be a non-empty list of layers")
    if len(spec) > MAX_SPEC_LAYERS:
        raise _invalid(f"the layer spec has {len(spec)} layers; the limit is {MAX_SPEC_LAYERS}")
    for index, layer in enumerate(spec):
        if not isinstance(layer, dict):
            raise _invalid(f"layer {index} must be an object such as {{\"kind\": \"relu\"}}",
                           layer=index)
        if _size_bound(layer) > MAX_LAYER_SIZE:
            raise _invalid(f"layer {index} ({str(layer.get('kind'))[:40]}) is too large: its "
                           f"sizes multiply to more than {MAX_LAYER_SIZE:,}", layer=index)
    try:
        network = from_spec(spec, rng=seed)
    except ApiError:
        raise
    except Exception as exc:  # the core's messages name the layer and the argument
        raise _invalid(f"the layer spec is not valid: {exc}") from None
    if network.parameter_count > MAX_PARAMETERS:
        raise _invalid(f"the network has {network.parameter_count:,} parameters; the limit is "
                       f"{MAX_PARAMETERS:,}")
    if not any(layer.params for layer in network.layers):
        raise _invalid("the network has no trainable parameters")
    try:
        shapes = network.shapes((1, *dataset.input_shape))
    except Exception as exc:
        raise _invalid(f"the layers do not fit the {dataset.name} images "
                       f"{list(dataset.input_shape)}: {exc}") from None
    activations = sum(math.prod(out[1:]) for _, out in shapes)
    if activations > MAX_ACTIVATION_VALUES:
        raise _invalid(f"the layers produce {activations:,} values per image; the limit is "
                       f"{MAX_ACTIVATION_VALUES:,}")
    try:  # shapes() trusts declared sizes (in_features); one image through the layers checks
        with np.errstate(all="ignore"):
            network.predict(np.zeros((1, *dataset.input_shape), np.float32))
    except Exception as exc:
        raise _invalid(f"the layers do not fit the {dataset.name} images "
                       f"{list(dataset.input_shape)}: {exc}") from None
    final = tuple(shapes[-1][1])
    if final != (1, len(dataset.classes)):
        raise _invalid(
            f"the last layer must output one score per class: shape [{len(dataset.classes)}] "
            f"for {dataset.name}, got {list(final[1:])}"
        )
    layers = [(name, layer.kind, list(out[1:]), layer.parameter_count)
              for (name, layer, _), (_, out) in zip(network.nodes, shapes, strict=True)]
    return network, layers


def resolve(request: dict[str, Any], max_epochs: int) -> dict[str, Any]:
    """The run's full config from the request (defaults filled in by the schema): the
    architecture as a spec plus `architecture_id`, checked. Raises ApiError 422."""
    config = dict(request)
    dataset = dataset_info(config["dataset"])
    architecture = config["architecture"]
    if isinstance(architecture, str):
        spec = bundled_spec(architecture, dataset)
        config["architecture_id"] = architecture
    else:
        spec = architecture
        config["architecture_id"] = None
    if config["epochs"] > max_epochs:
        raise ApiError(422, "invalid_input", f"epochs is {config['epochs']}; the limit is "
                       f"{max_epochs}", field="epochs", limit=max_epochs)
    limit = config.get("train_examples")
    if limit is not None and limit > dataset.train_size:
        config["train_examples"] = dataset.train_size
    network, _ = build_network(spec, dataset, config["seed"])
    from app.nn import to_spec

    config["spec"] = to_spec(network)
    config["parameters"] = network.parameter_count
    return config


def steps_per_epoch(config: dict[str, Any]) -> int:
    n = config.get("train_examples") or dataset_info(config["dataset"]).train_size
    return math.ceil(n / config["batch_size"])


def lr_at(config: dict[str, Any], step: int, total_steps: int) -> float:
    """The learning rate of step `step` (0-based) of total_steps."""
    base = config["optimizer"]["lr"]
    schedule = config["schedule"]
    warmup = schedule["warmup_steps"]
    if step < warmup:
        return base * (step + 1) / warmup
    if schedule["name"] == "cosine":
        progress = (step - warmup) / max(1, total_steps - warmup)
        return base * 0.5 * (1 + math.cos(math.pi * progress))
    if schedule["name"] == "step":
        epoch = step // max(1, total_steps // max(1, configured_epochs(config)))
        return base * schedule["gamma"] ** (epoch // schedule["step_epochs"])
    return base


def configured_epochs(config: dict[str, Any]) -> int:
    return int(config["epochs"])


def as_float(value: float) -> float | None:
    """JSON has no NaN or infinity: those become null."""
    value = float(value)
    return value if np.isfinite(value) else None
