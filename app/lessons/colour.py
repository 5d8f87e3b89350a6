"""Channels in colour: a convolution over a 3-channel input is three 2-D correlations, one per
channel, summed, plus the bias.

For an image (3, H, W) and one kernel (3, k, k), output = Σ_c corr(image[c], kernel[c]) + b.
Each correlation is computed by the core's Conv2d on one channel; their sum plus the bias is
checked against the core's Conv2d on all three channels at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.data.colour_shapes import CLASSES, colour_split, load_colour_shapes
from app.models.colour_training import load_colour_cnn
from app.nn.layers import Conv2d
from app.nn.losses import softmax


def channel_correlations(image: np.ndarray, kernel: np.ndarray, bias: float,
                         padding: int = 0) -> dict[str, np.ndarray]:
    """image (C, H, W), kernel (C, k, k): per-channel correlations (C, h, w), their sum
    (h, w), sum + bias, and the core's C-channel Conv2d output (h, w), all float64."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    channels, k = kernel.shape[0], kernel.shape[-1]
    per_channel = []
    for c in range(channels):
        single = Conv2d(1, 1, k, padding=padding, bias=False, dtype=np.float64)
        single.params["weight"] = kernel[c][None, None].copy()
        per_channel.append(single.forward(image[c][None, None])[0][0, 0])
    per = np.stack(per_channel)
    full = Conv2d(channels, 1, k, padding=padding, dtype=np.float64)
    full.params["weight"] = kernel[None].copy()
    full.params["bias"] = np.array([bias], dtype=np.float64)
    core = full.forward(image[None])[0][0, 0]
    total = per.sum(axis=0)
    return {"per_channel": per, "sum": total, "output": total + bias, "core_output": core}


def classic_example(seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The classic 6x6x3 image * 3x3x3 kernel -> 4x4x1: small integers (pixels 0..4, kernel
    -1..1, bias 1) from `seed`, so every number can be checked by hand."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 5, size=(3, 6, 6)).astype(np.float64)
    kernel = rng.integers(-1, 2, size=(3, 3, 3)).astype(np.float64)
    return image, kernel, 1.0


def model_example(sample: int, unit: int) -> dict[str, Any]:
    """The colour CNN's conv1 unit `unit` on held-out image `sample` (padding 1, as the model
    runs it), with the model's prediction. IndexError for an unknown sample or unit."""
    network, card = load_colour_cnn()
    images, labels = load_colour_shapes()
    _, heldout = colour_split()
    index = heldout[sample]
    conv1 = network.layers[network.names.index("conv1")]
    if not 0 <= unit < conv1.out_channels:
        raise IndexError(unit)
    x = images[index].astype(np.float64) / 255.0
    weight = conv1.params["weight"][unit].astype(np.float64)
    bias = float(conv1.params["bias"][unit])
    parts = channel_correlations(x, weight, bias, padding=conv1.padding[0])
    probs = softmax(network.predict(x[None].astype(np.float32)).astype(np.float64))[0]
    return {"image": x, "kernel": weight, "bias": bias, **parts,
            "label": int(labels[index]), "prediction": int(probs.argmax()),
            "probability": float(probs.max()), "card": card}


def gallery(per_class: int) -> list[dict[str, Any]]:
    """The first `per_class` held-out images of every class (uint8 (3, 20, 20)) with the
    model's prediction; `sample` is the held-out position model_example takes."""
    network, _ = load_colour_cnn()
    images, labels = load_colour_shapes()
    _, heldout = colour_split()
    picks = [i for i, index in enumerate(heldout)
             if np.count_nonzero(labels[heldout[:i]] == labels[index]) < per_class]
    x = images[heldout[picks]].astype(np.float32) / 255.0
    probs = softmax(network.predict(x).astype(np.float64))
    return [{"sample": int(i), "label": int(labels[heldout[i]]),
             "class": CLASSES[labels[heldout[i]]], "prediction": int(p.argmax()),
             "probability": float(p.max()), "image": images[heldout[i]]}
            for i, p in zip(picks, probs, strict=True)]
