"""Shared fixtures: the app, a TestClient."""

from __future__ import annotations

import os
import tempfile

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

# The model store of every test process lives in a temporary directory, never in the user's
# data directory or the repository.
os.environ["CONVSCOPE_MODEL_DIR"] = tempfile.mkdtemp(prefix="convscope-models-")


@pytest.fixture(scope="session")
def app():
    return create_app()


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app) as c:
        yield c
