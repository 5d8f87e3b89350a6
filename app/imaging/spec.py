"""A model's input spec, and an image prepared for it, with every step shown.

An input spec says what a network takes:
    {"channels": 1 | 3, "height": H, "width": W, "mean": [..], "std": [..],
     "colour_order": "rgb" | "bgr", "kind": "digit" | "image"}
`mean` and `std` have one value per input channel, in the network's channel order, on pixels
scaled to [0, 1].

`prepare_for_spec(image, spec)` is the one preprocessing of an image for any model:
- kind "digit" (1-channel digit models, the bundled ones included): the MNIST recipe
  (`recipe.preprocess`, unchanged), then, for a model whose input is not 28x28, the 28x28
  result resized (bilinear) to H x W;
- kind "image": the picture keeps its colour (RGB for 3 channels; grey for 1; transparency
  composited on white). Resize the shorter side, then centre-crop: the centred box of the
  model's aspect ratio is cut out (the shorter side kept whole, the longer one trimmed evenly
  on both sides) and scaled to exactly H x W (Lanczos). Nothing is stretched or padded.
Then pixels are scaled to [0, 1], put in the network's channel order (BGR reversed), and
normalised per channel: (x - mean) / std.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from app.imaging.recipe import MNIST_SIDE, preprocess

KINDS = ("digit", "image")
COLOUR_ORDERS = ("rgb", "bgr")
MAX_SIDE = 1024


@dataclass(frozen=True)
class InputSpec:
    """What a network takes: see the module docstring. Build one with `input_spec_from`."""

    channels: int
    height: int
    width: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    colour_order: str = "rgb"
    kind: str = "image"

    @property
    def identity(self) -> bool:
        """No normalisation: mean 0 and std 1 on every channel."""
        return all(m == 0 for m in self.mean) and all(s == 1 for s in self.std)

    def as_dict(self) -> dict[str, Any]:
        return {
            "channels": self.channels, "height": self.height, "width": self.width,
            "mean": list(self.mean), "std": list(self.std),
            "colour_order": self.colour_order, "kind": self.kind,
        }


def input_spec_from(
    raw: dict[str, Any] | InputSpec | None, input_shape: tuple[int, int, int] | list[int]
) -> InputSpec:
    """The input spec of a network taking `input_shape` (C, H, W): `raw`'s fields where given,
    else derived from the shape (mean 0, std 1, RGB; kind "digit" for 1 channel, "image" for
    3). Raises ValueError naming the field that disagrees with the shape or is invalid."""
    if isinstance(raw, InputSpec):
        raw = raw.as_dict()
    raw = dict(raw or {})
    c, h, w = (int(v) for v in input_shape)
    channels = int(raw.get("channels", c))
    height, width = int(raw.get("height", h)), int(raw.get("width", w))
    if (channels, height, width) != (c, h, w):
        raise ValueError(
            f"input spec {channels}x{height}x{width} does not match the network's input "
            f"{c}x{h}x{w}"
        )
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise ValueError(f"height and width must lie in 1..{MAX_SIDE}, got {height}x{width}")
    mean = _per_channel(raw.get("mean"), 0.0, channels, "mean")
    std = _per_channel(raw.get("std"), 1.0, channels, "std")
    if any(s <= 0 for s in std):
        raise ValueError(f"std must be positive, got {list(std)}")
    order = str(raw.get("colour_order") or "rgb").lower()
    if order not in COLOUR_ORDERS:
        raise ValueError(f"colour_order must be 'rgb' or 'bgr', got {order!r}")
    kind = str(raw.get("kind") or ("digit" if channels == 1 else "image"))
    if kind not in KINDS:
        raise ValueError(f"kind must be 'digit' or 'image', got {kind!r}")
    if kind == "digit" and channels != 1:
        raise ValueError("kind 'digit' needs a 1-channel input")
    return InputSpec(channels, height, width, mean, std, order, kind)


def _per_channel(value: Any, default: float, channels: int, name: str) -> tuple[float, ...]:
    if value is None:
        return (default,) * channels
    values = [value] if isinstance(value, (int, float)) else list(value)
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise ValueError(f"{name} needs {channels} value(s), one per channel; got {len(values)}")
    out = tuple(float(v) for v in values)
    if not all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite numbers")
    return out


def normalise(pixels: np.ndarray, spec: InputSpec) -> np.ndarray:
    """float32 (..., C, H, W) in [0, 1], channels in the network's order -> (x - mean) / std
    per channel, float32. Returns `pixels` itself when the spec normalises nothing."""
    if spec.identity:
        return pixels
    mean = np.asarray(spec.mean, np.float32)[:, None, None]
    std = np.asarray(spec.std, np.float32)[:, None, None]
    return ((pixels - mean) / std).astype(np.float32)


@dataclass
class Prepared:
    """An image prepared for a model.

    input: float32 (C, H, W), the network input: normalised, in the network's channel order.
    pixels: float32 (C, H, W) in [0, 1], the same before normalisation (what `Model.prepare`
        takes: it applies the normalisation itself).
    steps: (name, uint8 (h, w) or (h, w, 3) RGB) in order: the digit recipe's steps (then
        "resized"), or "colour"/"grayscale", "cropped" (when the aspect ratios differ),
        "resized" (the H x W the network sees).
    blank: a digit model's recipe found no ink (`input` is the normalised zeros).
    """

    input: np.ndarray
    pixels: np.ndarray
    steps: list[tuple[str, np.ndarray]] = field(default_factory=list)
    blank: bool = False
    inverted: bool = False


def _as_image(image: Image.Image | np.ndarray, channels: int) -> Image.Image:
    """A PIL image, or uint8 (H, W) / (H, W, 3) / (3, H, W) -> PIL "RGB" (3) or "L" (1)."""
    if not isinstance(image, Image.Image):
        arr = np.asarray(image)
        if arr.dtype != np.uint8 or arr.size == 0:
            raise ValueError(f"expected a uint8 image, got {arr.dtype} {arr.shape}")
        if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[2] not in (1, 3):
            arr = np.moveaxis(arr, 0, -1)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
            raise ValueError(f"expected (H, W) or (H, W, 3), got {arr.shape}")
        image = Image.fromarray(np.ascontiguousarray(arr))
    if image.mode in ("LA", "RGBA", "PA", "P"):
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    return image.convert("RGB" if channels == 3 else "L")


def crop_box(size: tuple[int, int], height: int, width: int) -> tuple[float, float, float, float]:
    """(left, top, right, bottom), in source pixels, of the largest centred box of the target's
    aspect ratio inside an image of `size` (width, height)."""
    w, h = size
    if w * height > h * width:  # wider than the target: cut the sides
        crop_w, crop_h = h * width / height, float(h)
    else:  # taller (or the same ratio): cut top and bottom
        crop_w, crop_h = float(w), w * height / width
    left, top = (w - crop_w) / 2, (h - crop_h) / 2
    return left, top, left + crop_w, top + crop_h


def cover_and_crop(image: Image.Image, height: int, width: int) -> tuple[Image.Image, Image.Image]:
    """(cropped, resized): the centred box of the target's aspect ratio (the shorter side
    kept whole, the longer one cut evenly on both sides), then that box scaled to exactly
    height x width (Lanczos). Work is bounded by the target's size, whatever the image's."""
    box = crop_box(image.size, height, width)
    left, top, right, bottom = box  # the step's picture: whole pixels, at least one
    cropped = image.crop((math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)))
    resized = image.resize((width, height), Image.Resampling.LANCZOS, box=box)
    return cropped, resized


def _pixels(image: Image.Image, spec: InputSpec) -> np.ndarray:
    """A PIL image of the spec's size -> float32 (C, H, W) in [0, 1], network channel order."""
    arr = np.asarray(image, dtype=np.float32) / 255.0
    chw = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    if spec.colour_order == "bgr":
        chw = chw[::-1]
    return np.ascontiguousarray(np.clip(chw, 0.0, 1.0), dtype=np.float32)


