"""create_app(): the FastAPI application, its routers, static files and templates."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api import (
    inspect,
    lessons,
    lessons_autoencoder,
    lessons_activations,
    lessons_colour,
    lessons_equivariance,
    lessons_mlp,
    lessons_pages,
    lessons_text,
    models,
    pages,
    receptive,
    samples,
    traces,
)
from app.api.docs import install_docs
from app.api.errors import install_error_handlers
from app.api.limits import install_limits
from app.api.middleware import RequestContextMiddleware
from app.api.schemas import Health
from app.services.traces import TraceStore
from app.settings import Settings


def _log_to_stderr() -> None:
    """The app's own warnings and errors (`convscope.*`: dropped jobs, 500s with their
    traceback and request id) go to stderr even when nothing configured logging."""
    logger = logging.getLogger("convscope")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    _log_to_stderr()
    app = FastAPI(
        title="ConvScope API",
        version=__version__,
        description=(
            "Run a NumPy CNN on an image and get every layer's feature maps, max-pooling "
            "winners and deltas (dL/d activation), down to the input."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.traces = TraceStore.from_settings(settings)
    install_error_handlers(app)
    install_limits(app, settings)
    # Last: the outermost of the app's middleware, so that it sees every response (request
    # id, security headers) and every unhandled exception (JSON 500).
    app.add_middleware(RequestContextMiddleware)

    @app.get(
        "/healthz", tags=["health"], summary="Liveness and readiness probe", response_model=Health,
        operation_id="healthz",
    )
    async def healthz() -> dict[str, str]:  # async: answered on the event loop, never queued
        return {"status": "ok"}

    app.include_router(models.router)
    app.include_router(inspect.router)
    app.include_router(traces.router)
    app.include_router(samples.router)
    app.include_router(receptive.router)
    app.include_router(lessons.router)
    app.include_router(lessons_mlp.router)
    app.include_router(lessons_equivariance.router)
    app.include_router(lessons_colour.router)
    app.include_router(lessons_text.router)
    app.include_router(lessons_autoencoder.router)
    app.include_router(lessons_activations.router)
    install_docs(app)
    app.include_router(pages.router)
    app.include_router(lessons_pages.router)
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    return app


app = create_app()
