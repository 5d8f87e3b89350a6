"""Fixtures for the imaging tests: the bundled lenet5 model."""

from __future__ import annotations

import pytest

from app.models import load_model


@pytest.fixture(scope="session")
def lenet5():
    return load_model("lenet5")