def prepare_for_spec(image: Image.Image | np.ndarray, spec: InputSpec) -> Prepared:
    """A decoded picture (PIL image, or uint8 (H, W), (H, W, 3) or (3, H, W)) -> the network
    input for `spec`, with every step's image (see the module docstring). Always the spec's
    shape, always finite; never raises for a valid image of any size from 1x1 up."""
    if spec.kind == "digit":
        recipe = preprocess(_as_image(image, 1))
        steps = list(recipe.steps)
        final = recipe.input[0]
        if (spec.height, spec.width) != (MNIST_SIDE, MNIST_SIDE) and not recipe.blank:
            resized = Image.fromarray(np.rint(final * 255).astype(np.uint8)).resize(
                (spec.width, spec.height), Image.Resampling.BILINEAR
            )
            steps.append(("resized", np.asarray(resized)))
            pixels = np.asarray(resized, np.float32)[None] / 255.0
        elif recipe.blank:
            pixels = np.zeros((1, spec.height, spec.width), np.float32)
        else:
            pixels = recipe.input.astype(np.float32)
        return Prepared(normalise(pixels, spec), pixels, steps, recipe.blank, recipe.inverted)

    picture = _as_image(image, spec.channels)
    steps = [("colour" if spec.channels == 3 else "grayscale", np.asarray(picture))]
    cropped, resized = cover_and_crop(picture, spec.height, spec.width)
    if cropped.size != picture.size:
        steps.append(("cropped", np.asarray(cropped)))
    steps.append(("resized", np.asarray(resized)))
    pixels = _pixels(resized, spec)
    return Prepared(normalise(pixels, spec), pixels, steps)
