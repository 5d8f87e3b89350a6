"""Shared dependencies of the routers, as `Annotated[..., Depends(...)]` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.services.traces import TraceStore
from app.settings import Settings


def app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


AppSettings = Annotated[Settings, Depends(app_settings)]


def trace_store(request: Request) -> TraceStore:
    """The app's store of recent traces."""
    return request.app.state.traces


Traces = Annotated[TraceStore, Depends(trace_store)]
