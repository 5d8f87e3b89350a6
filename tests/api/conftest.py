"""Fixtures for the API tests: the bundled lenet5 model and gallery digits."""

from __future__ import annotations

import pytest

from app.api.samples import sample_digit
from app.models import load_model
from tests.api.imagery import png_bytes


@pytest.fixture(scope="session")
def lenet5():
    return load_model("lenet5")


@pytest.fixture(scope="session")
def digit_png():
    """A gallery digit (id 7) as PNG bytes, with its (uint8 (28, 28) image, label)."""
    digit, label = sample_digit(7)
    return png_bytes(digit), digit, label

