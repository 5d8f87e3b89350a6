"""Held-out MNIST digits rendered as tight crops: the box of the ink cut exactly, so the ink
touches all four edges, at several sizes, in both polarities, as PNG or JPEG.

Run as a script to print the agreement rate per family over all held-out digits:
    .venv/bin/python -m tests.imaging.tightcrops
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass

import numpy as np
from PIL import Image

from app.data import load_digits, split_indices


@dataclass(frozen=True)
class Family:
    """How a digit is rendered: longest side in px, width stretch (1 = the crop's own aspect),
    dark ink on white or not, and the encoding ("PNG" or "JPEG-<quality>")."""

    side: int
    stretch: float = 1.0
    dark_on_light: bool = False
    encoding: str = "PNG"

    @property
    def name(self) -> str:
        polarity = "dark-on-white" if self.dark_on_light else "white-on-black"
        shape = f"{self.side}px" + (f"-x{self.stretch:g}-wide" if self.stretch != 1 else "")
        return f"{shape}-{polarity}-{self.encoding.lower()}"


FAMILIES = [
    Family(side, stretch, dark, encoding)
    for side, stretch in [(20, 1), (56, 1), (150, 1), (400, 1), (150, 0.6), (150, 1.6)]
    for dark in (False, True)
    for encoding in ("PNG", "JPEG-90", "JPEG-50")
]


def tight_crop(digit: np.ndarray, family: Family) -> np.ndarray:
    """A white-on-black uint8 (28, 28) digit -> uint8 (H, W): cut to the exact box of its ink
    (nonzero pixels), resized so the longer side is family.side (width scaled by stretch)."""
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape[0], crop.shape[1] * family.stretch
    scale = family.side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC))
    return 255 - resized if family.dark_on_light else resized


def encoded(picture: np.ndarray, family: Family) -> bytes:
    buffer = io.BytesIO()
    if family.encoding == "PNG":
        Image.fromarray(picture).save(buffer, "PNG")
    else:
        quality = int(family.encoding.split("-")[1])
        Image.fromarray(picture).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def heldout(count: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 (N, 28, 28) held-out digits, their labels): all of them, or `count` chosen."""
    images, labels = load_digits()
    _, chosen = split_indices()
    if count is not None:
        chosen = np.random.default_rng(seed).choice(chosen, count, replace=False)
    return images[chosen], labels[chosen]


def agreement(model, digits: np.ndarray, family: Family, to_input) -> float:
    """Fraction of digits whose tight crop (through to_input: bytes -> (28, 28) float32) gets
    the model's answer for the clean digit."""
    clean = model.predict(digits.astype(np.float32) / 255).argmax(axis=1)
    inputs = np.stack([to_input(encoded(tight_crop(d, family), family)) for d in digits])
    return float((model.predict(inputs).argmax(axis=1) == clean).mean())


def main() -> None:
    from app.imaging import image_to_input
    from app.models import load_model
    from app.settings import Settings

    settings, model = Settings(), load_model("lenet5")
    digits, _ = heldout(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(f"{len(digits)} held-out digits, lenet5; agreement with the clean digit's answer")
    for family in FAMILIES:
        rate = agreement(model, digits, family, lambda b: image_to_input(b, settings).input[0])
        print(f"{family.name:40s} {rate:7.1%}")


if __name__ == "__main__":
    main()
